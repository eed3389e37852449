package dev.lmhead.head;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.TestData;
import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Parallel;
import dev.lmhead.tensor.Rng;
import java.util.List;
import org.junit.jupiter.api.Test;

class HierarchicalSoftmaxTest {

  static HeadSpec spec(String tree, boolean bias) {
    return Heads.parse("hsm", HeadOptions.of("tree", tree, "bias", "" + bias));
  }

  static HierarchicalSoftmax head(int v, int d, String tree, boolean bias, long seed) {
    return (HierarchicalSoftmax) Heads.create(spec(tree, bias), v, d, BinaryTreeTest.zipfCounts(v), null, new Rng(seed));
  }

  @Test
  void contractBothTreesOddSizes() {
    for (String tree : new String[] {"huffman", "balanced"}) {
      for (int v : new int[] {1, 2, 3, 97, 300}) {
        HierarchicalSoftmax h = head(v, 7, tree, true, v);
        HeadContract.normalisedAndConsistent(h, 9, 2);
        HeadContract.topKMatchesSort(h, 7, Math.min(v, 5), 3);
        HeadContract.topKMatchesSort(h, 3, v, 4); // k = V: nothing may be pruned wrongly
      }
    }
  }

  @Test
  void topKExactOnPeakedDistributions() {
    // scaled-up node vectors make branch probabilities near 0/1, so subtrees really get pruned
    for (String tree : new String[] {"huffman", "balanced"}) {
      for (float sharp : new float[] {3f, 8f}) {
        HierarchicalSoftmax h = head(300, 8, tree, true, 12);
        for (Parameter p : h.parameters()) for (int i = 0; i < p.size(); i++) p.data[i] *= sharp;
        for (int k : new int[] {1, 3, 10, 40}) HeadContract.topKMatchesSort(h, 12, k, 13 + k);
      }
    }
  }

  @Test
  void gradientsEveryReductionAndIgnoreIndex() {
    Loss[] losses = {Loss.MEAN, Loss.SUM, Loss.NONE, new Loss(Loss.Reduction.MEAN, 7), new Loss(Loss.Reduction.SUM, -1),
        new Loss(Loss.Reduction.NONE, 0)};
    for (String tree : new String[] {"huffman", "balanced"}) {
      for (Loss loss : losses) HeadContract.gradients(head(97, 6, tree, true, 4), 10, loss, 5);
    }
    HeadContract.gradients(head(40, 5, "huffman", false, 6), 8, Loss.MEAN, 7);
    HeadContract.gradients(head(3, 4, "balanced", true, 8), 6, Loss.SUM, 9);
    HeadContract.gradients(head(2, 4, "huffman", true, 8), 6, Loss.MEAN, 9);
    HeadContract.gradients(head(1, 4, "huffman", true, 8), 4, Loss.MEAN, 9);
  }

  @Test
  void parameterNamesAndShapes() {
    HierarchicalSoftmax h = head(97, 6, "huffman", true, 1);
    List<Parameter> ps = h.parameters();
    assertEquals(List.of("nodes.weight", "nodes.bias"), ps.stream().map(Parameter::name).toList());
    assertArrayEquals(new int[] {96, 6}, ps.get(0).shape);
    assertArrayEquals(new int[] {96}, ps.get(1).shape);
    assertEquals(1, head(97, 6, "balanced", false, 1).parameters().size());
  }

  @Test
  void pathProbabilityFromScratch() {
    // independent double-precision evaluation of Σ log σ(±(u·h + b)) along the tree's codes
    int v = 50, d = 4;
    HierarchicalSoftmax h = head(v, d, "huffman", true, 2);
    float[] x = TestData.gaussian(new Rng(3), d, 1);
    float[] lp = new float[v];
    h.logProb(x, 1, lp);
    for (int w = 0; w < v; w++) {
      double s = 0;
      int[] path = h.tree().path(w);
      byte[] code = h.tree().code(w);
      for (int j = 0; j < path.length; j++) {
        double z = h.bias.data[path[j]];
        for (int i = 0; i < d; i++) z += (double) h.weight.data[path[j] * d + i] * x[i];
        s += -Math.log1p(Math.exp(code[j] == 1 ? -z : z));
      }
      assertEquals(s, lp[w], 1e-5, "word " + w);
    }
  }

  @Test
  void gradientsTouchOnlyTargetPathsAndAreDeterministic() {
    int v = 300, d = 8, n = 200;
    Rng rng = new Rng(5);
    float[] x = TestData.gaussian(rng, n * d, 1);
    int[] t = TestData.zipfTargets(rng, n, v);
    float[][] results = new float[3][];
    int before = Parallel.threads();
    int[] threadCounts = {1, 3, 1};
    try {
      for (int i = 0; i < 3; i++) {
        Parallel.setThreads(threadCounts[i]);
        HierarchicalSoftmax h = head(v, d, "huffman", true, 6);
        float[] gh = new float[n * d];
        h.forwardBackward(x, n, t, gh);
        float[] all = new float[gh.length + h.weight.grad.length + h.bias.grad.length];
        System.arraycopy(gh, 0, all, 0, gh.length);
        System.arraycopy(h.weight.grad, 0, all, gh.length, h.weight.grad.length);
        System.arraycopy(h.bias.grad, 0, all, gh.length + h.weight.grad.length, h.bias.grad.length);
        results[i] = all;
        if (i == 0) {
          boolean[] onPath = new boolean[v - 1];
          for (int w : t) for (int k : h.tree().path(w)) onPath[k] = true;
          for (int k = 0; k < v - 1; k++) {
            if (!onPath[k]) assertEquals(0f, h.bias.grad[k], "node " + k + " is on no target path");
            else assertTrue(h.bias.grad[k] != 0f, "node " + k + " is on a target path");
          }
        }
      }
    } finally {
      Parallel.setThreads(before);
    }
    assertArrayEquals(results[0], results[1], "gradients differ between 1 and 3 threads");
    assertArrayEquals(results[0], results[2], "gradients differ run to run");
  }

  @Test
  void logProbRowBlockingGivesSameResults() {
    int v = 97, d = 5, n = 13;
    HierarchicalSoftmax h = head(v, d, "huffman", true, 3);
    float[] x = TestData.gaussian(new Rng(4), n * d, 1);
    float[] one = new float[n * v], blocked = new float[n * v];
    h.logProb(x, n, one);
    h.withBlockFloats(3 * (v - 1)).logProb(x, n, blocked); // 3 rows per block, 5 blocks
    // equal up to float rounding: the last block has one row, which BLAS computes as a matrix-vector product
    // (OpenBlas's sgemv) whose rounding differs from sgemm's; a row or node out of place would differ by far more
    for (int i = 0; i < one.length; i++) {
      assertTrue(Float.isFinite(one[i]) && one[i] <= 0f, "entry " + i + " is a log-prob: " + one[i]);
      assertEquals(one[i], blocked[i], 1e-5f * Math.max(1f, Math.abs(one[i])), "entry " + i + " (row " + i / v + ", word " + i % v + ")");
    }
  }

  @Test
  void errors() {
    assertThrows(IllegalArgumentException.class, () -> Heads.create(spec("huffman", true), 10, 3, null, null, new Rng(1)));
    assertEquals("unknown --tree 'foo' (expected huffman or balanced)", assertThrows(IllegalArgumentException.class,
        () -> Heads.create(spec("foo", true), 10, 3, null, null, new Rng(1))).getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> Heads.create(spec("balanced", true), 10, 3, null, new Parameter("w", 10, 3), new Rng(1)));
    HierarchicalSoftmax h = head(10, 3, "balanced", true, 1);
    assertEquals("target 10 at row 1 is outside [0, 10)", assertThrows(IllegalArgumentException.class,
        () -> h.forwardBackward(new float[6], 2, new int[] {1, 10}, new float[6])).getMessage());
    assertThrows(IllegalArgumentException.class, () -> h.topK(new float[3], 1, 0));
  }
}
