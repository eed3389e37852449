package dev.lmhead.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lmhead.GradCheck;
import dev.lmhead.TestData;
import dev.lmhead.tensor.Rng;
import dev.lmhead.tensor.Safetensors;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class LstmTest {

  /** A fixed problem: input, initial state and the linear loss weights R, all random. */
  private record Problem(Lstm lstm, int T, int B, float[] x, float[] h0, float[] c0, float[] r, long dropSeed) {
    int H() { return lstm.hiddenSize(); }

    /** loss = Σ out · R in double, from fresh copies of the initial state and the same dropout mask each time. */
    double loss() {
      float[] out = new float[T * B * H()];
      lstm.forward(x, T, B, h0.clone(), c0.clone(), out, true, new Rng(dropSeed));
      double s = 0;
      for (int i = 0; i < out.length; i++) s += (double) out[i] * r[i];
      return s;
    }
  }

  private static Problem problem(int in, int H, int layers, float dropout, int T, int B, long seed) {
    Rng rng = new Rng(seed);
    Lstm lstm = new Lstm(in, H, layers, dropout, 0.4f, rng);
    return new Problem(lstm, T, B, TestData.gaussian(rng, T * B * in, 1), TestData.gaussian(rng, layers * B * H, 0.5),
        TestData.gaussian(rng, layers * B * H, 0.5), TestData.gaussian(rng, T * B * H, 1), seed + 17);
  }

  /** Finite differences w.r.t. x and every parameter; dropout (if any) uses the same mask each evaluation. */
  private static void gradientCheck(Problem p) {
    Lstm lstm = p.lstm();
    int in = lstm.inputSize();
    float[] out = new float[p.T() * p.B() * p.H()];
    lstm.forward(p.x(), p.T(), p.B(), p.h0().clone(), p.c0().clone(), out, true, new Rng(p.dropSeed()));
    float[] gx = new float[p.T() * p.B() * in];
    lstm.backward(p.r(), gx);
    GradCheck.check("x (layers " + lstm.layers() + ")", p.x(), gx, p::loss, 60, 1);
    for (Parameter q : lstm.parameters()) {
      GradCheck.check(q.name() + " (layers " + lstm.layers() + ")", q.data, q.grad.clone(), p::loss, 120, 2);
    }
  }

  @Test
  void gradientsOneLayer() {
    gradientCheck(problem(5, 19, 1, 0f, 5, 3, 11)); // H = 19: vector loop plus scalar tail
  }

  @Test
  void gradientsTwoLayersWithDropout() {
    gradientCheck(problem(4, 7, 2, 0.3f, 4, 2, 12));
    gradientCheck(problem(6, 17, 2, 0f, 6, 3, 13));
    gradientCheck(problem(5, 19, 2, 0.3f, 4, 1, 15)); // one row: the recurrent product as dot products with W_hh's rows
  }

  @Test
  void gradientsThreeLayersWithDropout() {
    gradientCheck(problem(3, 9, 3, 0.25f, 5, 2, 14));
  }

  @Test
  void stateCarriesAcrossWindowsAndEvalMatchesTraining() {
    Problem p = problem(6, 10, 2, 0f, 8, 3, 21);
    Lstm lstm = p.lstm();
    int H = p.H(), B = p.B(), in = 6;
    float[] outAll = new float[8 * B * H];
    float[] h1 = p.h0().clone(), c1 = p.c0().clone();
    lstm.forward(p.x(), 8, B, h1, c1, outAll, false, null);
    // same sequence in two windows of 5 and 3 steps, state carried, in training mode (dropout 0)
    float[] h2 = p.h0().clone(), c2 = p.c0().clone();
    float[] outA = new float[5 * B * H], outB = new float[3 * B * H];
    lstm.forward(Arrays.copyOfRange(p.x(), 0, 5 * B * in), 5, B, h2, c2, outA, true, new Rng(1));
    lstm.forward(Arrays.copyOfRange(p.x(), 5 * B * in, 8 * B * in), 3, B, h2, c2, outB, true, new Rng(1));
    float[] joined = new float[outAll.length];
    System.arraycopy(outA, 0, joined, 0, outA.length);
    System.arraycopy(outB, 0, joined, outA.length, outB.length);
    assertArrayEquals(outAll, joined, 1e-6f);
    assertArrayEquals(h1, h2, 1e-6f);
    assertArrayEquals(c1, c2, 1e-6f);
    // the final hidden state of the top layer is the last output row block
    assertArrayEquals(Arrays.copyOfRange(outAll, 7 * B * H, 8 * B * H), Arrays.copyOfRange(h1, B * H, 2 * B * H), 0f);
  }

  @Test
  void gradientsAccumulateAndBackwardNeedsTrainingForward() {
    Problem p = problem(3, 5, 2, 0f, 4, 2, 31);
    Lstm lstm = p.lstm();
    float[] out = new float[4 * 2 * 5];
    lstm.forward(p.x(), 4, 2, p.h0().clone(), p.c0().clone(), out, true, null);
    lstm.backward(p.r(), null);
    float[] once = lstm.parameters().get(5).grad.clone();
    lstm.backward(p.r(), null);
    float[] twice = lstm.parameters().get(5).grad;
    for (int i = 0; i < once.length; i++) assertEquals(2 * once[i], twice[i], 1e-6 * (1 + Math.abs(twice[i])));
    lstm.forward(p.x(), 4, 2, p.h0().clone(), p.c0().clone(), out, false, null);
    assertThrows(IllegalStateException.class, () -> lstm.backward(p.r(), null));
  }

  @Test
  void pytorchNamesOrderAndShapes() {
    Lstm lstm = new Lstm(7, 4, 2, 0.1f, 0.1f, new Rng(1));
    assertEquals("[weight_ih_l0[16, 7], weight_hh_l0[16, 4], bias_ih_l0[16], bias_hh_l0[16], "
        + "weight_ih_l1[16, 4], weight_hh_l1[16, 4], bias_ih_l1[16], bias_hh_l1[16]]", lstm.parameters().toString());
    for (Parameter q : lstm.parameters()) for (float v : q.data) assertEquals(0, v, 0.1f);
    var e = assertThrows(IllegalArgumentException.class, () -> new Lstm(7, 4, 2, 1f, 0.1f, new Rng(1)));
    assertEquals("LSTM dropout must be in [0, 1), got 1.0", e.getMessage());
  }

  @Test
  void pytorchParity() throws Exception {
    Path file = Path.of(LstmTest.class.getResource("/lstm/lstm_l2.safetensors").toURI());
    var fx = Safetensors.read(file);
    int in = Integer.parseInt(fx.metadata().get("input_size")), H = Integer.parseInt(fx.metadata().get("hidden_size"));
    int L = Integer.parseInt(fx.metadata().get("num_layers"));
    int T = Integer.parseInt(fx.metadata().get("seq_len")), B = Integer.parseInt(fx.metadata().get("batch"));
    Lstm lstm = new Lstm(in, H, L, 0f, 0.1f, new Rng(0));
    for (Parameter q : lstm.parameters()) {
      float[] src = fx.get(q.name()).f32();
      assertEquals(q.size(), src.length, q.name());
      System.arraycopy(src, 0, q.data, 0, src.length);
    }
    float[] h = fx.get("h0").f32().clone(), c = fx.get("c0").f32().clone();
    float[] out = new float[T * B * H];
    lstm.forward(fx.get("input").f32(), T, B, h, c, out, true, null);
    TestData.assertClose(fx.get("expected.output").f32(), out, 1e-5, "output");
    TestData.assertClose(fx.get("expected.h_n").f32(), h, 1e-5, "h_n");
    TestData.assertClose(fx.get("expected.c_n").f32(), c, 1e-5, "c_n");
    float[] r = fx.get("loss_weight").f32();
    double loss = 0;
    for (int i = 0; i < out.length; i++) loss += (double) out[i] * r[i];
    assertEquals(fx.get("expected.loss").f32()[0], loss, 1e-4, "loss");
    float[] gx = new float[T * B * in];
    lstm.backward(r, gx);
    TestData.assertClose(fx.get("expected.grad.input").f32(), gx, 1e-4, "grad.input");
    for (Parameter q : lstm.parameters()) TestData.assertClose(fx.get("expected.grad." + q.name()).f32(), q.grad, 1e-4, "grad." + q.name());
  }

  /**
   * One row takes the dot-product path for the recurrent product (no transposed W_hh), more rows the
   * packed one: the same sequences give the same outputs and states either way, up to float rounding.
   */
  @Test
  void fewRowsMatchTheBatchedPath() {
    int in = 6, H = 37, L = 2, T = 7, B = 5; // H = 37: 4 gates x 37 = 148 rows of W_hh, K = 37 across the vector width
    Problem p = problem(in, H, L, 0f, T, B, 51);
    Lstm lstm = p.lstm();
    float[] all = new float[T * B * H], hAll = p.h0().clone(), cAll = p.c0().clone();
    lstm.forward(p.x(), T, B, hAll, cAll, all, false, null);
    for (int[] cols : new int[][] {{0}, {3}, {1, 4}}) {
      int b = cols.length;
      float[] x = new float[T * b * in], h = new float[L * b * H], c = new float[L * b * H], out = new float[T * b * H];
      for (int j = 0; j < b; j++) {
        for (int t = 0; t < T; t++) System.arraycopy(p.x(), (t * B + cols[j]) * in, x, (t * b + j) * in, in);
        for (int l = 0; l < L; l++) {
          System.arraycopy(p.h0(), (l * B + cols[j]) * H, h, (l * b + j) * H, H);
          System.arraycopy(p.c0(), (l * B + cols[j]) * H, c, (l * b + j) * H, H);
        }
      }
      lstm.forward(x, T, b, h, c, out, false, null);
      for (int j = 0; j < b; j++) {
        for (int t = 0; t < T; t++) {
          for (int q = 0; q < H; q++) {
            float want = all[(t * B + cols[j]) * H + q], got = out[(t * b + j) * H + q];
            assertTrue(Float.isFinite(got) && Math.abs(want - got) <= 1e-5f, "column " + cols[j] + " of " + b + " at step " + t + ": " + got + " vs " + want);
          }
        }
        for (int l = 0; l < L; l++) {
          for (int q = 0; q < H; q++) {
            assertEquals(hAll[(l * B + cols[j]) * H + q], h[(l * b + j) * H + q], 1e-5f, "final h");
            assertEquals(cAll[(l * B + cols[j]) * H + q], c[(l * b + j) * H + q], 1e-5f, "final c");
          }
        }
      }
    }
  }

  @Test
  void largerBatchAfterSmallerReallocatesCorrectly() {
    // grow T*B and B in different orders: results must not depend on buffer history
    Problem big = problem(4, 6, 2, 0f, 3, 5, 41);
    Lstm fresh = new Lstm(4, 6, 2, 0f, 0.4f, new Rng(41));
    float[] want = new float[3 * 5 * 6];
    fresh.forward(big.x(), 3, 5, big.h0().clone(), big.c0().clone(), want, false, null);
    Lstm used = big.lstm();
    used.forward(new float[8 * 2 * 4], 8, 2, new float[2 * 2 * 6], new float[2 * 2 * 6], new float[8 * 2 * 6], true, null);
    float[] got = new float[want.length];
    used.forward(big.x(), 3, 5, big.h0().clone(), big.c0().clone(), got, true, null);
    assertArrayEquals(want, got, 0f);
  }

  @Test
  void packedSequencesMatchEachSequenceRunAlone() {
    // lengths 7, 5, 2, 1: batch sizes 4, 3, 2, 2, 2, 1, 1 (the one-row steps take the dot-product path)
    int in = 6, H = 37, L = 2;
    int[] lens = {7, 5, 2, 1};
    int B = lens.length, rows = 0;
    for (int n : lens) rows += n;
    int[] bs = Lstm.batchSizes(lens);
    assertArrayEquals(new int[] {4, 3, 2, 2, 2, 1, 1}, bs);
    Rng rng = new Rng(61);
    Lstm lstm = new Lstm(in, H, L, 0.3f, 0.4f, rng); // dropout is a training-only op: evaluation ignores it
    float[][] xs = new float[B][];
    for (int b = 0; b < B; b++) xs[b] = TestData.gaussian(rng, lens[b] * in, 1);
    float[] h0 = TestData.gaussian(rng, L * B * H, 0.5f), c0 = TestData.gaussian(rng, L * B * H, 0.5f);
    float[] x = new float[rows * in];
    for (int t = 0, off = 0; t < bs.length; off += bs[t], t++)
      for (int b = 0; b < bs[t]; b++) System.arraycopy(xs[b], t * in, x, (off + b) * in, in);
    float[] h = h0.clone(), c = c0.clone(), out = new float[rows * H];
    Arrays.fill(out, Float.NaN);
    lstm.forwardPacked(x, bs, h, c, out);
    for (int b = 0; b < B; b++) {
      float[] hb = new float[L * H], cb = new float[L * H], ob = new float[lens[b] * H];
      for (int l = 0; l < L; l++) {
        System.arraycopy(h0, (l * B + b) * H, hb, l * H, H);
        System.arraycopy(c0, (l * B + b) * H, cb, l * H, H);
      }
      lstm.forward(xs[b], lens[b], 1, hb, cb, ob, false, null);
      for (int t = 0, off = 0; t < lens[b]; off += bs[t], t++) {
        for (int q = 0; q < H; q++) {
          float want = ob[t * H + q], got = out[(off + b) * H + q];
          assertTrue(Float.isFinite(got) && Math.abs(want - got) <= 1e-5f, "sequence " + b + " step " + t + ": " + got + " vs " + want);
        }
      }
      for (int l = 0; l < L; l++) {
        for (int q = 0; q < H; q++) {
          assertEquals(hb[l * H + q], h[(l * B + b) * H + q], 1e-5f, "final h of sequence " + b + " layer " + l);
          assertEquals(cb[l * H + q], c[(l * B + b) * H + q], 1e-5f, "final c of sequence " + b + " layer " + l);
        }
      }
    }
  }

  @Test
  void packedBatchSizesRejectUnsortedLengths() {
    assertThrows(IllegalArgumentException.class, () -> Lstm.batchSizes(new int[] {2, 3}));
    assertThrows(IllegalArgumentException.class, () -> Lstm.batchSizes(new int[] {3, 0}));
    Lstm lstm = new Lstm(2, 3, 1, 0f, 0.4f, new Rng(1));
    assertThrows(IllegalArgumentException.class, () -> lstm.forwardPacked(new float[10], new int[] {1, 2}, new float[6], new float[6], new float[15]));
  }

}
