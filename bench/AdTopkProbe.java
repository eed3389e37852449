// The adaptive head's exact top-k on bench heads' inputs (N = 2,048 gaussian rows, V = 33,278, default cutoffs,
// div 4, evaluation mode) against its head GEMM alone (the same [N, d] x [d, 2,002] shape): medians of REPS calls
// after 80 warm-up calls. The difference is the head's row passes, the selection and the cluster bounds.
// Usage: java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "target/lmhead.jar:target/lib/*" bench/AdTopkProbe.java D K REPS
import dev.lmhead.head.*;
import dev.lmhead.tensor.*;
import java.util.*;
public class AdTopkProbe {
  public static void main(String[] a) {
    int V = 33278, d = Integer.parseInt(a[0]), N = 2048, k = Integer.parseInt(a[1]), reps = Integer.parseInt(a[2]);
    Rng rng = new Rng(1);
    float[] h = new float[N * d]; for (int i = 0; i < h.length; i++) h[i] = (float) rng.gaussian();
    AdaptiveSoftmax ad = new AdaptiveSoftmax(d, V, AdaptiveSoftmax.defaultCutoffs(V), 4.0, false, new Rng(1));
    ad.train(false); // as bench heads times top-k: the bound statistics cached
    int hs = ad.cutoffs()[0] + ad.cutoffs().length;
    float[] w = new float[hs * d], out = new float[N * hs];
    for (int i = 0; i < w.length; i++) w[i] = (float) rng.gaussian();
    for (int i = 0; i < 80; i++) { ad.topK(h, N, k); Blas.get().sgemm(false, true, N, hs, d, 1f, h, 0, d, w, 0, d, 0f, out, 0, hs); }
    double[] tg = new double[reps], tt = new double[reps];
    for (int r = 0; r < reps; r++) {
      long t0 = System.nanoTime(); Blas.get().sgemm(false, true, N, hs, d, 1f, h, 0, d, w, 0, d, 0f, out, 0, hs);
      long t1 = System.nanoTime(); ad.topK(h, N, k); long t2 = System.nanoTime();
      tg[r] = (t1 - t0) / 1e6; tt[r] = (t2 - t1) / 1e6;
    }
    Arrays.sort(tg); Arrays.sort(tt);
    System.out.printf(Locale.ROOT, "d=%d k=%d head GEMM %.2f ms, topK %.2f ms (medians of %d), expansions %d%n", d, k, tg[reps/2], tt[reps/2], reps, ad.lastTopKExpansions());
  }
}
