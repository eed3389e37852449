package dev.lmhead.analysis;

import dev.lmhead.tensor.Blas;
import dev.lmhead.tensor.JavaBlas;
import dev.lmhead.tensor.OpenBlas;
import dev.lmhead.tensor.Parallel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_nolapack;

/**
 * GFLOP/s of the SGEMM backends on the LM-head shapes (plain Java, no JMH; for {@code lmhead bench
 * gemm} and ad-hoc runs). One measurement = {@code warmup} untimed repetitions, then {@code reps}
 * timed repetitions; each repetition lasts about {@link #MIN_REP_NANOS} or one call, whichever is
 * longer (one call for the big shapes, hundreds for the LSTM one). GFLOP/s = 2·m·n·k·calls / seconds; the median and the min/max over
 * repetitions are reported.
 *
 * <p>Backends: {@code openblas} (the default {@link OpenBlas}, FFM on heap arrays), {@code java}
 * ({@link JavaBlas}, kernel from {@link JavaBlas.Kernel#detect()}), and {@code openblas-javacpp}:
 * the same libopenblas called "standalone" through JavaCPP's own {@code cblas_sgemm} on off-heap
 * {@link FloatPointer}s (data copied there once, outside the timing) — the reference the other two
 * are compared against.
 *
 * <pre>
 *   GemmBench.Result r = GemmBench.measure("java", GemmBench.Shape.LOGITS, 2, 2, 5);
 *   System.out.println(r.medianGflops());
 * </pre>
 */
public final class GemmBench {
  /** Minimum duration of one timed repetition (small shapes repeat the call inside it). */
  public static final long MIN_REP_NANOS = 200_000_000L;
  /** Minimum warm-up time per backend and measurement. */
  public static final long MIN_WARMUP_NANOS = 1_000_000_000L;

  public static final List<String> BACKENDS = List.of("openblas", "java", "openblas-javacpp");

  /**
   * The GEMMs of a full-softmax LM head with batch·bptt = 2048 rows, d = 512, V = 33278
   * (WikiText-2), plus one LSTM-step sized product. All matrices row-major.
   */
  public enum Shape {
    /** logits C[2048,33278] = H[2048,512] · Wᵀ, W stored [33278,512]. */
    LOGITS("logits C=H·Wt", 2048, 33278, 512, false, true),
    /** dH[2048,512] = G[2048,33278] · W[33278,512]. */
    DH("dH=G·W", 2048, 512, 33278, false, false),
    /** dW[33278,512] = Gᵀ · H, G stored [2048,33278]. */
    DW("dW=Gt·H", 33278, 512, 2048, true, false),
    /** LSTM step gates[20,800] = x[20,200] · Wᵀ, W stored [800,200] (a small GEMM). */
    LSTM("lstm [20,200]x[200,800]", 20, 800, 200, false, true);

    public final String label;
    public final int m, n, k;
    public final boolean transA, transB;

    Shape(String label, int m, int n, int k, boolean transA, boolean transB) {
      this.label = label;
      this.m = m;
      this.n = n;
      this.k = k;
      this.transA = transA;
      this.transB = transB;
    }

    public double flops() { return 2.0 * m * n * k; }

    int lda() { return transA ? m : k; }

    int ldb() { return transB ? k : n; }
  }

  /** One measurement: GFLOP/s median, min and max over {@code reps} repetitions. */
  public record Result(String backend, Shape shape, int threads, double medianGflops, double minGflops,
                       double maxGflops, int reps, int callsPerRep) {
    @Override public String toString() {
      return String.format(Locale.ROOT, "%-17s %-24s %dT  median %6.1f GFLOP/s  (min %6.1f, max %6.1f, %d reps x %d calls)",
          backend, shape.label, threads, medianGflops, minGflops, maxGflops, reps, callsPerRep);
    }
  }

  private GemmBench() {}

  /** A GEMM with its operands allocated, ready to run repeatedly on one backend; close frees off-heap data. */
  public interface Call extends Runnable, AutoCloseable {
    @Override default void close() {}
  }

  /**
   * Measures {@code backend} on {@code shape} with {@code threads} threads (set on both
   * {@link Parallel} and OpenBLAS). Allocates the operands (up to ~350 MB for the LM-head shapes).
   */
  public static Result measure(String backend, Shape shape, int threads, int warmup, int reps) {
    return compare(List.of(backend), shape, threads, warmup, reps).get(0);
  }

  /**
   * Measures several backends on one shape with their repetitions interleaved (rep 1 of each
   * backend, then rep 2 of each, ...), so slow drifts of a shared machine's load hit all backends
   * alike and their ratios stay meaningful. Warm-up repetitions last at least
   * {@link #MIN_REP_NANOS} each, take at least {@link #MIN_WARMUP_NANOS} in all, and continue
   * (beyond {@code warmup}, up to 10 more) until the rate has stopped rising for two reps, so the JIT
   * has compiled the Java kernels before timing starts.
   */
  public static List<Result> compare(List<String> backends, Shape shape, int threads, int warmup, int reps) {
    if (reps < 1) throw new IllegalArgumentException("reps must be >= 1, got " + reps);
    Parallel.setThreads(threads);
    OpenBlas.load().setThreads(threads); // also governs openblas-javacpp: same loaded library
    int nb = backends.size();
    Call[] calls = new Call[nb];
    int[] perRep = new int[nb];
    double[][] g = new double[nb][reps];
    try {
      for (int i = 0; i < nb; i++) calls[i] = prepare(backends.get(i), shape, threads);
      for (int i = 0; i < nb; i++) {
        // At least `warmup` reps and MIN_WARMUP_NANOS, then more (up to 10) until the rate has not
        // risen by more than 10% for two reps: Vector API code runs ~100x slower until C2 compiles it.
        double best = 0;
        int stale = 0;
        long warmStart = System.nanoTime();
        for (int w = 0; w < warmup + 10; w++) {
          long t0 = System.nanoTime(), t;
          int done = 0;
          do {
            calls[i].run();
            done++;
          } while ((t = System.nanoTime() - t0) < MIN_REP_NANOS);
          double rate = (double) done / t; // calls per ns
          stale = rate > 1.1 * best ? 0 : stale + 1;
          best = Math.max(best, rate);
          if (w + 1 >= warmup && stale >= 2 && System.nanoTime() - warmStart >= MIN_WARMUP_NANOS) break;
        }
        perRep[i] = (int) Math.max(1, Math.min(1_000_000, MIN_REP_NANOS * best));
      }
      for (int r = 0; r < reps; r++) {
        for (int i = 0; i < nb; i++) {
          long s = System.nanoTime();
          for (int c = 0; c < perRep[i]; c++) calls[i].run();
          g[i][r] = shape.flops() * perRep[i] / (System.nanoTime() - s);
        }
      }
    } finally {
      for (Call c : calls) if (c != null) c.close();
    }
    List<Result> out = new ArrayList<>();
    for (int i = 0; i < nb; i++) {
      double[] x = g[i];
      Arrays.sort(x);
      double median = reps % 2 == 1 ? x[reps / 2] : 0.5 * (x[reps / 2 - 1] + x[reps / 2]);
      out.add(new Result(backends.get(i), shape, threads, median, x[0], x[reps - 1], reps, perRep[i]));
    }
    return out;
  }

  /** Every shape x thread count, comparing the backends interleaved (see {@link #compare}). */
  public static List<Result> run(List<String> backends, List<Shape> shapes, int[] threads, int warmup, int reps,
                                 java.util.function.Consumer<Result> onResult) {
    List<Result> out = new ArrayList<>();
    for (Shape s : shapes) {
      for (int t : threads) {
        for (Result r : compare(backends, s, t, warmup, reps)) {
          out.add(r);
          if (onResult != null) onResult.accept(r);
        }
      }
    }
    return out;
  }

  /**
   * Allocates the operands of {@code s} (deterministic values in [-0.5, 0.5), C written with
   * beta = 0) and returns the call {@code C = op(A)·op(B)} on {@code backend}. The caller sets
   * the OpenBLAS / {@link Parallel} thread counts.
   */
  public static Call prepare(String backend, Shape s, int threads) {
    int aLen = s.m * s.k, bLen = s.k * s.n, cLen = s.m * s.n;
    float[] a = fill(new float[aLen], 1), b = fill(new float[bLen], 2), c = new float[cLen];
    switch (backend) {
      case "openblas", "java" -> {
        Blas blas = backend.equals("java") ? new JavaBlas() : OpenBlas.load();
        blas.setThreads(threads);
        return () -> blas.sgemm(s.transA, s.transB, s.m, s.n, s.k, 1f, a, 0, s.lda(), b, 0, s.ldb(), 0f, c, 0, s.n);
      }
      case "openblas-javacpp" -> {
        FloatPointer pa = new FloatPointer(a), pb = new FloatPointer(b), pc = new FloatPointer(cLen);
        int ta = s.transA ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans;
        int tb = s.transB ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans;
        return new Call() {
          @Override public void run() {
            openblas_nolapack.cblas_sgemm(openblas_nolapack.CblasRowMajor, ta, tb, s.m, s.n, s.k,
                1f, pa, s.lda(), pb, s.ldb(), 0f, pc, s.n);
          }

          @Override public void close() {
            pa.close();
            pb.close();
            pc.close();
          }
        };
      }
      default -> throw new IllegalArgumentException("unknown GEMM backend '" + backend + "' (expected one of " + BACKENDS + ")");
    }
  }

  /** Deterministic values in [-0.5, 0.5) (cheap to generate for 68M elements). */
  static float[] fill(float[] x, int seed) {
    int h = seed * 0x9E3779B9;
    for (int i = 0; i < x.length; i++) {
      h = h * 1664525 + 1013904223;
      x[i] = (h >>> 8) * 0x1.0p-24f - 0.5f;
    }
    return x;
  }

  /**
   * Ad-hoc runs: {@code GemmBench [backends=openblas,java,openblas-javacpp] [shapes=logits,dh,dw,lstm]
   * [threads=2,1] [warmup=2] [reps=5]}.
   */
  public static void main(String[] args) {
    List<String> backends = BACKENDS;
    List<Shape> shapes = List.of(Shape.values());
    int[] threads = {2, 1};
    int warmup = 2, reps = 5;
    for (String arg : args) {
      String[] kv = arg.split("=", 2);
      if (kv.length != 2) throw new IllegalArgumentException("expected key=value, got '" + arg + "'");
      switch (kv[0]) {
        case "backends" -> backends = List.of(kv[1].split(","));
        case "shapes" -> shapes = Arrays.stream(kv[1].split(",")).map(x -> Shape.valueOf(x.toUpperCase(Locale.ROOT))).toList();
        case "threads" -> threads = Arrays.stream(kv[1].split(",")).mapToInt(Integer::parseInt).toArray();
        case "warmup" -> warmup = Integer.parseInt(kv[1]);
        case "reps" -> reps = Integer.parseInt(kv[1]);
        default -> throw new IllegalArgumentException("unknown option '" + kv[0] + "' (backends, shapes, threads, warmup, reps)");
      }
    }
    System.out.println("# java kernel " + JavaBlas.Kernel.detect() + ", OpenBLAS core " + OpenBlas.load().coreName()
        + ", " + Runtime.getRuntime().availableProcessors() + " CPUs");
    run(backends, shapes, threads, warmup, reps, System.out::println);
  }
}
