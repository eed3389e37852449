// The dHidden GEMM of a full-softmax train step (dH[m,n] = G[m,k]·W[k,n], m = the row block 16M/V, k = V)
// at 2 and 1 OpenBLAS threads, and its transposed form. Run after ./lmhead build:
//   java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "target/lmhead.jar:target/lib/*" bench/DhProbe.java
import dev.lmhead.tensor.*;
public class DhProbe {
  public static void main(String[] a) {
    Blas b = Blas.get();
    System.out.println("blas " + b.name());
    int[][] shapes = {{62, 256, 267735}, {62, 512, 267735}, {167, 256, 100000}, {167, 512, 100000}, {500, 200, 33278}};
    for (int[] s : shapes) {
      int m = s[0], n = s[1], k = s[2];
      float[] g = new float[m * k], w = new float[k * n], c = new float[m * n];
      java.util.Random r = new java.util.Random(1);
      for (int i = 0; i < g.length; i++) g[i] = r.nextFloat();
      for (int i = 0; i < w.length; i++) w[i] = r.nextFloat();
      for (int t : new int[] {2, 1}) {
        Parallel.setThreads(t);
        if (b instanceof OpenBlas ob) ob.setThreads(t);
        float[] ct = new float[n * m];
        long best = bestOf(() -> b.sgemm(false, false, m, n, k, 1f, g, 0, k, w, 0, n, 0f, c, 0, n));
        // the transposed form: dHᵀ[n,m] = Wᵀ[n,k]·Gᵀ[k,m]
        long bestT = bestOf(() -> b.sgemm(true, true, n, m, k, 1f, w, 0, n, g, 0, k, 0f, ct, 0, m));
        double fl = 2.0 * m * n * k;
        System.out.printf("m=%d n=%d k=%d threads=%d  NN %.1f GFLOP/s (%.1f ms)   TT %.1f GFLOP/s%n", m, n, k, t,
            fl / best, best / 1e6, fl / bestT);
      }
    }
  }

  /** Best of 7 timed calls after 3 warm-up calls, in nanoseconds. */
  static long bestOf(Runnable call) {
    for (int i = 0; i < 3; i++) call.run();
    long best = Long.MAX_VALUE;
    for (int i = 0; i < 7; i++) {
      long t0 = System.nanoTime();
      call.run();
      best = Math.min(best, System.nanoTime() - t0);
    }
    return best;
  }
}
