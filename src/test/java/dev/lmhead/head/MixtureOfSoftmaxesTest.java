package dev.lmhead.head;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.TestData;
import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Rng;
import org.junit.jupiter.api.Test;

class MixtureOfSoftmaxesTest {

  private static final Loss[] LOSSES = {
      Loss.MEAN, Loss.SUM, Loss.NONE, new Loss(Loss.Reduction.MEAN, 7), new Loss(Loss.Reduction.SUM, -1)};

  @Test
  void contractForKEquals1And2And5() {
    for (int k : new int[] {1, 2, 5}) {
      MixtureOfSoftmaxes h = new MixtureOfSoftmaxes(120, 10, k, 7, true, null, new Rng(10 + k));
      HeadContract.normalisedAndConsistent(h, 9, 2);
      HeadContract.topKMatchesSort(h, 7, 5, 3);
    }
  }

  @Test
  void gradientsEveryReductionAndIgnoreIndex() {
    for (int k : new int[] {1, 2, 5}) {
      for (Loss loss : LOSSES) {
        MixtureOfSoftmaxes h = new MixtureOfSoftmaxes(40, 6, k, 5, true, null, new Rng(4 + k));
        HeadContract.gradients(h, 8, loss, 5 + k);
      }
    }
    // no decoder bias, D = 0 meaning D = d
    MixtureOfSoftmaxes nb = new MixtureOfSoftmaxes(30, 5, 3, 0, false, null, new Rng(6));
    assertEquals(5, nb.contextDim());
    assertEquals(4, nb.parameters().size());
    HeadContract.gradients(nb, 6, Loss.MEAN, 7);
  }

  /** logProb against the formula evaluated from the parameters in double precision. */
  @Test
  void logProbMatchesDoubleReference() {
    int v = 60, d = 7, dd = 4, n = 5;
    for (int k : new int[] {1, 3}) {
      MixtureOfSoftmaxes h = new MixtureOfSoftmaxes(v, d, k, dd, true, null, new Rng(20 + k));
      float[] x = TestData.gaussian(new Rng(21), n * d, 1.5);
      float[] lp = new float[n * v];
      h.logProb(x, n, lp);
      double[] ref = reference(h, x, n);
      for (int i = 0; i < n * v; i++) assertEquals(ref[i], lp[i], 2e-5 * Math.max(1, Math.abs(ref[i])), "entry " + i);
    }
  }

  /** K = 1: the prior is 1 and the head is a full softmax over tanh(W_1 h + b_1). */
  @Test
  void kEquals1IsFullSoftmaxOverTanhProjection() {
    int v = 80, d = 9, dd = 6, n = 11;
    MixtureOfSoftmaxes mos = new MixtureOfSoftmaxes(v, d, 1, dd, true, null, new Rng(30));
    FullSoftmax full = new FullSoftmax(v, dd, true, null, new Rng(0));
    System.arraycopy(mos.decoderW.data, 0, full.weight.data, 0, v * dd);
    System.arraycopy(mos.decoderB.data, 0, full.bias.data, 0, v);
    Rng rng = new Rng(31);
    float[] x = TestData.gaussian(rng, n * d, 1);
    int[] t = TestData.zipfTargets(rng, n, v);
    // c = tanh(W_1 x + b_1), computed independently in double
    float[] c = new float[n * dd];
    for (int r = 0; r < n; r++) {
      for (int i = 0; i < dd; i++) {
        double z = mos.latentB.data[i];
        for (int j = 0; j < d; j++) z += (double) mos.latentW.data[i * d + j] * x[r * d + j];
        c[r * dd + i] = (float) Math.tanh(z);
      }
    }
    float[] a = new float[n * v], b = new float[n * v];
    mos.logProb(x, n, a);
    full.logProb(c, n, b);
    dev.lmhead.TestData.assertClose(b, a, 2e-6, "log_prob");
    float[] ta = new float[n], tb = new float[n];
    mos.targetLogProb(x, n, t, ta);
    full.targetLogProb(c, n, t, tb);
    dev.lmhead.TestData.assertClose(tb, ta, 2e-6, "target log-prob");
    TopK ka = mos.topK(x, n, 4), kb = full.topK(c, n, 4);
    dev.lmhead.TestData.assertClose(kb.logProbs(), ka.logProbs(), 2e-6, "top-k");

    float[] gx = new float[n * d], gc = new float[n * dd];
    double la = mos.forwardBackward(x, n, t, gx);
    double lb = full.forwardBackward(c, n, t, gc);
    assertEquals(lb, la, 1e-6, "loss");
    dev.lmhead.TestData.assertClose(full.weight.grad, mos.decoderW.grad, 1e-6, "decoder.weight grad");
    dev.lmhead.TestData.assertClose(full.bias.grad, mos.decoderB.grad, 1e-6, "decoder.bias grad");
    // chain rule through tanh: dx = (dc ⊙ (1 − c²)) W_1, and the prior gets no gradient
    float[] gxRef = new float[n * d];
    for (int r = 0; r < n; r++) {
      for (int i = 0; i < dd; i++) {
        double dz = gc[r * dd + i] * (1.0 - (double) c[r * dd + i] * c[r * dd + i]);
        for (int j = 0; j < d; j++) gxRef[r * d + j] += (float) (dz * mos.latentW.data[i * d + j]);
      }
    }
    dev.lmhead.TestData.assertClose(gxRef, gx, 1e-6, "grad hidden");
    for (float g : mos.prior.grad) assertEquals(0f, g, "prior gradient with K = 1");
  }

  /**
   * The reference implementation mixes probabilities and logs log(p + 1e-8), flooring log-probs at
   * about −18.4. Here a word whose logit is 60 below the rest must come out near −60, as in double.
   */
  @Test
  void noLogFloor() {
    int v = 50, d = 4, n = 3;
    MixtureOfSoftmaxes h = new MixtureOfSoftmaxes(v, d, 3, 4, true, null, new Rng(40));
    h.decoderB.data[17] = -60f;
    float[] x = TestData.gaussian(new Rng(41), n * d, 1);
    double[] ref = reference(h, x, n);
    float[] lp = new float[n * v];
    h.logProb(x, n, lp);
    float[] tl = new float[n];
    h.targetLogProb(x, n, new int[] {17, 17, 17}, tl);
    TopK top = h.topK(x, n, v);
    for (int r = 0; r < n; r++) {
      double e = ref[r * v + 17];
      assertTrue(e < -30, "test setup: reference log-prob " + e + " should be below -30");
      assertEquals(e, lp[r * v + 17], 1e-5 * Math.abs(e), "logProb row " + r);
      assertEquals(e, tl[r], 1e-5 * Math.abs(e), "targetLogProb row " + r);
      assertEquals(17, top.id(r, v - 1), "word 17 ranks last");
      assertEquals(e, top.logProb(r, v - 1), 1e-5 * Math.abs(e), "top-k row " + r);
    }
    // and its training loss is the exact one (not −log(1e-8) ≈ 18.4)
    float[] rowLoss = new float[n];
    h.forwardBackward(x, n, new int[] {17, 17, 17}, new float[n * d], Loss.NONE, rowLoss);
    for (int r = 0; r < n; r++) assertEquals(-ref[r * v + 17], rowLoss[r], 1e-5 * Math.abs(ref[r * v + 17]));
  }

  /** V large enough that rows are split into blocks: the result equals row-by-row calls. */
  @Test
  void rowBlockingMatchesRowByRow() {
    int v = 70_000, d = 4, n = 260; // block = 16 Mi / 70000 = 239 rows
    MixtureOfSoftmaxes h = new MixtureOfSoftmaxes(v, d, 2, 3, true, null, new Rng(50));
    Rng rng = new Rng(51);
    float[] x = TestData.gaussian(rng, n * d, 1);
    int[] t = TestData.zipfTargets(rng, n, v);
    float[] gx = new float[n * d];
    double l = h.forwardBackward(x, n, t, gx, Loss.SUM, null);
    float[][] grads = new float[h.parameters().size()][];
    for (int i = 0; i < grads.length; i++) { grads[i] = h.parameters().get(i).grad.clone(); h.parameters().get(i).zeroGrad(); }
    double sum = 0;
    float[] gxRow = new float[n * d], g1 = new float[d];
    for (int r = 0; r < n; r++) {
      float[] xr = java.util.Arrays.copyOfRange(x, r * d, r * d + d);
      sum += h.forwardBackward(xr, 1, new int[] {t[r]}, g1, Loss.SUM, null);
      System.arraycopy(g1, 0, gxRow, r * d, d);
    }
    assertEquals(sum, l, 1e-6 * sum);
    dev.lmhead.TestData.assertClose(gxRow, gx, 1e-5, "grad hidden");
    for (int i = 0; i < grads.length; i++) {
      Parameter p = h.parameters().get(i);
      double scale = 1e-5;
      for (float g : p.grad) scale = Math.max(scale, 1e-5 * Math.abs(g));
      dev.lmhead.TestData.assertClose(p.grad, grads[i], scale * 10, p.name() + " grad");
    }
  }

  @Test
  void factoryTyingAndErrors() {
    Rng rng = new Rng(60);
    HeadSpec spec = new MixtureOfSoftmaxes.Spec(true, 3, 5, MixtureOfSoftmaxes.MosBase.FULL, new int[0], 4.0, false);
    Parameter emb = new Parameter("encoder.weight", 30, 5);
    OutputLayer h = Heads.create(spec, 30, 8, null, emb, rng);
    assertEquals("mos", h.type());
    assertSame(emb, ((MixtureOfSoftmaxes) h).decoderW);
    HeadContract.gradients(h, 6, Loss.MEAN, 61); // the tied weight receives the decoder gradient

    // D = 0 with tying: D is the embedding size
    HeadSpec d0 = new MixtureOfSoftmaxes.Spec(true, 2, 0, MixtureOfSoftmaxes.MosBase.FULL, new int[0], 4.0, false);
    MixtureOfSoftmaxes t0 = (MixtureOfSoftmaxes) Heads.create(d0, 30, 8, null, emb, rng);
    assertEquals(5, t0.contextDim());
    assertEquals(8, ((MixtureOfSoftmaxes) Heads.create(d0, 30, 8, null, null, rng)).contextDim());

    Parameter wrong = new Parameter("encoder.weight", 30, 8);
    var e = assertThrows(IllegalArgumentException.class, () -> Heads.create(spec, 30, 8, null, wrong, rng));
    assertTrue(e.getMessage().contains("--mos-dim"), e.getMessage());
    var e2 = assertThrows(IllegalArgumentException.class,
        () -> Heads.create(new MixtureOfSoftmaxes.Spec(true, 0, 0, MixtureOfSoftmaxes.MosBase.FULL, new int[0], 4.0, false), 30, 8, null, null, rng));
    assertEquals("--experts must be >= 1, got 0", e2.getMessage());
    var e3 = assertThrows(IllegalArgumentException.class,
        () -> Heads.create(Heads.parse("mos", HeadOptions.of("experts", "2", "mos-base", "hsm")), 30, 8, null, null, rng));
    assertTrue(e3.getMessage().contains("--mos-base"), e3.getMessage());
  }

  /** log P(·|x) straight from the parameters, in double: [n, V]. */
  static double[] reference(MixtureOfSoftmaxes h, float[] x, int n) {
    int v = h.vocabSize(), d = h.inputDim(), k = h.experts(), dd = h.contextDim();
    double[] out = new double[n * v];
    for (int r = 0; r < n; r++) {
      double[] a = new double[k];
      for (int c = 0; c < k; c++) for (int j = 0; j < d; j++) a[c] += (double) h.prior.data[c * d + j] * x[r * d + j];
      double la = lse(a);
      double[][] terms = new double[k][v];
      for (int c = 0; c < k; c++) {
        double[] ctx = new double[dd];
        for (int i = 0; i < dd; i++) {
          double z = h.latentB.data[c * dd + i];
          for (int j = 0; j < d; j++) z += (double) h.latentW.data[(c * dd + i) * d + j] * x[r * d + j];
          ctx[i] = Math.tanh(z);
        }
        double[] z = new double[v];
        for (int w = 0; w < v; w++) {
          double s = h.decoderB == null ? 0 : h.decoderB.data[w];
          for (int i = 0; i < dd; i++) s += h.decoderW.data[w * dd + i] * ctx[i];
          z[w] = s;
        }
        double lz = lse(z);
        for (int w = 0; w < v; w++) terms[c][w] = a[c] - la + z[w] - lz;
      }
      for (int w = 0; w < v; w++) {
        double[] col = new double[k];
        for (int c = 0; c < k; c++) col[c] = terms[c][w];
        out[r * v + w] = lse(col);
      }
    }
    return out;
  }

  static double lse(double[] a) {
    double m = Double.NEGATIVE_INFINITY;
    for (double x : a) m = Math.max(m, x);
    double s = 0;
    for (double x : a) s += Math.exp(x - m);
    return m + Math.log(s);
  }
}
