package dev.lmhead.model;

import dev.lmhead.head.AdaptiveSoftmax;
import dev.lmhead.nn.AdaptiveInput;
import dev.lmhead.tensor.Rng;

/**
 * Ties adaptive input embeddings to an adaptive softmax (Baevski &amp; Auli 2019): the input's bands
 * share the softmax's own {@link dev.lmhead.nn.Parameter} objects (see {@link AdaptiveInput}). Lives in
 * the model layer, which owns both, so that {@code nn} does not depend on {@code head}.
 */
public final class AdaptiveTying {
  private AdaptiveTying() {}

  /**
   * Adaptive input tied to {@code softmax}. {@code cutoffs} and {@code factor} must equal the softmax's
   * cutoffs and div_value (in effect); otherwise a one-line error names the difference.
   *
   * @param tieProjections also share the projections (tail.{i}.0.weight transposed)
   */
  public static AdaptiveInput tiedTo(AdaptiveSoftmax softmax, int[] cutoffs, double factor, boolean tieProjections, Rng rng) {
    return AdaptiveInput.tiedTo(softmax.vocabSize(), softmax.inputDim(), cutoffs, factor, softmax.cutoffs(), softmax.divValue(),
        softmax.headWeight, softmax.tailProj, softmax.tailOut, tieProjections, rng);
  }
}
