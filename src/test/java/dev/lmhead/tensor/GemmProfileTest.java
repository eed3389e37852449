package dev.lmhead.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.head.FullSoftmax;
import java.util.List;
import org.junit.jupiter.api.Test;

class GemmProfileTest {
  /** Every product is counted with its shape, the results are unchanged, and the backend is restored. */
  @Test
  void countsTheProductsOfAnOperation() {
    Blas before = Blas.get();
    float[] a = new float[6 * 4], b = new float[4 * 5], c = new float[6 * 5], ref = new float[6 * 5];
    new Rng(1).fillUniform(a, -1, 1);
    new Rng(2).fillUniform(b, -1, 1);
    before.sgemm(false, false, 6, 5, 4, 1f, a, b, 0f, ref);
    GemmProfile p = GemmProfile.record(() -> {
      Blas.get().sgemm(false, false, 6, 5, 4, 1f, a, b, 0f, c);
      Blas.get().sgemm(false, false, 6, 5, 4, 1f, a, b, 0f, c);
      Blas.get().sgemm(true, false, 4, 5, 6, 1f, a, 0, 4, new float[6 * 5], 0, 5, 0f, new float[20], 0, 5);
    });
    assertSame(before, Blas.get(), "backend restored");
    assertTrue(java.util.Arrays.equals(ref, c), "the decorator computes what the backend computes");
    List<GemmProfile.Entry> e = p.entries();
    assertEquals(2, e.size());
    assertEquals(new GemmProfile.Shape(false, false, 6, 5, 4), e.get(0).shape());
    assertEquals(2, e.get(0).calls());
    assertEquals(1, e.get(1).calls());
    assertEquals(2 * (2.0 * 6 * 5 * 4) + 2.0 * 4 * 5 * 6, p.flops(), 0.0);
    assertTrue(p.gemmSeconds() > 0 && p.wallSeconds() >= 0);
    assertTrue(!GemmProfile.recording());
  }

  /** A full-softmax training step is three products of N·V·d each: logits, dHidden, dWeight. */
  @Test
  void aFullSoftmaxTrainStepIsThreeProducts() {
    int n = 64, v = 300, d = 16;
    FullSoftmax head = new FullSoftmax(v, d, true, null, new Rng(3));
    float[] h = new float[n * d], g = new float[n * d];
    new Rng(4).fillUniform(h, -1, 1);
    int[] t = new int[n];
    for (int i = 0; i < n; i++) t[i] = (i * 7) % v;
    GemmProfile p = GemmProfile.record(() -> head.forwardBackward(h, n, t, g));
    assertEquals(3 * 2.0 * n * v * d, p.flops(), 0.0, p.entries().toString());
    GemmProfile.Rates rates = new GemmProfile.Rates(0.01);
    double limit = p.limitSeconds(rates);
    assertTrue(limit > 0 && Double.isFinite(limit), "limit " + limit);
    for (var e : p.entries()) {
      double r = rates.gflops(e.shape());
      assertTrue(r > 0 && Double.isFinite(r), e + ": " + r);
    }
  }
}
