package dev.lmhead.head;

import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Rng;
import java.util.List;
import java.util.Map;

/**
 * The central contract of lmhead: an output layer maps hidden states [n, inputDim] (row-major) to a
 * normalised distribution over the vocabulary. Every head implements it; the model, trainer,
 * benchmarks and CLI never know which head they hold.
 *
 * <p>All log-probabilities are natural logs and exact: {@code logsumexp} of a {@link #logProb} row is
 * 0 up to float rounding, whatever the head.
 */
public interface OutputLayer {

  int vocabSize();

  int inputDim();

  /** Short name used by {@code --head} (its registry entry in {@link Heads}). */
  String type();

  /** Hyper-parameters that, with the vocabulary counts, rebuild this head (written to checkpoints). */
  HeadSpec spec();

  /**
   * Training step: returns the loss ({@link Loss.Reduction#MEAN}: mean NLL over rows whose target is
   * not {@code loss.ignoreIndex()}; SUM: their sum; NONE: their sum, with per-row NLLs written to
   * {@code rowLoss}, ignored rows 0). Writes d(returned loss)/d(hidden) into {@code gradHidden}
   * (overwritten; may be null when not needed) and <em>accumulates</em> the parameter gradients.
   *
   * @param rowLoss optional [n] output of per-row NLL (any reduction); may be null
   */
  double forwardBackward(float[] hidden, int n, int[] targets, float[] gradHidden, Loss loss, float[] rowLoss);

  /** Mean-reduced training step with no ignore index. */
  default double forwardBackward(float[] hidden, int n, int[] targets, float[] gradHidden) {
    return forwardBackward(hidden, n, targets, gradHidden, Loss.MEAN, null);
  }

  /** Exact log P(target | hidden) for each of the n rows, no gradient. */
  void targetLogProb(float[] hidden, int n, int[] targets, float[] out);

  /** Exact full distribution: out is [n, vocabSize] log-probabilities. */
  void logProb(float[] hidden, int n, float[] out);

  /** Exact top-k ids and log-probs per row, best first. */
  TopK topK(float[] hidden, int n, int k);

  /** Exact argmax per row (PyTorch's {@code predict}). */
  default int[] predict(float[] hidden, int n) {
    TopK t = topK(hidden, n, 1);
    return t.ids();
  }

  /** Trainable parameters, named like PyTorch's state_dict where an equivalent exists. */
  List<Parameter> parameters();

  /** Extra non-parameter state to save (e.g. tree structure is rebuilt from counts, so usually empty). */
  default Map<String, float[]> buffers() { return Map.of(); }

  /**
   * Re-initialises the output weights the way the PyTorch word-LM example initialises its decoder
   * (uniform ±initRange, bias zero), for a model with an embedding input; {@code tied}: the output
   * weight is the embedding, already initialised. Default: the head keeps its own initialisation.
   */
  default void initLikeWordLanguageModel(float initRange, boolean tied, Rng rng) {}

  /**
   * The training loss of {@link #forwardBackward} is the NLL (its exp is a perplexity). False for
   * heads trained by another objective (sampled softmax, NCE), whose evaluation is still exact.
   */
  default boolean trainingLossIsNll() { return true; }

  /**
   * The mean training loss per row above which a step has <em>exploded</em> (the trainer treats it as
   * a numeric fault): {@link #nllLimit} for an NLL; heads with another objective scale it.
   */
  default double explodedLoss() { return nllLimit(vocabSize()); }

  /** 3·ln V + 10 nats: far above ln V, the NLL of the uniform model that training starts near. */
  static double nllLimit(int vocab) {
    return 3 * Math.log(Math.max(vocab, 2)) + 10;
  }

  /**
   * The state of a random source the head draws from in training (the sampled heads' sampler), saved
   * with the resume point so that a resumed run draws what an uninterrupted one would; null when the
   * head has none.
   */
  default Long samplerState() { return null; }

  /** Restores {@link #samplerState()}; a head without a sampler ignores it. */
  default void setSamplerState(long state) {}

  /**
   * Switches between training and evaluation mode, as PyTorch's {@code module.train()}/{@code eval()}:
   * training-time behaviour (dropout inside a head), and, in evaluation mode, statistics a head may cache
   * from its weights (the adaptive softmax's top-k bound). Change weights in training mode, or call
   * {@code train(true)} after changing them, so that no cached statistic outlives them. Default no-op.
   */
  default void train(boolean training) {}
}
