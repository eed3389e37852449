package dev.lmhead.head;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.TestData;
import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Rng;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClassSoftmaxTest {

  static ClassSoftmax.Spec spec(int classes, String mode, boolean bias) {
    return (ClassSoftmax.Spec) Heads.parse("class", HeadOptions.of("classes", "" + classes, "class-mode", mode, "bias", "" + bias));
  }

  static ClassSoftmax head(int v, int d, int classes, String mode, boolean bias, long seed) {
    return (ClassSoftmax) Heads.create(spec(classes, mode, bias), v, d, BinaryTreeTest.zipfCounts(v), null, new Rng(seed));
  }

  @Test
  void contractBothModesOddSizes() {
    for (String mode : new String[] {"freq", "equal"}) {
      for (int v : new int[] {1, 2, 3, 97}) {
        for (int c : new int[] {0, 1, 5, v + 3}) { // 0 = sqrt(V); v + 3 exercises C > V
          ClassSoftmax h = head(v, 7, c, mode, true, v * 31L + c);
          assertTrue(h.numClasses() >= 1 && h.numClasses() <= v);
          HeadContract.normalisedAndConsistent(h, 9, 2);
          HeadContract.topKMatchesSort(h, 7, Math.min(v, 5), 3);
          HeadContract.topKMatchesSort(h, 3, v, 4); // k = V: the search must visit every class
        }
      }
    }
  }

  @Test
  void topKExactOnPeakedDistributions() {
    // scaled-up weights make P(c|h) and P(w|c,h) peaked, so the class bound really prunes
    for (String mode : new String[] {"freq", "equal"}) {
      for (float sharp : new float[] {3f, 8f}) {
        ClassSoftmax h = head(300, 8, 0, mode, true, 12);
        for (Parameter p : h.parameters()) for (int i = 0; i < p.size(); i++) p.data[i] *= sharp;
        for (int k : new int[] {1, 3, 10, 40}) HeadContract.topKMatchesSort(h, 12, k, 13 + k);
      }
    }
  }

  @Test
  void gradientsEveryReductionAndIgnoreIndex() {
    Loss[] losses = {Loss.MEAN, Loss.SUM, Loss.NONE, new Loss(Loss.Reduction.MEAN, 7), new Loss(Loss.Reduction.SUM, -1),
        new Loss(Loss.Reduction.NONE, 0)};
    for (String mode : new String[] {"freq", "equal"}) {
      for (Loss loss : losses) HeadContract.gradients(head(97, 6, 0, mode, true, 4), 10, loss, 5);
    }
    HeadContract.gradients(head(40, 5, 6, "freq", false, 6), 8, Loss.MEAN, 7);
    HeadContract.gradients(head(3, 4, 9, "equal", true, 8), 6, Loss.SUM, 9);
    HeadContract.gradients(head(1, 4, 0, "freq", true, 8), 4, Loss.MEAN, 9);
  }

  @Test
  void parameterNamesAndShapes() {
    ClassSoftmax h = head(97, 6, 0, "equal", true, 1);
    List<Parameter> ps = h.parameters();
    assertEquals(List.of("class.weight", "class.bias", "word.weight", "word.bias"), ps.stream().map(Parameter::name).toList());
    assertEquals(10, h.numClasses()); // round(sqrt(97))
    assertArrayEquals(new int[] {10, 6}, ps.get(0).shape);
    assertArrayEquals(new int[] {97, 6}, ps.get(2).shape);
    assertEquals(List.of("class.weight", "word.weight"),
        head(97, 6, 0, "equal", false, 1).parameters().stream().map(Parameter::name).toList());
  }

  @Test
  void mikolovFrequencyBinning() {
    // independent re-statement of rnnlm's loop: class index per word
    long[] counts = BinaryTreeTest.zipfCounts(500);
    for (int c : new int[] {1, 2, 7, 22, 100, 500, 800}) {
      int[] start = ClassSoftmax.frequencyBins(counts, c);
      double total = 0;
      for (long x : counts) total += x;
      double df = 0;
      int a = 0;
      int[] expected = new int[counts.length];
      for (int i = 0; i < counts.length; i++) {
        df += counts[i] / total;
        if (df > 1) df = 1;
        expected[i] = a;
        if (df > (a + 1) / (double) c && a < c - 1) a++;
      }
      for (int k = 0; k + 1 < start.length; k++) {
        assertTrue(start[k + 1] > start[k], "empty class " + k);
        for (int w = start[k]; w < start[k + 1]; w++) assertEquals(expected[w], k, "class of word " + w + " with C=" + c);
      }
      assertEquals(counts.length, start[start.length - 1]);
      assertTrue(start.length - 1 <= Math.min(c, counts.length));
    }
    // the frequent head gets small classes, the rare tail big ones
    int[] s = ClassSoftmax.frequencyBins(counts, 22);
    assertTrue(s[1] - s[0] < s[s.length - 1] - s[s.length - 2]);
    assertArrayEquals(new int[] {0, 3, 6, 10}, ClassSoftmax.equalBins(10, 3));
    assertArrayEquals(new int[] {0, 1, 2, 3}, ClassSoftmax.equalBins(3, 8));
  }

  @Test
  void trainingTouchesOnlyTargetClasses() {
    int v = 97, d = 5, n = 6;
    ClassSoftmax h = head(v, d, 0, "equal", true, 3);
    Rng rng = new Rng(4);
    float[] x = TestData.gaussian(rng, n * d, 1);
    int[] t = {0, 1, 2, 50, 51, 96};
    h.forwardBackward(x, n, t, new float[n * d]);
    boolean[] touched = new boolean[h.numClasses()];
    for (int w : t) touched[h.classOf(w)] = true;
    for (int w = 0; w < v; w++) {
      boolean zero = true;
      for (int j = 0; j < d; j++) zero &= h.wordWeight.grad[w * d + j] == 0f;
      zero &= h.wordBias.grad[w] == 0f;
      assertEquals(!touched[h.classOf(w)], zero, "word " + w + " gradient");
    }
  }

  @Test
  void rowBlockingGivesSameResults() {
    // a tiny block bound splits the class layer into row blocks and the big class into sub-blocks
    int v = 2000, d = 3, n = 40;
    Rng rng = new Rng(9);
    float[] x = TestData.gaussian(rng, n * d, 1);
    int[] t = TestData.zipfTargets(rng, n, v);
    for (int i = 0; i < n; i += 2) t[i] = 10 + rng.nextInt(v - 10);
    float[][] grads = new float[2][];
    float[][] lps = new float[2][];
    double[] losses = new double[2];
    for (int pass = 0; pass < 2; pass++) {
      ClassSoftmax h = new ClassSoftmax(v, d, new int[] {0, 4, 10, v}, spec(3, "equal", true), null, new Rng(8));
      if (pass == 1) h.withBlockFloats(60); // 20-row class blocks; 1-row sub-blocks in the 1990-word class
      float[] gh = new float[n * d];
      losses[pass] = h.forwardBackward(x, n, t, gh, Loss.SUM, null);
      grads[pass] = concat(gh, h.wordWeight.grad, h.wordBias.grad, h.classWeight.grad, h.classBias.grad);
      lps[pass] = new float[n * v];
      h.logProb(x, n, lps[pass]);
      if (pass == 1) {
        assertEquals(HeadContract.reference(h, x, n, t, Loss.SUM), losses[1], 1e-3);
        HeadContract.topKMatchesSort(h, n, 4, 2);
      }
    }
    assertEquals(losses[0], losses[1], 1e-4);
    assertArrayEquals(grads[0], grads[1], 1e-5f);
    assertArrayEquals(lps[0], lps[1], 1e-5f);
  }

  static float[] concat(float[]... parts) {
    int len = 0;
    for (float[] p : parts) len += p.length;
    float[] out = new float[len];
    int o = 0;
    for (float[] p : parts) { System.arraycopy(p, 0, out, o, p.length); o += p.length; }
    return out;
  }

  @Test
  void tiedWordWeight() {
    Parameter emb = new Parameter("embedding.weight", 20, 4);
    new Rng(1).fillUniform(emb.data, -1, 1);
    OutputLayer h = Heads.create(spec(0, "freq", true), 20, 4, BinaryTreeTest.zipfCounts(20), emb, new Rng(2));
    assertTrue(h.parameters().contains(emb));
    HeadContract.gradients(h, 6, Loss.MEAN, 3);
  }

  @Test
  void errors() {
    assertThrows(IllegalArgumentException.class, () -> Heads.create(spec(0, "freq", true), 10, 3, null, null, new Rng(1)));
    assertEquals("unknown --class-mode 'zipf' (expected freq or equal)", assertThrows(IllegalArgumentException.class,
        () -> Heads.create(spec(0, "zipf", true), 10, 3, null, null, new Rng(1))).getMessage());
    assertThrows(IllegalArgumentException.class, () -> Heads.create(spec(-1, "equal", true), 10, 3, null, null, new Rng(1)));
    ClassSoftmax h = head(10, 3, 0, "freq", true, 1);
    assertEquals("target 10 at row 1 is outside [0, 10)", assertThrows(IllegalArgumentException.class,
        () -> h.forwardBackward(new float[6], 2, new int[] {1, 10}, new float[6])).getMessage());
    assertThrows(IllegalArgumentException.class, () -> h.targetLogProb(new float[3], 1, new int[] {-100}, new float[1]));
    assertThrows(IllegalArgumentException.class, () -> h.topK(new float[3], 1, 11));
  }
}
