package dev.lmhead.bench;

import dev.lmhead.analysis.LogProbRank;
import dev.lmhead.head.FullSoftmax;
import dev.lmhead.head.Loss;
import dev.lmhead.head.MixtureOfSoftmaxes;
import dev.lmhead.head.OutputLayer;
import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Blas;
import dev.lmhead.tensor.Rng;
import java.lang.management.ManagementFactory;

/**
 * The measurements behind docs/mos.md (not a JMH benchmark: one-off numbers, printed).
 * <pre>
 *   java ... dev.lmhead.bench.MosMeasure memory [N V d K...]   peak workspace and allocation of MoS forwardBackward
 *   java ... dev.lmhead.bench.MosMeasure rank   [N V d]        time of LogProbRank, Gram vs SVD
 * </pre>
 * Allocation is counted with com.sun.management.ThreadMXBean#getThreadAllocatedBytes summed over
 * every live thread (the caller and the ForkJoin workers), around the first call (which grows the
 * lazily allocated buffers) and a second call (steady state).
 */
public final class MosMeasure {
  private MosMeasure() {}

  public static void main(String[] args) throws Exception {
    String mode = args.length > 0 ? args[0] : "memory";
    if (mode.equals("memory")) memory(args);
    else if (mode.equals("rank")) rank(args);
    else throw new IllegalArgumentException("mode must be memory or rank, got " + mode);
  }

  static long allocatedAllThreads() {
    var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long[] ids = mx.getAllThreadIds();
    long s = 0;
    for (long b : mx.getThreadAllocatedBytes(ids)) if (b > 0) s += b;
    return s;
  }

  static void memory(String[] args) {
    int n = arg(args, 1, 700), v = arg(args, 2, 33278), d = arg(args, 3, 200);
    int[] ks = args.length > 4 ? java.util.Arrays.stream(args, 4, args.length).mapToInt(Integer::parseInt).toArray() : new int[] {1, 5, 15};
    System.out.printf("blas=%s threads=%d  N=%d V=%d d=%d D=d%n", Blas.get().name(), Blas.get().threads(), n, v, d);
    Rng rng = new Rng(1);
    float[] h = new float[n * d];
    for (int i = 0; i < h.length; i++) h[i] = (float) rng.gaussian();
    int[] t = new int[n];
    for (int i = 0; i < n; i++) t[i] = rng.nextInt(v);
    float[] gh = new float[n * d];
    { // warm-up: library loading, JIT and lambda classes allocate too; keep them out of the counts
      MixtureOfSoftmaxes w = new MixtureOfSoftmaxes(1000, d, 2, 0, true, null, new Rng(9));
      for (int r = 0; r < 3; r++) w.forwardBackward(h, 50, new int[50], gh, Loss.MEAN, null);
      new FullSoftmax(1000, d, true, null, new Rng(9)).forwardBackward(h, 50, new int[50], gh, Loss.MEAN, null);
    }
    {
      FullSoftmax full = new FullSoftmax(v, d, true, null, new Rng(2));
      long a0 = allocatedAllThreads();
      long t0 = System.nanoTime();
      full.forwardBackward(h, n, t, gh, Loss.MEAN, null);
      long t1 = System.nanoTime();
      long a1 = allocatedAllThreads();
      full.forwardBackward(h, n, t, gh, Loss.MEAN, null);
      long t2 = System.nanoTime();
      long a2 = allocatedAllThreads();
      System.out.printf("full softmax      : params+grads %6.1f MB | alloc 1st call %6.1f MB, 2nd call %6.3f MB | %.0f / %.0f ms%n",
          paramBytes(full) / 1e6, (a1 - a0) / 1e6, (a2 - a1) / 1e6, (t1 - t0) / 1e6, (t2 - t1) / 1e6);
    }
    for (int k : ks) {
      MixtureOfSoftmaxes mos = new MixtureOfSoftmaxes(v, d, k, 0, true, null, new Rng(3));
      long a0 = allocatedAllThreads();
      long t0 = System.nanoTime();
      mos.forwardBackward(h, n, t, gh, Loss.MEAN, null);
      long t1 = System.nanoTime();
      long a1 = allocatedAllThreads();
      mos.forwardBackward(h, n, t, gh, Loss.MEAN, null);
      long t2 = System.nanoTime();
      long a2 = allocatedAllThreads();
      double best = Double.MAX_VALUE;
      for (int r = 0; r < 2; r++) {
        long s = System.nanoTime();
        mos.forwardBackward(h, n, t, gh, Loss.MEAN, null);
        best = Math.min(best, (System.nanoTime() - s) / 1e6);
      }
      System.out.printf("mos K=%-2d         : params+grads %6.1f MB | workspace %6.1f MB | alloc 1st call %6.1f MB, 2nd call %6.3f MB | %.0f / %.0f / best %.0f ms%n",
          k, paramBytes(mos) / 1e6, mos.workspaceBytes() / 1e6, (a1 - a0) / 1e6, (a2 - a1) / 1e6,
          (t1 - t0) / 1e6, (t2 - t1) / 1e6, best);
    }
  }

  static long paramBytes(OutputLayer h) {
    long s = 0;
    for (Parameter p : h.parameters()) s += 8L * p.size();
    return s;
  }

  static void rank(String[] args) {
    int n = arg(args, 1, 2000), v = arg(args, 2, 10000), d = arg(args, 3, 32);
    String methods = args.length > 4 ? args[4] : "GRAM";
    Rng rng = new Rng(4);
    float[] ctx = new float[n * d];
    for (int i = 0; i < ctx.length; i++) ctx[i] = (float) rng.gaussian();
    MixtureOfSoftmaxes mos = new MixtureOfSoftmaxes(v, d, 4, 0, true, null, new Rng(5));
    for (Parameter p : mos.parameters()) for (int i = 0; i < p.data.length; i++) p.data[i] *= 3f;
    // warm-up on a small problem
    LogProbRank.compute(mos, ctx, Math.min(n, 100), Double.NaN);
    long t0 = System.nanoTime();
    double[] a = LogProbRank.logProbMatrix(mos, ctx, n);
    long t1 = System.nanoTime();
    System.out.printf("N=%d V=%d d=%d: log-prob matrix %.1f s (MoS K=4)%n", n, v, d, (t1 - t0) / 1e9);
    {
      long s = System.nanoTime();
      double[] g = LogProbRank.gram(a, n, v);
      long s1 = System.nanoTime();
      var eig = org.ejml.dense.row.factory.DecompositionFactory_DDRM.eig(n, false, true);
      eig.decompose(org.ejml.data.DMatrixRMaj.wrap(n, n, g));
      long s2 = System.nanoTime();
      System.out.printf("  breakdown: Gram A·Aᵀ %.1f s (%.1f GFLOP/s), EJML symmetric eig %.1f s%n", (s1 - s) / 1e9,
          (double) n * (n + 1) * v / ((s1 - s) / 1e9) / 1e9, (s2 - s1) / 1e9);
    }
    for (String m : methods.split(",")) {
      long s = System.nanoTime();
      double[] sv = LogProbRank.singularValues(a, n, v, LogProbRank.Method.valueOf(m));
      double secs = (System.nanoTime() - s) / 1e9;
      System.out.printf("  %s: %.1f s, S.max %.6g, rank %d (default tol %.4g)%n", m, secs, sv[0],
          LogProbRank.rank(sv, LogProbRank.defaultTolerance(sv, n, v)), LogProbRank.defaultTolerance(sv, n, v));
    }
  }

  static int arg(String[] a, int i, int def) { return a.length > i ? Integer.parseInt(a[i]) : def; }
}
