package dev.lmhead.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vectorised kernels on float[] slices (Vector API). exp, tanh and sigmoid are our own FMA polynomials
 * (deterministic: see below), close in speed to the intrinsified {@code lanewise(EXP)} and about 2 ulp
 * accurate.
 */
public final class Vec {
  public static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  private static final int L = S.length();

  private Vec() {}

  // ---------------------------------------------------------------------------------------------
  // Deterministic elementary functions.
  //
  // The Vector API's lanewise(EXP/TANH/LOG1P) and reduceLanes(ADD) give different bits when a method
  // runs interpreted or C1-compiled (Java fallback) and when C2 intrinsifies it (SVML, tree reduction).
  // When that switch happens depends on JIT timing, so two identical training runs would drift apart
  // in the 7th digit. Everything below uses only IEEE-exact lane operations (add, mul, fma, div,
  // compare, blend, bit casts), so every lane gives the bits of its scalar twin whatever the JIT
  // does: results are reproducible run to run for a fixed thread count.
  // ---------------------------------------------------------------------------------------------

  private static final float LOG2E = 1.44269504088896341f, MAGIC = 12582912f; // 1.5 * 2^23
  private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
  private static final float EXP_LO = -87.33654f, EXP_HI = 88.72283f;
  private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
      P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;
  private static final int MAGIC_BITS = Float.floatToRawIntBits(MAGIC);

  private static FloatVector b(FloatVector like, float v) { return FloatVector.broadcast(like.species(), v); }

  /** e^x for every lane (Cephes expf polynomial; max relative error ~2 ulp; 0 below -87.34, +inf above ln(FLT_MAX)). */
  public static FloatVector exp(FloatVector x) {
    // the clamp as compares and blends, not max/min: a lanewise max/min with Java's NaN and -0 rules is a chain
    // of several instructions; these give the same bits for every input (a NaN is in neither mask and stays NaN)
    VectorMask<Float> below = x.lt(EXP_LO), above = x.compare(VectorOperators.GT, EXP_HI);
    FloatVector c = x.blend(EXP_LO, below).blend(EXP_HI, above);
    FloatVector t = c.fma(LOG2E, MAGIC);                 // MAGIC + round(x log2 e)
    FloatVector n = t.sub(MAGIC);
    FloatVector r = n.fma(b(x, -LN2_HI), c);
    r = n.fma(b(x, -LN2_LO), r);
    FloatVector p = r.fma(P0, P1).fma(r, b(x, P2)).fma(r, b(x, P3)).fma(r, b(x, P4)).fma(r, b(x, P5));
    FloatVector y = p.fma(r.mul(r), r).add(1f);
    // 2^n as 2^h * 2^(n-h), h = n >> 1, so that n = 128 (x near ln FLT_MAX) stays finite
    var ni = t.reinterpretAsInts().sub(MAGIC_BITS);
    var h = ni.lanewise(VectorOperators.ASHR, 1);
    FloatVector pa = h.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
    FloatVector pb = ni.sub(h).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
    FloatVector e = y.mul(pa).mul(pb);
    return e.blend(0f, below).blend(Float.POSITIVE_INFINITY, above);
  }

  /** Scalar twin of {@link #exp(FloatVector)}: bit-identical to each lane. */
  public static float exp(float x) {
    if (x != x) return x;
    float c = Math.min(Math.max(x, EXP_LO), EXP_HI);
    float t = Math.fma(c, LOG2E, MAGIC);
    float n = t - MAGIC;
    float r = Math.fma(n, -LN2_HI, c);
    r = Math.fma(n, -LN2_LO, r);
    float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(r, P0, P1), r, P2), r, P3), r, P4), r, P5);
    float y = Math.fma(p, r * r, r) + 1f;
    int ni = Float.floatToRawIntBits(t) - MAGIC_BITS, h = ni >> 1;
    float e = y * Float.intBitsToFloat((h + 127) << 23) * Float.intBitsToFloat((ni - h + 127) << 23);
    if (x < EXP_LO) return 0f;
    return x > EXP_HI ? Float.POSITIVE_INFINITY : e;
  }

  private static final float T0 = -5.70498872745e-3f, T1 = 2.06390887954e-2f, T2 = -5.37397155531e-2f,
      T3 = 1.33314422036e-1f, T4 = -3.33332819422e-1f;

  /** tanh for every lane (Cephes tanhf: polynomial below |x| 0.625, else 1 - 2/(e^{2|x|}+1)). */
  public static FloatVector tanh(FloatVector x) {
    FloatVector ax = x.abs();
    FloatVector z = x.mul(x);
    FloatVector small = z.fma(T0, T1).fma(z, b(x, T2)).fma(z, b(x, T3)).fma(z, b(x, T4)).mul(z).fma(x, x);
    FloatVector big = FloatVector.broadcast(x.species(), 1f).sub(FloatVector.broadcast(x.species(), 2f).div(exp(ax.add(ax)).add(1f)));
    big = big.blend(big.neg(), x.lt(0f));
    return big.blend(small, ax.lt(0.625f));
  }

  /** Scalar twin of {@link #tanh(FloatVector)}. */
  public static float tanh(float x) {
    float ax = Math.abs(x);
    if (ax < 0.625f) {
      float z = x * x;
      return Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(z, T0, T1), z, T2), z, T3), z, T4) * z, x, x);
    }
    float big = 1f - 2f / (exp(ax + ax) + 1f);
    return x < 0f ? -big : big;
  }

  /** 1 / (1 + e^{-x}) for every lane. */
  public static FloatVector sigmoid(FloatVector x) {
    return FloatVector.broadcast(x.species(), 1f).div(exp(x.neg()).add(1f));
  }

  /** Scalar twin of {@link #sigmoid(FloatVector)}. */
  public static float sigmoid(float x) { return 1f / (exp(-x) + 1f); }

  /**
   * log(1 + y) for lanes with y in [0, 1] (as in log(1 + e^{-|x|}), the log-sigmoid / log-add-exp
   * correction): 2 atanh(s) with s = y / (2 + y) in [0, 1/3], odd series to s^15 (error < 1 ulp).
   */
  public static FloatVector log1pUnit(FloatVector y) {
    FloatVector s = y.div(y.add(2f));
    FloatVector z = s.mul(s);
    FloatVector p = z.fma(1f / 15, 1f / 13).fma(z, b(y, 1f / 11)).fma(z, b(y, 1f / 9)).fma(z, b(y, 1f / 7))
        .fma(z, b(y, 1f / 5)).fma(z, b(y, 1f / 3)).fma(z, b(y, 1f));
    return s.add(s).mul(p);
  }

  /** Scalar twin of {@link #log1pUnit(FloatVector)}. */
  public static float log1pUnit(float y) {
    float s = y / (y + 2f);
    float z = s * s;
    float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(z, 1f / 15, 1f / 13), z, 1f / 11), z, 1f / 9), z, 1f / 7), z, 1f / 5), z, 1f / 3), z, 1f);
    return (s + s) * p;
  }

  /** log(1 + e^{-a}) for a >= 0 (softplus of -a), every lane. */
  public static FloatVector softplusNeg(FloatVector a) { return log1pUnit(exp(a.neg())); }

  /** Scalar twin of {@link #softplusNeg(FloatVector)}. */
  public static float softplusNeg(float a) { return log1pUnit(exp(-a)); }

  /** Sum of the lanes in lane order (bitwise the same interpreted or compiled, unlike reduceLanes). */
  public static float hsum(FloatVector v) {
    float s = 0f;
    for (int i = 0; i < v.length(); i++) s += v.lane(i);
    return s;
  }

  public static float dot(float[] a, int ao, float[] b, int bo, int n) {
    int i = 0;
    FloatVector acc = FloatVector.zero(S);
    for (int ub = S.loopBound(n); i < ub; i += L) {
      acc = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc);
    }
    float s = hsum(acc);
    for (; i < n; i++) s += a[ao + i] * b[bo + i];
    return s;
  }

  /** y += alpha * x */
  public static void axpy(float alpha, float[] x, int xo, float[] y, int yo, int n) {
    int i = 0;
    FloatVector va = FloatVector.broadcast(S, alpha);
    for (int ub = S.loopBound(n); i < ub; i += L) {
      FloatVector.fromArray(S, x, xo + i).fma(va, FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
    }
    for (; i < n; i++) y[yo + i] += alpha * x[xo + i];
  }

  /** y += x */
  public static void add(float[] x, int xo, float[] y, int yo, int n) {
    int i = 0;
    for (int ub = S.loopBound(n); i < ub; i += L) {
      FloatVector.fromArray(S, x, xo + i).add(FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
    }
    for (; i < n; i++) y[yo + i] += x[xo + i];
  }

  public static void scale(float[] a, int off, int n, float s) {
    int i = 0;
    for (int ub = S.loopBound(n); i < ub; i += L) {
      FloatVector.fromArray(S, a, off + i).mul(s).intoArray(a, off + i);
    }
    for (; i < n; i++) a[off + i] *= s;
  }

  /**
   * y += x over the slice, returning the maximum of the updated y: a bias add fused with the max pass
   * that a softmax over the row starts with (one read-modify-write of y instead of two reads), bit for
   * bit {@link #add} then {@link #max}.
   */
  public static float addMax(float[] x, int xo, float[] y, int yo, int n) {
    int i = 0;
    float m = Float.NEGATIVE_INFINITY;
    if (n >= L) { // four accumulators, as in max
      FloatVector m0 = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY), m1 = m0, m2 = m0, m3 = m0;
      for (int ub = n - 4 * L; i <= ub; i += 4 * L) {
        FloatVector v0 = FloatVector.fromArray(S, x, xo + i).add(FloatVector.fromArray(S, y, yo + i));
        FloatVector v1 = FloatVector.fromArray(S, x, xo + i + L).add(FloatVector.fromArray(S, y, yo + i + L));
        FloatVector v2 = FloatVector.fromArray(S, x, xo + i + 2 * L).add(FloatVector.fromArray(S, y, yo + i + 2 * L));
        FloatVector v3 = FloatVector.fromArray(S, x, xo + i + 3 * L).add(FloatVector.fromArray(S, y, yo + i + 3 * L));
        v0.intoArray(y, yo + i);
        v1.intoArray(y, yo + i + L);
        v2.intoArray(y, yo + i + 2 * L);
        v3.intoArray(y, yo + i + 3 * L);
        m0 = m0.max(v0);
        m1 = m1.max(v1);
        m2 = m2.max(v2);
        m3 = m3.max(v3);
      }
      for (int ub = S.loopBound(n); i < ub; i += L) {
        FloatVector v = FloatVector.fromArray(S, x, xo + i).add(FloatVector.fromArray(S, y, yo + i));
        v.intoArray(y, yo + i);
        m0 = m0.max(v);
      }
      m = m0.max(m1).max(m2.max(m3)).reduceLanes(VectorOperators.MAX);
    }
    for (; i < n; i++) {
      y[yo + i] += x[xo + i];
      m = Math.max(m, y[yo + i]);
    }
    return m;
  }

  /**
   * The first index i in [from, to) with {@code a[off + i] > t}, or {@code to} when there is none (a NaN
   * is never above t; with t NaN nothing is): a vectorised scan that a top-k selection uses to skip the
   * entries that cannot enter its full heap.
   */
  public static int nextAbove(float[] a, int off, int from, int to, float t) {
    int i = from;
    FloatVector tv = FloatVector.broadcast(S, t);
    for (int ub = from + S.loopBound(to - from); i < ub; i += L) {
      var above = FloatVector.fromArray(S, a, off + i).compare(VectorOperators.GT, tv);
      if (above.anyTrue()) return i + above.firstTrue();
    }
    for (; i < to; i++) if (a[off + i] > t) return i;
    return to;
  }

  /** Number of groups {@link #groupMaxima} splits a slice into: 8 vector lengths (128 with AVX-512, 64 with AVX2). */
  public static final int GROUPS = 8 * L;

  /**
   * The maximum of each of {@link #GROUPS} disjoint groups that together hold every element of the slice, into
   * {@code out[0 .. GROUPS)}: group j·L + l holds the elements at offsets i with (i / L) mod 8 = j and i mod L = l
   * (one vectorised pass with eight running lane-wise maxima). A NaN element makes its group's maximum NaN.
   * The k-th largest group maximum is a lower bound of the k-th largest element (k groups reach it, each through an
   * element of its own), which {@code TopK.selectRow} uses as a first threshold.
   *
   * @throws IllegalArgumentException when n &lt; GROUPS (a group would be empty)
   */
  public static void groupMaxima(float[] a, int off, int n, float[] out) {
    if (n < GROUPS) throw new IllegalArgumentException("groupMaxima needs at least " + GROUPS + " elements, got " + n);
    FloatVector m0 = FloatVector.fromArray(S, a, off), m1 = FloatVector.fromArray(S, a, off + L),
        m2 = FloatVector.fromArray(S, a, off + 2 * L), m3 = FloatVector.fromArray(S, a, off + 3 * L),
        m4 = FloatVector.fromArray(S, a, off + 4 * L), m5 = FloatVector.fromArray(S, a, off + 5 * L),
        m6 = FloatVector.fromArray(S, a, off + 6 * L), m7 = FloatVector.fromArray(S, a, off + 7 * L);
    int i = GROUPS;
    for (int ub = n - GROUPS; i <= ub; i += GROUPS) {
      int o = off + i;
      m0 = m0.max(FloatVector.fromArray(S, a, o));
      m1 = m1.max(FloatVector.fromArray(S, a, o + L));
      m2 = m2.max(FloatVector.fromArray(S, a, o + 2 * L));
      m3 = m3.max(FloatVector.fromArray(S, a, o + 3 * L));
      m4 = m4.max(FloatVector.fromArray(S, a, o + 4 * L));
      m5 = m5.max(FloatVector.fromArray(S, a, o + 5 * L));
      m6 = m6.max(FloatVector.fromArray(S, a, o + 6 * L));
      m7 = m7.max(FloatVector.fromArray(S, a, o + 7 * L));
    }
    m0.intoArray(out, 0);
    m1.intoArray(out, L);
    m2.intoArray(out, 2 * L);
    m3.intoArray(out, 3 * L);
    m4.intoArray(out, 4 * L);
    m5.intoArray(out, 5 * L);
    m6.intoArray(out, 6 * L);
    m7.intoArray(out, 7 * L);
    // the last partial round: element i goes to group (i - start) as it would in a full round
    for (int start = i; i < n; i++) out[i - start] = Math.max(out[i - start], a[off + i]);
  }

  /**
   * The maximum of the slice (NaN if any entry is NaN; -inf for an empty slice). Four independent lane
   * accumulators: a vector max with Java's semantics (NaN, -0) is a chain of several instructions, and one
   * accumulator made the pass wait on that chain (1 cycle per float in L1 instead of a fraction). The maximum
   * does not depend on the order it is taken in, so the value is the same as a sequential scan's.
   */
  public static float max(float[] a, int off, int n) {
    int i = 0;
    float m = Float.NEGATIVE_INFINITY;
    if (n >= L) {
      FloatVector m0 = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY), m1 = m0, m2 = m0, m3 = m0;
      for (int ub = n - 4 * L; i <= ub; i += 4 * L) {
        m0 = m0.max(FloatVector.fromArray(S, a, off + i));
        m1 = m1.max(FloatVector.fromArray(S, a, off + i + L));
        m2 = m2.max(FloatVector.fromArray(S, a, off + i + 2 * L));
        m3 = m3.max(FloatVector.fromArray(S, a, off + i + 3 * L));
      }
      for (int ub = S.loopBound(n); i < ub; i += L) m0 = m0.max(FloatVector.fromArray(S, a, off + i));
      m = m0.max(m1).max(m2.max(m3)).reduceLanes(VectorOperators.MAX);
    }
    for (; i < n; i++) m = Math.max(m, a[off + i]);
    return m;
  }

  /** Sum of exp(a[i] - shift) over the slice, accumulated in float lanes then double. */
  public static double sumExp(float[] a, int off, int n, float shift) {
    int i = 0;
    FloatVector acc = FloatVector.zero(S);
    FloatVector sh = FloatVector.broadcast(S, shift);
    for (int ub = S.loopBound(n); i < ub; i += L) {
      acc = acc.add(exp(FloatVector.fromArray(S, a, off + i).sub(sh)));
    }
    double s = hsum(acc);
    for (; i < n; i++) s += exp(a[off + i] - shift);
    return s;
  }

  /** a[i] = exp(a[i] - shift) in place; returns the sum. */
  public static double expShiftInPlace(float[] a, int off, int n, float shift) {
    int i = 0;
    FloatVector acc = FloatVector.zero(S);
    FloatVector sh = FloatVector.broadcast(S, shift);
    for (int ub = S.loopBound(n); i < ub; i += L) {
      FloatVector e = exp(FloatVector.fromArray(S, a, off + i).sub(sh));
      e.intoArray(a, off + i);
      acc = acc.add(e);
    }
    double s = hsum(acc);
    for (; i < n; i++) {
      float e = exp(a[off + i] - shift);
      a[off + i] = e;
      s += e;
    }
    return s;
  }

  /**
   * log(sum(exp(a))) over the slice, stable: shifted by the maximum, so huge values do not
   * overflow; an all -inf slice gives -inf and a +inf entry gives +inf (not NaN).
   */
  public static float logSumExp(float[] a, int off, int n) {
    return logSumExpGivenMax(a, off, n, max(a, off, n));
  }

  /** {@link #logSumExp} of a slice whose maximum {@code m} is already known. */
  public static float logSumExpGivenMax(float[] a, int off, int n, float m) {
    if (m == Float.NEGATIVE_INFINITY || m == Float.POSITIVE_INFINITY) return m;
    return (float) (m + Math.log(sumExp(a, off, n, m)));
  }

  /** a[i] -= s */
  public static void addScalar(float[] a, int off, int n, float s) {
    int i = 0;
    for (int ub = S.loopBound(n); i < ub; i += L) {
      FloatVector.fromArray(S, a, off + i).add(s).intoArray(a, off + i);
    }
    for (; i < n; i++) a[off + i] += s;
  }

  /** In-place log-softmax of a row; returns the log-normaliser. */
  public static float logSoftmaxInPlace(float[] a, int off, int n) {
    return logSoftmaxInPlace(a, off, n, max(a, off, n));
  }

  /** {@link #logSoftmaxInPlace} of a row whose maximum {@code m} is already known. */
  public static float logSoftmaxInPlace(float[] a, int off, int n, float m) {
    float lse = logSumExpGivenMax(a, off, n, m);
    addScalar(a, off, n, -lse);
    return lse;
  }

  /** In-place softmax of a row; returns the log-normaliser. */
  public static float softmaxInPlace(float[] a, int off, int n) {
    float m = max(a, off, n);
    double s = expShiftInPlace(a, off, n, m);
    scale(a, off, n, (float) (1.0 / s));
    return (float) (m + Math.log(s));
  }

  /**
   * log Σ exp(a) over the slice as {@code m + log Σ exp(a - m)} with m the maximum, in double (no
   * rounding to float, no special case for infinite entries).
   */
  public static double logNormaliser(float[] a, int off, int n) {
    float m = max(a, off, n);
    return m + Math.log(sumExp(a, off, n, m));
  }

  /**
   * The fused softmax cross-entropy gradient of one row of logits, in place:
   * {@code a = scale·(softmax(a) − onehot(target))} (exp and sum in one pass, then one scaling pass).
   * Returns the row's log-normaliser {@code log Σ exp(a)} in double, so its NLL is that minus the
   * target's logit (read it before the call).
   */
  public static double softmaxGradInPlace(float[] a, int off, int n, int target, float scale) {
    return softmaxGradInPlace(a, off, n, target, scale, max(a, off, n));
  }

  /** {@link #softmaxGradInPlace} of a row whose maximum {@code m} is already known. */
  public static double softmaxGradInPlace(float[] a, int off, int n, int target, float scale, float m) {
    double s = expShiftInPlace(a, off, n, m);
    scale(a, off, n, (float) (scale / s));
    a[off + target] -= scale;
    return m + Math.log(s);
  }

  /**
   * {@link #softmaxGradInPlace} for a row whose log-normaliser {@code lse} is already known (0 for a
   * row of log-probabilities): {@code a = scale·(exp(a − lse) − onehot(target))} in a single pass,
   * bit for bit the same as exponentiating and then scaling.
   */
  public static void softmaxGradGivenLse(float[] a, int off, int n, int target, float lse, float scale) {
    int i = 0;
    FloatVector sh = FloatVector.broadcast(S, lse);
    for (int ub = S.loopBound(n); i < ub; i += L) {
      exp(FloatVector.fromArray(S, a, off + i).sub(sh)).mul(scale).intoArray(a, off + i);
    }
    for (; i < n; i++) a[off + i] = exp(a[off + i] - lse) * scale;
    a[off + target] -= scale;
  }

  /** Backward of tanh in place: {@code g = g ⊙ (1 − y²)} with y the tanh outputs. */
  public static void tanhBackwardInPlace(float[] g, float[] y, int off, int n) {
    int i = 0;
    for (int ub = S.loopBound(n); i < ub; i += L) {
      FloatVector yv = FloatVector.fromArray(S, y, off + i);
      FloatVector one = FloatVector.broadcast(S, 1f);
      FloatVector.fromArray(S, g, off + i).mul(one.sub(yv.mul(yv))).intoArray(g, off + i);
    }
    for (; i < n; i++) g[off + i] *= 1f - y[off + i] * y[off + i];
  }

  public static void sigmoidInPlace(float[] a, int off, int n) {
    int i = 0;
    for (int ub = S.loopBound(n); i < ub; i += L) {
      FloatVector x = FloatVector.fromArray(S, a, off + i);
      sigmoid(x).intoArray(a, off + i);
    }
    for (; i < n; i++) a[off + i] = sigmoid(a[off + i]);
  }

  public static void tanhInPlace(float[] a, int off, int n) {
    int i = 0;
    for (int ub = S.loopBound(n); i < ub; i += L) {
      tanh(FloatVector.fromArray(S, a, off + i)).intoArray(a, off + i);
    }
    for (; i < n; i++) a[off + i] = tanh(a[off + i]);
  }

  public static double sumSquares(float[] a, int off, int n) {
    int i = 0;
    FloatVector acc = FloatVector.zero(S);
    for (int ub = S.loopBound(n); i < ub; i += L) {
      FloatVector x = FloatVector.fromArray(S, a, off + i);
      acc = x.fma(x, acc);
    }
    double s = hsum(acc);
    for (; i < n; i++) s += (double) a[off + i] * a[off + i];
    return s;
  }

  public static boolean allFinite(float[] a, int off, int n) {
    for (int i = 0; i < n; i++) if (!Float.isFinite(a[off + i])) return false;
    return true;
  }
}
