package dev.lmhead.tensor;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * How fast this machine reads a working set of a given size: the memory side of an op's limit. An op
 * that must read every weight of a head once per call (evaluation at batch 1: one hidden state against
 * the whole [V, d] matrix) cannot run faster than reading those bytes. The rate depends on where a
 * working set of that size lives (a 34 MB matrix may sit in a large L3, a 550 MB one does not), so it is
 * measured on a buffer of the op's own size: {@link Parallel#threads()} threads each sum a contiguous
 * share with the Vector API, one untimed pass, then timed passes for at least {@code minSeconds} (at
 * least 3); the best pass counts. Rates are kept per size (rounded up to 1 MiB).
 */
public final class Bandwidth {
  private final Map<Long, Double> gbps = new ConcurrentHashMap<>();
  private final double minSeconds;

  public Bandwidth(double minSeconds) { this.minSeconds = minSeconds; }

  /** GB/s (10^9 bytes per second) reading a buffer of {@code bytes}, measured once per MiB-rounded size. */
  public double readGBps(long bytes) {
    long mib = Math.max(1, (bytes + (1 << 20) - 1) >> 20);
    return gbps.computeIfAbsent(mib, this::measure);
  }

  /** Sink for the sums, so the reads cannot be optimised away. */
  private static volatile double sink;

  private double measure(long mib) {
    long floats = mib << 18; // 2^20 bytes / 4
    if (floats > Integer.MAX_VALUE - 64) throw new IllegalArgumentException("buffer of " + mib + " MiB is too large to measure");
    float[] buf = new float[(int) floats];
    for (int i = 0; i < buf.length; i += 1024) buf[i] = i;
    int threads = Math.max(1, Parallel.threads());
    double[] partial = new double[threads];
    Runnable pass = () -> Parallel.forRange(threads, 1, (a, b) -> {
      for (int t = a; t < b; t++) {
        int from = (int) ((long) buf.length * t / threads), to = (int) ((long) buf.length * (t + 1) / threads);
        partial[t] = sum(buf, from, to);
      }
    });
    pass.run();
    long best = Long.MAX_VALUE, spent = 0;
    for (int r = 0; r < 3 || spent < minSeconds * 1e9; r++) {
      long t0 = System.nanoTime();
      pass.run();
      long d = System.nanoTime() - t0;
      best = Math.min(best, d);
      spent += d;
      if (r > 10_000) break;
    }
    double s = 0;
    for (double p : partial) s += p;
    sink = s;
    return 4.0 * buf.length / best; // bytes per ns = GB/s
  }

  private static double sum(float[] x, int from, int to) {
    var sp = Vec.S;
    FloatVector a0 = FloatVector.zero(sp), a1 = FloatVector.zero(sp), a2 = FloatVector.zero(sp), a3 = FloatVector.zero(sp);
    int i = from, step = 4 * sp.length();
    for (int ub = from + (to - from) / step * step; i < ub; i += step) {
      a0 = a0.add(FloatVector.fromArray(sp, x, i));
      a1 = a1.add(FloatVector.fromArray(sp, x, i + sp.length()));
      a2 = a2.add(FloatVector.fromArray(sp, x, i + 2 * sp.length()));
      a3 = a3.add(FloatVector.fromArray(sp, x, i + 3 * sp.length()));
    }
    double s = a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
    for (; i < to; i++) s += x[i];
    return s;
  }
}
