package dev.lmhead.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.data.Corpus;
import dev.lmhead.head.AdaptiveSoftmax;
import dev.lmhead.head.HeadSpec;
import dev.lmhead.model.LanguageModel;
import dev.lmhead.model.ModelConfig;
import dev.lmhead.tensor.Rng;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvaluatorTest {
  @TempDir static Path tmp;
  static Corpus corpus;

  @BeforeAll
  static void data() throws Exception {
    corpus = Corpus.load(TinyCorpus.write(tmp.resolve("tiny"), 300, 40, 40).toString(), 1, 0);
  }

  /** A model trained for one short epoch, so that its predictions are better than chance. */
  static LanguageModel model(HeadSpec head, long seed) throws Exception {
    LanguageModel m = new LanguageModel(new ModelConfig(corpus.vocab().size(), 24, 24, 1, 0f, false, "embedding", 0.1f, head),
        corpus.vocab().counts(), new Rng(seed));
    TrainConfig tc = new TrainConfig(1, 12, 8, 20, 0.25, "sgd", 0f, "plateau", 0.25, 5, 0, 0, seed, 4, 10, 0);
    new Trainer(m, corpus, tc, tmp.resolve("run-" + head.type() + seed), TrainerTest.QUIET, true).run();
    return m;
  }

  /** Ranks every target in the model's full distribution: the reference for acc@k. */
  static long[] bruteForceHits(LanguageModel m, int[] stream, int k) {
    int n = stream.length - 1, v = m.vocabSize(), d = m.config.hidden();
    float[] ctx = m.contexts(stream, n, 7);
    float[] lp = new float[v];
    long[] hits = new long[k];
    for (int r = 0; r < n; r++) {
      m.decoder.logProb(java.util.Arrays.copyOfRange(ctx, r * d, (r + 1) * d), 1, lp);
      int t = stream[r + 1], rank = 0;
      for (int w = 0; w < v; w++) if (lp[w] > lp[t] || (lp[w] == lp[t] && w < t)) rank++;
      if (rank < k) hits[rank]++;
    }
    return hits;
  }

  @Test
  void topKAccuracyCountsTheTargetsRankInTheFullDistribution() throws Exception {
    int v = corpus.vocab().size();
    HeadSpec adaptive = new AdaptiveSoftmax.Spec(new int[] {20, 200}, 2.0, false);
    for (HeadSpec spec : new HeadSpec[] {HeadSpec.full(), adaptive}) {
      LanguageModel m = model(spec, 9);
      int[] stream = corpus.valid();
      Evaluator.Result plain = Evaluator.evaluate(m, stream, 1, 7, null);
      Evaluator.TopKResult tk = Evaluator.evaluateTopK(m, stream, 1, 7, 5, null);
      assertEquals(plain.nll(), tk.result().nll(), 0.0, spec.type() + ": top-k pass changes the loss");
      assertEquals(stream.length - 1, tk.result().tokens());
      long[] ref = bruteForceHits(m, stream, 5);
      assertArrayEquals(ref, tk.hitsAtRank(), spec.type() + " hits at ranks 1..5");
      assertTrue(ref[0] > 0, spec.type() + ": the reference must count some hits, else the test is empty");
      for (int j = 1; j < 5; j++) assertTrue(tk.accuracy(j) >= tk.accuracy(j - 1));
      assertTrue(tk.accuracy(4) <= 1.0 && tk.topKRowsPerSecond() > 0);
    }
    LanguageModel any = model(HeadSpec.full(), 1);
    assertThrows(IllegalArgumentException.class, () -> Evaluator.evaluateTopK(any, corpus.valid(), 1, 7, v + 1, null));
  }

  /** What {@link Evaluator#definition(int)} says about the targets is what {@link Evaluator#evaluate} counts. */
  @Test
  void theTargetsAreThoseTheDefinitionDescribes() throws Exception {
    LanguageModel m = model(HeadSpec.full(), 2);
    int[] stream = corpus.valid();
    int b = 7;
    assertTrue(stream.length % b != 0, "the stream must have a tail to drop");
    assertEquals(stream.length - 1, Evaluator.evaluate(m, stream, 1, 5, null).tokens(), Evaluator.definition(1));
    assertEquals((long) b * (stream.length / b - 1), Evaluator.evaluate(m, stream, b, 5, null).tokens(), Evaluator.definition(b));
    assertThrows(IllegalArgumentException.class, () -> Evaluator.definition(0));
  }
}
