// The adaptive head's exact top-k alone, as a server's batched /v1/next pass calls it: 64 contexts of 5-20 random
// words (ids < 20,000) run through the model's LSTM once, then topK(k = 1, 10) on their last hidden states 50
// times on one thread (median of the last 41). Prints how many rows expanded a tail cluster and how many of those
// the scan of AdaptiveSoftmax.expandCluster ruled out before computing the cluster's normaliser.
// Usage: java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "target/lmhead.jar:target/lib/*" bench/ServeHeadProbe.java runs/MODEL
import dev.lmhead.model.*;
import dev.lmhead.head.*;
import dev.lmhead.nn.Lstm;
import java.nio.file.Path;
import java.util.*;
public class ServeHeadProbe {
  public static void main(String[] a) throws Exception {
    dev.lmhead.tensor.Parallel.setThreads(1);
    var l = Checkpoint.load(Path.of(a[0]), Checkpoint.MODEL);
    LanguageModel m = l.model();
    m.decoder.train(false);
    int B = 64, H = m.config.hidden();
    Random r = new Random(1);
    int[][] seqs = new int[B][];
    for (int i = 0; i < B; i++) { int n = 21 - i / 4; seqs[i] = new int[n]; for (int j = 1; j < n; j++) seqs[i][j] = r.nextInt(20000); seqs[i][0] = l.vocab().eosId(); }
    int[] lens = new int[B]; for (int i = 0; i < B; i++) lens[i] = seqs[i].length;
    int[] bs = Lstm.batchSizes(lens);
    float[] x = m.packedHeadInputs(seqs, bs);
    int[] off = new int[bs.length]; for (int t = 1; t < bs.length; t++) off[t] = off[t - 1] + bs[t - 1];
    float[] last = new float[B * H];
    for (int b = 0; b < B; b++) System.arraycopy(x, (off[lens[b] - 1] + b) * H, last, b * H, H);
    AdaptiveSoftmax ad = (AdaptiveSoftmax) m.decoder;
    for (int k : new int[] {1, 10}) {
      double[] ms = new double[41];
      for (int rep = 0; rep < 50; rep++) { long t0 = System.nanoTime(); ad.topK(last, B, k); if (rep >= 9) ms[rep - 9] = (System.nanoTime() - t0) / 1e6; }
      Arrays.sort(ms);
      System.out.printf(java.util.Locale.ROOT, "k=%d: median %.3f ms per batch of %d, cluster expansions %d, of which ruled out by the scan %d%n",
          k, ms[20], B, ad.lastTopKExpansions(), ad.lastTopKScansRuledOut());
    }
  }
}
