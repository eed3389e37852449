package dev.lmhead.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** The deterministic elementary functions: accuracy, special values, and lane == scalar twin bitwise. */
class VecMathTest {
  static float[] inputs(float lo, float hi, int n, long seed) {
    Rng r = new Rng(seed);
    float[] a = new float[n];
    for (int i = 0; i < n; i++) a[i] = r.uniform(lo, hi);
    return a;
  }

  interface VF { FloatVector f(FloatVector x); }
  interface SF { float f(float x); }

  static void lanesEqualScalar(float[] x, VF vf, SF sf, String what) {
    int L = Vec.S.length();
    float[] out = new float[L];
    for (int i = 0; i + L <= x.length; i += L) {
      vf.f(FloatVector.fromArray(Vec.S, x, i)).intoArray(out, 0);
      for (int j = 0; j < L; j++) {
        assertEquals(Float.floatToIntBits(sf.f(x[i + j])), Float.floatToIntBits(out[j]), what + " lane differs from scalar at x=" + x[i + j]);
      }
    }
  }

  @Test
  void expIsAccurateAndItsLanesMatchTheScalarTwin() {
    float[] x = inputs(-87f, 88f, 20_000, 1);
    double worst = 0;
    for (float v : x) worst = Math.max(worst, Math.abs(Vec.exp(v) / Math.exp(v) - 1));
    assertTrue(worst < 3e-7, "exp relative error " + worst);
    lanesEqualScalar(x, Vec::exp, Vec::exp, "exp");
    // around the clamp bounds (-87.33654, 88.72283) too: the clamp is compares and blends, the scalar twin min/max
    float[] special = {Float.NEGATIVE_INFINITY, -1000f, -87.4f, 0f, -0f, 88.5f, Float.POSITIVE_INFINITY, Float.NaN,
        -87.33654f, Math.nextDown(-87.33654f), Math.nextUp(-87.33654f), 88.72283f, Math.nextDown(88.72283f), Math.nextUp(88.72283f),
        -Float.MAX_VALUE, Float.MAX_VALUE, Float.MIN_VALUE, -Float.MIN_VALUE};
    float[] pad = java.util.Arrays.copyOf(special, Math.max(special.length, Vec.S.length()) + Vec.S.length());
    lanesEqualScalar(pad, Vec::exp, Vec::exp, "exp special");
    assertEquals(0f, Vec.exp(Float.NEGATIVE_INFINITY));
    assertEquals(1f, Vec.exp(0f));
    assertEquals(Float.POSITIVE_INFINITY, Vec.exp(Float.POSITIVE_INFINITY));
    assertTrue(Float.isNaN(Vec.exp(Float.NaN)));
  }

  @Test
  void tanhSigmoidAndSoftplusAreAccurate() {
    float[] x = inputs(-12f, 12f, 20_000, 2);
    double tw = 0, sw = 0, pw = 0;
    for (float v : x) {
      tw = Math.max(tw, Math.abs(Vec.tanh(v) - Math.tanh(v)));
      sw = Math.max(sw, Math.abs(Vec.sigmoid(v) - 1 / (1 + Math.exp(-v))));
      double a = Math.abs(v);
      pw = Math.max(pw, Math.abs(Vec.softplusNeg((float) a) - Math.log1p(Math.exp(-a))));
    }
    assertTrue(tw < 2e-7, "tanh abs error " + tw);
    assertTrue(sw < 2e-7, "sigmoid abs error " + sw);
    assertTrue(pw < 2e-7, "softplus abs error " + pw);
    float tiny = 1e-5f;
    assertEquals(Math.tanh(tiny), Vec.tanh(tiny), 1e-12, "tanh must stay accurate near 0 (relative)");
    lanesEqualScalar(x, Vec::tanh, Vec::tanh, "tanh");
    lanesEqualScalar(x, Vec::sigmoid, Vec::sigmoid, "sigmoid");
    float[] ax = inputs(0f, 40f, 4096, 3);
    lanesEqualScalar(ax, Vec::softplusNeg, Vec::softplusNeg, "softplusNeg");
    assertEquals(1f, Vec.tanh(Float.POSITIVE_INFINITY));
    assertEquals(-1f, Vec.tanh(Float.NEGATIVE_INFINITY));
    assertEquals(0f, Vec.sigmoid(Float.NEGATIVE_INFINITY));
    assertEquals(1f, Vec.sigmoid(Float.POSITIVE_INFINITY));
  }

  @Test
  void sumsDoNotDependOnTheJit() {
    // the same reduction from a cold (interpreted) and a hot (compiled) method must agree bitwise
    float[] a = inputs(-30f, 0f, 33_278, 4);
    double first = Vec.sumExp(a, 0, a.length, 0f);
    float dot0 = Vec.dot(a, 0, a, 0, a.length);
    for (int i = 0; i < 20_000; i++) Vec.sumExp(a, 0, 64, 0f);
    assertEquals(first, Vec.sumExp(a, 0, a.length, 0f), 0.0);
    assertEquals(dot0, Vec.dot(a, 0, a, 0, a.length), 0.0);
  }
}
