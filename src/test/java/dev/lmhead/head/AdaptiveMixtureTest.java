package dev.lmhead.head;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.GradCheck;
import dev.lmhead.TestData;
import dev.lmhead.data.Vocabulary;
import dev.lmhead.model.Checkpoint;
import dev.lmhead.model.LanguageModel;
import dev.lmhead.model.ModelConfig;
import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Rng;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdaptiveMixtureTest {
  @TempDir Path dir;

  private static final Loss[] LOSSES = {
      Loss.MEAN, Loss.SUM, Loss.NONE, new Loss(Loss.Reduction.MEAN, 7), new Loss(Loss.Reduction.SUM, -1)};
  private static final int[][] CUTOFFS = {{10}, {8, 30}};

  @Test
  void contractOneAndTwoCutoffs() {
    for (int[] cut : CUTOFFS) {
      for (int k : new int[] {1, 2, 4}) {
        AdaptiveMixture h = new AdaptiveMixture(60, 9, k, 8, cut, 2.0, k == 2, new Rng(10 + k));
        HeadContract.normalisedAndConsistent(h, 9, 2);
        HeadContract.topKMatchesSort(h, 7, 5, 3);
        HeadContract.topKMatchesSort(h, 5, 40, 4); // deep lists: every cluster gets expanded
        HeadContract.topKMatchesSort(h, 3, 60, 5); // k = V
      }
    }
  }

  /**
   * Top-k where the cluster bounds decide: sharp heads and peaked tails put single tail words near
   * the top, so a cluster whose bound is close to the k-th best must be expanded (and others skipped).
   */
  @Test
  void topKWithPeakedClusters() {
    for (int k : new int[] {1, 3}) {
      AdaptiveMixture h = new AdaptiveMixture(200, 8, k, 8, new int[] {20, 80}, 2.0, false, new Rng(90 + k));
      for (Parameter p : h.adaptive.parameters()) {
        float f = p.name().contains(".1.weight") ? 12f : 4f;
        for (int i = 0; i < p.size(); i++) p.data[i] *= f;
      }
      for (int top : new int[] {1, 2, 5, 12}) HeadContract.topKMatchesSort(h, 60, top, 91 + top);
    }
  }

  @Test
  void gradientsEveryReductionAndIgnoreIndex() {
    for (int[] cut : CUTOFFS) {
      for (int k : new int[] {1, 3}) {
        for (Loss loss : LOSSES) {
          AdaptiveMixture h = new AdaptiveMixture(40, 6, k, 5, cut, 2.0, k == 3, new Rng(4 + k));
          HeadContract.gradients(h, 8, loss, 5 + k);
        }
      }
    }
  }

  /** logProb against the formula evaluated from the parameters in double precision. */
  @Test
  void logProbMatchesDoubleReference() {
    int v = 50, d = 7, dd = 6, n = 5;
    int[] cut = {6, 20};
    AdaptiveMixture h = new AdaptiveMixture(v, d, 3, dd, cut, 2.0, true, new Rng(20));
    float[] x = TestData.gaussian(new Rng(21), n * d, 1.5);
    float[] lp = new float[n * v];
    h.logProb(x, n, lp);
    double[] ref = reference(h, x, n, cut, 2.0);
    for (int i = 0; i < n * v; i++) assertEquals(ref[i], lp[i], 2e-5 * Math.max(1, Math.abs(ref[i])), "entry " + i);
  }

  /** K = 1: the prior is 1 and the head is an adaptive softmax over tanh(W_1 h + b_1). */
  @Test
  void kEquals1IsAdaptiveSoftmaxOverTanhProjection() {
    int v = 70, d = 9, dd = 8, n = 11;
    int[] cut = {10, 40};
    AdaptiveMixture mix = new AdaptiveMixture(v, d, 1, dd, cut, 2.0, true, new Rng(30));
    AdaptiveSoftmax asm = new AdaptiveSoftmax(dd, v, cut, 2.0, true, new Rng(0));
    List<Parameter> from = mix.adaptive.parameters(), to = asm.parameters();
    for (int i = 0; i < to.size(); i++) System.arraycopy(from.get(i).data, 0, to.get(i).data, 0, to.get(i).size());
    Rng rng = new Rng(31);
    float[] x = TestData.gaussian(rng, n * d, 1);
    int[] t = TestData.zipfTargets(rng, n, v);
    float[] c = new float[n * dd];
    for (int r = 0; r < n; r++) {
      for (int i = 0; i < dd; i++) {
        double z = mix.latentB.data[i];
        for (int j = 0; j < d; j++) z += (double) mix.latentW.data[i * d + j] * x[r * d + j];
        c[r * dd + i] = (float) Math.tanh(z);
      }
    }
    float[] a = new float[n * v], b = new float[n * v];
    mix.logProb(x, n, a);
    asm.logProb(c, n, b);
    TestData.assertClose(b, a, 2e-6, "log_prob");
    float[] ta = new float[n], tb = new float[n];
    mix.targetLogProb(x, n, t, ta);
    asm.targetLogProb(c, n, t, tb);
    TestData.assertClose(tb, ta, 2e-6, "target log-prob");
    TopK ka = mix.topK(x, n, 6), kb = asm.topK(c, n, 6);
    TestData.assertClose(kb.logProbs(), ka.logProbs(), 2e-6, "top-k");
    assertArrayEquals(kb.ids(), ka.ids(), "top-k ids");

    float[] gx = new float[n * d], gc = new float[n * dd];
    double la = mix.forwardBackward(x, n, t, gx);
    double lb = asm.forwardBackward(c, n, t, gc);
    assertEquals(lb, la, 1e-6, "loss");
    for (int i = 0; i < to.size(); i++) {
      TestData.assertClose(to.get(i).grad, from.get(i).grad, 1e-6, from.get(i).name() + " grad");
    }
    float[] gxRef = new float[n * d];
    for (int r = 0; r < n; r++) {
      for (int i = 0; i < dd; i++) {
        double dz = gc[r * dd + i] * (1.0 - (double) c[r * dd + i] * c[r * dd + i]);
        for (int j = 0; j < d; j++) gxRef[r * d + j] += (float) (dz * mix.latentW.data[i * d + j]);
      }
    }
    TestData.assertClose(gxRef, gx, 1e-6, "grad hidden");
    for (float g : mix.prior.grad) assertEquals(0f, g, "prior gradient with K = 1");
  }

  /** The new AdaptiveSoftmax entry point: gradient of Σ_r w_r·NLL_r by finite differences. */
  @Test
  void weightedAdaptiveBackwardMatchesFiniteDifferences() {
    int v = 40, d = 6, n = 9;
    AdaptiveSoftmax asm = new AdaptiveSoftmax(d, v, new int[] {8, 25}, 2.0, true, new Rng(70));
    Rng rng = new Rng(71);
    float[] x = TestData.gaussian(rng, n * d, 1);
    int[] t = TestData.zipfTargets(rng, n, v);
    float[] w = new float[n];
    for (int r = 0; r < n; r++) w[r] = r % 4 == 0 ? 0f : (float) rng.nextDouble() * 2;
    java.util.function.DoubleSupplier f = () -> {
      float[] lp = new float[n];
      asm.targetLogProb(x, n, t, lp);
      double s = 0;
      for (int r = 0; r < n; r++) s -= (double) w[r] * lp[r];
      return s;
    };
    float[] gx = new float[n * d];
    double l = asm.weightedForwardBackward(x, n, t, w, gx);
    assertEquals(f.getAsDouble(), l, 1e-5 * Math.abs(l));
    GradCheck.check("weighted d/dhidden", x, gx, f, 60, 72);
    for (Parameter p : asm.parameters()) GradCheck.check("weighted d/d" + p.name(), p.data, p.grad.clone(), f, 60, 73);
    // weights all 1 give exactly the SUM training step
    float[] ones = new float[n];
    java.util.Arrays.fill(ones, 1f);
    float[] g1 = new float[n * d], g2 = new float[n * d];
    double l1 = asm.weightedForwardBackward(x, n, t, ones, g1);
    double l2 = asm.forwardBackward(x, n, t, g2, Loss.SUM, null);
    assertEquals(l2, l1, 1e-9 * Math.abs(l2));
    assertArrayEquals(g2, g1);
  }

  /** Large head and V: rows are split into blocks; the result equals row-by-row calls. */
  @Test
  void rowBlockingMatchesRowByRow() {
    int v = 70_000, d = 5, n = 260; // train/top-k block = 16 Mi / (2 · 40002) = 209 rows, logProb 239
    AdaptiveMixture h = new AdaptiveMixture(v, d, 2, 4, new int[] {40_000, 60_000}, 2.0, false, new Rng(50));
    Rng rng = new Rng(51);
    float[] x = TestData.gaussian(rng, n * d, 1);
    int[] t = TestData.zipfTargets(rng, n, v);
    float[] gx = new float[n * d];
    double l = h.forwardBackward(x, n, t, gx, Loss.SUM, null);
    List<Parameter> ps = h.parameters();
    float[][] grads = new float[ps.size()][];
    for (int i = 0; i < grads.length; i++) { grads[i] = ps.get(i).grad.clone(); ps.get(i).zeroGrad(); }
    TopK top = h.topK(x, n, 3);
    double sum = 0;
    float[] gxRow = new float[n * d], g1 = new float[d];
    for (int r = 0; r < n; r++) {
      float[] xr = java.util.Arrays.copyOfRange(x, r * d, r * d + d);
      sum += h.forwardBackward(xr, 1, new int[] {t[r]}, g1, Loss.SUM, null);
      System.arraycopy(g1, 0, gxRow, r * d, d);
      if (r % 37 == 0) {
        TopK one = h.topK(xr, 1, 3);
        for (int j = 0; j < 3; j++) {
          assertEquals(one.id(0, j), top.id(r, j), "top-k id row " + r);
          assertEquals(one.logProb(0, j), top.logProb(r, j), 1e-6, "top-k row " + r);
        }
      }
    }
    assertEquals(sum, l, 1e-6 * sum);
    TestData.assertClose(gxRow, gx, 1e-5, "grad hidden");
    for (int i = 0; i < grads.length; i++) {
      double scale = 1e-5;
      for (float g : ps.get(i).grad) scale = Math.max(scale, 1e-5 * Math.abs(g));
      TestData.assertClose(ps.get(i).grad, grads[i], scale * 10, ps.get(i).name() + " grad");
    }
    // logProb in blocks: rows sum to 1 and the target entries equal targetLogProb
    float[] lp = new float[n * v], tl = new float[n];
    h.logProb(x, n, lp);
    h.targetLogProb(x, n, t, tl);
    for (int r = 0; r < n; r += 29) {
      double s = 0;
      for (int j = 0; j < v; j++) s += Math.exp(lp[r * v + j]);
      assertEquals(1.0, s, 1e-4, "row " + r);
      assertEquals(tl[r], lp[r * v + t[r]], 2e-5, "row " + r);
    }
  }

  @Test
  void factoryNamesAndErrors() {
    Rng rng = new Rng(60);
    HeadSpec spec = new MixtureOfSoftmaxes.Spec(true, 3, 5, MixtureOfSoftmaxes.MosBase.ADAPTIVE, new int[] {10, 20}, 2.0, true);
    OutputLayer h = Heads.create(spec, 30, 8, null, null, rng);
    AdaptiveMixture m = assertInstanceOf(AdaptiveMixture.class, h);
    assertEquals("mos", h.type());
    assertEquals("adaptive", HeadOptions.name(((MixtureOfSoftmaxes.Spec) h.spec()).mosBase()));
    assertEquals(5, m.contextDim());
    List<String> names = h.parameters().stream().map(Parameter::name).toList();
    assertEquals(List.of("prior.weight", "latent.weight", "latent.bias", "adaptive.head.weight", "adaptive.head.bias",
        "adaptive.tail.0.0.weight", "adaptive.tail.0.1.weight", "adaptive.tail.1.0.weight", "adaptive.tail.1.1.weight"), names);
    // PyTorch shapes: head [c0 + C, D], tail i: [D / div^(i+1), D] and [osz_i, hsz_i]
    assertArrayEquals(new int[] {12, 5}, m.adaptive.headWeight.shape);
    assertArrayEquals(new int[] {2, 5}, m.adaptive.tailProj[0].shape);
    assertArrayEquals(new int[] {10, 2}, m.adaptive.tailOut[0].shape);
    assertArrayEquals(new int[] {1, 5}, m.adaptive.tailProj[1].shape);
    // D = 0 means the input size; empty cutoffs mean the defaults
    HeadSpec d0 = new MixtureOfSoftmaxes.Spec(true, 2, 0, MixtureOfSoftmaxes.MosBase.ADAPTIVE, new int[0], 2.0, false);
    AdaptiveMixture m0 = (AdaptiveMixture) Heads.create(d0, 1000, 8, null, null, rng);
    assertEquals(8, m0.contextDim());
    assertArrayEquals(AdaptiveSoftmax.defaultCutoffs(1000), m0.adaptive.cutoffs());

    Parameter emb = new Parameter("encoder.weight", 30, 5);
    var e = assertThrows(IllegalArgumentException.class, () -> Heads.create(spec, 30, 8, null, emb, rng));
    assertTrue(e.getMessage().contains("--no-tied"), e.getMessage());
    var e2 = assertThrows(IllegalArgumentException.class,
        () -> Heads.create(new MixtureOfSoftmaxes.Spec(true, 2, 5, MixtureOfSoftmaxes.MosBase.ADAPTIVE, new int[] {40}, 2.0, false), 30, 8, null, null, rng));
    assertTrue(e2.getMessage().contains("--cutoffs"), e2.getMessage());
    var e3 = assertThrows(IllegalArgumentException.class,
        () -> Heads.create(new MixtureOfSoftmaxes.Spec(true, 0, 5, MixtureOfSoftmaxes.MosBase.ADAPTIVE, new int[] {10}, 2.0, false), 30, 8, null, null, rng));
    assertEquals("--experts must be >= 1, got 0", e3.getMessage());
  }

  /** A model with this head saves and reloads through the checkpoint code to identical weights and outputs. */
  @Test
  void checkpointRoundTrip() throws Exception {
    int v = 40;
    String[] words = new String[v];
    long[] counts = new long[v];
    words[0] = Vocabulary.EOS;
    words[1] = Vocabulary.UNK;
    for (int i = 0; i < v; i++) {
      if (i > 1) words[i] = "w" + i;
      counts[i] = 1000 / (i + 1);
    }
    Vocabulary vocab = Vocabulary.of(words, counts);
    HeadSpec spec = new MixtureOfSoftmaxes.Spec(true, 3, 0, MixtureOfSoftmaxes.MosBase.ADAPTIVE, new int[] {6, 20}, 2.0, true);
    ModelConfig cfg = new ModelConfig(v, 12, 10, 1, 0f, false, "embedding", 0.1f, spec);
    LanguageModel a = new LanguageModel(cfg, vocab.counts(), new Rng(80));
    assertTrue(a.namedParameters().containsKey("decoder.adaptive.tail.1.1.weight"), a.namedParameters().keySet().toString());
    Checkpoint.saveSetup(dir, cfg, vocab, Map.of());
    Checkpoint.saveTensors(dir.resolve(Checkpoint.MODEL), Checkpoint.tensors(a), Map.of());
    LanguageModel b = Checkpoint.load(dir, Checkpoint.MODEL).model();
    assertEquals("adaptive", HeadOptions.name(((MixtureOfSoftmaxes.Spec) b.config.head()).mosBase()));
    assertInstanceOf(AdaptiveMixture.class, b.decoder);
    assertEquals(a.namedParameters().keySet(), b.namedParameters().keySet());
    for (var en : a.namedParameters().entrySet()) {
      assertArrayEquals(en.getValue().data, b.namedParameters().get(en.getKey()).data, en.getKey());
    }
    float[] x = TestData.gaussian(new Rng(81), 4 * 10, 1);
    float[] la = new float[4 * v], lb = new float[4 * v];
    a.decoder.logProb(x, 4, la);
    b.decoder.logProb(x, 4, lb);
    assertArrayEquals(la, lb);
  }

  /** log P(·|x) straight from the parameters, in double: [n, V]. */
  static double[] reference(AdaptiveMixture h, float[] x, int n, int[] cut, double div) {
    int v = h.vocabSize(), d = h.inputDim(), k = h.experts(), dd = h.contextDim();
    AdaptiveSoftmax a = h.adaptive;
    int c0 = cut[0], nc = cut.length, hs = c0 + nc;
    int[] bounds = java.util.Arrays.copyOf(cut, nc + 1);
    bounds[nc] = v;
    double[] out = new double[n * v];
    for (int r = 0; r < n; r++) {
      double[] pr = new double[k];
      for (int c = 0; c < k; c++) for (int j = 0; j < d; j++) pr[c] += (double) h.prior.data[c * d + j] * x[r * d + j];
      double lpr = MixtureOfSoftmaxesTest.lse(pr);
      double[][] terms = new double[k][v];
      for (int c = 0; c < k; c++) {
        double[] ctx = new double[dd];
        for (int i = 0; i < dd; i++) {
          double z = h.latentB.data[c * dd + i];
          for (int j = 0; j < d; j++) z += (double) h.latentW.data[(c * dd + i) * d + j] * x[r * d + j];
          ctx[i] = Math.tanh(z);
        }
        double[] head = new double[hs];
        for (int w = 0; w < hs; w++) {
          double s = a.headBias == null ? 0 : a.headBias.data[w];
          for (int i = 0; i < dd; i++) s += (double) a.headWeight.data[w * dd + i] * ctx[i];
          head[w] = s;
        }
        double lh = MixtureOfSoftmaxesTest.lse(head);
        for (int w = 0; w < c0; w++) terms[c][w] = pr[c] - lpr + head[w] - lh;
        for (int t = 0; t < nc; t++) {
          int hz = AdaptiveSoftmax.projectionSize(dd, div, t + 1), oz = bounds[t + 1] - bounds[t];
          double[] p = new double[hz];
          for (int i = 0; i < hz; i++) for (int j = 0; j < dd; j++) p[i] += (double) a.tailProj[t].data[i * dd + j] * ctx[j];
          double[] u = new double[oz];
          for (int w = 0; w < oz; w++) for (int i = 0; i < hz; i++) u[w] += (double) a.tailOut[t].data[w * hz + i] * p[i];
          double lu = MixtureOfSoftmaxesTest.lse(u);
          for (int w = 0; w < oz; w++) terms[c][bounds[t] + w] = pr[c] - lpr + head[c0 + t] - lh + u[w] - lu;
        }
      }
      for (int w = 0; w < v; w++) {
        double[] col = new double[k];
        for (int c = 0; c < k; c++) col[c] = terms[c][w];
        out[r * v + w] = MixtureOfSoftmaxesTest.lse(col);
      }
    }
    return out;
  }
}
