package dev.lmhead.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.lmhead.data.Corpus;
import dev.lmhead.head.HeadSpec;
import dev.lmhead.model.Checkpoint;
import dev.lmhead.model.LanguageModel;
import dev.lmhead.model.ModelConfig;
import dev.lmhead.tensor.Rng;
import dev.lmhead.tensor.Safetensors;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Numeric faults: a non-finite step is skipped and halves lr; three in a row roll the parameters and
 * optimiser state back to the last good state (last.safetensors, or the in-memory copy from the start
 * of the run), which is checked bit for bit against that state; too many end the run with one error.
 */
class NumericFaultTest {
  @TempDir static Path tmp;
  static Corpus corpus;
  static final int BPTT = 6, BATCH = 4, STEP_TOKENS = BPTT * BATCH;

  @BeforeAll
  static void data() throws Exception {
    corpus = Corpus.load(TinyCorpus.write(tmp.resolve("tiny"), 150, 30, 30).toString(), 1, 0);
  }

  static LanguageModel model(long seed) {
    var cfg = new ModelConfig(corpus.vocab().size(), 16, 16, 1, 0f, true, "embedding", 0.1f, HeadSpec.full());
    return new LanguageModel(cfg, corpus.vocab().counts(), new Rng(seed));
  }

  static TrainConfig train(String optimizer, double lr, long maxTokens) {
    return new TrainConfig(1, BPTT, BATCH, lr, 0.25, optimizer, 0f, "plateau", 0.25, 5, 0, maxTokens, 3, 4, 1, 0);
  }

  static List<JsonObject> events(Path dir, String event) throws Exception {
    return Files.readAllLines(dir.resolve("metrics.jsonl")).stream().map(l -> JsonParser.parseString(l).getAsJsonObject())
        .filter(o -> o.get("event").getAsString().equals(event)).toList();
  }

  static JsonObject trainerState(Safetensors.Contents c) {
    return JsonParser.parseString(c.metadata().get("lmhead.trainer")).getAsJsonObject();
  }

  @Test
  void threeFaultsBeforeAnyCheckpointRollBackToTheInitialParameters() throws Exception {
    Path dir = tmp.resolve("memory");
    LanguageModel m = model(1);
    Map<String, float[]> initial = new java.util.LinkedHashMap<>();
    m.namedParameters().forEach((k, p) -> initial.put(k, p.data.clone()));
    var text = new ByteArrayOutputStream();
    // 8 steps; steps 5, 6, 7 fault: the last step rolls back, and the budget stop then saves last.safetensors
    Trainer t = new Trainer(m, corpus, train("sgd", 20, 8L * STEP_TOKENS), dir, new PrintStream(text, true, StandardCharsets.UTF_8), true);
    t.faultInjector = s -> s >= 5 && s <= 7;
    t.run();
    var c = Checkpoint.loadTensors(dir.resolve(Checkpoint.LAST));
    for (var e : initial.entrySet()) assertArrayEquals(e.getValue(), c.get(e.getKey()).f32(), e.getKey() + " was not rolled back");
    assertEquals(20.0 / 8, trainerState(c).get("lr").getAsDouble(), 0.0);
    assertEquals(3, events(dir, "fault").size());
    var rb = events(dir, "rollback");
    assertEquals(1, rb.size());
    assertEquals("memory", rb.get(0).get("source").getAsString());
    assertEquals(7, rb.get(0).get("step").getAsLong());
    String out = text.toString(StandardCharsets.UTF_8);
    assertTrue(out.contains("rolled back to the parameters at the start of the run"), out);
  }

  @Test
  void threeFaultsAfterACheckpointRollBackToIt() throws Exception {
    Path dir = tmp.resolve("file");
    PrintStream quiet = new PrintStream(java.io.OutputStream.nullOutputStream());
    // a first run writes last.safetensors at 10 steps
    new Trainer(model(2), corpus, train("adam", 0.01, 10L * STEP_TOKENS), dir, quiet, true).run();
    var saved = Checkpoint.loadTensors(dir.resolve(Checkpoint.LAST));
    // resume it for 6 more steps; the last three (13, 14, 15) fault, so the run ends right after the roll-back
    Trainer t = new Trainer(model(99), corpus, train("adam", 0.01, 16L * STEP_TOKENS), dir, quiet, true);
    t.resume();
    t.faultInjector = s -> s >= 13;
    t.run();
    var after = Checkpoint.loadTensors(dir.resolve(Checkpoint.LAST));
    for (var e : saved.tensors().entrySet()) {
      if (e.getKey().startsWith("state.")) continue; // the recurrent state is zeroed on roll-back
      assertArrayEquals(e.getValue().f32(), after.get(e.getKey()).f32(), e.getKey() + " differs from the checkpoint rolled back to");
    }
    assertEquals(16, trainerState(after).get("step").getAsLong());
    assertEquals(0.01 / 8, trainerState(after).get("lr").getAsDouble(), 1e-15);
    var rb = events(dir, "rollback");
    assertEquals(1, rb.size());
    assertEquals(dir.resolve(Checkpoint.LAST).toString(), rb.get(0).get("source").getAsString());
  }

  @Test
  void isolatedFaultsOnlyHalveTheLearningRate() throws Exception {
    Path dir = tmp.resolve("isolated");
    Trainer t = new Trainer(model(3), corpus, train("sgd", 20, 12L * STEP_TOKENS), dir, new PrintStream(java.io.OutputStream.nullOutputStream()), true);
    t.faultInjector = s -> s == 2 || s == 3 || s == 5 || s == 6 || s == 9;
    Trainer.Outcome o = t.run();
    assertEquals(20.0 / 32, t.lr(), 0.0);
    assertEquals(5, events(dir, "fault").size());
    assertTrue(events(dir, "rollback").isEmpty());
    assertTrue(Double.isFinite(o.valid().ppl()));
  }

  @Test
  void persistentFaultsEndTheRunWithOneError() throws Exception {
    Path dir = tmp.resolve("persistent");
    Trainer t = new Trainer(model(4), corpus, train("sgd", 20, 0), dir, new PrintStream(java.io.OutputStream.nullOutputStream()), true);
    t.faultInjector = s -> s >= 3;
    var e = org.junit.jupiter.api.Assertions.assertThrows(dev.lmhead.UserError.class, t::run);
    assertTrue(e.getMessage().startsWith("training diverged: "), e.getMessage());
    assertFalse(e.getMessage().contains("\n"));
    assertEquals(Trainer.MAX_ROLLBACKS, events(dir, "rollback").size());
  }

  static TrainConfig epochs(int n) {
    return new TrainConfig(n, BPTT, BATCH, 20, 0.25, "sgd", 0f, "plateau", 0.25, 5, 0, 0, 3, 4, 1, 0);
  }

  @Test
  void aRunWithoutAnyFiniteValidationEndsWithOneErrorAndKeepsTheLastState() throws Exception {
    Path dir = tmp.resolve("never-finite");
    Trainer t = new Trainer(model(5), corpus, epochs(2), dir, new PrintStream(java.io.OutputStream.nullOutputStream()), true);
    t.validationFaultInjector = e -> true;
    var e = org.junit.jupiter.api.Assertions.assertThrows(dev.lmhead.UserError.class, t::run);
    assertTrue(e.getMessage().startsWith("training diverged: no validation perplexity was finite"), e.getMessage());
    assertFalse(e.getMessage().contains("\n"));
    assertTrue(Files.exists(dir.resolve(Checkpoint.LAST)), "the last state must be kept");
    assertFalse(Files.exists(dir.resolve(Checkpoint.MODEL)), "a model with a NaN validation must not be saved as the best");
    assertEquals(2, events(dir, "rollback").size(), "each faulty validation rolls back");
  }

  @Test
  void aFaultyValidationRollsBackAndHalvesTheLearningRate() throws Exception {
    Path dir = tmp.resolve("one-bad-validation");
    LanguageModel m = model(6);
    Map<String, float[]> initial = new java.util.LinkedHashMap<>();
    m.namedParameters().forEach((k, p) -> initial.put(k, p.data.clone()));
    Trainer t = new Trainer(m, corpus, epochs(2), dir, new PrintStream(java.io.OutputStream.nullOutputStream()), true);
    t.validationFaultInjector = e -> e == 1;
    Trainer.Outcome o = t.run();
    var rb = events(dir, "rollback");
    assertEquals(1, rb.size());
    assertEquals("memory", rb.get(0).get("source").getAsString(), "no checkpoint existed before the first validation");
    assertEquals(10.0, events(dir, "fault").get(0).get("lr").getAsDouble(), 0.0);
    assertTrue(Double.isFinite(o.bestValidPpl()));
    var best = Checkpoint.loadTensors(dir.resolve(Checkpoint.MODEL));
    assertEquals("2", best.metadata().get("lmhead.epoch"), "only epoch 2's validation counts");
  }

  @Test
  void pplTextExplainsEveryNonFiniteValue() {
    assertEquals("12.18", Evaluator.pplText(new Evaluator.Result(2.5 * 100, 100, 1)));
    assertTrue(Evaluator.pplText(new Evaluator.Result(Double.NaN, 100, 1)).startsWith("NaN (the model gives non-finite"));
    assertTrue(Evaluator.pplText(new Evaluator.Result(1e6, 100, 1)).startsWith("inf (mean NLL 10000.0 nats"));
    assertTrue(Evaluator.pplText(new Evaluator.Result(Double.POSITIVE_INFINITY, 100, 1)).contains("probability 0"));
    assertTrue(Evaluator.pplText(new Evaluator.Result(0, 0, 1)).startsWith("n/a"));
  }
}
