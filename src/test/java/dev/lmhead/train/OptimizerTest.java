package dev.lmhead.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.nn.Parameter;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OptimizerTest {

  private static Parameter param(float... v) {
    Parameter p = new Parameter("w", v.length);
    System.arraycopy(v, 0, p.data, 0, v.length);
    return p;
  }

  @Test
  void sgdWithWeightDecay() {
    Parameter p = param(1f, -2f);
    p.grad[0] = 0.5f;
    p.grad[1] = 1f;
    new Optimizer.Sgd(List.of(p), 0.1f).step(0.1);
    assertEquals(1f - 0.1f * (0.5f + 0.1f * 1f), p.data[0], 1e-6);
    assertEquals(-2f - 0.1f * (1f + 0.1f * -2f), p.data[1], 1e-6);
  }

  @Test
  void adamMatchesTheFormulaOverSeveralSteps() {
    Parameter p = param(0.3f);
    Optimizer.Adam adam = new Optimizer.Adam(List.of(p), 0f);
    double x = 0.3, m = 0, v = 0;
    for (int t = 1; t <= 5; t++) {
      float g = (float) (2 * x); // gradient of x^2
      p.grad[0] = g;
      adam.step(0.01);
      m = 0.9 * m + 0.1 * g;
      v = 0.999 * v + 0.001 * g * g;
      double mh = m / (1 - Math.pow(0.9, t)), vh = v / (1 - Math.pow(0.999, t));
      x -= 0.01 * mh / (Math.sqrt(vh) + 1e-8);
      assertEquals(x, p.data[0], 1e-6, "step " + t);
    }
  }

  @Test
  void adagradMatchesTheFormula() {
    Parameter p = param(1f);
    Optimizer.Adagrad ada = new Optimizer.Adagrad(List.of(p), 0f);
    double x = 1, s = 0;
    for (int t = 0; t < 4; t++) {
      p.grad[0] = (float) x;
      ada.step(0.5);
      s += x * x;
      x -= 0.5 * x / (Math.sqrt(s) + 1e-10);
      assertEquals(x, p.data[0], 1e-6);
    }
  }

  @Test
  void clipGradNormScalesToMaxNorm() {
    Parameter a = param(0f, 0f), b = param(0f);
    a.grad[0] = 3f;
    a.grad[1] = 0f;
    b.grad[0] = 4f;
    Optimizer o = new Optimizer.Sgd(List.of(a, b), 0f);
    assertEquals(5.0, o.clipGradNorm(1.0), 1e-9);
    assertEquals(0.6, a.grad[0], 1e-5);
    assertEquals(0.8, b.grad[0], 1e-5);
    assertEquals(1.0, o.clipGradNorm(0), 1e-5); // 0 disables clipping but still reports the norm
  }

  @Test
  void stateRoundTripAndMismatch() {
    Parameter p = param(1f, 2f);
    Optimizer.Adam a = new Optimizer.Adam(List.of(p), 0f);
    p.grad[0] = 1f;
    a.step(0.1);
    Optimizer.Adam b = new Optimizer.Adam(List.of(param(1f, 2f)), 0f);
    b.loadState(a.state());
    assertEquals(a.state().get("exp_avg.0")[0], b.state().get("exp_avg.0")[0]);
    assertEquals(1f, b.state().get("step")[0]);
    assertThrows(IllegalArgumentException.class, () -> new Optimizer.Adam(List.of(param(1f)), 0f).loadState(a.state()));
    assertThrows(IllegalArgumentException.class, () -> Optimizer.create("rmsprop", List.of(p), 0f));
  }

  /** The step count in a saved {@code step} entry: one float (before the fix) or base-2^16 digits. */
  private static long savedSteps(float[] step) {
    if (step.length == 1) return (long) step[0];
    long t = 0;
    for (int i = 0; i < step.length; i++) t |= (long) step[i] << (16 * i);
    return t;
  }

  @Test
  void adamKeepsCountingPast2To24AndOldCheckpointsLoad() {
    Parameter p = param(0.5f);
    Optimizer.Adam a = new Optimizer.Adam(List.of(p), 0f);
    Map<String, float[]> old = new HashMap<>(a.state());
    old.put("step", new float[] {16_777_216f}); // 2^24 as an older checkpoint stores it: one float
    a.loadState(old);
    assertEquals(16_777_216L, savedSteps(a.state().get("step")));
    for (int i = 0; i < 3; i++) {
      p.grad[0] = 1f;
      a.step(0.01);
    }
    // a float counter stays at 2^24: 2^24 + 1 rounds back to it
    assertEquals(16_777_219L, savedSteps(a.state().get("step")));
    // the count survives a save/restore exactly, also far beyond a float's and a double's integers
    Optimizer.Adam b = new Optimizer.Adam(List.of(param(0.5f)), 0f);
    b.loadState(a.state());
    assertEquals(16_777_219L, b.steps());
    Map<String, float[]> big = new HashMap<>(a.state());
    long huge = (1L << 62) + 12_345_678_901L;
    float[] digits = new float[Optimizer.Adam.STEP_DIGITS];
    for (int i = 0; i < digits.length; i++) digits[i] = (huge >>> (16 * i)) & 0xFFFF;
    big.put("step", digits);
    b.loadState(big);
    assertEquals(huge, b.steps());
    assertEquals(huge, savedSteps(b.state().get("step")));
  }

  @Test
  void adamBiasCorrectionUsesTheRestoredCount() {
    Parameter p = param(0.3f);
    Optimizer.Adam a = new Optimizer.Adam(List.of(p), 0f);
    Map<String, float[]> s = new HashMap<>(a.state());
    s.put("exp_avg.0", new float[] {0.2f});
    s.put("exp_avg_sq.0", new float[] {0.05f});
    s.put("step", new float[] {2, 0, 0, 0}); // two steps taken, as digits
    a.loadState(s);
    p.grad[0] = 0.6f;
    a.step(0.01);
    int t = 3;
    double m = 0.9 * 0.2f + 0.1 * 0.6f, v = 0.999 * 0.05f + 0.001 * 0.6f * 0.6f;
    double expected = 0.3f - 0.01 * (m / (1 - Math.pow(0.9, t))) / (Math.sqrt(v / (1 - Math.pow(0.999, t))) + 1e-8);
    double withT1 = 0.3f - 0.01 * (m / 0.1) / (Math.sqrt(v / 0.001) + 1e-8);
    assertEquals(expected, p.data[0], 1e-6);
    assertTrue(Math.abs(expected - withT1) > 1e-4, "t = 1 and t = 3 must be told apart");
    assertEquals(3L, a.steps());
  }

  @Test
  void adamRejectsAStepEntryThatIsNotACount() {
    Optimizer.Adam a = new Optimizer.Adam(List.of(param(1f)), 0f);
    for (float[] bad : new float[][] {{1.5f}, {-1f}, {Float.NaN}, {1, 2, 65536, 0}, {0, 0, 0, 40000}, {1, 2}}) {
      Map<String, float[]> s = new HashMap<>(a.state());
      s.put("step", bad);
      assertThrows(IllegalArgumentException.class, () -> a.loadState(s), java.util.Arrays.toString(bad));
    }
  }
}
