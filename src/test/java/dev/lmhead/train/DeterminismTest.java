package dev.lmhead.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.lmhead.model.LanguageModel;
import dev.lmhead.tensor.Rng;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two identical training runs in one JVM (cold, then JIT-compiled code) give bitwise equal parameters. */
class DeterminismTest {
  @TempDir Path tmp;

  @Test
  void twoIdenticalRunsAreBitwiseEqual() throws Exception {
    TrainerTest.tmp = tmp; TrainerTest.data();
    LanguageModel a = new LanguageModel(TrainerTest.config(), TrainerTest.corpus.vocab().counts(), new Rng(11));
    new Trainer(a, TrainerTest.corpus, TrainerTest.train(3, 2000, 11), tmp.resolve("a"), TrainerTest.QUIET, true).run();
    LanguageModel b = new LanguageModel(TrainerTest.config(), TrainerTest.corpus.vocab().counts(), new Rng(11));
    new Trainer(b, TrainerTest.corpus, TrainerTest.train(3, 2000, 11), tmp.resolve("b"), TrainerTest.QUIET, true).run();
    for (var e : a.namedParameters().entrySet()) assertArrayEquals(e.getValue().data, b.namedParameters().get(e.getKey()).data, e.getKey());
  }
}
