package dev.lmhead.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.lmhead.data.Vocabulary;
import dev.lmhead.model.Checkpoint;
import dev.lmhead.tensor.Rng;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A user's own raw corpus: no {@code <unk>} in the text, valid/test words that train never shows. By
 * default lmhead must still train {@code <unk>} (words seen once in train become it) and report the
 * out-of-vocabulary rates; {@code --min-count 1} keeps the old behaviour (untrained {@code <unk>}).
 */
class UserCorpusTest {
  @TempDir Path tmp;

  /** Zipf-distributed words over 400 types: many are seen once in train, and valid/test hold words train lacks. */
  static Path rawCorpus(Path dir) throws Exception {
    Files.createDirectories(dir);
    Rng rng = new Rng(11);
    for (String split : new String[] {"train", "valid", "test"}) {
      List<String> lines = new ArrayList<>();
      int n = split.equals("train") ? 300 : 40;
      for (int l = 0; l < n; l++) {
        StringBuilder b = new StringBuilder();
        int len = 4 + rng.nextInt(8);
        for (int i = 0; i < len; i++) {
          int w = (int) Math.floor(Math.exp(rng.nextDouble() * Math.log(401))) - 1;
          b.append(i == 0 ? "" : " ").append("word").append(w).append(i == len - 1 ? "." : "");
        }
        lines.add(b.toString());
      }
      Files.write(dir.resolve(split + ".txt"), lines);
    }
    return dir;
  }

  static JsonObject train(Path data, Path run, String... extra) {
    List<String> a = new ArrayList<>(List.of("--json", "--max-tokens", "600"));
    a.addAll(List.of(extra));
    BadInputTest.Run r = BadInputTest.run(BadInputTest.train(data, run, a.toArray(new String[0])));
    assertEquals(0, r.code(), r.err() + r.out());
    return JsonParser.parseString(r.out()).getAsJsonObject();
  }

  @Test
  void aRawCorpusTrainsUnkByDefaultAndReportsTheOovRate() throws Exception {
    Path data = rawCorpus(tmp.resolve("raw"));
    Path run = tmp.resolve("run");
    JsonObject s = train(data, run);
    assertEquals(2, s.get("min_count").getAsInt());
    Vocabulary v = Vocabulary.load(run.resolve(Checkpoint.VOCAB));
    long unk = v.counts()[v.unkId()];
    assertTrue(unk > 0, "<unk> must have training occurrences, got " + unk);
    double validOov = s.get("valid_oov_rate").getAsDouble(), testOov = s.get("test_oov_rate").getAsDouble();
    assertTrue(validOov > 0 && validOov < 0.5 && testOov > 0 && testOov < 0.5, validOov + " " + testOov);
    // with every word kept, <unk> is never seen in train
    JsonObject keep = train(data, tmp.resolve("keep"), "--min-count", "1");
    Vocabulary all = Vocabulary.load(tmp.resolve("keep").resolve(Checkpoint.VOCAB));
    assertEquals(0, all.counts()[all.unkId()]);
    assertTrue(all.size() > v.size());
    assertTrue(keep.get("valid_oov_rate").getAsDouble() < validOov);
  }

  @Test
  void theRuleIsPrinted() throws Exception {
    Path data = rawCorpus(tmp.resolve("raw2"));
    List<String> args = new ArrayList<>(List.of(BadInputTest.train(data, tmp.resolve("run2"), "--max-tokens", "100")));
    args.remove("--quiet");
    BadInputTest.Run r = BadInputTest.run(args.toArray(new String[0]));
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("the training text has no <unk>: its rarest words, seen fewer than 2 times, become <unk>"), r.out());
    assertTrue(r.out().matches("(?s).*out of vocabulary: valid \\d+\\.\\d\\d%, test \\d+\\.\\d\\d%.*"), r.out());
  }

  @Test
  void aLargeVocabularyDefaultsToTheAdaptiveHeadUnlessOneIsGiven() throws Exception {
    Path data = tmp.resolve("large");
    Files.createDirectories(data);
    StringBuilder b = new StringBuilder();
    for (int rep = 0; rep < 2; rep++) {
      for (int w = 0; w < 50_000; w++) b.append("w").append(w).append(w % 10 == 9 ? "\n" : " ");
    }
    Files.writeString(data.resolve("train.txt"), b.toString());
    Files.writeString(data.resolve("valid.txt"), "w1 w2 w3\nw4 w5 unseen\n");
    Files.writeString(data.resolve("test.txt"), "w6 w7 w8\n");
    List<String> args = new ArrayList<>(List.of(BadInputTest.train(data, tmp.resolve("auto"), "--max-tokens", "100", "--json", "--emb", "16", "--hidden", "16")));
    args.remove("--quiet");
    BadInputTest.Run r = BadInputTest.run(args.toArray(new String[0]));
    assertEquals(0, r.code(), r.err());
    // with --json, stdout is the JSON summary alone; the run header (with the reason) goes to stderr
    assertTrue(r.err().contains("adaptive input + tied adaptive softmax (Baevski & Auli 2019) chosen for your corpus's V = 50,002 >= 20,000"), r.err());
    assertEquals("adaptive", JsonParser.parseString(r.out()).getAsJsonObject().get("head").getAsString(), r.out());
    var saved = Checkpoint.readConfig(tmp.resolve("auto"));
    assertEquals("adaptive", saved.input());
    assertTrue(saved.tied());
    JsonObject full = train(data, tmp.resolve("given"), "--head", "full");
    assertEquals("full", full.get("head").getAsString());
  }

  @Test
  void whenNoWordIsSeenOnceTheRarestWordsBecomeUnk() throws Exception {
    // like WikiText-2 with its <unk> tokens removed: every word is seen at least 3 times
    Path data = tmp.resolve("nosingletons");
    Files.createDirectories(data);
    StringBuilder b = new StringBuilder();
    for (int rep = 0; rep < 3; rep++) for (int w = 0; w < 60; w++) b.append("w").append(w).append(w % 6 == 5 ? "\n" : " ");
    for (int rep = 0; rep < 700; rep++) b.append("common words here\n");
    Files.writeString(data.resolve("train.txt"), b.toString());
    Files.writeString(data.resolve("valid.txt"), "common w1 unseen\n");
    Files.writeString(data.resolve("test.txt"), "words w2 here\n");
    JsonObject s = train(data, tmp.resolve("run-ns"));
    assertEquals(4, s.get("min_count").getAsInt());
    Vocabulary v = Vocabulary.load(tmp.resolve("run-ns").resolve(Checkpoint.VOCAB));
    assertEquals(180, v.counts()[v.unkId()], "the 60 words seen 3 times each are <unk>");
  }

  /**
   * The main job: {@code train} on the bundled WikiText-2 without {@code --head} trains the adaptive input
   * with a tied adaptive softmax and says why; {@code --head full} is the PyTorch example's recipe, and
   * PTB keeps the full softmax of its published recipes. (The decision alone: a whole run on the bundled
   * corpus would spend a minute evaluating it.)
   */
  @Test
  void theMainJobTrainsTheAdaptiveInputAndFullIsOneFlagAway() {
    ModelOptions chosen = parsed();
    String why = TrainCommand.chooseDefaultHead("wikitext-2", 33_278, chosen);
    assertTrue(why != null && why.startsWith("adaptive input + tied adaptive softmax (Baevski & Auli 2019): on WikiText-2"), why);
    assertEquals("adaptive", chosen.head);
    assertEquals("adaptive", chosen.input);
    assertTrue(chosen.tied);
    ModelOptions full = parsed("--head", "full");
    assertEquals(null, TrainCommand.chooseDefaultHead("wikitext-2", 33_278, full));
    assertEquals("full", full.head);
    assertEquals("embedding", full.input);
    ModelOptions ptb = parsed();
    assertEquals(null, TrainCommand.chooseDefaultHead("ptb", 10_000, ptb));
    assertEquals("full", ptb.head);
    // the main job (head chosen by train, time budget) anneals; a recipe given by flags does not
    org.junit.jupiter.api.Assertions.assertArrayEquals(TrainCommand.DEFAULT_ANNEAL, TrainCommand.annealAt(null, why, 720), 0.0);
    assertTrue(TrainCommand.DEFAULT_ANNEAL.length > 0);
    assertEquals(0, TrainCommand.annealAt(null, null, 720).length, "--head full: the PyTorch recipe as given");
    assertEquals(0, TrainCommand.annealAt(null, why, 0).length, "--time-budget 0: the 6 epochs as the recipe has them");
    assertEquals(0, TrainCommand.annealAt(new double[] {0}, why, 720).length, "--anneal-at 0 turns it off");
    org.junit.jupiter.api.Assertions.assertArrayEquals(new double[] {0.5}, TrainCommand.annealAt(new double[] {0.5}, null, 0), 0.0);
    org.junit.jupiter.api.Assertions.assertArrayEquals(new double[] {0.7, 0.9}, TrainCommand.annealAt(new double[] {0.7, 0.9}, null, 0), 0.0);
    ModelOptions untied = parsed("--input", "embedding");
    assertTrue(TrainCommand.chooseDefaultHead("wikitext-2", 33_278, untied).startsWith("adaptive softmax:"));
    assertEquals("embedding", untied.input);
  }

  /** The model options of {@code train} as parsed from these flags. */
  private static ModelOptions parsed(String... flags) {
    TrainCommand t = new TrainCommand();
    new picocli.CommandLine(t).parseArgs(flags);
    return t.model;
  }
}
