package dev.lmhead.head;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.GradCheck;
import dev.lmhead.TestData;
import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Rng;

/**
 * Checks every head must pass, shared by the per-head tests: normalisation, targetLogProb vs the
 * gathered full distribution, top-k vs the sorted distribution, and finite-difference gradients for
 * every reduction with an ignore index.
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
      assertEquals(1.0, s, 1e-5, "row " + r + " does not sum to 1");
      assertEquals(lp[r * v + t[r]], tl[r], 1e-5, "targetLogProb differs from gathered logProb at row " + r);
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
        assertEquals(vals[j], top.logProb(r, j), 2e-5, "row " + r + " rank " + j + " log-prob");
        if (Math.abs(vals[j] - (j + 1 < k ? vals[j + 1] : Float.NEGATIVE_INFINITY)) > 1e-5
            && (j == 0 || Math.abs(vals[j] - vals[j - 1]) > 1e-5)) {
          assertEquals(ids[j], top.id(r, j), "row " + r + " rank " + j + " id");
        }
      }
      assertEquals(lp[r * v + pred[r]], vals[0], 2e-5, "predict is not an argmax at row " + r);
    }
  }

  /** Finite-difference check of d loss / d hidden and d loss / d every parameter. */
  public static void gradients(OutputLayer head, int n, Loss loss, long seed) {
    Rng rng = new Rng(seed);
    int v = head.vocabSize(), d = head.inputDim();
    float[] h = TestData.gaussian(rng, n * d, 1.0);
    int[] t = TestData.zipfTargets(rng, n, v);
    if (loss.ignoreIndex() != Loss.NO_IGNORE) {
      for (int r = 0; r < n; r += 3) t[r] = loss.ignoreIndex();
    }
    for (Parameter p : head.parameters()) p.zeroGrad();
    float[] gh = new float[n * d];
    float[] rowLoss = new float[n];
    double l = head.forwardBackward(h, n, t, gh, loss, rowLoss);
    double ref = reference(head, h, n, t, loss);
    assertEquals(ref, l, 1e-4 * Math.max(1, Math.abs(ref)), "forwardBackward loss differs from the targetLogProb loss");
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
}
