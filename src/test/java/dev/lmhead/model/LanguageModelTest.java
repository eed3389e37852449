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
}
