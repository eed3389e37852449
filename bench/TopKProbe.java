// Exact top-k of a trained model's head on real contexts: rows/s of head.topK at k = 1 and 10, on the
// first N positions of a split (LSTM outputs in evaluation mode, one stream), in blocks of 2,048 rows.
// Unlike `lmhead bench heads` (random weights and gaussian inputs), this is what decoding sees, which
// matters for heads that prune (adaptive). Run after ./lmhead build:
//   java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "target/lmhead.jar:target/lib/*" \
//     bench/TopKProbe.java RUN_DIR [valid|test] [N=20000]
import dev.lmhead.data.Corpus;
import dev.lmhead.head.OutputLayer;
import dev.lmhead.model.Checkpoint;
import dev.lmhead.model.LanguageModel;
import java.nio.file.Path;
import java.util.Arrays;

public class TopKProbe {
  public static void main(String[] a) throws Exception {
    Path run = Path.of(a[0]);
    String split = a.length > 1 ? a[1] : "valid";
    int n = a.length > 2 ? Integer.parseInt(a[2]) : 20_000, block = 2048;
    Checkpoint.Loaded l = Checkpoint.load(run, Checkpoint.MODEL);
    int[] stream = Corpus.encode(Corpus.splitFile(Checkpoint.readField(run, "data"), split), l.vocab());
    LanguageModel m = l.model();
    n = Math.min(n, stream.length - 1);
    float[] ctx = m.contexts(stream, n, 35);
    OutputLayer head = m.decoder;
    int d = m.config.hidden();
    System.out.printf("%s: head %s, V %d, d %d, %d %s contexts%n", run, head.spec().type(), head.vocabSize(), d, n, split);
    for (int k : new int[] {1, 10}) {
      double[] secs = new double[5];
      long[] expanded = new long[1];
      for (int rep = -1; rep < secs.length; rep++) {
        long t0 = System.nanoTime();
        expanded[0] = 0;
        for (int r0 = 0; r0 < n; r0 += block) {
          int rows = Math.min(block, n - r0);
          head.topK(Arrays.copyOfRange(ctx, r0 * d, (r0 + rows) * d), rows, k);
          expanded[0] += expansions(head);
        }
        if (rep >= 0) secs[rep] = (System.nanoTime() - t0) / 1e9;
      }
      Arrays.sort(secs);
      System.out.printf("top-%d: %.0f rows/s (median of 5, min %.0f, max %.0f)%s%n", k, n / secs[2], n / secs[4], n / secs[0],
          expanded[0] < 0 ? "" : String.format(", expanded row-clusters %d of %d rows", expanded[0], n));
    }
  }

  /** AdaptiveSoftmax.lastTopKExpansions() where the running version has it, else -1. */
  static long expansions(OutputLayer head) {
    try {
      return (long) head.getClass().getMethod("lastTopKExpansions").invoke(head);
    } catch (ReflectiveOperationException e) {
      return -1;
    }
  }
}
