// The softmax row passes alone, as a head runs them after its GEMM: N = 2,048 rows of W logits (2,002 = the
// adaptive head at V = 33,278; 33,278 = the full softmax), a fresh sgemm before each timed pass (so the rows come
// from where the GEMM left them), then on all threads: max; max + sum of exp; sum of exp alone; max twice (the
// second from cache). Median of 40, in ms and ns per logit.
// Usage: java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "target/lmhead.jar:target/lib/*" bench/PassProbe.java 2002
import dev.lmhead.tensor.*;
import java.util.*;
public class PassProbe {
  public static void main(String[] a) {
    int N = 2048, d = 256, hs = Integer.parseInt(a[0]), reps = 40;
    Rng rng = new Rng(1);
    float[] h = new float[N * d]; for (int i = 0; i < h.length; i++) h[i] = (float) rng.gaussian() * 0.1f;
    float[] w = new float[hs * d], out = new float[N * hs];
    for (int i = 0; i < w.length; i++) w[i] = (float) rng.gaussian() * 0.1f;
    float[] lse = new float[N];
    String[] names = {"max", "max+sumExp", "sumExp only(given 0)", "max x2"};
    double[][] t = new double[names.length][reps];
    for (int rep = -20; rep < reps; rep++) {
      for (int m = 0; m < names.length; m++) {
        Blas.get().sgemm(false, true, N, hs, d, 1f, h, 0, d, w, 0, d, 0f, out, 0, hs);
        final int mode = m;
        long t0 = System.nanoTime();
        Parallel.forRange(N, 16, (x, y) -> {
          for (int r = x; r < y; r++) {
            int off = r * hs;
            switch (mode) {
              case 0 -> lse[r] = Vec.max(out, off, hs);
              case 1 -> lse[r] = Vec.logSumExpGivenMax(out, off, hs, Vec.max(out, off, hs));
              case 2 -> lse[r] = (float) Vec.sumExp(out, off, hs, 0f);
              default -> lse[r] = Vec.max(out, off, hs) + Vec.max(out, off, hs);
            }
          }
        });
        if (rep >= 0) t[m][rep] = (System.nanoTime() - t0) / 1e6;
      }
    }
    for (int m = 0; m < names.length; m++) { Arrays.sort(t[m]); System.out.printf(Locale.ROOT, "hs=%d %-22s %.3f ms  (%.3f ns/elem)%n", hs, names[m], t[m][reps / 2], t[m][reps / 2] * 1e6 / ((double) N * hs)); }
    System.out.println("lanes " + Vec.S.length());
  }
}
