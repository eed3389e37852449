package dev.lmhead.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lmhead.TestData;
import dev.lmhead.tensor.Rng;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class DropoutTest {

  @Test
  void meanPreservedAndDropRateIsP() {
    int n = 400_001; // odd: exercises the last single draw
    float p = 0.3f;
    float[] x = new float[n];
    Arrays.fill(x, 1f);
    float[] out = new float[n];
    new Dropout(p).forward(x, n, out, true, new Rng(5));
    double sum = 0;
    int zeros = 0;
    for (float v : out) {
      sum += v;
      if (v == 0f) zeros++;
      else assertEquals(1 / (1 - p), v, 1e-6);
    }
    // binomial std of the drop fraction is sqrt(p(1-p)/n) ~ 7e-4: 5 sigma bounds
    assertEquals(p, zeros / (double) n, 0.0036);
    assertEquals(1.0, sum / n, 0.0052);
  }

  @Test
  void identityForPZeroAndInEvaluation() {
    float[] x = TestData.gaussian(new Rng(1), 37, 1);
    float[] out = new float[37];
    Rng rng = new Rng(2);
    long before = rng.state();
    new Dropout(0f).forward(x, 37, out, true, rng);
    assertArrayEquals(x, out, 0f);
    Dropout d = new Dropout(0.5f);
    Arrays.fill(out, 9f);
    d.forward(x, 37, out, false, rng);
    assertArrayEquals(x, out, 0f);
    assertEquals(before, rng.state(), "rng must not advance when dropout is the identity");
    float[] g = TestData.gaussian(new Rng(3), 37, 1), gi = new float[37];
    d.backward(g, 37, gi);
    assertArrayEquals(g, gi, 0f);
  }

  @Test
  void sameSeedSameMask() {
    float[] x = TestData.gaussian(new Rng(1), 1001, 1);
    float[] a = new float[1001], b = new float[1001], c = new float[1001];
    new Dropout(0.4f).forward(x, 1001, a, true, new Rng(77));
    new Dropout(0.4f).forward(x, 1001, b, true, new Rng(77));
    new Dropout(0.4f).forward(x, 1001, c, true, new Rng(78));
    assertArrayEquals(a, b, 0f);
    assertFalse(Arrays.equals(a, c));
  }

  @Test
  void gradientIsMaskTimesScale() {
    int n = 203;
    float p = 0.25f, scale = 1 / (1 - p);
    Rng data = new Rng(4);
    float[] x = TestData.gaussian(data, n, 1), g = TestData.gaussian(data, n, 1);
    for (int i = 0; i < n; i++) if (x[i] == 0f) x[i] = 1f;
    Dropout d = new Dropout(p);
    float[] out = new float[n], gi = new float[n];
    d.forward(x, n, out, true, new Rng(9));
    d.backward(g, n, gi);
    int kept = 0;
    for (int i = 0; i < n; i++) {
      boolean keep = out[i] != 0f;
      if (keep) { kept++; assertEquals(x[i] * scale, out[i], 1e-6 * Math.abs(out[i])); }
      // out = x * m with m in {0, scale}: d out / d x = m
      assertEquals(keep ? g[i] * scale : 0f, gi[i], 1e-6 * Math.abs(g[i] * scale));
    }
    // a loss L = Σ out·g is linear in x, so the exact directional derivative is Σ g·m·v
    assertEquals(n * (1 - p), kept, 5 * Math.sqrt(n * p * (1 - p)));
    // in-place forward and backward
    float[] y = x.clone(), gy = g.clone();
    d.forward(y, n, y, true, new Rng(9));
    assertArrayEquals(out, y, 0f);
    d.backward(gy, n, gy);
    assertArrayEquals(gi, gy, 0f);
  }

  @Test
  void rejectsBadP() {
    var e = assertThrows(IllegalArgumentException.class, () -> new Dropout(1f));
    assertEquals("dropout must be in [0, 1), got 1.0", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new Dropout(-0.1f));
    assertThrows(IllegalArgumentException.class, () -> new Dropout(Float.NaN));
  }
}
