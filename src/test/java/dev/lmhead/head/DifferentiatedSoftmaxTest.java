package dev.lmhead.head;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lmhead.TestData;
import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Rng;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class DifferentiatedSoftmaxTest {

  @Test
  void normalisedAndTopK() {
    DifferentiatedSoftmax h = new DifferentiatedSoftmax(300, 12, new int[] {20, 100}, new int[] {7, 3, 2}, true, new Rng(1));
    HeadContract.normalisedAndConsistent(h, 9, 2);
    HeadContract.topKMatchesSort(h, 7, 5, 3);
    // a top-k that crosses bands
    HeadContract.topKMatchesSort(h, 4, 150, 4);
    assertEquals("dsoftmax", h.type());
    // the spec records what it was built with, and rebuilds the same head
    assertArrayEquals(new int[] {20, 100}, h.spec().bands());
    assertArrayEquals(new int[] {7, 3, 2}, h.spec().bandDims());
    OutputLayer again = h.spec().create(300, 12, null, null, new Rng(1));
    float[] x = dev.lmhead.TestData.gaussian(new Rng(5), 2 * 12, 1.0), a = new float[2 * 300], b = new float[2 * 300];
    h.logProb(x, 2, a);
    again.logProb(x, 2, b);
    assertArrayEquals(a, b, 0f);
  }

  @Test
  void gradientsEveryReductionAndIgnoreIndex() {
    for (Loss loss : new Loss[] {Loss.MEAN, Loss.SUM, Loss.NONE, new Loss(Loss.Reduction.MEAN, 7), new Loss(Loss.Reduction.SUM, -1),
        new Loss(Loss.Reduction.NONE, 2)}) {
      HeadContract.gradients(new DifferentiatedSoftmax(50, 6, new int[] {5, 20}, new int[] {3, 2, 1}, true, new Rng(4)), 8, loss, 5);
    }
    HeadContract.gradients(new DifferentiatedSoftmax(40, 5, new int[] {10}, new int[] {4, 1}, false, new Rng(6)), 5, Loss.MEAN, 7);
    HeadContract.gradients(new DifferentiatedSoftmax(40, 5, null, null, true, new Rng(6)), 6, Loss.SUM, 8);
    HeadContract.gradients(new DifferentiatedSoftmax(40, 5, new int[0], new int[] {5}, true, new Rng(6)), 6, Loss.MEAN, 9);
  }

  @Test
  void ignoredAndOutOfRangeTargets() {
    HeadContract.ignoredAndOutOfRangeTargets(new DifferentiatedSoftmax(40, 6, null, null, true, new Rng(1)), 11);
  }

  /**
   * D-softmax is a full softmax whose [V, d] weight is block-diagonal: copy the bands into the
   * diagonal blocks of a FullSoftmax (zeros elsewhere) and every output and gradient agrees; the band
   * gradients are the diagonal blocks of the dense gradient. V = 70,000 and 300 rows take two row blocks.
   */
  @Test
  void equalsAFullSoftmaxWithABlockDiagonalWeight() {
    for (int[] shape : new int[][] {{300, 12, 9}, {70_000, 4, 300}}) {
      int v = shape[0], d = shape[1], n = shape[2];
      int[] cutoffs = v == 300 ? new int[] {20, 100} : new int[] {1000, 10_000};
      int[] dims = v == 300 ? new int[] {6, 4, 2} : new int[] {2, 1, 1};
      DifferentiatedSoftmax ds = new DifferentiatedSoftmax(v, d, cutoffs, dims, true, new Rng(1));
      FullSoftmax full = new FullSoftmax(v, d, true, null, new Rng(2));
      Arrays.fill(full.weight.data, 0f);
      System.arraycopy(ds.bias.data, 0, full.bias.data, 0, v);
      int[] starts = {0, cutoffs[0], cutoffs[1], v}, offs = {0, dims[0], dims[0] + dims[1], d};
      for (int b = 0; b < 3; b++) {
        for (int w = starts[b]; w < starts[b + 1]; w++) {
          System.arraycopy(ds.bands[b].data, (w - starts[b]) * dims[b], full.weight.data, w * d + offs[b], dims[b]);
        }
      }
      Rng rng = new Rng(3);
      float[] x = TestData.gaussian(rng, n * d, 1);
      int[] t = TestData.zipfTargets(rng, n, v);
      for (int r = 1; r < n; r += 37) t[r] = -100;
      String what = "V=" + v;
      if (v == 300) {
        float[] a = new float[n * v], e = new float[n * v];
        ds.logProb(x, n, a);
        full.logProb(x, n, e);
        TestData.assertClose(e, a, 2e-5, what + ": logProb");
      }
      float[] ga = new float[n * d], ge = new float[n * d], ra = new float[n], re = new float[n];
      double la = ds.forwardBackward(x, n, t, ga, Loss.MEAN, ra);
      double le = full.forwardBackward(x, n, t, ge, Loss.MEAN, re);
      HeadContract.assertFiniteClose(le, la, 1e-5 * le, what + ": loss");
      TestData.assertClose(re, ra, 2e-5, what + ": row losses");
      TestData.assertClose(ge, ga, 1e-6, what + ": grad hidden");
      TestData.assertClose(full.bias.grad, ds.bias.grad, 1e-7, what + ": grad bias");
      for (int b = 0; b < 3; b++) {
        float[] block = new float[ds.bands[b].size()];
        for (int w = starts[b]; w < starts[b + 1]; w++) {
          System.arraycopy(full.weight.grad, w * d + offs[b], block, (w - starts[b]) * dims[b], dims[b]);
        }
        TestData.assertClose(block, ds.bands[b].grad, 1e-6, what + ": grad band " + b);
      }
      TopK ta = ds.topK(x, 3, 10), te = full.topK(x, 3, 10);
      assertArrayEquals(te.ids(), ta.ids(), what + ": top-k ids");
    }
  }

  @Test
  void defaultsAndParameterNames() {
    assertArrayEquals(new int[] {147, 73, 36}, DifferentiatedSoftmax.defaultDims(256, 3));
    assertArrayEquals(new int[] {293, 146, 73}, DifferentiatedSoftmax.defaultDims(512, 3));
    assertArrayEquals(new int[] {1, 1, 1}, DifferentiatedSoftmax.defaultDims(3, 3));
    assertArrayEquals(new int[] {2, 1, 1}, DifferentiatedSoftmax.defaultDims(4, 3));
    assertArrayEquals(new int[] {9}, DifferentiatedSoftmax.defaultDims(9, 1));
    for (int d = 1; d <= 300; d++) {
      for (int nb = 1; nb <= Math.min(d, 6); nb++) {
        int[] ds = DifferentiatedSoftmax.defaultDims(d, nb);
        assertEquals(d, Arrays.stream(ds).sum(), "defaultDims(" + d + ", " + nb + ")");
        for (int b = 0; b < nb; b++) {
          if (ds[b] < 1 || (b > 0 && ds[b] > ds[b - 1])) throw new AssertionError("defaultDims(" + d + ", " + nb + ") = " + Arrays.toString(ds));
        }
      }
    }
    assertThrows(IllegalArgumentException.class, () -> DifferentiatedSoftmax.defaultDims(2, 3));
    DifferentiatedSoftmax h = new DifferentiatedSoftmax(33_278, 256, null, null, true, new Rng(1));
    assertArrayEquals(AdaptiveSoftmax.defaultCutoffs(33_278), h.cutoffs());
    assertArrayEquals(new int[] {147, 73, 36}, h.dims());
    assertEquals(Arrays.asList("bands.0.weight", "bands.1.weight", "bands.2.weight", "bias"),
        h.parameters().stream().map(Parameter::name).toList());
    int[] c = h.cutoffs();
    assertArrayEquals(new int[] {c[0], 147}, h.bands[0].shape);
    assertArrayEquals(new int[] {33_278 - c[1], 36}, h.bands[2].shape);
    // V = 1: one band
    DifferentiatedSoftmax one = new DifferentiatedSoftmax(1, 3, null, null, true, new Rng(1));
    assertEquals(0, one.cutoffs().length);
    HeadContract.normalisedAndConsistent(one, 2, 1);
  }

  @Test
  void rejectsBadShapes() {
    Rng rng = new Rng(1);
    assertThrows(IllegalArgumentException.class, () -> new DifferentiatedSoftmax(50, 6, new int[] {20, 10}, null, true, rng));
    assertThrows(IllegalArgumentException.class, () -> new DifferentiatedSoftmax(50, 6, new int[] {0, 10}, null, true, rng));
    assertThrows(IllegalArgumentException.class, () -> new DifferentiatedSoftmax(50, 6, new int[] {10, 50}, null, true, rng));
    assertThrows(IllegalArgumentException.class, () -> new DifferentiatedSoftmax(50, 6, new int[] {10}, new int[] {3, 2}, true, rng));
    assertThrows(IllegalArgumentException.class, () -> new DifferentiatedSoftmax(50, 6, new int[] {10}, new int[] {6, 0}, true, rng));
    assertThrows(IllegalArgumentException.class, () -> new DifferentiatedSoftmax(50, 6, new int[] {10}, new int[] {6}, true, rng));
    assertThrows(IllegalArgumentException.class, () -> new DifferentiatedSoftmax(50, 2, new int[] {10, 20}, null, true, rng));
  }
}
