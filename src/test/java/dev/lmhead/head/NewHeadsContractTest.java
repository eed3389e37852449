package dev.lmhead.head;

import dev.lmhead.tensor.Rng;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The contract checks of {@link AllHeadsContractTest} for the issue-17 heads, built directly by their
 * constructors (they are not in {@link Heads} yet; once registered they belong in AllHeadsContractTest's
 * list, except that the sampling heads cannot take its {@code gradients} check: their training loss is
 * the sampled objective, not the exact NLL that check compares with).
 *
 * <p>The sampling heads run with a fixed sample so that forwardBackward on a subset of the rows uses the
 * same sample as on all of them (what {@code ignoredAndOutOfRangeTargets} compares).
 */
class NewHeadsContractTest {
  static final int V = 40, D = 6;

  static Stream<Arguments> heads() {
    long[] counts = new long[V];
    for (int i = 0; i < V; i++) counts[i] = 1000 / (i + 1) + 1;
    int[] sample = {0, 1, 1, 5, 12, 39, 20, 3};
    SampledSoftmax sampled = new SampledSoftmax(V, D, true, null, new Rng(1), CandidateSampler.logUniform(V), sample.length, true, true, 2);
    sampled.fixSample(sample);
    SampledSoftmax unigram = new SampledSoftmax(V, D, false, null, new Rng(3), CandidateSampler.unigram(counts, 0.75), sample.length, true, false, 4);
    unigram.fixSample(sample);
    NceSoftmax nce = new NceSoftmax(V, D, true, null, new Rng(5), counts, 0.75, sample.length, 6);
    nce.fixSample(sample);
    return Stream.of(
        Arguments.of("sampled", sampled),
        Arguments.of("sampled-unigram-nobias-hits", unigram),
        Arguments.of("nce", nce),
        Arguments.of("dsoftmax", new DifferentiatedSoftmax(V, D, null, null, true, new Rng(7))),
        Arguments.of("dsoftmax-nobias", new DifferentiatedSoftmax(V, D, new int[] {5, 20}, new int[] {3, 2, 1}, false, new Rng(8))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("heads")
  void evaluationIsExact(String name, OutputLayer head) {
    HeadContract.normalisedAndConsistent(head, 9, 12);
    HeadContract.topKMatchesSort(head, 7, 5, 13);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("heads")
  void ignoredAndOutOfRangeTargetsAreTreatedAlike(String name, OutputLayer head) {
    HeadContract.ignoredAndOutOfRangeTargets(head, 11);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("heads")
  void exactHeadGradientsWithIgnoreIndexMinus100(String name, OutputLayer head) {
    if (!(head instanceof DifferentiatedSoftmax)) return; // sampled objectives: see their own tests
    for (Loss.Reduction red : Loss.Reduction.values()) HeadContract.gradients(head, 10, new Loss(red, -100), 12);
  }
}
