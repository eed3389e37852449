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
    String[] names = {"full", "full-nobias", "class", "hsm", "adaptive", "mos", "mos-adaptive", "dsoftmax", "dsoftmax-default"};
    return Stream.of(names).map(name -> {
      HeadSpec s = switch (name) {
        case "full" -> HeadSpec.full();
        case "full-nobias" -> new FullSoftmax.Spec(false);
        case "class" -> new ClassSoftmax.Spec(true, 6, ClassSoftmax.ClassMode.FREQ);
        case "hsm" -> new HierarchicalSoftmax.Spec(true, HierarchicalSoftmax.Tree.HUFFMAN);
        case "adaptive" -> new AdaptiveSoftmax.Spec(new int[] {5, 20}, 2.0, true);
        case "mos" -> new MixtureOfSoftmaxes.Spec(true, 3, 5, MixtureOfSoftmaxes.MosBase.FULL, new int[0], 4.0, false);
        case "mos-adaptive" -> new MixtureOfSoftmaxes.Spec(false, 2, 5, MixtureOfSoftmaxes.MosBase.ADAPTIVE, new int[] {5, 20}, 2.0, true);
        case "dsoftmax" -> new DifferentiatedSoftmax.Spec(true, new int[] {5, 20}, new int[] {3, 2, 1});
        case "dsoftmax-default" -> new DifferentiatedSoftmax.Spec(false, new int[0], new int[0]);
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
