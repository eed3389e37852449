package dev.lmhead.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import java.util.ArrayList;
import java.util.List;

/**
 * torch.nn.AdaptiveLogSoftmaxWithLoss rebuilt from DJL ops, step by step as PyTorch 1.13's
 * torch/nn/modules/adaptive.py does it:
 * <ul>
 *   <li>head = Linear(d, shortlist + n_clusters, bias = head_bias); tail i = Linear(d, d // div^(i+1),
 *       no bias) then Linear(that, cluster size, no bias);</li>
 *   <li>forward(input, target): per cluster, the rows whose target falls in it (mask, nonzero), their
 *       inputs selected, the tail's log_softmax gathered at the relative target and copied into the
 *       [N] output; the head's log_softmax gathered at the target (shortlist) or the cluster's logit,
 *       added; loss = mean of -output;</li>
 *   <li>log_prob: the head's log_softmax for the shortlist, each tail's log_softmax plus its cluster's
 *       head log-prob, side by side in one [N, V] tensor;</li>
 *   <li>predict: argmax of the head's logits; rows whose argmax is a cluster get the argmax of their
 *       full log-prob (all rows, none, or only those, as PyTorch branches).</li>
 * </ul>
 */
final class AdaptiveHead {
  final int vocab, dim, shortlist, clusters;
  final int[] cut; // cutoffs + [V]
  final NDArray headWeight; // [shortlist + clusters, d]
  final NDArray headBias; // or null
  final NDArray[] proj; // tail i: [d // div^(i+1), d]
  final NDArray[] out; // tail i: [cluster size, d // div^(i+1)]

  /** PyTorch's checks on the cutoffs, then nn.Linear's initialisation (uniform in ±1/sqrt(fan_in)). */
  AdaptiveHead(NDManager m, int vocab, int dim, int[] cutoffs, double divValue, boolean headBias) {
    this(vocab, dim, cutoffs, divValue, null, null, null, null, m, headBias);
  }

  /** Given weights (a PyTorch fixture's): head [shortlist + clusters, d], its bias or null, tails. */
  AdaptiveHead(int vocab, int dim, int[] cutoffs, double divValue, NDArray headWeight, NDArray headBias,
               NDArray[] proj, NDArray[] out) {
    this(vocab, dim, cutoffs, divValue, headWeight, headBias, proj, out, null, headBias != null);
  }

  private AdaptiveHead(int vocab, int dim, int[] cutoffs, double divValue, NDArray hw, NDArray hb, NDArray[] pr, NDArray[] ou,
                       NDManager m, boolean withHeadBias) {
    for (int i = 0; i < cutoffs.length; i++) {
      if (cutoffs[i] <= 0 || cutoffs[i] > vocab - 1 || (i > 0 && cutoffs[i] <= cutoffs[i - 1])) {
        throw new IllegalArgumentException("cutoffs should be a sequence of unique, positive integers sorted in an increasing "
            + "order, where each value is between 1 and n_classes-1");
      }
    }
    if (cutoffs.length == 0) throw new IllegalArgumentException("adaptive: no cutoffs");
    this.vocab = vocab;
    this.dim = dim;
    this.cut = java.util.Arrays.copyOf(cutoffs, cutoffs.length + 1);
    cut[cutoffs.length] = vocab;
    this.shortlist = cut[0];
    this.clusters = cut.length - 1;
    this.proj = pr != null ? pr : new NDArray[clusters];
    this.out = ou != null ? ou : new NDArray[clusters];
    if (m != null) {
      float r = (float) (1 / Math.sqrt(dim));
      hw = m.randomUniform(-r, r, new Shape(shortlist + clusters, dim));
      hb = withHeadBias ? m.randomUniform(-r, r, new Shape(shortlist + clusters)) : null;
      for (int i = 0; i < clusters; i++) {
        int hsz = (int) Math.floor(dim / Math.pow(divValue, i + 1)), osz = cut[i + 1] - cut[i];
        if (hsz < 1) throw new IllegalArgumentException("adaptive: tail " + i + " has projection size 0 (d " + dim + ", div_value " + divValue + ")");
        proj[i] = m.randomUniform(-r, r, new Shape(hsz, dim));
        float r2 = (float) (1 / Math.sqrt(hsz));
        out[i] = m.randomUniform(-r2, r2, new Shape(osz, hsz));
      }
    }
    this.headWeight = hw;
    this.headBias = hb;
    for (NDArray p : parameters()) p.setRequiresGradient(true);
  }

  NDArray[] parameters() {
    List<NDArray> ps = new ArrayList<>();
    ps.add(headWeight);
    if (headBias != null) ps.add(headBias);
    for (int i = 0; i < clusters; i++) {
      ps.add(proj[i]);
      ps.add(out[i]);
    }
    return ps.toArray(new NDArray[0]);
  }

  NDArray head(NDArray x) {
    return (headBias == null ? Linear.linear(x, headWeight) : Linear.linear(x, headWeight, headBias)).head();
  }

  /** tail[i](x): Sequential(Linear(d, hsz, bias=False), Linear(hsz, osz, bias=False)). */
  NDArray tail(int i, NDArray x) {
    return Linear.linear(Linear.linear(x, proj[i]).head(), out[i]).head();
  }

  /** forward(input, target).output: log P(target | input) per row, [N] (loss = mean of its negation). */
  NDArray output(NDArray input, NDArray target) {
    long n = target.size();
    NDManager m = input.getManager();
    NDArray output = m.zeros(new Shape(n));
    NDArray gatherInds = m.zeros(new Shape(n), DataType.INT64); // new_empty: every row is written below
    for (int i = 0; i < cut.length; i++) {
      int low = i == 0 ? 0 : cut[i - 1], high = cut[i];
      NDArray mask = target.gte(low).logicalAnd(target.lt(high));
      NDArray rows = mask.nonzero().squeeze(1);
      if (rows.size() == 0) continue;
      NDIndex at = new NDIndex("{}", rows);
      if (i == 0) {
        gatherInds.set(at, target.get(mask)); // index_copy_
      } else {
        NDArray relative = target.get(mask).sub(low);
        NDArray subset = input.get(rows); // index_select(0, rows)
        NDArray clusterLogProb = tail(i - 1, subset).logSoftmax(1);
        gatherInds.set(at, (long) (shortlist + i - 1)); // index_fill_
        NDArray local = clusterLogProb.gather(relative.expandDims(1), 1);
        output.set(at, local.squeeze(1)); // index_copy_
      }
    }
    NDArray headLogProb = head(input).logSoftmax(1);
    output.addi(headLogProb.gather(gatherInds.expandDims(1), 1).squeeze(1)); // output += ...
    return output;
  }

  /** _get_full_log_prob: [rows, V]. */
  NDArray fullLogProb(NDArray input, NDArray headOutput) {
    NDArray headLogProb = headOutput.logSoftmax(1);
    NDList parts = new NDList(headLogProb.get(":, :{}", shortlist));
    for (int i = 0; i < clusters; i++) {
      NDArray clusterLogProb = tail(i, input).logSoftmax(1);
      parts.add(clusterLogProb.add(headLogProb.get(":, {}:{}", shortlist + i, shortlist + i + 1)));
    }
    return NDArrays.concat(parts, 1);
  }

  /** log_prob(input): [rows, V]. */
  NDArray logProb(NDArray input) {
    return fullLogProb(input, head(input));
  }

  /** predict(input): the argmax id of every row, int64 [N]. */
  NDArray predict(NDArray input) {
    NDArray headOutput = head(input);
    NDArray output = headOutput.argMax(1);
    NDArray notInShortlist = output.gte(shortlist);
    if (!notInShortlist.any().getBoolean()) return output;
    if (notInShortlist.all().getBoolean()) return fullLogProb(input, headOutput).argMax(1);
    NDArray lp = fullLogProb(input.get(notInShortlist), headOutput.get(notInShortlist));
    output.set(new NDIndex("{}", notInShortlist), lp.argMax(1));
    return output;
  }
}
