package dev.lmhead.head;

/**
 * The hyper-parameters of any head, as chosen on the command line and saved with a checkpoint.
 * Fields that do not apply to a head are ignored by it.
 *
 * @param type        full | class | hsm | adaptive | mos
 * @param bias        full softmax / class / MoS decoder: use an output bias
 * @param classes     class softmax: number of classes (0 = round(sqrt(V)))
 * @param classMode   class softmax: "freq" (Mikolov's unigram-mass binning) or "equal" (equal-size bins)
 * @param tree        hsm: "huffman" or "balanced"
 * @param cutoffs     adaptive: ascending cluster boundaries (PyTorch's {@code cutoffs}, without V)
 * @param divValue    adaptive: PyTorch's {@code div_value}
 * @param headBias    adaptive: PyTorch's {@code head_bias}
 * @param experts     mos: number of mixture components K
 * @param mosDim      mos: component context size D (0 = inputDim)
 * @param mosBase     mos: "full" or "adaptive" component softmaxes
 */
public record HeadSpec(String type, boolean bias, int classes, String classMode, String tree,
                       int[] cutoffs, double divValue, boolean headBias,
                       int experts, int mosDim, String mosBase) {

  public static HeadSpec full() {
    return new HeadSpec("full", true, 0, "freq", "huffman", new int[0], 4.0, false, 1, 0, "full");
  }

  public HeadSpec withType(String t) {
    return new HeadSpec(t, bias, classes, classMode, tree, cutoffs, divValue, headBias, experts, mosDim, mosBase);
  }
}
