package dev.lmhead.head;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.GradCheck;
import dev.lmhead.TestData;
import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Rng;

/**
 * Checks every head must pass, shared by the per-head tests: normalisation, targetLogProb vs the
 * gathered full distribution, top-k vs the sorted distribution, and finite-difference gradients for
 * every reduction with an ignore index, and the treatment of ignored and out-of-range targets.
 * Every comparison fails on NaN (JUnit's {@code assertEquals} counts NaN equal to NaN).
 */
public final class HeadContract {
  private HeadContract() {}

  /** exp(logProb) sums to 1 per row within 1e-5; targetLogProb equals the gathered row entry. */
  public static void normalisedAndConsistent(OutputLayer head, int n, long seed) {
    Rng rng = new Rng(seed);
    int v = head.vocabSize(), d = head.inputDim();
    float[] h = TestData.gaussian(rng, n * d, 1.0);
    int[] t = TestData.zipfTargets(rng, n, v);
    float[] lp = new float[n * v];
    head.logProb(h, n, lp);
    float[] tl = new float[n];
    head.targetLogProb(h, n, t, tl);
    for (int r = 0; r < n; r++) {
      double s = 0;
      for (int j = 0; j < v; j++) {
        assertTrue(Float.isFinite(lp[r * v + j]), "non-finite log-prob at row " + r);
        s += Math.exp(lp[r * v + j]);
      }
      assertFiniteClose(1.0, s, 1e-5, "row " + r + " does not sum to 1");
      assertFiniteClose(lp[r * v + t[r]], tl[r], 1e-5, "targetLogProb differs from gathered logProb at row " + r);
    }
  }

  /** topK equals sorting the full distribution (ties aside), and predict = argmax. */
  public static void topKMatchesSort(OutputLayer head, int n, int k, long seed) {
    Rng rng = new Rng(seed);
    int v = head.vocabSize(), d = head.inputDim();
    float[] h = TestData.gaussian(rng, n * d, 1.0);
    float[] lp = new float[n * v];
    head.logProb(h, n, lp);
    TopK top = head.topK(h, n, k);
    int[] pred = head.predict(h, n);
    for (int r = 0; r < n; r++) {
      int[] ids = new int[k];
      float[] vals = new float[k];
      TopK.selectRow(lp, r * v, v, k, ids, vals, 0);
      for (int j = 0; j < k; j++) {
        assertFiniteClose(vals[j], top.logProb(r, j), 2e-5, "row " + r + " rank " + j + " log-prob");
        if (Math.abs(vals[j] - (j + 1 < k ? vals[j + 1] : Float.NEGATIVE_INFINITY)) > 1e-5
            && (j == 0 || Math.abs(vals[j] - vals[j - 1]) > 1e-5)) {
          assertEquals(ids[j], top.id(r, j), "row " + r + " rank " + j + " id");
        }
      }
      assertFiniteClose(lp[r * v + pred[r]], vals[0], 2e-5, "predict is not an argmax at row " + r);
    }
  }

  /**
   * Finite-difference check of d loss / d hidden and d loss / d every parameter, with every third row
   * ignored; the loss and the per-row losses must match those recomputed from targetLogProb.
   */
  public static void gradients(OutputLayer head, int n, Loss loss, long seed) {
    Rng rng = new Rng(seed);
    int v = head.vocabSize(), d = head.inputDim();
    float[] h = TestData.gaussian(rng, n * d, 1.0);
    int[] t = TestData.zipfTargets(rng, n, v);
    // every third row carries the ignore index (-100, PyTorch's default, is one too)
    for (int r = 0; r < n; r += 3) t[r] = loss.ignoreIndex();
    for (Parameter p : head.parameters()) p.zeroGrad();
    float[] gh = new float[n * d];
    float[] rowLoss = new float[n];
    double l = head.forwardBackward(h, n, t, gh, loss, rowLoss);
    double ref = reference(head, h, n, t, loss);
    assertFiniteClose(ref, l, 1e-4 * Math.max(1, Math.abs(ref)), "forwardBackward loss differs from the targetLogProb loss");
    // per-row NLLs: -targetLogProb for counted rows, 0 for ignored ones (any reduction)
    int[] tt = t.clone();
    for (int r = 0; r < n; r++) if (loss.ignored(t[r])) tt[r] = 0;
    float[] tl = new float[n];
    head.targetLogProb(h, n, tt, tl);
    for (int r = 0; r < n; r++) {
      if (loss.ignored(t[r])) assertEquals(0f, rowLoss[r], 0f, "rowLoss of ignored row " + r);
      else assertFiniteClose(-tl[r], rowLoss[r], 1e-4 * Math.max(1, Math.abs(tl[r])), "rowLoss of row " + r);
    }
    java.util.function.DoubleSupplier f = () -> reference(head, h, n, t, loss);
    GradCheck.check(head.type() + " d/dhidden (" + loss + ")", h, gh, f, 60, seed + 1);
    for (Parameter p : head.parameters()) {
      float[] g = p.grad.clone();
      GradCheck.check(head.type() + " d/d" + p.name() + " (" + loss + ")", p.data, g, f, 60, seed + 2);
    }
  }

  /** The loss recomputed from targetLogProb in double. */
  public static double reference(OutputLayer head, float[] h, int n, int[] t, Loss loss) {
    int[] tt = t.clone();
    int count = 0;
    for (int r = 0; r < n; r++) if (loss.ignored(t[r])) tt[r] = 0; else count++;
    float[] lp = new float[n];
    head.targetLogProb(h, n, tt, lp);
    double s = 0;
    for (int r = 0; r < n; r++) if (!loss.ignored(t[r])) s -= lp[r];
    return loss.reduce(s, count);
  }

  /** |expected - actual| <= tol with both finite: unlike assertEquals, NaN (or inf) never passes. */
  public static void assertFiniteClose(double expected, double actual, double tol, String message) {
    assertTrue(Double.isFinite(expected), message + ": expected value is " + expected);
    assertTrue(Double.isFinite(actual), message + ": actual value is " + actual);
    assertTrue(Math.abs(expected - actual) <= tol, message + ": expected " + expected + ", actual " + actual + " (tolerance " + tol + ")");
  }

  /**
   * Ignored, negative and out-of-range targets, the same for every head. targetLogProb (which has no
   * ignore index) rejects -100, -1, V and Integer.MIN_VALUE with an IllegalArgumentException naming the
   * row and the value. forwardBackward with ignore index -100 gives, for every reduction, the loss,
   * per-row losses and gradients of the same call with those rows dropped, and zero loss and zero
   * hidden gradient on the ignored rows; a negative target other than the ignore index, or V, throws.
   */
  public static void ignoredAndOutOfRangeTargets(OutputLayer head, long seed) {
    Rng rng = new Rng(seed);
    int v = head.vocabSize(), d = head.inputDim(), n = 9;
    float[] h = TestData.gaussian(rng, n * d, 1.0);
    int[] t = TestData.zipfTargets(rng, n, v);
    for (int bad : new int[] {-100, -1, v, v + 7, Integer.MIN_VALUE}) {
      int[] tb = t.clone();
      tb[4] = bad;
      var e = assertThrows(IllegalArgumentException.class, () -> head.targetLogProb(h, n, tb, new float[n]),
          head.type() + ": targetLogProb must reject target " + bad);
      assertEquals("target " + bad + " at row 4 is outside [0, " + v + ")", e.getMessage());
    }
    for (Loss loss : new Loss[] {Loss.MEAN, Loss.SUM, Loss.NONE, new Loss(Loss.Reduction.MEAN, -1)}) {
      for (int bad : new int[] {loss.ignoreIndex() == -1 ? -100 : -1, -2, v, Integer.MIN_VALUE}) {
        int[] tb = t.clone();
        tb[6] = bad;
        var e = assertThrows(IllegalArgumentException.class, () -> head.forwardBackward(h, n, tb, new float[n * d], loss, null),
            head.type() + ": forwardBackward (" + loss + ") must reject target " + bad);
        assertEquals("target " + bad + " at row 6 is outside [0, " + v + ")", e.getMessage());
      }
    }
    // rows 1, 4, 7 ignored; the reference is the call on the other six rows alone
    int[] ti = t.clone();
    int kept = 0;
    for (int r = 1; r < n; r += 3) ti[r] = -100;
    for (int r = 0; r < n; r++) if (ti[r] != -100) kept++;
    float[] hk = new float[kept * d];
    int[] tk = new int[kept];
    for (int r = 0, j = 0; r < n; r++) {
      if (ti[r] == -100) continue;
      System.arraycopy(h, r * d, hk, j * d, d);
      tk[j++] = t[r];
    }
    for (Loss.Reduction red : Loss.Reduction.values()) {
      Loss loss = new Loss(red, -100);
      String what = head.type() + " (" + red + ", ignore -100)";
      for (Parameter p : head.parameters()) p.zeroGrad();
      float[] gh = new float[n * d], rl = new float[n];
      java.util.Arrays.fill(gh, 5f);
      java.util.Arrays.fill(rl, 5f);
      double l = head.forwardBackward(h, n, ti, gh, loss, rl);
      float[][] grads = head.parameters().stream().map(p -> p.grad.clone()).toArray(float[][]::new);
      for (Parameter p : head.parameters()) p.zeroGrad();
      float[] ghk = new float[kept * d], rlk = new float[kept];
      double lk = head.forwardBackward(hk, kept, tk, ghk, loss, rlk);
      assertFiniteClose(lk, l, 1e-5 * Math.max(1, Math.abs(lk)), what + ": loss differs from the loss without the ignored rows");
      float[] ghIgnored = new float[n * d];
      for (int r = 0, j = 0; r < n; r++) {
        if (ti[r] == -100) {
          assertEquals(0f, rl[r], 0f, what + ": rowLoss of ignored row " + r);
          for (int q = 0; q < d; q++) assertEquals(0f, gh[r * d + q], 0f, what + ": grad hidden of ignored row " + r);
          continue;
        }
        assertFiniteClose(rlk[j], rl[r], 1e-5 * Math.max(1, Math.abs(rlk[j])), what + ": rowLoss of row " + r);
        System.arraycopy(ghk, j * d, ghIgnored, r * d, d);
        j++;
      }
      TestData.assertClose(ghIgnored, gh, 1e-5 * Math.max(1e-3, maxAbs(ghk)), what + ": grad hidden");
      for (int i = 0; i < grads.length; i++) {
        Parameter p = head.parameters().get(i);
        TestData.assertClose(p.grad, grads[i], 1e-5 * Math.max(1e-3, maxAbs(p.grad)), what + ": grad " + p.name());
      }
    }
    for (Parameter p : head.parameters()) p.zeroGrad();
  }

  static double maxAbs(float[] a) {
    double m = 0;
    for (float x : a) m = Math.max(m, Math.abs(x));
    return m;
  }
}
