package dev.lmhead;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.head.FullSoftmax;
import dev.lmhead.head.HeadContract;
import dev.lmhead.head.HeadSpec;
import dev.lmhead.head.Loss;
import dev.lmhead.head.MixtureOfSoftmaxes;
import dev.lmhead.head.OutputLayer;
import dev.lmhead.head.TopK;
import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Rng;
import java.util.List;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;

/**
 * Negative tests of the test helpers: each must fail on the fault it exists to catch (a NaN in the
 * middle of an array, a wrong or NaN gradient entry, a gradient missing 10%, a head whose loss or
 * target log-prob is wrong or NaN, a head that accepts -100 in targetLogProb), and pass on the
 * correct input, so that a helper that stops detecting makes this class fail.
 */
class CheckHelpersTest {

  // ---------------------------------------------------------------- TestData.assertClose

  @Test
  void assertCloseFailsOnANaNInTheMiddleOfAnArray() {
    float[] ref = {1f, 2f, 3f, 4f, 5f};
    assertDoesNotThrow(() -> TestData.assertClose(ref, new float[] {1f, 2f, 3.0001f, 4f, 5f}, 1e-3, "close"));
    // the NaN is followed by finite entries with a small error: they must not hide it
    AssertionError e = assertThrows(AssertionError.class,
        () -> TestData.assertClose(ref, new float[] {1f, 2f, Float.NaN, 4.0001f, 5f}, 1e-3, "x"));
    assertTrue(e.getMessage().contains("at 2"), e.getMessage());
    e = assertThrows(AssertionError.class, () -> TestData.assertClose(new float[] {1f, Float.NaN, 3f}, new float[] {1f, Float.NaN, 3f}, 1, "x"));
    assertTrue(e.getMessage().contains("at 1"), e.getMessage());
    assertThrows(AssertionError.class, () -> TestData.assertClose(new float[] {0f, Float.NaN, 0f}, new float[] {0f, 1f, 0f}, 1e3, "x"));
  }

  @Test
  void assertCloseTreatsInfinitiesStrictly() {
    float inf = Float.POSITIVE_INFINITY;
    assertDoesNotThrow(() -> TestData.assertClose(new float[] {inf, -inf, 1f}, new float[] {inf, -inf, 1f}, 0, "equal infinities"));
    assertThrows(AssertionError.class, () -> TestData.assertClose(new float[] {inf, 1f}, new float[] {-inf, 1f}, 1e30, "x"));
    assertThrows(AssertionError.class, () -> TestData.assertClose(new float[] {1f, 2f}, new float[] {1f, inf}, 1e30, "x"));
    assertThrows(AssertionError.class, () -> TestData.assertClose(new float[] {1f, 2f}, new float[] {1f, 2.1f}, 0.05, "x"));
  }

  // ---------------------------------------------------------------- GradCheck

  /** L = Σ c_i x_i² / 2 with its exact gradient c_i x_i. */
  private static final float[] C = {1f, -2f, 0.5f, 3f, 1.5f, -1f, 2f, 0.25f};

  private static double quadratic(float[] x) {
    double s = 0;
    for (int i = 0; i < x.length; i++) s += 0.5 * C[i] * x[i] * x[i];
    return s;
  }

  private static float[] quadraticPoint() {
    return new float[] {0.7f, -1.2f, 0.4f, 0.9f, -0.3f, 1.1f, -0.8f, 2.0f};
  }

  private static float[] quadraticGrad(float[] x) {
    float[] g = new float[x.length];
    for (int i = 0; i < x.length; i++) g[i] = C[i] * x[i];
    return g;
  }

  @Test
  void gradCheckFailsOnAWrongEntryAndOnNaN() {
    float[] x = quadraticPoint();
    DoubleSupplier f = () -> quadratic(x);
    assertDoesNotThrow(() -> GradCheck.check("quadratic", x, quadraticGrad(x), f, 100, 1));
    float[] wrong = quadraticGrad(x);
    wrong[3] *= 1.2f; // one coordinate 20% off
    assertThrows(AssertionError.class, () -> GradCheck.check("wrong entry", x, wrong, f, 100, 1));
    float[] nan = quadraticGrad(x);
    nan[5] = Float.NaN; // followed by correct coordinates
    AssertionError e = assertThrows(AssertionError.class, () -> GradCheck.check("NaN analytic", x, nan, f, 100, 1));
    assertTrue(e.getMessage().contains("[5]"), e.getMessage());
    float[] inf = quadraticGrad(x);
    inf[2] = Float.POSITIVE_INFINITY;
    assertThrows(AssertionError.class, () -> GradCheck.check("inf analytic", x, inf, f, 100, 1));
  }

  @Test
  void gradCheckFailsOnANaNNumericDerivative() {
    float[] x = quadraticPoint();
    x[4] = 0.005f; // sqrt(x4 - eps) is NaN: the numeric derivative of coordinate 4 is NaN
    DoubleSupplier f = () -> quadratic(x) + Math.sqrt(x[4]);
    float[] g = quadraticGrad(x);
    g[4] += (float) (0.5 / Math.sqrt(x[4]));
    AssertionError e = assertThrows(AssertionError.class, () -> GradCheck.check("NaN numeric", x, g, f, 100, 1));
    assertTrue(e.getMessage().contains("[4]") && e.getMessage().contains("numeric"), e.getMessage());
    // and a loss that is NaN everywhere
    assertThrows(AssertionError.class, () -> GradCheck.check("NaN loss", x, g, () -> Double.NaN, 100, 1));
  }

  /** A full softmax with a MEAN loss: its gradients scaled by 0.9 (a 10% missing term) must fail. */
  @Test
  void gradCheckCatchesAGradientMissingTenPercentOnARealHead() {
    int n = 8, v = 50, d = 6;
    FullSoftmax head = new FullSoftmax(v, d, true, null, new Rng(4));
    Rng rng = new Rng(5);
    float[] h = TestData.gaussian(rng, n * d, 1.0);
    int[] t = TestData.zipfTargets(rng, n, v);
    float[] gh = new float[n * d];
    head.forwardBackward(h, n, t, gh, Loss.MEAN, null);
    DoubleSupplier f = () -> HeadContract.reference(head, h, n, t, Loss.MEAN);
    assertDoesNotThrow(() -> GradCheck.check("d/dhidden", h, gh, f, 60, 6));
    for (Parameter p : head.parameters()) assertDoesNotThrow(() -> GradCheck.check("d/d" + p.name(), p.data, p.grad.clone(), f, 60, 7));

    assertThrows(AssertionError.class, () -> GradCheck.check("0.9 d/dhidden", h, scaled(gh, 0.9f), f, 60, 6));
    for (Parameter p : head.parameters()) {
      assertThrows(AssertionError.class, () -> GradCheck.check("0.9 d/d" + p.name(), p.data, scaled(p.grad, 0.9f), f, 60, 7),
          p.name() + " scaled by 0.9 must fail");
    }
    // one term dropped: the gradient of the MEAN loss without the last row's contribution (1/8 of it)
    for (Parameter p : head.parameters()) p.zeroGrad();
    float[] ghPart = new float[(n - 1) * d];
    head.forwardBackward(h, n - 1, t, ghPart, Loss.SUM, null);
    for (Parameter p : head.parameters()) {
      float[] g = scaled(p.grad, 1f / n);
      assertThrows(AssertionError.class, () -> GradCheck.check("dropped row d/d" + p.name(), p.data, g, f, 60, 7),
          p.name() + " without one row's term must fail");
    }
  }

  /** The same on a mixture of softmaxes (K = 3), whose gradients go through tanh and the prior. */
  @Test
  void gradCheckCatchesAGradientMissingTenPercentOnAMixture() {
    int n = 8;
    MixtureOfSoftmaxes head = new MixtureOfSoftmaxes(40, 6, 3, 5, true, null, new Rng(7));
    Rng rng = new Rng(8);
    float[] h = TestData.gaussian(rng, n * 6, 1.0);
    int[] t = TestData.zipfTargets(rng, n, 40);
    float[] gh = new float[n * 6];
    head.forwardBackward(h, n, t, gh, Loss.MEAN, null);
    DoubleSupplier f = () -> HeadContract.reference(head, h, n, t, Loss.MEAN);
    assertDoesNotThrow(() -> GradCheck.check("d/dhidden", h, gh, f, 60, 9));
    assertThrows(AssertionError.class, () -> GradCheck.check("0.9 d/dhidden", h, scaled(gh, 0.9f), f, 60, 9));
    for (Parameter p : head.parameters()) {
      assertDoesNotThrow(() -> GradCheck.check("d/d" + p.name(), p.data, p.grad.clone(), f, 60, 10));
      assertThrows(AssertionError.class, () -> GradCheck.check("0.9 d/d" + p.name(), p.data, scaled(p.grad, 0.9f), f, 60, 10),
          p.name() + " scaled by 0.9 must fail");
    }
  }

  private static float[] scaled(float[] a, float s) {
    float[] r = a.clone();
    for (int i = 0; i < r.length; i++) r[i] *= s;
    return r;
  }

  // ---------------------------------------------------------------- HeadContract

  /** A head that delegates to a real one, with one fault injected by the overriding subclass. */
  private static class Wrapper implements OutputLayer {
    final OutputLayer in;

    Wrapper(OutputLayer in) { this.in = in; }

    @Override public int vocabSize() { return in.vocabSize(); }
    @Override public int inputDim() { return in.inputDim(); }
    @Override public String type() { return in.type(); }
    @Override public HeadSpec spec() { return in.spec(); }
    @Override public double forwardBackward(float[] h, int n, int[] t, float[] gh, Loss loss, float[] rowLoss) {
      return in.forwardBackward(h, n, t, gh, loss, rowLoss);
    }
    @Override public void targetLogProb(float[] h, int n, int[] t, float[] out) { in.targetLogProb(h, n, t, out); }
    @Override public void logProb(float[] h, int n, float[] out) { in.logProb(h, n, out); }
    @Override public TopK topK(float[] h, int n, int k) { return in.topK(h, n, k); }
    @Override public List<Parameter> parameters() { return in.parameters(); }
  }

  private static OutputLayer full() {
    return new FullSoftmax(50, 6, true, null, new Rng(4));
  }

  @Test
  void assertFiniteCloseFailsOnNaNAndInfinity() {
    assertDoesNotThrow(() -> HeadContract.assertFiniteClose(1.0, 1.0 + 1e-7, 1e-6, "close"));
    assertThrows(AssertionError.class, () -> HeadContract.assertFiniteClose(Double.NaN, Double.NaN, 1, "NaN = NaN"));
    assertThrows(AssertionError.class, () -> HeadContract.assertFiniteClose(1.0, Double.NaN, 1, "NaN"));
    assertThrows(AssertionError.class, () -> HeadContract.assertFiniteClose(Double.NaN, 1.0, 1, "NaN"));
    assertThrows(AssertionError.class,
        () -> HeadContract.assertFiniteClose(Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY, 1, "inf"));
    assertThrows(AssertionError.class, () -> HeadContract.assertFiniteClose(1.0, 1.1, 0.05, "far"));
  }

  @Test
  void theContractPassesOnTheRealHead() {
    OutputLayer w = new Wrapper(full());
    assertDoesNotThrow(() -> HeadContract.normalisedAndConsistent(w, 9, 2));
    assertDoesNotThrow(() -> HeadContract.topKMatchesSort(w, 7, 5, 3));
    assertDoesNotThrow(() -> HeadContract.gradients(w, 8, Loss.MEAN, 5));
    assertDoesNotThrow(() -> HeadContract.ignoredAndOutOfRangeTargets(w, 6));
  }

  @Test
  void theContractFailsWhenOneTargetLogProbIsPerturbed() {
    OutputLayer w = new Wrapper(full()) {
      @Override public void targetLogProb(float[] h, int n, int[] t, float[] out) {
        super.targetLogProb(h, n, t, out);
        if (n > 2) out[2] += 0.05f;
      }
    };
    assertThrows(AssertionError.class, () -> HeadContract.normalisedAndConsistent(w, 9, 2));
    for (Loss loss : new Loss[] {Loss.MEAN, Loss.SUM, Loss.NONE}) {
      assertThrows(AssertionError.class, () -> HeadContract.gradients(w, 8, loss, 5), loss.toString());
    }
  }

  /** NaN in both the loss and targetLogProb: assertEquals(NaN, NaN) passes, the contract must not. */
  @Test
  void theContractFailsOnNaN() {
    OutputLayer nanEverywhere = new Wrapper(full()) {
      @Override public void targetLogProb(float[] h, int n, int[] t, float[] out) {
        super.targetLogProb(h, n, t, out);
        if (n > 2) out[2] = Float.NaN;
      }
      @Override public double forwardBackward(float[] h, int n, int[] t, float[] gh, Loss loss, float[] rowLoss) {
        super.forwardBackward(h, n, t, gh, loss, rowLoss);
        if (rowLoss != null) rowLoss[2] = Float.NaN;
        return Double.NaN;
      }
    };
    assertThrows(AssertionError.class, () -> HeadContract.normalisedAndConsistent(nanEverywhere, 9, 2));
    assertThrows(AssertionError.class, () -> HeadContract.gradients(nanEverywhere, 8, Loss.SUM, 5));
    OutputLayer nanLoss = new Wrapper(full()) {
      @Override public double forwardBackward(float[] h, int n, int[] t, float[] gh, Loss loss, float[] rowLoss) {
        super.forwardBackward(h, n, t, gh, loss, rowLoss);
        return Double.NaN;
      }
    };
    assertThrows(AssertionError.class, () -> HeadContract.gradients(nanLoss, 8, Loss.MEAN, 5));
    OutputLayer nanRowLoss = new Wrapper(full()) {
      @Override public double forwardBackward(float[] h, int n, int[] t, float[] gh, Loss loss, float[] rowLoss) {
        double l = super.forwardBackward(h, n, t, gh, loss, rowLoss);
        if (rowLoss != null) rowLoss[4] = Float.NaN;
        return l;
      }
    };
    assertThrows(AssertionError.class, () -> HeadContract.gradients(nanRowLoss, 8, Loss.NONE, 5));
    OutputLayer nanTop = new Wrapper(full()) {
      @Override public void logProb(float[] h, int n, float[] out) {
        super.logProb(h, n, out);
        for (int r = 0; r < n; r++) out[r * 50] = Float.NaN;
      }
      @Override public TopK topK(float[] h, int n, int k) {
        TopK t = super.topK(h, n, k);
        java.util.Arrays.fill(t.logProbs(), Float.NaN);
        return t;
      }
    };
    assertThrows(AssertionError.class, () -> HeadContract.topKMatchesSort(nanTop, 7, 5, 3));
    OutputLayer nanGrad = new Wrapper(full()) {
      @Override public double forwardBackward(float[] h, int n, int[] t, float[] gh, Loss loss, float[] rowLoss) {
        double l = super.forwardBackward(h, n, t, gh, loss, rowLoss);
        if (gh != null) gh[7] = Float.NaN;
        return l;
      }
    };
    assertThrows(AssertionError.class, () -> HeadContract.gradients(nanGrad, 8, Loss.MEAN, 5));
  }

  /** The bug of issue 15: targetLogProb accepting -100 (the previous row's logit, or an out-of-bounds read). */
  @Test
  void theTargetContractFailsOnAHeadThatAcceptsTheIgnoreIndexInTargetLogProb() {
    OutputLayer lenient = new Wrapper(full()) {
      @Override public void targetLogProb(float[] h, int n, int[] t, float[] out) {
        int[] tt = t.clone();
        for (int r = 0; r < n; r++) if (tt[r] == -100) tt[r] = 0;
        super.targetLogProb(h, n, tt, out);
      }
    };
    assertThrows(AssertionError.class, () -> HeadContract.ignoredAndOutOfRangeTargets(lenient, 6));
    // ... and on one that counts ignored rows as word 0 in training
    OutputLayer counts = new Wrapper(full()) {
      @Override public double forwardBackward(float[] h, int n, int[] t, float[] gh, Loss loss, float[] rowLoss) {
        int[] tt = t.clone();
        for (int r = 0; r < n; r++) if (loss.ignored(tt[r])) tt[r] = 0;
        return super.forwardBackward(h, n, tt, gh, loss, rowLoss);
      }
    };
    assertThrows(AssertionError.class, () -> HeadContract.ignoredAndOutOfRangeTargets(counts, 6));
  }
}
