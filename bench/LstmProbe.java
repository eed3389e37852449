// A 2xH LSTM forward (H = 200 unless given) of 13 tokens at B rows, one thread (issue 18: the LSTM at one row, what a request served alone costs),
// then the ceiling: OpenBLAS sgemm on one thread, 1024^3.
//   java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Dlmhead.lstm.fewRows=0|1 -cp "target/lmhead.jar:target/lib/*" bench/LstmProbe.java B [H]
import dev.lmhead.nn.Lstm;
import dev.lmhead.tensor.*;
public class LstmProbe {
  public static void main(String[] a) {
    int T = 13, B = Integer.parseInt(a[0]), H = a.length > 1 ? Integer.parseInt(a[1]) : 200, L = 2;
    Parallel.setThreads(1);
    Lstm lstm = new Lstm(H, H, L, 0f, 0.1f, new Rng(1));
    float[] x = new float[T * B * H], h = new float[L * B * H], c = new float[L * B * H], out = new float[T * B * H];
    new Rng(2).fillUniform(x, -1, 1);
    for (int rep = 0; rep < 5; rep++) {
      long t0 = System.nanoTime(); int it = 0;
      while (System.nanoTime() - t0 < 1_000_000_000L) { java.util.Arrays.fill(h, 0); java.util.Arrays.fill(c, 0); lstm.forward(x, T, B, h, c, out, false, null); it++; }
      double s = (System.nanoTime() - t0) / 1e9 / it;
      if (rep >= 2) System.out.printf("H=%d fewRows=%s B=%d: %.3f ms per call, %.3f ms per context of %d tokens, %.1f GFLOP/s%n", H, System.getProperty("lmhead.lstm.fewRows"), B, s * 1e3, s * 1e3 / B, T, 2.0 * T * B * L * 4 * H * (2 * H) / s / 1e9);
    }
    int n = 1024;
    float[] ga = new float[n * n], gb = new float[n * n], gc = new float[n * n];
    new Rng(3).fillUniform(ga, -1, 1);
    new Rng(4).fillUniform(gb, -1, 1);
    for (int rep = 0; rep < 5; rep++) {
      long t0 = System.nanoTime(); int it = 0;
      while (System.nanoTime() - t0 < 1_000_000_000L) { Blas.get().sgemm(false, false, n, n, n, 1f, ga, 0, n, gb, 0, n, 0f, gc, 0, n); it++; }
      double s = (System.nanoTime() - t0) / 1e9 / it;
      if (rep >= 2) System.out.printf("sgemm %d^3, one thread: %.1f GFLOP/s%n", n, 2.0 * n * n * n / s / 1e9);
    }
  }
}
