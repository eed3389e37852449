package dev.lmhead.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.List;

/**
 * The full softmax in DJL ops, as PyTorch's nn.Linear(d, V) + F.cross_entropy / F.log_softmax:
 * logits = Linear.linear(h, W, b) (libtorch's linear, i.e. addmm), log_softmax over V, the target's
 * log-prob gathered. Rows are processed in the blocks given (each [rows, V] tensor within the budget).
 */
final class FullHead {
  final NDArray weight; // [V, d]
  final NDArray bias; // [V] or null

  /** nn.Linear's initialisation: weight and bias uniform in ±1/sqrt(d). */
  FullHead(NDManager m, int vocab, int dim, boolean withBias) {
    float r = (float) (1 / Math.sqrt(dim));
    this.weight = m.randomUniform(-r, r, new Shape(vocab, dim));
    this.bias = withBias ? m.randomUniform(-r, r, new Shape(vocab)) : null;
    weight.setRequiresGradient(true);
    if (bias != null) bias.setRequiresGradient(true);
  }

  /** Given weights (e.g. a PyTorch fixture's), trainable. */
  FullHead(NDArray weight, NDArray bias) {
    this.weight = weight;
    this.bias = bias;
    weight.setRequiresGradient(true);
    if (bias != null) bias.setRequiresGradient(true);
  }

  NDArray[] parameters() {
    return bias == null ? new NDArray[] {weight} : new NDArray[] {weight, bias};
  }

  NDArray logits(NDArray h) {
    return (bias == null ? Linear.linear(h, weight) : Linear.linear(h, weight, bias)).head();
  }

  /** log_softmax(h W^T + b) of one block of rows: [rows, V]. */
  NDArray logProb(NDArray h) {
    return logits(h).logSoftmax(1);
  }

  /**
   * The train op: forward + backward of loss = (sum over blocks of the block's summed NLL) / n, one
   * backward per block (the gradients accumulate), as pytorch_heads.py's blocked train step.
   *
   * @param hg hidden states [n, d] that require a gradient; y targets int64 [n]
   */
  void train(GradientCollector gc, NDArray hg, NDArray y, List<int[]> blocks, long n) {
    for (int[] b : blocks) {
      NDArray hb = hg.get("{}:{}", b[0], b[1]), yb = y.get("{}:{}", b[0], b[1]).expandDims(1);
      NDArray nll = logProb(hb).gather(yb, 1).sum().neg().div(n);
      gc.backward(nll);
    }
  }

  /** The loss op: per-row target log-probs, one [rows] array per block (cross_entropy(reduction='none') negated). */
  List<NDArray> targetLogProb(NDArray h, NDArray y, List<int[]> blocks) {
    List<NDArray> out = new ArrayList<>();
    for (int[] b : blocks) {
      NDArray hb = h.get("{}:{}", b[0], b[1]), yb = y.get("{}:{}", b[0], b[1]).expandDims(1);
      out.add(logProb(hb).gather(yb, 1).squeeze(1));
    }
    return out;
  }

  /** log_softmax + topk(k) of one block: (values, indices). */
  NDList topK(NDArray h, int k) {
    return logProb(h).topK(k, 1);
  }
}
