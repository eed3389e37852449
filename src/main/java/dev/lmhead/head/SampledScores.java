package dev.lmhead.head;

import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Blas;
import dev.lmhead.tensor.Parallel;
import dev.lmhead.tensor.Vec;

/**
 * The O(n·S·d) machinery shared by the sampling heads ({@link SampledSoftmax}, {@link NceSoftmax}):
 * raw logits {@code s(w) = h·W[w] + b[w]} of each row's target and of S sampled ids shared by all rows,
 * and the backward pass from their gradients. Never touches more than S + n rows of the [V, d] weight.
 *
 * <p>Usage per training call: {@link #forward} fills {@link #sampleLogits} [n, S] and
 * {@link #targetLogits} [n]; the head overwrites both in place with d loss / d logit (0 for ignored
 * rows); {@link #backward} writes d loss / d hidden and accumulates the weight and bias gradients
 * (a sampled id drawn twice receives both contributions).
 */
final class SampledScores {
  private final Parameter weight, bias; // bias may be null
  private final int dim;
  /** [S, d] gathered weight rows of the sample; [S] their biases; [S, d] their gradient. */
  private float[] ws = new float[0], bs = new float[0], gws = new float[0];
  float[] sampleLogits = new float[0];
  float[] targetLogits = new float[0];

  SampledScores(Parameter weight, Parameter bias, int dim) {
    this.weight = weight;
    this.bias = bias;
    this.dim = dim;
  }

  /** Raw logits of every row's target (0 for ignored rows) and of every sampled id. */
  void forward(float[] hidden, int n, int[] targets, Loss loss, int[] sample, int s) {
    final int d = dim;
    if ((long) n * s > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("n·S too large: " + n + "·" + s);
    if (ws.length < s * d) { ws = new float[s * d]; bs = new float[s]; gws = new float[s * d]; }
    if (sampleLogits.length < n * s) sampleLogits = new float[n * s];
    if (targetLogits.length < n) targetLogits = new float[n];
    for (int j = 0; j < s; j++) {
      System.arraycopy(weight.data, sample[j] * d, ws, j * d, d);
      bs[j] = bias == null ? 0f : bias.data[sample[j]];
    }
    float[] z = sampleLogits, zt = targetLogits;
    if (n > 0 && s > 0) {
      Blas.get().sgemm(false, true, n, s, d, 1f, hidden, 0, d, ws, 0, d, 0f, z, 0, s);
      if (bias != null) {
        Parallel.forRange(n, 8, (a, b) -> {
          for (int r = a; r < b; r++) Vec.add(bs, 0, z, r * s, s);
        });
      }
    }
    Parallel.forRange(n, 64, (a, b) -> {
      for (int r = a; r < b; r++) {
        int t = targets[r];
        if (loss.ignored(t)) { zt[r] = 0f; continue; }
        zt[r] = Vec.dot(hidden, r * d, weight.data, t * d, d) + (bias == null ? 0f : bias.data[t]);
      }
    });
  }

  /**
   * From d loss / d logit held in {@link #sampleLogits} and {@link #targetLogits}: writes
   * d loss / d hidden (when gradHidden is not null) and accumulates weight and bias gradients.
   */
  void backward(float[] hidden, int n, int[] targets, Loss loss, int[] sample, int s, float[] gradHidden) {
    final int d = dim;
    float[] g = sampleLogits, gt = targetLogits;
    if (gradHidden != null) {
      if (s > 0) Blas.get().sgemm(false, false, n, d, s, 1f, g, 0, s, ws, 0, d, 0f, gradHidden, 0, d);
      else java.util.Arrays.fill(gradHidden, 0, n * d, 0f);
      Parallel.forRange(n, 64, (a, b) -> {
        for (int r = a; r < b; r++) {
          int t = targets[r];
          if (!loss.ignored(t)) Vec.axpy(gt[r], weight.data, t * d, gradHidden, r * d, d);
        }
      });
    }
    if (s > 0 && n > 0) {
      Blas.get().sgemm(true, false, s, d, n, 1f, g, 0, s, hidden, 0, d, 0f, gws, 0, d);
      // scatter: serial over the sample (an id may occur twice), vectorised along d
      for (int j = 0; j < s; j++) Vec.add(gws, j * d, weight.grad, sample[j] * d, d);
    }
    for (int r = 0; r < n; r++) {
      int t = targets[r];
      if (!loss.ignored(t)) Vec.axpy(gt[r], hidden, r * d, weight.grad, t * d, d);
    }
    if (bias != null) {
      for (int r = 0; r < n; r++) {
        if (!loss.ignored(targets[r])) bias.grad[targets[r]] += gt[r];
      }
      if (s > 0) {
        float[] col = new float[s];
        for (int r = 0; r < n; r++) Vec.add(g, r * s, col, 0, s);
        for (int j = 0; j < s; j++) bias.grad[sample[j]] += col[j];
      }
    }
  }
}
