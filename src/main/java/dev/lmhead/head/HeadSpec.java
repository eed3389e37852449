package dev.lmhead.head;

import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Rng;
import java.util.List;

/**
 * The typed hyper-parameters of one head, as chosen on the command line and saved with a checkpoint.
 * Every head declares its own record implementing this, in its own file (e.g. {@link FullSoftmax.Spec}),
 * and registers it in {@link Heads}; {@link HeadSpecJson} writes and reads it in config.json as
 * {@code {"type": NAME, ...the record's fields}}.
 *
 * <p>The default methods are the decisions the model and the CLI used to take by switching on a head's
 * name; a head overrides those that concern it.
 */
public interface HeadSpec {

  /** The {@code --head} name of the registry entry this spec belongs to. */
  String type();

  /**
   * Builds the head.
   *
   * @param counts     unigram counts of the training split by word id (ids sorted by descending
   *                   frequency); class binning and Huffman trees are built from them (may be null for
   *                   heads that do not need them)
   * @param tiedWeight input embedding [V, d] to share with the output weights, or null
   */
  OutputLayer create(int vocab, int dim, long[] counts, Parameter tiedWeight, Rng rng);

  /** For humans: the head and the options that shape it, e.g. {@code class(sqrt V, freq)}. */
  String describe();

  /** A short label for plots and tables: the type and at most the option that matters most. */
  default String label() { return type(); }

  /** The spec with defaults that depend on V filled in (e.g. adaptive cutoffs), so checkpoints record them. */
  default HeadSpec resolve(int vocab) { return this; }

  /**
   * Checks, before anything is allocated, that the head's tensors fit a Java array; throws
   * IllegalArgumentException naming the flags (see {@link #checkFits}).
   */
  default void checkSizes(int vocab, int hidden) {}

  /**
   * A lower bound on the head's parameters not shared with the input layer.
   *
   * @param sharesEmbedding the head's output weight is the input embedding [V, emb] (counted there)
   */
  default long minParameters(int vocab, int hidden, boolean sharesEmbedding) {
    return sharesEmbedding ? 0 : vocab;
  }

  /** {@code --tied} shares the input embedding [V, emb] with this head's output weights. */
  default boolean tiesEmbedding() { return false; }

  /** Why an explicit {@code --tied} is an error with this head, or null when it is not (it is then ignored or applied). */
  default String tieRefusal() { return null; }

  /** The head adds an output bias to its logits (the softmax rank bound grows by one). */
  default boolean outputBias() { return false; }

  /** Arguments describing this head to {@code bench/pytorch_word_lm.py} (for a head whose type is {@link HeadType#inPyTorch}). */
  default List<String> pytorchArgs() { return List.of("--head", type()); }

  /** The default head of {@code lmhead train}: a full softmax with bias. */
  static HeadSpec full() { return new FullSoftmax.Spec(true); }

  /** The largest tensor lmhead can hold: a Java array of floats. */
  long MAX_TENSOR = Integer.MAX_VALUE - 8;

  /** Throws when {@code elements} floats do not fit one Java array; {@code what} names the flags. */
  static void checkFits(String what, long elements) {
    if (elements > MAX_TENSOR) {
      throw new IllegalArgumentException(what + " needs a tensor of " + elements + " elements; at most "
          + MAX_TENSOR + " fit: use smaller sizes");
    }
  }
}
