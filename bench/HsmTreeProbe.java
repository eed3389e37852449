// Issue 17's hsm investigation: is the hierarchical softmax's gap to the other heads the tree's doing?
// Trains the README's 2x200 LSTM with a hierarchical softmax for a fixed number of WikiText-2 tokens over
// trees of the same kind of shape but different groupings, and prints the validation perplexity:
//   huffman   fastText's and word2vec's: words grouped by frequency only
//   balanced  halves of the frequency-sorted id range: contiguous frequency bands, depth log2 V for every word
//   frequency contiguous frequency bands split at the unigram-mass median (the bisection below on the
//             frequency rank): bands like balanced, Huffman-like depths
//   random    mass-balanced bisection (every split halves the unigram mass, as Huffman's do) of random
//             word vectors: Huffman-like depths, meaningless groups
//   context   the same bisection of distributional word vectors: each word's PPMI profile over the
//             words one and two positions before it (the history the LSTM sees), randomly projected to
//             128 dimensions; each split is the weighted principal direction, cut at the mass median
//             (Mnih & Hinton 2009 build their trees from learned vectors the same way in spirit)
// Run after ./lmhead build (prints one line per tree; about 2-3 minutes per tree on 2 cores):
//   /usr/lib/jvm/temurin-25-jdk-amd64/bin/java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Dlmhead.home=. \
//     -cp "target/lmhead.jar:target/lib/*" bench/HsmTreeProbe.java [TOKENS=500000] [LR=20] [TREES=huffman,random,context]
import dev.lmhead.data.Corpus;
import dev.lmhead.head.BinaryTree;
import dev.lmhead.head.HierarchicalSoftmax;
import dev.lmhead.model.LanguageModel;
import dev.lmhead.model.ModelConfig;
import dev.lmhead.tensor.Rng;
import dev.lmhead.train.TrainConfig;
import dev.lmhead.train.Trainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

public class HsmTreeProbe {
  static final int DIM = 128;

  public static void main(String[] a) throws Exception {
    long tokens = a.length > 0 ? Long.parseLong(a[0]) : 500_000;
    double lr = a.length > 1 ? Double.parseDouble(a[1]) : 20;
    String[] trees = (a.length > 2 ? a[2] : "huffman,random,context").split(",");
    Corpus c = Corpus.load("wikitext-2", 1, 0);
    int v = c.vocab().size();
    long[] counts = c.vocab().counts();
    for (String kind : trees) {
      long t0 = System.nanoTime();
      BinaryTree tree = switch (kind) {
        case "huffman" -> BinaryTree.huffman(counts);
        case "balanced" -> BinaryTree.balanced(v);
        case "frequency" -> bisect(rankVectors(v), counts);
        case "random" -> bisect(randomVectors(v, new Rng(7)), counts);
        case "context" -> bisect(contextVectors(c.train(), v, Math.min(v, 5000)), counts);
        default -> throw new IllegalArgumentException("unknown tree " + kind);
      };
      double buildS = (System.nanoTime() - t0) / 1e9;
      double mass = 0, depth = 0;
      for (int w = 0; w < v; w++) { mass += counts[w]; depth += (double) counts[w] * tree.depth(w); }
      HierarchicalSoftmax.Spec spec = new HierarchicalSoftmax.Spec(true, HierarchicalSoftmax.Tree.HUFFMAN);
      ModelConfig cfg = new ModelConfig(v, 200, 200, 2, 0.2f, true, "embedding", 0.1f, spec, 0f);
      LanguageModel lm = new LanguageModel(cfg, new Rng(1111), (vocab, hidden, tied, rng) -> new HierarchicalSoftmax(hidden, tree, spec, rng));
      TrainConfig tc = new TrainConfig(1, 35, 20, lr, 0.25, "sgd", 0f, "plateau", 0.25, 4, 0, tokens, 1111, 10, 50, 0);
      Path dir = Files.createTempDirectory("hsm-probe-" + kind);
      Trainer.Outcome o = new Trainer(lm, c, tc, dir, new java.io.PrintStream(java.io.OutputStream.nullOutputStream()), true).run();
      System.out.printf("tree %-8s built in %.1f s, mean depth (by unigram mass) %.2f, max %d | %,d tokens at lr %s: valid ppl %.2f, test ppl %.2f, %.0f tok/s%n",
          kind, buildS, depth / mass, tree.maxDepth(), o.trainTokens(), lr, o.valid().ppl(), o.test().ppl(), o.trainTokensPerSecond());
    }
  }

  /** One coordinate, the frequency rank: the bisection then cuts contiguous frequency bands at the mass median. */
  static float[][] rankVectors(int v) {
    float[][] x = new float[v][DIM];
    for (int w = 0; w < v; w++) x[w][0] = w;
    return x;
  }

  static float[][] randomVectors(int v, Rng rng) {
    float[][] x = new float[v][DIM];
    for (float[] row : x) for (int j = 0; j < DIM; j++) row[j] = (float) rng.gaussian();
    return x;
  }

  /**
   * PPMI of (word, word one back) and (word, word two back) over the f most frequent context words,
   * projected by a fixed Gaussian matrix to DIM dimensions and L2-normalised.
   */
  static float[][] contextVectors(int[] train, int v, int f) {
    int n = 0;
    long[] keys = new long[2 * train.length];
    for (int i = 1; i < train.length; i++) {
      if (train[i - 1] < f) keys[n++] = (long) train[i] * (2L * f) + train[i - 1];
      if (i >= 2 && train[i - 2] < f) keys[n++] = (long) train[i] * (2L * f) + f + train[i - 2];
    }
    keys = Arrays.copyOf(keys, n);
    Arrays.sort(keys);
    double[] rowSum = new double[v], colSum = new double[2 * f];
    for (long k : keys) { rowSum[(int) (k / (2L * f))]++; colSum[(int) (k % (2L * f))]++; }
    float[][] proj = randomVectors(2 * f, new Rng(11));
    float[][] x = new float[v][DIM];
    for (int i = 0; i < n; ) {
      int j = i;
      while (j < n && keys[j] == keys[i]) j++;
      int w = (int) (keys[i] / (2L * f)), ctx = (int) (keys[i] % (2L * f));
      double pmi = Math.log((double) (j - i) * n / (rowSum[w] * colSum[ctx]));
      if (pmi > 0) for (int d = 0; d < DIM; d++) x[w][d] += (float) pmi * proj[ctx][d];
      i = j;
    }
    for (float[] row : x) {
      double s = 0;
      for (float e : row) s += e * e;
      if (s > 0) for (int d = 0; d < DIM; d++) row[d] /= (float) Math.sqrt(s);
    }
    return x;
  }

  /** Mass-balanced recursive bisection along each subset's weighted principal direction. */
  static BinaryTree bisect(float[][] x, long[] counts) {
    int v = counts.length;
    int[] left = new int[v - 1], right = new int[v - 1], ids = new int[v];
    for (int i = 0; i < v; i++) ids[i] = i;
    int[] next = {0};
    build(ids, 0, v, x, counts, left, right, next, new Rng(3));
    return BinaryTree.fromChildren(left, right);
  }

  /** Builds the subtree over ids[lo, hi) and returns its node id (a leaf = the word id, else V + k). */
  static int build(int[] ids, int lo, int hi, float[][] x, long[] counts, int[] left, int[] right, int[] next, Rng rng) {
    int v = counts.length;
    if (hi - lo == 1) return ids[lo];
    int cut;
    if (hi - lo == 2) {
      cut = lo + 1;
    } else {
      double[] mean = new double[DIM];
      double mass = 0;
      for (int i = lo; i < hi; i++) {
        double m = counts[ids[i]] + 1;
        mass += m;
        for (int d = 0; d < DIM; d++) mean[d] += m * x[ids[i]][d];
      }
      for (int d = 0; d < DIM; d++) mean[d] /= mass;
      double[] dir = new double[DIM];
      for (int d = 0; d < DIM; d++) dir[d] = rng.gaussian();
      for (int it = 0; it < 12; it++) {   // power iteration on the weighted covariance
        double[] nd = new double[DIM];
        for (int i = lo; i < hi; i++) {
          float[] r = x[ids[i]];
          double p = 0;
          for (int d = 0; d < DIM; d++) p += (r[d] - mean[d]) * dir[d];
          p *= counts[ids[i]] + 1;
          for (int d = 0; d < DIM; d++) nd[d] += p * (r[d] - mean[d]);
        }
        double s = 0;
        for (double e : nd) s += e * e;
        s = Math.sqrt(s);
        if (s == 0) break;
        for (int d = 0; d < DIM; d++) dir[d] = nd[d] / s;
      }
      double[] key = new double[hi - lo];
      Integer[] order = new Integer[hi - lo];
      for (int i = lo; i < hi; i++) {
        double p = 0;
        for (int d = 0; d < DIM; d++) p += (x[ids[i]][d] - mean[d]) * dir[d];
        key[i - lo] = p;
        order[i - lo] = ids[i];
      }
      Integer[] idx = new Integer[hi - lo];
      for (int i = 0; i < idx.length; i++) idx[i] = i;
      Arrays.sort(idx, (p, q) -> Double.compare(key[p], key[q]));
      for (int i = 0; i < idx.length; i++) ids[lo + i] = order[idx[i]];
      double half = mass / 2, acc = 0;
      cut = lo;
      while (cut < hi - 1 && acc + (counts[ids[cut]] + 1) <= half) acc += counts[ids[cut++]] + 1;
      if (cut == lo) cut = lo + 1; // one word holds half the mass: it is a leaf on its own
    }
    int l = build(ids, lo, cut, x, counts, left, right, next, rng);
    int r = build(ids, cut, hi, x, counts, left, right, next, rng);
    int k = next[0]++;
    left[k] = l;
    right[k] = r;
    return v + k;
  }
}
