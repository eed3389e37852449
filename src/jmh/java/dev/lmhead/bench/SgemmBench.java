package dev.lmhead.bench;

import dev.lmhead.analysis.GemmBench;
import dev.lmhead.tensor.OpenBlas;
import dev.lmhead.tensor.Parallel;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * SGEMM throughput on the LM-head shapes (see {@link GemmBench.Shape}): logits C[2048,33278] = H·Wᵀ,
 * dH = G·W, dW = Gᵀ·H, plus one LSTM-step product, for each backend:
 * {@code openblas} (default, FFM on heap arrays), {@code java} (Vector API fallback) and
 * {@code openblas-javacpp} (the same libopenblas through JavaCPP's {@code cblas_sgemm} on off-heap
 * FloatPointers: "OpenBLAS standalone", the reference).
 *
 * <p>The score is calls/s; the {@code gflops} secondary result is GFLOP/s (2·m·n·k per call).
 * Run: {@code ./lmhead jmh SgemmBench} (all 24 combinations, ~6 min), or a subset, e.g.
 * {@code ./lmhead jmh SgemmBench -p shape=logits -p threads=2}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx5g", "--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class SgemmBench {
  @Param({"openblas", "java", "openblas-javacpp"})
  public String backend;

  @Param({"logits", "dh", "dw", "lstm"})
  public String shape;

  @Param({"2", "1"})
  public int threads;

  private GemmBench.Shape s;
  private GemmBench.Call call;

  /** Secondary result: GFLOP performed, reported per second (= GFLOP/s). */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.OPERATIONS)
  public static class Flops {
    public double gflops;
  }

  @Setup(Level.Trial)
  public void setUp() {
    s = GemmBench.Shape.valueOf(shape.toUpperCase(Locale.ROOT));
    Parallel.setThreads(threads);
    OpenBlas.load().setThreads(threads);
    call = GemmBench.prepare(backend, s, threads);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    call.close();
  }

  @Benchmark
  public void sgemm(Flops f) {
    call.run();
    f.gflops += s.flops() * 1e-9;
  }
}
