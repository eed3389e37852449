package dev.lmhead.tensor;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The matrix products one operation performs, and what they would cost at the machine's measured GEMM
 * speed: the "limit" that {@code lmhead bench} reports each op against.
 *
 * <p>{@link #record} runs the operation once with a counting decorator in front of the current
 * {@link Blas} (and with the LSTM's small in-Java products, which report themselves through
 * {@link #note}): every product's shape (transA, transB, m, n, k), how often it ran and the time spent
 * in it. The <b>work</b> is Σ 2·m·n·k over the calls. The <b>limit</b> is the time those products take
 * at the GFLOP/s the machine reaches on each shape when run alone, back to back ({@link Rates}, measured
 * in the same process): an operation whose only work is its GEMMs cannot run faster than that, so
 * {@code limit / measured} (the <b>fraction of the limit</b>) is at most about 1, and the rest of the
 * measured time is what the operation does besides its GEMMs (softmax passes, gathers, copies, idle
 * threads). Non-GEMM work is not in the limit: a fraction near 1 means the op is as fast as its GEMMs allow.
 */
public final class GemmProfile {
  /** One GEMM shape as called. */
  public record Shape(boolean transA, boolean transB, int m, int n, int k) {
    public double flops() { return 2.0 * m * n * k; }

    @Override public String toString() {
      return String.format("%s[%d,%d]x%s[%d,%d]", transA ? "t" : "", m, k, transB ? "t" : "", k, n);
    }
  }

  /** Calls of one shape during the recorded operation; nanos summed over calls (threads may overlap). */
  public record Entry(Shape shape, long calls, long nanos) {
    public double flops() { return calls * shape.flops(); }
  }

  private static volatile GemmProfile active;
  private final Map<Shape, long[]> calls = new ConcurrentHashMap<>();
  private double wallSeconds;

  private GemmProfile() {}

  /** Runs {@code op} once and returns the products it performed. Not reentrant; one at a time per process. */
  public static synchronized GemmProfile record(Runnable op) {
    GemmProfile p = new GemmProfile();
    Blas inner = Blas.get();
    Blas counting = new Counting(inner, p);
    BlasRegistry.swap(counting);
    active = p;
    long t0 = System.nanoTime();
    try {
      op.run();
    } finally {
      p.wallSeconds = (System.nanoTime() - t0) / 1e9;
      active = null;
      BlasRegistry.swap(inner);
    }
    return p;
  }

  /** Whether a recording is running (a cheap check for code outside {@link Blas} that reports its products). */
  public static boolean recording() {
    return active != null;
  }

  /** Reports one product computed outside {@link Blas} (the LSTM's small recurrent products) while recording. */
  public static void note(boolean transA, boolean transB, int m, int n, int k, long nanos) {
    GemmProfile p = active;
    if (p != null) p.add(new Shape(transA, transB, m, n, k), nanos);
  }

  private void add(Shape s, long nanos) {
    long[] c = calls.computeIfAbsent(s, x -> new long[2]);
    synchronized (c) {
      c[0]++;
      c[1] += nanos;
    }
  }

  /** The shapes, most work first. */
  public List<Entry> entries() {
    List<Entry> out = new ArrayList<>();
    for (var e : calls.entrySet()) out.add(new Entry(e.getKey(), e.getValue()[0], e.getValue()[1]));
    out.sort(Comparator.comparingDouble(Entry::flops).reversed());
    return out;
  }

  /** Σ 2·m·n·k over every call. */
  public double flops() {
    double f = 0;
    for (Entry e : entries()) f += e.flops();
    return f;
  }

  /** Seconds spent inside the products, summed over calls. */
  public double gemmSeconds() {
    double s = 0;
    for (Entry e : entries()) s += e.nanos() / 1e9;
    return s;
  }

  /** Wall time of the recorded call (with the counting overhead, which is a few ns per product). */
  public double wallSeconds() { return wallSeconds; }

  /** Seconds the products would take at the measured rates: Σ calls·flops / rate(shape). */
  public double limitSeconds(Rates rates) {
    double s = 0;
    for (Entry e : entries()) s += e.flops() / (rates.gflops(e.shape()) * 1e9);
    return s;
  }

  /**
   * GFLOP/s of the current {@link Blas} per shape, measured once per shape and kept: one untimed call,
   * then timed calls for at least {@link #minSeconds} (at least 3); the best call counts (the limit is
   * what the machine can do). Operands are random, allocated per measurement.
   */
  public static final class Rates {
    private final Map<Shape, Double> gflops = new ConcurrentHashMap<>();
    private final double minSeconds;

    public Rates(double minSeconds) { this.minSeconds = minSeconds; }

    public double gflops(Shape s) {
      return gflops.computeIfAbsent(s, this::measure);
    }

    /** Every shape measured so far, with its GFLOP/s. */
    public Map<Shape, Double> measured() { return Map.copyOf(gflops); }

    private double measure(Shape s) {
      float[] a = new float[Math.max(1, s.m() * s.k())], b = new float[Math.max(1, s.k() * s.n())], c = new float[Math.max(1, s.m() * s.n())];
      Rng rng = new Rng(s.hashCode());
      rng.fillUniform(a, -1, 1);
      rng.fillUniform(b, -1, 1);
      Blas blas = Blas.get();
      int lda = s.transA() ? s.m() : s.k(), ldb = s.transB() ? s.k() : s.n();
      Runnable call = () -> blas.sgemm(s.transA(), s.transB(), s.m(), s.n(), s.k(), 1f, a, 0, lda, b, 0, ldb, 0f, c, 0, s.n());
      call.run();
      // tiny shapes: time a batch of calls so the clock's resolution does not matter
      int inner = (int) Math.max(1, Math.min(1 << 16, 2e6 / Math.max(1, s.flops())));
      long best = Long.MAX_VALUE, spent = 0;
      for (int r = 0; r < 3 || spent < minSeconds * 1e9; r++) {
        long t = System.nanoTime();
        for (int i = 0; i < inner; i++) call.run();
        long d = System.nanoTime() - t;
        best = Math.min(best, d);
        spent += d;
        if (r > 1000) break;
      }
      return s.flops() * inner / best; // flops per ns = GFLOP/s
    }

    /** GFLOP/s on a large square product (n = 2048), the figure machines are usually quoted by. */
    public double square() {
      return gflops(new Shape(false, false, 2048, 2048, 2048));
    }
  }

  /** Counts and times every product, then lets the real backend compute it. */
  private record Counting(Blas inner, GemmProfile profile) implements Blas {
    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int aOff, int lda,
                      float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
      long t = System.nanoTime();
      inner.sgemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
      profile.add(new Shape(transA, transB, m, n, k), System.nanoTime() - t);
    }

    @Override public String name() { return inner.name(); }
    @Override public int threads() { return inner.threads(); }
    @Override public void setThreads(int threads) { inner.setThreads(threads); }
  }
}
