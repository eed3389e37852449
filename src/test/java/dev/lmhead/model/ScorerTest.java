package dev.lmhead.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lmhead.data.Vocabulary;
import dev.lmhead.head.HeadSpec;
import dev.lmhead.tensor.Blas;
import dev.lmhead.tensor.Rng;
import dev.lmhead.train.Evaluator;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Sentence scoring: batching never changes a score, the eval equivalence, OOV counting. */
class ScorerTest {
  static final int V = 60;

  static Vocabulary vocab() {
    String[] w = new String[V];
    for (int i = 0; i < V; i++) w[i] = i == 0 ? "<eos>" : i == V - 1 ? "<unk>" : "w" + i;
    return Vocabulary.of(w, new long[V]);
  }

  static LanguageModel model(String head) {
    HeadSpec s = HeadSpec.full();
    if (head.equals("adaptive")) s = new dev.lmhead.head.AdaptiveSoftmax.Spec(new int[] {10, 30}, 2.0, true);
    if (head.equals("hsm")) s = new dev.lmhead.head.HierarchicalSoftmax.Spec(true, dev.lmhead.head.HierarchicalSoftmax.Tree.HUFFMAN);
    var cfg = new ModelConfig(V, 20, 20, 2, 0f, head.equals("full"), "embedding", 0.3f, s, 0.3f);
    long[] counts = new long[V];
    for (int i = 0; i < V; i++) counts[i] = V - i;
    return new LanguageModel(cfg, counts, new Rng(5));
  }

  static List<String> lines(int n, long seed) {
    Rng r = new Rng(seed);
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int len = r.nextInt(i % 7 == 0 ? 45 : 12); // some longer than one bptt window, some empty
      StringBuilder b = new StringBuilder(i % 5 == 0 ? "  " : "");
      for (int j = 0; j < len; j++) b.append(j > 0 ? (j % 3 == 0 ? "\t" : " ") : "").append(r.nextInt(9) == 0 ? "oov" + j : "w" + (1 + r.nextInt(V - 2)));
      out.add(b.toString());
    }
    return out;
  }

  @ParameterizedTest
  @ValueSource(strings = {"full", "adaptive", "hsm"})
  void batchedEqualsOneAtATimeUpToRounding(String head) {
    for (String backend : new String[] {"auto", "java"}) {
      Blas.use(backend);
      try {
        LanguageModel m = model(head);
        List<String> lines = lines(150, 11);
        List<Scorer.Result> one = new Scorer(m, vocab()).batchLines(1).score(lines);
        for (int b : new int[] {7, 64, 1000}) {
          List<Scorer.Result> many = new Scorer(m, vocab()).batchLines(b).score(lines);
          for (int i = 0; i < lines.size(); i++) {
            // equal up to float rounding, not bit for bit: some OpenBLAS kernels (Haswell's) round a GEMM
            // row differently depending on the number of rows, and the pure-Java GEMM takes an unpacked
            // path for small products; measured differences are below 1e-6 per token
            assertArrayEquals(one.get(i).tokenLogProbs(), many.get(i).tokenLogProbs(), 1e-5f, backend + " batch " + b + " line " + i);
            assertEquals(one.get(i).logProb(), many.get(i).logProb(), 1e-6 * Math.max(1, Math.abs(one.get(i).logProb())));
          }
        }
      } finally {
        Blas.use("auto");
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"full", "adaptive"})
  void aLineScoresAsEvalOfAnEmptyLineThenTheLine(String head) {
    LanguageModel m = model(head);
    Scorer s = new Scorer(m, vocab());
    for (String line : lines(20, 3)) {
      Scorer.Result r = s.score(List.of(line)).get(0);
      int[] ids = s.encode(line);
      int[] stream = new int[ids.length + 1];
      stream[0] = vocab().eosId();                 // the empty first line's <eos>
      System.arraycopy(ids, 0, stream, 1, ids.length);
      Evaluator.Result e = Evaluator.evaluate(m, stream, 1, 35, null);
      assertEquals(ids.length, e.tokens());
      // the same sums in another batching: equal up to float rounding (3e-9 relative measured on Haswell's kernel)
      assertEquals(-e.nll(), r.logProb(), 1e-6 * Math.max(1, Math.abs(r.logProb())), line);
      assertEquals(Math.exp(e.meanNll()), r.ppl(), 1e-6 * r.ppl());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"full"})
  void tokensAndOovCounts(String head) {
    Scorer s = new Scorer(model(head), vocab());
    List<Scorer.Result> r = s.score(List.of("w1 w2 zz <unk>", "", "  w3\tqq  "));
    assertEquals(5, r.get(0).tokens());
    assertEquals(2, r.get(0).oov());                // an unknown word and a literal <unk>: both mapped to <unk>
    assertArrayEquals(new int[] {1, 2, V - 1, V - 1, 0}, r.get(0).ids());
    assertEquals(1, r.get(1).tokens());
    assertEquals(0, r.get(1).oov());
    assertEquals(3, r.get(2).tokens());
    assertEquals(1, r.get(2).oov());
    assertEquals(r.get(0).logProb() / Math.log(10), r.get(0).log10(), 1e-12);
    double sum = 0;
    for (float f : r.get(0).tokenLogProbs()) sum += f;
    assertEquals(sum, r.get(0).logProb(), 1e-12);
  }
}
