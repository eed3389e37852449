package dev.lmhead.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lmhead.nn.Parameter;
import java.util.List;
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
}
