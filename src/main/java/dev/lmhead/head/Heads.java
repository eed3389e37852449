package dev.lmhead.head;

import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Rng;

/** Builds any head from its {@link HeadSpec}; the one place that knows every head class. */
public final class Heads {
  private Heads() {}

  /** The names accepted by {@code --head}. */
  public static final String NAMES = "full, class, hsm, adaptive, mos";

  /**
   * @param counts     unigram counts of the training split by word id (ids sorted by descending
   *                   frequency); class binning and Huffman trees are built from them
   * @param tiedWeight input embedding [V, d] to share with the output weights, or null
   */
  public static OutputLayer create(HeadSpec spec, int vocab, int dim, long[] counts, Parameter tiedWeight, Rng rng) {
    return switch (spec.type()) {
      case "full" -> new FullSoftmax(vocab, dim, spec.bias(), tiedWeight, rng);
      case "class" -> ClassSoftmax.create(spec, vocab, dim, counts, tiedWeight, rng);
      case "hsm" -> HierarchicalSoftmax.create(spec, vocab, dim, counts, tiedWeight, rng);
      case "adaptive" -> AdaptiveSoftmax.create(spec, vocab, dim, tiedWeight, rng);
      case "mos" -> MixtureOfSoftmaxes.fromSpec(spec, vocab, dim, tiedWeight, rng);
      default -> throw new IllegalArgumentException("--head must be one of " + NAMES + ", got '" + spec.type() + "'");
    };
  }
}
