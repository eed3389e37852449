package dev.lmhead.bench;

import dev.lmhead.nn.Lstm;
import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Blas;
import dev.lmhead.tensor.Parallel;
import dev.lmhead.tensor.Rng;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The LSTM part of one training step on the WikiText-2 "2x200" config: input 200, hidden 200, 2 layers,
 * batch 20, bptt 35, inter-layer dropout 0.2; forward (training) + backward with input gradient.
 * Tokens/s = T*B / (time per op) = 700 / (ms/op) * 1000. Compare with bench/lstm_torch_bench.py.
 *
 * <pre>./lmhead jmh LstmBench -f 1 -wi 3 -i 5 [-p threads=1] [-p blas=java]</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class LstmBench {
  @Param({"2"}) public int threads;
  @Param({"auto"}) public String blas;
  @Param({"200"}) public int hidden;
  @Param({"2"}) public int layers;
  @Param({"20"}) public int batch;
  @Param({"35"}) public int bptt;

  private Lstm lstm;
  private float[] x, h, c, out, gradOut, gradX;
  private Rng rng;

  @Setup
  public void setup() {
    Blas.use(blas);
    Parallel.setThreads(threads);
    Rng init = new Rng(1);
    lstm = new Lstm(hidden, hidden, layers, 0.2f, 0.1f, init);
    int rows = bptt * batch;
    x = new float[rows * hidden];
    gradOut = new float[rows * hidden];
    init.fillUniform(x, -1, 1);
    init.fillUniform(gradOut, -1e-3f, 1e-3f);
    h = new float[layers * batch * hidden];
    c = new float[layers * batch * hidden];
    out = new float[rows * hidden];
    gradX = new float[rows * hidden];
    rng = new Rng(2);
  }

  @Benchmark
  public float forwardBackward() {
    lstm.forward(x, bptt, batch, h, c, out, true, rng);
    lstm.backward(gradOut, gradX);
    for (Parameter p : lstm.parameters()) p.zeroGrad();
    return out[0] + gradX[0];
  }

  @Benchmark
  public float forwardEval() {
    lstm.forward(x, bptt, batch, h, c, out, false, null);
    return out[0];
  }
}
