package dev.lmhead.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import org.junit.jupiter.api.Test;

/**
 * Vec's transcendental kernels against {@link Math} in double precision: exp, logSumExp (with huge
 * values, -inf entries and all -inf rows), softmax / log-softmax normalisation, sigmoid and tanh.
 * Lengths cover the vector body and the scalar tail (1, 7, 8, 9, 37, 1000, 33278).
 */
class VecTest {
  private static final int[] LENGTHS = {1, 7, 8, 9, 37, 1000, 33278};

  private static float[] uniform(Rng rng, int n, float lo, float hi) {
    float[] a = new float[n];
    rng.fillUniform(a, lo, hi);
    return a;
  }

  private static double logSumExpRef(float[] a, int off, int n) {
    double m = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < n; i++) m = Math.max(m, a[off + i]);
    if (m == Double.NEGATIVE_INFINITY) return m;
    double s = 0;
    for (int i = 0; i < n; i++) s += Math.exp(a[off + i] - m);
    return m + Math.log(s);
  }

  @Test
  void expMatchesMathExpToAboutOneUlp() {
    Rng rng = new Rng(1);
    for (int n : LENGTHS) {
      float[] x = uniform(rng, n, -87f, 60f); // results stay normal floats, sums stay finite
      float[] e = x.clone();
      double sum = Vec.expShiftInPlace(e, 0, n, 0f);
      double refSum = 0;
      for (int i = 0; i < n; i++) {
        double ref = Math.exp(x[i]);
        refSum += ref;
        double rel = Math.abs(e[i] - ref) / ref;
        if (rel > 2.5e-7) fail("exp(" + x[i] + ") = " + e[i] + ", Math.exp " + ref + ", rel err " + rel);
      }
      assertEquals(refSum, sum, 1e-6 * refSum);
      assertEquals(refSum, Vec.sumExp(x, 0, n, 0f), 1e-6 * refSum);
    }
    // the top of the float range: exp(88.7) is just below Float.MAX_VALUE, exp(89) overflows to inf
    float[] top = {88.7f, 88.72f, -87.3f, 0f, 1f, -1f, 10f, -10f, 89f};
    Vec.expShiftInPlace(top, 0, top.length, 0f);
    assertEquals(Math.exp(88.7f), top[0], 3e-7 * Math.exp(88.7f));
    assertEquals(Math.exp(-87.3f), top[2], 3e-7 * Math.exp(-87.3f));
    assertEquals(Float.POSITIVE_INFINITY, top[8]);
  }

  @Test
  void expShiftAtOffsetLeavesNeighboursAlone() {
    float[] a = {5f, 1f, 2f, 3f, 7f};
    double s = Vec.expShiftInPlace(a, 1, 3, 3f);
    assertEquals(5f, a[0]);
    assertEquals(7f, a[4]);
    assertEquals(Math.exp(-2), a[1], 1e-7);
    assertEquals(1.0, a[3], 1e-7);
    assertEquals(Math.exp(-2) + Math.exp(-1) + 1, s, 1e-6);
  }

  @Test
  void logSumExpAccurateAndStable() {
    Rng rng = new Rng(2);
    for (int n : LENGTHS) {
      for (float scale : new float[] {1f, 30f, 1e4f, 1e30f, 1.5e38f}) {
        float[] a = uniform(rng, n, -scale, scale);
        double ref = logSumExpRef(a, 0, n);
        float got = Vec.logSumExp(a, 0, n);
        assertTrue(Float.isFinite(got), "finite for scale " + scale);
        assertEquals(ref, got, 2e-6 * Math.max(1, Math.abs(ref)), "n=" + n + " scale=" + scale);
      }
    }
    // huge equal values: log(n) above the maximum, no overflow
    float[] big = new float[100];
    java.util.Arrays.fill(big, 3e38f);
    assertEquals(3e38f, Vec.logSumExp(big, 0, 100), 0f);
    float[] mid = new float[1000];
    java.util.Arrays.fill(mid, 1000f);
    assertEquals(1000 + Math.log(1000), Vec.logSumExp(mid, 0, 1000), 1e-4);
  }

  @Test
  void logSumExpWithNegativeInfinity() {
    Rng rng = new Rng(3);
    for (int n : LENGTHS) {
      float[] a = uniform(rng, n, -10f, 10f);
      for (int i = 0; i < n; i += 3) a[i] = Float.NEGATIVE_INFINITY;
      if (n == 1) a[0] = 2f;
      assertEquals(logSumExpRef(a, 0, n), Vec.logSumExp(a, 0, n), 2e-6 * 10, "n=" + n);
      // all -inf: log(0) = -inf, not NaN
      float[] none = new float[n];
      java.util.Arrays.fill(none, Float.NEGATIVE_INFINITY);
      assertEquals(Float.NEGATIVE_INFINITY, Vec.logSumExp(none, 0, n));
      // a +inf entry dominates (inf - inf must not turn into NaN)
      a[n - 1] = Float.POSITIVE_INFINITY;
      assertEquals(Float.POSITIVE_INFINITY, Vec.logSumExp(a, 0, n));
    }
  }

  @Test
  void softmaxSumsToOneAndMatchesLogSoftmax() {
    Rng rng = new Rng(4);
    for (int n : LENGTHS) {
      for (float scale : new float[] {1f, 50f, 1e30f}) {
        float[] a = uniform(rng, n, -scale, scale);
        if (n > 3) a[2] = Float.NEGATIVE_INFINITY;
        double lseRef = logSumExpRef(a, 0, n);
        float[] p = a.clone(), lp = a.clone();
        float lse = Vec.softmaxInPlace(p, 0, n);
        float lse2 = Vec.logSoftmaxInPlace(lp, 0, n);
        double tolL = 2e-6 * Math.max(1, Math.abs(lseRef));
        assertEquals(lseRef, lse, tolL);
        assertEquals(lseRef, lse2, tolL);
        double sum = 0, sum2 = 0;
        for (int i = 0; i < n; i++) {
          assertTrue(p[i] >= 0f && p[i] <= 1f, "probability in [0,1]");
          sum += p[i];
          sum2 += Math.exp(lp[i]);
          double ref = Math.exp(a[i] - lseRef);
          // exp's own error, plus the normaliser's (checked above): p = exp(a - lse) moves by p·|lse - lseRef|
          assertEquals(ref, p[i], (1e-6 + Math.abs(lse - lseRef)) * Math.max(ref, 1e-3) + 1e-12, "softmax element " + i);
        }
        assertEquals(1.0, sum, 1e-5, "softmax sum n=" + n + " scale=" + scale);
        assertEquals(1.0, sum2, 1e-4, "exp(logSoftmax) sum n=" + n + " scale=" + scale);
        if (n > 3) assertEquals(0f, p[2]);
      }
    }
  }

  @Test
  void sigmoidAndTanhMatchMath() {
    Rng rng = new Rng(5);
    for (int n : LENGTHS) {
      float[] x = uniform(rng, n, -40f, 40f);
      x[0] = n > 1 ? 1e-6f : -100f;
      float[] s = x.clone(), t = x.clone();
      Vec.sigmoidInPlace(s, 0, n);
      Vec.tanhInPlace(t, 0, n);
      for (int i = 0; i < n; i++) {
        double sr = 1 / (1 + Math.exp(-(double) x[i])), tr = Math.tanh(x[i]);
        assertEquals(sr, s[i], 3e-7 * sr + 1e-37, "sigmoid(" + x[i] + ")");
        assertEquals(tr, t[i], 3e-7 * Math.abs(tr) + 1e-37, "tanh(" + x[i] + ")");
      }
    }
    float[] extreme = {-1e30f, 1e30f, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, 0f, -0f, 88.8f, -88.8f, 1f};
    float[] s = extreme.clone(), t = extreme.clone();
    Vec.sigmoidInPlace(s, 0, s.length);
    Vec.tanhInPlace(t, 0, t.length);
    float[] sRef = {0f, 1f, 0f, 1f, 0.5f, 0.5f, 1f, (float) (1 / (1 + Math.exp(88.8))), (float) (1 / (1 + Math.exp(-1)))};
    for (int i = 0; i < s.length; i++) {
      assertEquals(sRef[i], s[i], 1e-7 * sRef[i] + 1e-37, "sigmoid(" + extreme[i] + ")");
      assertEquals(Math.tanh(extreme[i]), t[i], 1e-7, "tanh(" + extreme[i] + ")");
    }
  }

  /**
   * max (four lane accumulators) equals a sequential Math.max scan bit for bit at every length around its
   * unrolling (L, 4L and their neighbours), with a NaN, a -0/+0 pair or -inf placed in each position class.
   */
  @Test
  void maxEqualsASequentialScanBitForBit() {
    int lanes = Vec.S.length();
    Rng rng = new Rng(11);
    for (int n : new int[] {1, lanes - 1, lanes, lanes + 1, 4 * lanes - 1, 4 * lanes, 4 * lanes + 1, 5 * lanes + 3, 9 * lanes, 2002}) {
      for (int trial = 0; trial < 6; trial++) {
        float[] a = uniform(rng, n + 4, -30f, 30f);
        int at = 2 + rng.nextInt(n);
        switch (trial) {
          case 1 -> a[at] = Float.NaN;
          case 2 -> { java.util.Arrays.fill(a, 2, 2 + n, -0f); a[at] = 0f; }
          case 3 -> { java.util.Arrays.fill(a, 2, 2 + n, 0f); a[at] = -0f; }
          case 4 -> java.util.Arrays.fill(a, Float.NEGATIVE_INFINITY);
          case 5 -> a[2 + n - 1] = 1e9f; // the maximum in the scalar tail (or the last vector)
          default -> { }
        }
        float ref = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) ref = Math.max(ref, a[2 + i]);
        assertEquals(Float.floatToRawIntBits(ref), Float.floatToRawIntBits(Vec.max(a, 2, n)), "n " + n + " trial " + trial);
        // addMax: the same over y + x, computed here element by element
        float[] x = uniform(rng, n + 1, -1f, 1f), y = a.clone();
        float refSum = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) refSum = Math.max(refSum, a[2 + i] + x[1 + i]);
        assertEquals(Float.floatToRawIntBits(refSum), Float.floatToRawIntBits(Vec.addMax(x, 1, y, 2, n)), "addMax, n " + n + " trial " + trial);
      }
    }
  }

  /** The fused bias add + max equals add then max bit for bit, at every length and with -inf entries. */
  @Test
  void addMaxIsAddThenMaxBitForBit() {
    Rng rng = new Rng(7);
    for (int n : LENGTHS) {
      for (int trial = 0; trial < 3; trial++) {
        float[] x = uniform(rng, n + 3, -5f, 5f), y = uniform(rng, n + 5, -30f, 30f);
        if (trial == 1) y[5 + rng.nextInt(n)] = Float.NEGATIVE_INFINITY;
        if (trial == 2) java.util.Arrays.fill(y, Float.NEGATIVE_INFINITY);
        float[] ref = y.clone();
        Vec.add(x, 3, ref, 5, n);
        float refMax = Vec.max(ref, 5, n);
        float m = Vec.addMax(x, 3, y, 5, n);
        assertEquals(Float.floatToRawIntBits(refMax), Float.floatToRawIntBits(m), "n " + n + " trial " + trial);
        for (int i = 0; i < y.length; i++) assertEquals(Float.floatToRawIntBits(ref[i]), Float.floatToRawIntBits(y[i]), "n " + n + " at " + i);
        double brute = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) brute = Math.max(brute, y[5 + i]);
        assertEquals(brute, m, 0.0, "the maximum of the updated slice");
      }
    }
  }
}
