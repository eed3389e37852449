package dev.lmhead.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.GradCheck;
import dev.lmhead.TestData;
import dev.lmhead.head.AdaptiveSoftmax;
import dev.lmhead.model.AdaptiveTying;
import dev.lmhead.head.HeadContract;
import dev.lmhead.head.Loss;
import dev.lmhead.tensor.Rng;
import java.util.List;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;

class AdaptiveInputTest {
  static final int V = 40, D = 8, N = 30;
  static final int[] CUT = {5, 15};

  static int[] ids(long seed) {
    Rng rng = new Rng(seed);
    int[] ids = new int[N];
    for (int i = 0; i < N; i++) ids[i] = rng.nextInt(V);
    ids[0] = 0; ids[1] = 0; ids[2] = 7; ids[3] = 7; ids[4] = 39; ids[5] = 15; ids[6] = 4; ids[7] = 14; // duplicates, band edges
    return ids;
  }

  @Test
  void bandSizesNamesAndForwardMatchTheDefinition() {
    AdaptiveInput in = new AdaptiveInput(V, D, CUT, 2.0, new Rng(1));
    assertEquals("[embeddings.0.0.weight[5, 8], embeddings.1.0.weight[10, 4], embeddings.1.1.weight[8, 4], "
        + "embeddings.2.0.weight[25, 2], embeddings.2.1.weight[8, 2]]", in.parameters().toString());
    assertNull(in.projection(0));
    int[] ids = ids(2);
    float[] out = new float[N * D];
    in.forward(ids, N, out);
    int[] lo = {0, 5, 15, 40};
    for (int p = 0; p < N; p++) {
      int w = ids[p], b = w < 5 ? 0 : w < 15 ? 1 : 2, db = in.bandDim(b);
      for (int k = 0; k < D; k++) {
        double ref = 0;
        if (b == 0) ref = in.embedding(0).data[w * D + k];
        else for (int j = 0; j < db; j++) ref += (double) in.embedding(b).data[(w - lo[b]) * db + j] * in.projection(b).data[k * db + j];
        assertEquals(ref, out[p * D + k], 1e-6, "position " + p + " word " + w + " coord " + k);
      }
    }
  }

  /** L = Σ R∘y + ½ Σ y², so dL/dy = R + y. */
  static double quadLoss(AdaptiveInput in, int[] ids, float[] r) {
    float[] y = new float[N * D];
    in.forward(ids, N, y);
    double s = 0;
    for (int i = 0; i < y.length; i++) s += (double) r[i] * y[i] + 0.5 * (double) y[i] * y[i];
    return s;
  }

  @Test
  void gradientsByFiniteDifferences() {
    for (double factor : new double[] {2.0, 1.5}) {
      AdaptiveInput in = new AdaptiveInput(V, D, new int[] {5, 15, 30}, factor, new Rng(3));
      int[] ids = ids(4);
      float[] r = TestData.gaussian(new Rng(5), N * D, 1.0);
      float[] y = new float[N * D];
      in.forward(ids, N, y);
      for (int i = 0; i < y.length; i++) y[i] += r[i];
      for (Parameter p : in.parameters()) p.zeroGrad();
      in.backward(ids, N, y);
      DoubleSupplier f = () -> quadLoss(in, ids, r);
      for (Parameter p : in.parameters()) GradCheck.check("adaptive input d/d" + p.name(), p.data, p.grad.clone(), f, 80, 6);
    }
  }

  @Test
  void tiedParametersAreTheSoftmaxObjects() {
    AdaptiveSoftmax sm = new AdaptiveSoftmax(D, V, CUT, 2.0, true, new Rng(1));
    AdaptiveInput t = AdaptiveTying.tiedTo(sm, CUT, 2.0, true, new Rng(2));
    assertSame(sm.headWeight, t.embedding(0));
    assertSame(sm.tailOut[0], t.embedding(1));
    assertSame(sm.tailOut[1], t.embedding(2));
    assertSame(sm.tailProj[0], t.projection(1));
    assertSame(sm.tailProj[1], t.projection(2));
    assertTrue(t.parameters().isEmpty(), "a fully tied input owns nothing: " + t.parameters());
    assertEquals(List.of(sm.headWeight, sm.tailOut[0], sm.tailProj[0], sm.tailOut[1], sm.tailProj[1]), t.sharedParameters());
    AdaptiveInput e = AdaptiveTying.tiedTo(sm, CUT, 2.0, false, new Rng(2));
    assertSame(sm.tailOut[1], e.embedding(2));
    assertEquals("[embeddings.1.1.weight[8, 4], embeddings.2.1.weight[8, 2]]", e.parameters().toString());
    for (Parameter p : e.parameters()) assertFalse(sm.parameters().contains(p));
    // tied band 0 reads head.weight's first rows; band i+1 reads tail.i.1.weight and maps it up with tail.i.0.weightᵀ
    float[] out = new float[2 * D];
    t.forward(new int[] {3, 16}, 2, out);
    for (int k = 0; k < D; k++) {
      assertEquals(sm.headWeight.data[3 * D + k], out[k], 0f);
      double ref = 0;
      for (int j = 0; j < 2; j++) ref += (double) sm.tailOut[1].data[1 * 2 + j] * sm.tailProj[1].data[j * D + k];
      assertEquals(ref, out[D + k], 1e-6);
    }
  }

  /** An LM-shaped composition: h = input(ids), loss = softmax NLL of targets given h. */
  static double lmLoss(AdaptiveInput in, AdaptiveSoftmax sm, int[] ids, int[] targets) {
    float[] h = new float[N * D];
    in.forward(ids, N, h);
    return HeadContract.reference(sm, h, N, targets, Loss.SUM);
  }

  @Test
  void tiedGradientIsTheSumOfBothUses() {
    for (boolean tieProj : new boolean[] {true, false}) {
      AdaptiveSoftmax sm = new AdaptiveSoftmax(D, V, CUT, 2.0, true, new Rng(11));
      AdaptiveInput in = AdaptiveTying.tiedTo(sm, CUT, 2.0, tieProj, new Rng(12));
      int[] ids = ids(13), targets = TestData.zipfTargets(new Rng(14), N, V);
      for (Parameter p : sm.parameters()) p.zeroGrad();
      for (Parameter p : in.parameters()) p.zeroGrad();
      float[] h = new float[N * D], gh = new float[N * D];
      in.forward(ids, N, h);
      sm.forwardBackward(h, N, targets, gh, Loss.SUM, null);
      // the softmax's own use alone, to prove the input's use really adds to it
      float[] headOnly = sm.headWeight.grad.clone();
      in.backward(ids, N, gh);
      boolean changed = false;
      for (int i = 0; i < headOnly.length; i++) changed |= headOnly[i] != sm.headWeight.grad[i];
      assertTrue(changed, "input backward must accumulate into the shared head.weight");
      DoubleSupplier f = () -> lmLoss(in, sm, ids, targets);
      for (Parameter p : sm.parameters()) GradCheck.check("tied(" + tieProj + ") d/d" + p.name(), p.data, p.grad.clone(), f, 60, 15);
      for (Parameter p : in.parameters()) GradCheck.check("tied(" + tieProj + ") d/d" + p.name(), p.data, p.grad.clone(), f, 60, 16);
    }
  }

  @Test
  void clearErrorsWhenTyingIsImpossible() {
    AdaptiveSoftmax sm = new AdaptiveSoftmax(D, V, CUT, 2.0, false, new Rng(1));
    var e = assertThrows(IllegalArgumentException.class, () -> AdaptiveTying.tiedTo(sm, new int[] {5, 20}, 2.0, true, new Rng(1)));
    assertEquals("cannot tie adaptive input to the adaptive softmax: input cutoffs [5, 20] differ from the softmax --cutoffs [5, 15]", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> AdaptiveTying.tiedTo(sm, CUT, 1.0, true, new Rng(1)));
    assertEquals("cannot tie adaptive input to the adaptive softmax: input factor 1.0 gives band 1 dimension 8 but --div-value 2.0 gives tail 0 size 4 (use the same value)", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new AdaptiveInput(V, D, CUT, 4.0, new Rng(1)));
    assertEquals("adaptive input factor 4.0 gives band 2 dimension floor(8 / 4.0^2) = 0; use a smaller factor, fewer cutoffs or a larger embedding size", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new AdaptiveInput(V, D, new int[] {5, 50}, 2.0, new Rng(1)));
    assertTrue(e.getMessage().startsWith("adaptive input: --cutoffs [5,50]: 50 is outside [1, 39]"), e.getMessage());
    AdaptiveInput in = new AdaptiveInput(V, D, CUT, 2.0, new Rng(1));
    e = assertThrows(IllegalArgumentException.class, () -> in.forward(new int[] {1, 40}, 2, new float[2 * D]));
    assertEquals("token id 40 at position 1 is outside [0, 40)", e.getMessage());
  }
}
