package dev.lmhead.head;

import dev.lmhead.tensor.Rng;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Contract checks that every head must pass the same way, run over every head built by {@link Heads#create}. */
class AllHeadsContractTest {
  static final int V = 40, D = 6;

  /** Every head type (and both MoS bases), built through the factory the CLI uses. */
  static Stream<Arguments> heads() {
    long[] counts = new long[V];
    for (int i = 0; i < V; i++) counts[i] = 1000 / (i + 1) + 1;
    String[] names = {"full", "full-nobias", "class", "hsm", "adaptive", "mos", "mos-adaptive"};
    return Stream.of(names).map(name -> {
      HeadSpec s = switch (name) {
        case "full" -> HeadSpec.full();
        case "full-nobias" -> new HeadSpec("full", false, 0, "freq", "huffman", new int[0], 4.0, false, 1, 0, "full");
        case "class" -> new HeadSpec("class", true, 6, "freq", "huffman", new int[0], 4.0, false, 1, 0, "full");
        case "hsm" -> new HeadSpec("hsm", true, 0, "freq", "huffman", new int[0], 4.0, false, 1, 0, "full");
        case "adaptive" -> new HeadSpec("adaptive", false, 0, "freq", "huffman", new int[] {5, 20}, 2.0, true, 1, 0, "full");
        case "mos" -> new HeadSpec("mos", true, 0, "freq", "huffman", new int[0], 4.0, false, 3, 5, "full");
        case "mos-adaptive" -> new HeadSpec("mos", false, 0, "freq", "huffman", new int[] {5, 20}, 2.0, true, 2, 5, "adaptive");
        default -> throw new IllegalStateException(name);
      };
      return Arguments.of(name, Heads.create(s, V, D, counts, null, new Rng(name.hashCode())));
    });
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("heads")
  void ignoredAndOutOfRangeTargetsAreTreatedAlike(String name, OutputLayer head) {
    HeadContract.ignoredAndOutOfRangeTargets(head, 11);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("heads")
  void gradientsWithIgnoreIndexMinus100(String name, OutputLayer head) {
    // Loss.MEAN ignores -100 (PyTorch's default); the per-head tests use other ignore indices
    for (Loss.Reduction red : Loss.Reduction.values()) {
      HeadContract.gradients(head, 10, new Loss(red, -100), 12);
    }
  }
}
