package dev.lmhead.head;

import dev.lmhead.TestData;
import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Blas;
import dev.lmhead.tensor.Parallel;
import dev.lmhead.tensor.Rng;
import java.util.Arrays;

/**
 * Manual speed sanity check (not a unit test): the training step (zero the gradients +
 * forwardBackward, mean loss, dHidden written) of the issue-17 heads against the full softmax at
 * V = 33,278 (WikiText-2), d = 256, N = 2,048 Zipf targets. Run after {@code mvn test-compile}:
 * <pre>
 *   java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *     -cp target/classes:target/test-classes:$(cat target/cp.txt) dev.lmhead.head.SamplingHeadsSpeed [repeats [threads]]
 * </pre>
 * ({@code mvn dependency:build-classpath -Dmdep.outputFile=target/cp.txt} writes the classpath). Prints
 * the median, min and max milliseconds per call; the machine may be shared, so compare medians.
 */
public final class SamplingHeadsSpeed {
  public static void main(String[] args) {
    int repeats = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    if (args.length > 1) Parallel.setThreads(Integer.parseInt(args[1]));
    int v = 33_278, d = 256, n = 2048;
    Rng rng = new Rng(1);
    float[] h = TestData.gaussian(rng, n * d, 1);
    int[] t = TestData.zipfTargets(rng, n, v);
    long[] counts = new long[v];
    for (int i = 0; i < v; i++) counts[i] = Math.max(1, 2_000_000L / (i + 1));
    System.out.printf("blas %s, threads %d, V %d, d %d, N %d, %d timed calls after 3 warm-up%n",
        Blas.get().name(), Parallel.threads(), v, d, n, repeats);
    OutputLayer[] heads = {
        new FullSoftmax(v, d, true, null, new Rng(2)),
        new SampledSoftmax(v, d, true, null, new Rng(2), CandidateSampler.logUniform(v), 1024, true, true, 3),
        new NceSoftmax(v, d, true, null, new Rng(2), counts, 0.75, 1024, 3),
        new SampledSoftmax(v, d, true, null, new Rng(2), CandidateSampler.logUniform(v), 256, true, true, 3),
        new NceSoftmax(v, d, true, null, new Rng(2), counts, 0.75, 256, 3),
        new DifferentiatedSoftmax(v, d, null, null, true, new Rng(2)),
    };
    String[] names = {"full", "sampled S=1024", "nce k=1024", "sampled S=256", "nce k=256", "dsoftmax (default bands)"};
    float[] g = new float[n * d];
    for (int i = 0; i < heads.length; i++) {
      OutputLayer head = heads[i];
      double[] all = new double[repeats], fb = new double[repeats];
      for (int r = -3; r < repeats; r++) {
        long t0 = System.nanoTime();
        for (Parameter p : head.parameters()) p.zeroGrad();
        long t1 = System.nanoTime();
        head.forwardBackward(h, n, t, g);
        long t2 = System.nanoTime();
        if (r >= 0) { all[r] = (t2 - t0) / 1e6; fb[r] = (t2 - t1) / 1e6; }
      }
      Arrays.sort(all);
      Arrays.sort(fb);
      System.out.printf("%-26s zeroGrad+forwardBackward median %8.1f ms (min %8.1f, max %8.1f); forwardBackward alone median %8.1f ms%n",
          names[i], all[repeats / 2], all[0], all[repeats - 1], fb[repeats / 2]);
    }
  }
}
