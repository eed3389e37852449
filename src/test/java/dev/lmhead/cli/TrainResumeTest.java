package dev.lmhead.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import dev.lmhead.data.Corpus;
import dev.lmhead.data.Vocabulary;
import dev.lmhead.model.Checkpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train --resume} numbers words with the run's own {@code vocab.txt}: a data folder whose training
 * split would number them differently can never remap the ids the checkpoint was trained with.
 */
class TrainResumeTest {
  @TempDir Path tmp;

  /** One epoch on the corpus, to the end (no token budget), so that a resume with --epochs 1 only evaluates. */
  static BadInputTest.Run trainOneEpoch(Path data, Path run, String... extra) {
    List<String> a = new ArrayList<>(List.of("--max-tokens", "0", "--threads", "1", "--blas", "java", "--json", "--min-count", "1"));
    a.addAll(List.of(extra));
    return BadInputTest.run(BadInputTest.train(data, run, a.toArray(new String[0])));
  }

  static double testPpl(BadInputTest.Run r) {
    return JsonParser.parseString(r.out()).getAsJsonObject().get("test_ppl").getAsDouble();
  }

  /** A copy of {@code data} whose training split has its lines in reverse order (same words, same counts). */
  static Path reversedTrain(Path data, Path dir) throws IOException {
    Files.createDirectories(dir);
    for (String s : new String[] {"valid", "test"}) Files.copy(data.resolve(s + ".txt"), dir.resolve(s + ".txt"));
    List<String> lines = new ArrayList<>(Files.readAllLines(data.resolve("train.txt")));
    Collections.reverse(lines);
    Files.write(dir.resolve("train.txt"), lines);
    return dir;
  }

  @Test
  void resumeNumbersWordsWithTheSavedVocabulary() throws Exception {
    Path a = BadInputTest.writeCorpus(tmp.resolve("a")), b = reversedTrain(a, tmp.resolve("b"));
    Vocabulary va = Corpus.load(a.toString(), 1, 0).vocab(), vb = Corpus.load(b.toString(), 1, 0).vocab();
    // the premise: same words and counts, but count ties broken by first occurrence give other ids
    assertEquals(va.size(), vb.size());
    assertEquals(null, va.difference(vb, "a", "b"));
    int moved = 0;
    for (int i = 0; i < va.size(); i++) if (vb.id(va.word(i)) != i) moved++;
    assertTrue(moved > 0, "the reversed corpus must number some words differently");

    Path run = tmp.resolve("run");
    var first = trainOneEpoch(a, run, "--epochs", "1");
    assertEquals(0, first.code(), first.err() + first.out());
    // nothing left to train: the resumed run evaluates the saved best model on valid/test of b (= those of a)
    var resumed = trainOneEpoch(b, run, "--epochs", "1", "--resume");
    assertEquals(0, resumed.code(), resumed.err() + resumed.out());
    assertEquals(testPpl(first), testPpl(resumed), 0.0, "the same model on the same text must give the same perplexity");
    assertEquals(va.size(), Vocabulary.load(run.resolve(Checkpoint.VOCAB)).size());
  }

  @Test
  void resumeOnOtherDataIsRefusedNamingBoth() throws Exception {
    Path a = BadInputTest.writeCorpus(tmp.resolve("a"));
    Path b = reversedTrain(a, tmp.resolve("b"));
    Files.writeString(b.resolve("train.txt"), "w1 w2 w3\n", java.nio.file.StandardOpenOption.APPEND); // same words, other counts
    assertEquals(Corpus.load(a.toString(), 1, 0).vocab().size(), Corpus.load(b.toString(), 1, 0).vocab().size());
    Path run = tmp.resolve("run");
    var first = trainOneEpoch(a, run, "--epochs", "1");
    assertEquals(0, first.code(), first.err() + first.out());
    byte[] last = Files.readAllBytes(run.resolve(Checkpoint.LAST));
    for (String[] extra : new String[][] {{}, {"--max-vocab", "10"}}) {
      List<String> args = new ArrayList<>(List.of("--epochs", "2", "--resume"));
      args.addAll(List.of(extra));
      Path data = extra.length == 0 ? b : a; // other data, or the same data with another --max-vocab
      var r = trainOneEpoch(data, run, args.toArray(new String[0]));
      String what = List.of(extra) + ": " + r.err() + r.out();
      assertEquals(2, r.code(), what);
      List<String> lines = r.err().lines().toList();
      assertEquals(1, lines.size(), what);
      String line = lines.get(0);
      assertTrue(line.startsWith("lmhead: error: --resume: " + run.resolve(Checkpoint.VOCAB) + " does not match"), what);
      assertTrue(line.contains("--data " + data.toAbsolutePath().normalize()) || line.contains("--data " + data), what);
      assertTrue(line.contains("words differ, e.g. '"), what);
      assertFalse(line.contains("\tat "), what);
    }
    assertTrue(java.util.Arrays.equals(last, Files.readAllBytes(run.resolve(Checkpoint.LAST))), "the refused resume must not touch the run");
  }

  @Test
  void differenceNamesAWordThatDiffers() {
    Vocabulary x = Vocabulary.of(new String[] {"<eos>", "a", "b", "<unk>"}, new long[] {5, 3, 3, 0});
    Vocabulary same = Vocabulary.of(new String[] {"<eos>", "b", "a", "<unk>"}, new long[] {5, 3, 3, 0});
    Vocabulary other = Vocabulary.of(new String[] {"<eos>", "a", "c", "<unk>"}, new long[] {5, 3, 3, 0});
    assertEquals(null, x.difference(same, "X", "Y"));
    assertEquals("2 of 4 words differ, e.g. 'b': 3 in X, absent from Y", x.difference(other, "X", "Y"));
    assertNotEquals(null, x.difference(Vocabulary.of(new String[] {"<eos>", "a", "b", "<unk>"}, new long[] {5, 3, 2, 0}), "X", "Y"));
  }
}
