package dev.lmhead.head;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lmhead.TestData;
import dev.lmhead.tensor.Rng;
import dev.lmhead.tensor.Safetensors;
import org.junit.jupiter.api.Test;

class FullSoftmaxTest {

  @Test
  void normalisedAndTopK() {
    FullSoftmax h = new FullSoftmax(300, 12, true, null, new Rng(1));
    HeadContract.normalisedAndConsistent(h, 9, 2);
    HeadContract.topKMatchesSort(h, 7, 5, 3);
  }

  @Test
  void gradientsEveryReductionAndIgnoreIndex() {
    for (Loss loss : new Loss[] {Loss.MEAN, Loss.SUM, Loss.NONE, new Loss(Loss.Reduction.MEAN, 7), new Loss(Loss.Reduction.SUM, -1)}) {
      FullSoftmax h = new FullSoftmax(50, 6, true, null, new Rng(4));
      HeadContract.gradients(h, 8, loss, 5);
    }
    HeadContract.gradients(new FullSoftmax(40, 5, false, null, new Rng(6)), 5, Loss.MEAN, 7);
  }

  @Test
  void rowBlockingGivesSameResultAsOneBlock() {
    // V = 70,000: a block holds max(256, 16 Mi / V = 239) = 256 rows, so 300 rows take two blocks
    int v = 70_000, d = 4, n = 300;
    FullSoftmax h = new FullSoftmax(v, d, true, null, new Rng(8));
    Rng rng = new Rng(9);
    float[] x = TestData.gaussian(rng, n * d, 1);
    int[] t = TestData.zipfTargets(rng, n, v);
    for (int r = 5; r < n; r += 37) t[r] = -100; // ignored rows in both blocks
    float[] gh = new float[n * d];
    double l = h.forwardBackward(x, n, t, gh, Loss.MEAN, null);
    // unblocked reference, row by row in double
    double[] gw = new double[v * d], gb = new double[v], gx = new double[n * d], z = new double[v];
    int count = 0;
    for (int r = 0; r < n; r++) if (t[r] != -100) count++;
    double loss = 0;
    for (int r = 0; r < n; r++) {
      if (t[r] == -100) continue;
      double m = Double.NEGATIVE_INFINITY, s = 0;
      for (int w = 0; w < v; w++) {
        double a = h.bias.data[w];
        for (int q = 0; q < d; q++) a += (double) x[r * d + q] * h.weight.data[w * d + q];
        z[w] = a;
        m = Math.max(m, a);
      }
      for (int w = 0; w < v; w++) s += Math.exp(z[w] - m);
      double lse = m + Math.log(s);
      loss += lse - z[t[r]];
      for (int w = 0; w < v; w++) {
        double g = (Math.exp(z[w] - lse) - (w == t[r] ? 1 : 0)) / count;
        gb[w] += g;
        for (int q = 0; q < d; q++) {
          gw[w * d + q] += g * x[r * d + q];
          gx[r * d + q] += g * h.weight.data[w * d + q];
        }
      }
    }
    loss /= count;
    HeadContract.assertFiniteClose(loss, l, 1e-5 * loss, "loss");
    assertCloseEntrywise(gx, gh, "grad hidden");
    assertCloseEntrywise(gw, h.weight.grad, "grad weight");
    assertCloseEntrywise(gb, h.bias.grad, "grad bias");
  }

  /**
   * Every entry within 1e-3 relative (+1e-9 absolute, far below the ~1e-7 of a non-target word's
   * gradient here, far above float32 rounding): a block whose softmax terms were lost fails.
   */
  private static void assertCloseEntrywise(double[] ref, float[] actual, String what) {
    for (int i = 0; i < ref.length; i++) {
      double e = Math.abs(ref[i] - actual[i]);
      if (!(e <= 1e-3 * Math.abs(ref[i]) + 1e-9)) {
        throw new AssertionError(what + "[" + i + "]: reference " + ref[i] + ", blocked " + actual[i]);
      }
    }
  }

  @Test
  void rejectsOutOfRangeTargets() {
    FullSoftmax h = new FullSoftmax(10, 3, true, null, new Rng(1));
    var e = assertThrows(IllegalArgumentException.class,
        () -> h.forwardBackward(new float[6], 2, new int[] {1, 10}, new float[6]));
    assertEquals("target 10 at row 1 is outside [0, 10)", e.getMessage());
  }

  @Test
  void pytorchParity() throws Exception {
    var fx = Safetensors.read(TestData.fixture("full_v500_d16.safetensors"));
    int v = Integer.parseInt(fx.metadata().get("n_classes")), d = Integer.parseInt(fx.metadata().get("in_features"));
    FullSoftmax h = new FullSoftmax(v, d, true, null, new Rng(0));
    System.arraycopy(fx.get("weight").f32(), 0, h.weight.data, 0, v * d);
    System.arraycopy(fx.get("bias").f32(), 0, h.bias.data, 0, v);
    float[] x = fx.get("input").f32();
    int[] t = fx.get("target").ints();
    int n = t.length;
    float[] out = new float[n];
    h.targetLogProb(x, n, t, out);
    TestData.assertClose(fx.get("expected.output").f32(), out, 1e-5, "output");
    float[] lp = new float[n * v];
    h.logProb(x, n, lp);
    TestData.assertClose(fx.get("expected.log_prob").f32(), lp, 1e-5, "log_prob");
    float[] gx = new float[n * d];
    double loss = h.forwardBackward(x, n, t, gx);
    assertEquals(fx.get("expected.loss").f32()[0], loss, 1e-5, "loss");
    TestData.assertClose(fx.get("expected.grad.input").f32(), gx, 1e-4, "grad.input");
    TestData.assertClose(fx.get("expected.grad.weight").f32(), h.weight.grad, 1e-4, "grad.weight");
    TestData.assertClose(fx.get("expected.grad.bias").f32(), h.bias.grad, 1e-4, "grad.bias");
    int[] pred = h.predict(x, n);
    long[] ep = fx.get("expected.predict").i64();
    for (int i = 0; i < n; i++) assertEquals(ep[i], pred[i], "predict row " + i);
  }

}
