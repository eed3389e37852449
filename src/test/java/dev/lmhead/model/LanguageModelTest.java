package dev.lmhead.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.head.BinaryTree;
import dev.lmhead.head.HeadSpec;
import dev.lmhead.head.Heads;
import dev.lmhead.head.HierarchicalSoftmax;
import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Rng;
import org.junit.jupiter.api.Test;

/** Models whose output layer is given by a {@link LanguageModel.HeadBuilder} instead of the registry. */
class LanguageModelTest {
  static final int V = 40;

  static long[] counts() {
    long[] c = new long[V];
    for (int i = 0; i < V; i++) c[i] = 100 / (i + 1) + 1;
    return c;
  }

  @Test
  void aBuilderThatCallsTheRegistryGivesTheSameModel() {
    ModelConfig cfg = new ModelConfig(V, 8, 8, 1, 0f, true, "embedding", 0.1f, HeadSpec.full(), 0f);
    LanguageModel a = new LanguageModel(cfg, counts(), new Rng(4));
    LanguageModel b = new LanguageModel(cfg, new Rng(4), (v, d, tied, rng) -> Heads.create(cfg.head(), v, d, counts(), tied, rng));
    assertEquals(a.namedParameters().keySet(), b.namedParameters().keySet());
    for (String name : a.namedParameters().keySet()) {
      assertArrayEquals(a.namedParameters().get(name).data, b.namedParameters().get(name).data, name);
    }
    assertSame(b.encoder.parameters().get(0), b.decoder.parameters().get(0), "tying still applies");
  }

  /** A hierarchical softmax over a tree of one's own trains in the LSTM; its paths are the given tree's. */
  @Test
  void aHeadWithItsOwnTreeTrains() {
    HierarchicalSoftmax.Spec spec = new HierarchicalSoftmax.Spec(true, HierarchicalSoftmax.Tree.HUFFMAN);
    ModelConfig cfg = new ModelConfig(V, 8, 8, 1, 0f, false, "embedding", 0.1f, spec, 0f);
    BinaryTree tree = BinaryTree.balanced(V);
    LanguageModel m = new LanguageModel(cfg, new Rng(5), (v, d, tied, rng) -> new HierarchicalSoftmax(d, tree, spec, rng));
    assertSame(tree, ((HierarchicalSoftmax) m.decoder).tree());
    int T = 6, B = 2;
    int[] in = new int[T * B], tg = new int[T * B];
    for (int i = 0; i < in.length; i++) { in[i] = i % V; tg[i] = (i + 1) % V; }
    m.resetState(B);
    for (Parameter p : m.parameters()) java.util.Arrays.fill(p.grad, 0f);
    double loss = m.trainStep(in, tg, T, B, new Rng(6));
    assertTrue(Double.isFinite(loss) && loss > 0, "loss " + loss);
    double g = 0;
    for (Parameter p : m.decoder.parameters()) for (float x : p.grad) g += Math.abs(x);
    assertTrue(g > 0, "the head's nodes get gradients");
  }

  /**
   * With layer 0's input gates cached per word (serving), packed head inputs equal the uncached ones up to float
   * rounding, each new word is computed once, and a batch whose new words do not fit the table runs uncached and
   * leaves the table as it was. Both encoders (an embedding and the adaptive input) and a dropout model (in
   * evaluation mode, dropout is the identity the cached path skips).
   */
  @Test
  void cachedInputGatesGiveThePackedHeadInputs() {
    for (String input : new String[] {"embedding", "adaptive"}) {
      boolean adaptive = input.equals("adaptive");
      HeadSpec head = adaptive ? Heads.parse("adaptive", dev.lmhead.head.HeadOptions.of("cutoffs", "10,20")) : HeadSpec.full();
      int H = adaptive ? 16 : 6;
      ModelConfig cfg = new ModelConfig(V, adaptive ? H : 8, H, 2, 0.3f, adaptive, input, 0.1f, head, 0f);
      LanguageModel plain = new LanguageModel(cfg, counts(), new Rng(7)), cached = new LanguageModel(cfg, counts(), new Rng(7));
      int[][] seqs = {{3, 1, 4, 1, 5, 9}, {2, 6, 5, 3}, {5, 8, 9}, {39}};
      int[] bs = dev.lmhead.nn.Lstm.batchSizes(new int[] {6, 4, 3, 1});
      int rows = 14;
      float[] want = java.util.Arrays.copyOf(plain.packedHeadInputs(seqs, bs), rows * H);

      cached.cacheInputGates(1L << 20);
      float[] got = java.util.Arrays.copyOf(cached.packedHeadInputs(seqs, bs), rows * H);
      assertEquals(9, cached.cachedInputGateWords(), input + ": distinct words of the batch, each once");
      for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-6f * (1 + Math.abs(want[i])), input + " [" + i + "]");
      got = java.util.Arrays.copyOf(cached.packedHeadInputs(seqs, bs), rows * H); // from the table alone
      for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-6f * (1 + Math.abs(want[i])), input + " again [" + i + "]");

      cached.cacheInputGates(16L * H * 3); // room for 3 words: the batch's 9 do not fit
      got = java.util.Arrays.copyOf(cached.packedHeadInputs(seqs, bs), rows * H);
      assertEquals(0, cached.cachedInputGateWords(), input + ": a batch that does not fit leaves the table empty");
      assertArrayEquals(want, got, input + ": uncached path");
      int[][] small = {{7, 3, 8}, {8}}; // 3 was in the batch that did not fit
      float[] smallWant = java.util.Arrays.copyOf(plain.packedHeadInputs(small, dev.lmhead.nn.Lstm.batchSizes(new int[] {3, 1})), 4 * H);
      float[] smallGot = java.util.Arrays.copyOf(cached.packedHeadInputs(small, dev.lmhead.nn.Lstm.batchSizes(new int[] {3, 1})), 4 * H);
      assertEquals(3, cached.cachedInputGateWords(), input + ": three words fit");
      for (int i = 0; i < smallWant.length; i++) assertEquals(smallWant[i], smallGot[i], 1e-6f * (1 + Math.abs(smallWant[i])), input + " small [" + i + "]");
    }
  }
}
