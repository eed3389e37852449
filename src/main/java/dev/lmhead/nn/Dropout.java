package dev.lmhead.nn;

import dev.lmhead.tensor.Rng;
import dev.lmhead.tensor.Vec;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * Inverted dropout (PyTorch's {@code nn.Dropout}): in training each element is kept with probability
 * {@code 1 - p} and scaled by {@code 1 / (1 - p)}, so {@code E[out] = x}; at evaluation, and for
 * {@code p = 0}, it is the identity.
 *
 * <p>The mask is drawn from the caller's {@link Rng}, two 24-bit uniforms per {@code nextLong()}, so the
 * same seed gives the same mask. {@link #forward} remembers the mask (a float per element, either 0 or
 * the scale) for {@link #backward}: {@code gradIn = gradOut * mask}. The mask buffer grows lazily to the
 * largest n seen; there is no allocation per call after that.
 */
public final class Dropout {
  private final float p, scale;
  /** An element is dropped when its 24-bit uniform is below this threshold (= round(p * 2^24)). */
  private final int threshold;
  private float[] mask = new float[0];
  /** Whether the last forward was the identity (evaluation or p = 0); backward then copies. */
  private boolean identity = true;
  private int lastN = 0;

  public Dropout(float p) {
    if (!(p >= 0f && p < 1f)) throw new IllegalArgumentException("dropout must be in [0, 1), got " + p);
    this.p = p;
    this.scale = 1f / (1f - p);
    this.threshold = (int) Math.round(p * (double) (1 << 24));
  }

  public float p() { return p; }

  /**
   * out[i] = x[i] * mask[i] for i in [0, n). {@code out} may be {@code x}. In training with p > 0 a new
   * mask is drawn from {@code rng} (which advances by ceil(n / 2) longs); otherwise out = x and rng is
   * not touched.
   */
  public void forward(float[] x, int n, float[] out, boolean training, Rng rng) {
    forward(x, 0, n, out, 0, training, rng);
  }

  /** {@link #forward(float[], int, float[], boolean, Rng)} on slices starting at xOff and outOff. */
  void forward(float[] x, int xOff, int n, float[] out, int outOff, boolean training, Rng rng) {
    lastN = n;
    if (!training || p == 0f) {
      identity = true;
      if (out != x || xOff != outOff) System.arraycopy(x, xOff, out, outOff, n);
      return;
    }
    identity = false;
    if (mask.length < n) mask = new float[n];
    drawMask(mask, n, threshold, scale, rng);
    mul(x, xOff, mask, out, outOff, n);
  }

  /** gradIn[i] = gradOut[i] * mask[i] for the mask of the last forward; {@code gradIn} may be {@code gradOut}. */
  public void backward(float[] gradOut, int n, float[] gradIn) {
    if (n > lastN) throw new IllegalArgumentException("dropout backward over " + n + " elements, but the last forward had " + lastN);
    if (identity) {
      if (gradIn != gradOut) System.arraycopy(gradOut, 0, gradIn, 0, n);
      return;
    }
    mul(gradOut, 0, mask, gradIn, 0, n);
  }

  /** The mask of the last training forward (0 or 1/(1-p) per element), for tests; a copy. */
  public float[] mask() { return Arrays.copyOf(mask, lastN); }

  /** Fills mask[0, n) with 0 (probability ~p) or scale, two 24-bit uniforms per rng long. */
  static void drawMask(float[] mask, int n, int threshold, float scale, Rng rng) {
    int i = 0;
    for (; i + 1 < n; i += 2) {
      long z = rng.nextLong();
      mask[i] = (int) (z >>> 40) < threshold ? 0f : scale;
      mask[i + 1] = (int) ((z >>> 8) & 0xFFFFFF) < threshold ? 0f : scale;
    }
    if (i < n) mask[i] = (int) (rng.nextLong() >>> 40) < threshold ? 0f : scale;
  }

  private static void mul(float[] a, int aOff, float[] m, float[] out, int outOff, int n) {
    int i = 0;
    for (int ub = Vec.S.loopBound(n); i < ub; i += Vec.S.length()) {
      FloatVector.fromArray(Vec.S, a, aOff + i).mul(FloatVector.fromArray(Vec.S, m, i)).intoArray(out, outOff + i);
    }
    for (; i < n; i++) out[outOff + i] = a[aOff + i] * m[i];
  }
}
