package dev.lmhead.tensor;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;

/** Data-parallel loops over index ranges on a fixed pool of {@code --threads} workers. */
public final class Parallel {
  /** Body of a parallel loop over the half-open range [from, to). */
  @FunctionalInterface
  public interface RangeBody { void run(int from, int to); }

  private static volatile int threads = Runtime.getRuntime().availableProcessors();
  private static volatile ForkJoinPool pool;

  private Parallel() {}

  public static int threads() { return threads; }

  /** Sets the worker count used by Java loops and by the BLAS backend. */
  public static synchronized void setThreads(int n) {
    if (n < 1) throw new IllegalArgumentException("threads must be >= 1, got " + n);
    threads = n;
    if (pool != null) { pool.shutdown(); pool = null; }
    Blas.get().setThreads(n);
  }

  private static ForkJoinPool pool() {
    ForkJoinPool p = pool;
    if (p == null) {
      synchronized (Parallel.class) {
        if (pool == null) pool = new ForkJoinPool(threads);
        p = pool;
      }
    }
    return p;
  }

  /**
   * Runs {@code body} over [0, n) split into at most {@code threads()} contiguous chunks of at least
   * {@code minChunk} elements. Runs inline when one chunk suffices. Chunk boundaries depend only on n,
   * minChunk and the thread count, so results are deterministic for a fixed thread count.
   */
  public static void forRange(int n, int minChunk, RangeBody body) {
    int t = threads;
    int chunks = Math.min(t, Math.max(1, n / Math.max(1, minChunk)));
    if (chunks <= 1) {
      if (n > 0) body.run(0, n);
      return;
    }
    if (Thread.currentThread() instanceof java.util.concurrent.ForkJoinWorkerThread) {
      body.run(0, n); // already inside a parallel region: no nesting
      return;
    }
    final int c = chunks;
    pool().invoke(new RecursiveAction() {
      @Override protected void compute() {
        RecursiveAction[] tasks = new RecursiveAction[c - 1];
        for (int i = 1; i < c; i++) {
          final int from = (int) ((long) n * i / c), to = (int) ((long) n * (i + 1) / c);
          tasks[i - 1] = new RecursiveAction() { @Override protected void compute() { body.run(from, to); } };
          tasks[i - 1].fork();
        }
        body.run(0, (int) ((long) n / c));
        for (int i = c - 2; i >= 0; i--) tasks[i].join();
      }
    });
  }
}
