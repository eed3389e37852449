package dev.lmhead.head;

import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Parallel;
import dev.lmhead.tensor.Vec;
import dev.lmhead.tensor.Workspace;

/**
 * The exact passes shared by the heads whose output is one softmax over V logits that they compute a
 * block of rows at a time ({@link FullSoftmax}, {@link DifferentiatedSoftmax}): training (the fused
 * {@code scale·(softmax − onehot)} pass, then the head's own backward GEMMs and the bias gradient),
 * target log-probs, the full distribution and exact top-k. Rows go in blocks whose [block, V] logits
 * buffer keeps to {@link Workspace#BLOCK_FLOATS}, but never fewer than {@link #MIN_BLOCK_ROWS} rows:
 * every block streams the whole output weight through the GEMMs, so at V = 267,735 a 64 MiB block (62
 * rows) made the full softmax memory-bound (its 274 MB weight at d = 256 read 33 times for 2,048 rows);
 * with 256 rows the buffer is at most the size of the weight itself. The output bias is added here, in
 * the first pass over each row (fused with its max), not by the head: a separate bias pass would stream
 * the whole [block, V] buffer through memory once more.
 */
final class LogitRows {
  static final int MIN_BLOCK_ROWS = 256;

  /** Writes the V logits of hidden rows [r0, r0 + rows) into out [rows, V], without the output bias. */
  interface Logits {
    void compute(float[] hidden, int r0, int rows, float[] out);
  }

  /**
   * Given g = d loss / d logits [rows, V] of hidden rows [r0, r0 + rows): writes d loss / d hidden into
   * {@code gradHidden} (when not null) and accumulates the weight gradients (not the bias's).
   */
  interface Backward {
    void apply(float[] g, float[] hidden, int r0, int rows, float[] gradHidden);
  }

  private final int vocab;
  private final Parameter bias; // null without bias
  private float[] buf = new float[0];

  LogitRows(int vocab, Parameter bias) {
    this.vocab = vocab;
    this.bias = bias;
  }

  /** Adds the bias (if any) to the row at {@code off} and returns the row's maximum: one pass. */
  private float biasMax(float[] a, int off) {
    return bias == null ? Vec.max(a, off, vocab) : Vec.addMax(bias.data, 0, a, off, vocab);
  }

  int blockRows(int n) {
    return Workspace.rowsPerBlock(Workspace.BLOCK_FLOATS, vocab, n, MIN_BLOCK_ROWS);
  }

  private float[] buffer(int rows) {
    return buf = Workspace.grow(buf, (long) rows * vocab);
  }

  /** {@link OutputLayer#forwardBackward} of the head whose logits and backward these are. */
  double forwardBackward(float[] hidden, int n, int[] targets, float[] gradHidden, Loss loss, float[] rowLoss,
                         Logits logits, Backward backward) {
    int count = loss.validate(targets, n, vocab);
    float scale = loss.gradScale(count);
    int block = blockRows(n);
    float[] g = buffer(block);
    double total = 0;
    for (int r0 = 0; r0 < n; r0 += block) {
      final int rows = Math.min(block, n - r0), base = r0;
      logits.compute(hidden, r0, rows, g);
      double[] partial = new double[rows];
      // fused: logits -> scale * (softmax - onehot), and the row's NLL
      Parallel.forRange(rows, 4, (a, b) -> {
        for (int r = a; r < b; r++) {
          int off = r * vocab, t = targets[base + r];
          if (loss.ignored(t)) { java.util.Arrays.fill(g, off, off + vocab, 0f); partial[r] = 0; continue; }
          float m = biasMax(g, off), target = g[off + t];
          partial[r] = Vec.softmaxGradInPlace(g, off, vocab, t, scale, m) - target;
        }
      });
      for (int r = 0; r < rows; r++) {
        total += partial[r];
        if (rowLoss != null) rowLoss[base + r] = (float) partial[r];
      }
      backward.apply(g, hidden, r0, rows, gradHidden);
      if (bias != null) {
        Parallel.forRange(vocab, 1024, (a, b) -> {
          for (int r = 0; r < rows; r++) Vec.add(g, r * vocab + a, bias.grad, a, b - a);
        });
      }
    }
    return loss.reduce(total, count);
  }

  /** {@link OutputLayer#targetLogProb}. */
  void targetLogProb(float[] hidden, int n, int[] targets, float[] out, Logits logits) {
    Loss.checkTargets(targets, n, vocab);
    int block = blockRows(n);
    float[] lg = buffer(block);
    for (int r0 = 0; r0 < n; r0 += block) {
      final int rows = Math.min(block, n - r0), base = r0;
      logits.compute(hidden, r0, rows, lg);
      Parallel.forRange(rows, 4, (a, b) -> {
        for (int r = a; r < b; r++) {
          float m = biasMax(lg, r * vocab);
          out[base + r] = lg[r * vocab + targets[base + r]] - Vec.logSumExpGivenMax(lg, r * vocab, vocab, m);
        }
      });
    }
  }

  /** {@link OutputLayer#logProb}: the logits computed into {@code out} itself, then normalised. */
  void logProb(float[] hidden, int n, float[] out, Logits logits) {
    logits.compute(hidden, 0, n, out);
    Parallel.forRange(n, 4, (a, b) -> {
      for (int r = a; r < b; r++) Vec.logSoftmaxInPlace(out, r * vocab, vocab, biasMax(out, r * vocab));
    });
  }

  /** {@link OutputLayer#topK}: exact, from every logit of each row. */
  TopK topK(float[] hidden, int n, int k, Logits logits) {
    TopK.checkK(k, vocab);
    int[] ids = new int[n * k];
    float[] vals = new float[n * k];
    int block = blockRows(n);
    float[] lg = buffer(block);
    for (int r0 = 0; r0 < n; r0 += block) {
      final int rows = Math.min(block, n - r0), base = r0;
      logits.compute(hidden, r0, rows, lg);
      Parallel.forRange(rows, 4, (a, b) -> {
        for (int r = a; r < b; r++) {
          float lse = Vec.logSumExpGivenMax(lg, r * vocab, vocab, biasMax(lg, r * vocab));
          int o = (base + r) * k;
          TopK.selectRow(lg, r * vocab, vocab, k, ids, vals, o);
          for (int j = 0; j < k; j++) vals[o + j] -= lse;
        }
      });
    }
    return new TopK(n, k, ids, vals);
  }
}
