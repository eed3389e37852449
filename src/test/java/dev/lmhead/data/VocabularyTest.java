package dev.lmhead.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.UserError;
import dev.lmhead.tensor.Rng;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VocabularyTest {
  @TempDir Path dir;

  private static String[] words(Vocabulary v) {
    String[] w = new String[v.size()];
    for (int i = 0; i < w.length; i++) w[i] = v.word(i);
    return w;
  }

  @Test void idsByDescendingCountTiesByFirstOccurrence() throws IOException {
    // lines: [b a c <eos>] [a b <eos>] [<eos>] [c d <eos>]
    // counts: <eos> 4; b, a, c 2 (first seen in that order); d 1; no <unk> in training -> appended, count 0
    Path f = Ref.write(dir.resolve("t.txt"), "b a c\na b\n\nc d\n");
    Vocabulary v = Vocabulary.build(f, 0, 0);
    assertArrayEquals(new String[] {"<eos>", "b", "a", "c", "d", "<unk>"}, words(v));
    assertArrayEquals(new long[] {4, 2, 2, 2, 1, 0}, v.counts());
    assertEquals(0, v.eosId());
    assertEquals(5, v.unkId());
    for (int i = 0; i < v.size(); i++) assertEquals(i, v.id(v.word(i)));
  }

  @Test void emptyLinesContributeOnlyEos() throws IOException {
    Path f = Ref.write(dir.resolve("t.txt"), "\n\n x \n\n");
    Vocabulary v = Vocabulary.build(f, 0, 0);
    assertEquals(4, v.counts()[v.eosId()], "one <eos> per line, 4 lines (3 empty)");
    assertEquals(1, v.counts()[v.id("x")]);
    assertArrayEquals(new int[] {v.eosId(), v.eosId(), v.id("x"), v.eosId(), v.eosId()}, Corpus.encode(f, v));
  }

  @Test void unkInTrainingIsAnOrdinaryWord() throws IOException {
    // x <unk> y <eos> <unk> <eos>: <unk> 2 (first at 1), <eos> 2 (first at 3), x 1, y 1
    Path f = Ref.write(dir.resolve("t.txt"), "x <unk> y\n<unk>\n");
    Vocabulary v = Vocabulary.build(f, 0, 0);
    assertArrayEquals(new String[] {"<unk>", "<eos>", "x", "y"}, words(v));
    assertEquals(0, v.unkId());
    assertEquals(v.unkId(), v.id("never-seen"));
  }

  @Test void unknownWordsMapToAppendedUnk() throws IOException {
    Path train = Ref.write(dir.resolve("train.txt"), "a b a\n");
    Path valid = Ref.write(dir.resolve("valid.txt"), "a zz b\nqq\n");
    Vocabulary v = Vocabulary.build(train, 0, 0);
    assertEquals(v.size() - 1, v.unkId());
    assertEquals(0, v.counts()[v.unkId()]);
    assertFalse(v.contains("zz"));
    int a = v.id("a"), b = v.id("b"), u = v.unkId(), e = v.eosId();
    assertArrayEquals(new int[] {a, u, b, e, u, e}, Corpus.encode(valid, v));
  }

  @Test void minCountFoldsRareWordsIntoUnk() throws IOException {
    // a 3, b 2, c 1, d 1, <eos> 1. minCount 2 cuts c, d -> <unk> 2 (first occurrence = c's, index 5).
    // Sorted: a 3, b 2 (first 3), <unk> 2 (first 5), <eos> 1.
    Path f = Ref.write(dir.resolve("t.txt"), "a a a b b c d\n");
    Vocabulary v = Vocabulary.build(f, 2, 0);
    assertArrayEquals(new String[] {"a", "b", "<unk>", "<eos>"}, words(v));
    assertArrayEquals(new long[] {3, 2, 2, 1}, v.counts());
    assertEquals(v.unkId(), v.id("c"));
    // <unk> inherits the earliest first occurrence of the words it absorbed: c, d (cut, first at 0, 1)
    // make <unk> 2, tied with a and b, and ahead of both.
    Path g = Ref.write(dir.resolve("g.txt"), "c d a a b b\n");
    assertArrayEquals(new String[] {"<unk>", "a", "b", "<eos>"}, words(Vocabulary.build(g, 2, 0)));
  }

  @Test void maxSizeKeepsEosAndMostFrequent() throws IOException {
    // maxSize 3 = <eos>, <unk> and one more word (a); b, c, d -> <unk> 4 (first = b's).
    Path f = Ref.write(dir.resolve("t.txt"), "a a a b b c d\n");
    Vocabulary v = Vocabulary.build(f, 0, 3);
    assertArrayEquals(new String[] {"<unk>", "a", "<eos>"}, words(v));
    assertArrayEquals(new long[] {4, 3, 1}, v.counts());
    // maxSize 2: only <eos> and <unk>
    Vocabulary v2 = Vocabulary.build(f, 0, 2);
    assertArrayEquals(new String[] {"<unk>", "<eos>"}, words(v2));
    assertArrayEquals(new long[] {7, 1}, v2.counts());
  }

  @Test void randomCorporaMatchNaiveReference() throws IOException {
    Rng rng = new Rng(7);
    int[][] limits = {{0, 0}, {2, 0}, {0, 10}, {3, 25}, {1, 2}, {5, 0}};
    for (int trial = 0; trial < 12; trial++) {
      StringBuilder sb = new StringBuilder();
      int lines = 1 + (int) (rng.nextDouble() * 60);
      boolean withUnk = trial % 3 == 0;
      for (int l = 0; l < lines; l++) {
        int len = (int) (rng.nextDouble() * 12);
        for (int t = 0; t < len; t++) {
          int id = (int) Math.floor(Math.exp(rng.nextDouble() * Math.log(80)));
          sb.append(rng.nextDouble() < 0.3 ? "  " : rng.nextDouble() < 0.1 ? "\t" : " ");
          sb.append(withUnk && id == 3 ? "<unk>" : "w" + id + (id % 5 == 0 ? "é" : ""));
        }
        sb.append(rng.nextDouble() < 0.2 ? "\r\n" : "\n");
      }
      sb.append(" tail");
      Path f = Ref.write(dir.resolve("r" + trial + ".txt"), sb.toString());
      List<String> stream = Ref.tokens(f);
      for (int[] lim : limits) {
        List<Map.Entry<String, Long>> ref = Ref.vocab(stream, lim[0], lim[1]);
        Vocabulary v = Vocabulary.build(f, lim[0], lim[1]);
        String ctx = "trial " + trial + " minCount " + lim[0] + " maxSize " + lim[1];
        assertEquals(ref.size(), v.size(), ctx);
        for (int i = 0; i < ref.size(); i++) {
          assertEquals(ref.get(i).getKey(), v.word(i), ctx + " id " + i);
          assertEquals((long) ref.get(i).getValue(), v.counts()[i], ctx + " count of id " + i);
        }
        if (lim[1] > 0) assertTrue(v.size() <= lim[1], ctx);
        long total = 0;
        for (long c : v.counts()) total += c;
        assertEquals(stream.size(), total, "counts add up to the stream length, " + ctx);
      }
    }
  }

  @Test void badLimitsAreRejected() throws IOException {
    Path f = Ref.write(dir.resolve("t.txt"), "a\n");
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Vocabulary.build(f, 0, 1)).getMessage().contains("got 1"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Vocabulary.build(f, -1, 0)).getMessage().contains("got -1"));
  }

  @Test void trainingFileWithoutTokensIsAnError() throws IOException {
    Path f = Ref.write(dir.resolve("empty.txt"), "\n  \n");
    UserError e = assertThrows(UserError.class, () -> Vocabulary.build(f, 0, 0));
    assertTrue(e.getMessage().contains("empty.txt") && e.getMessage().contains("no tokens"), e.getMessage());
  }

  @Test void saveLoadRoundTrip() throws IOException {
    Path f = Ref.write(dir.resolve("t.txt"), "naïve 𝄞 <unk> x x\nx naïve\n\n");
    Vocabulary v = Vocabulary.build(f, 0, 0);
    Path saved = dir.resolve("sub/vocab.tsv");
    v.save(saved);
    List<String> lines = Files.readAllLines(saved, StandardCharsets.UTF_8);
    assertEquals(v.size(), lines.size());
    assertEquals("x\t3", lines.get(0));
    Vocabulary w = Vocabulary.load(saved);
    assertArrayEquals(words(v), words(w));
    assertArrayEquals(v.counts(), w.counts());
    assertEquals(v.unkId(), w.unkId());
    assertEquals(v.eosId(), w.eosId());
  }

  private String loadError(String name, byte[] content) throws IOException {
    Path f = Ref.writeBytes(dir.resolve(name), content);
    return assertThrows(UserError.class, () -> Vocabulary.load(f)).getMessage();
  }

  private String loadError(String name, String content) throws IOException {
    return loadError(name, content.getBytes(StandardCharsets.UTF_8));
  }

  @Test void loadRejectsBadFilesNamingFileAndLine() throws IOException {
    String m = loadError("dup.tsv", "<eos>\t5\na\t3\n<eos>\t1\n<unk>\t0\n");
    assertTrue(m.contains("dup.tsv:3:") && m.contains("duplicate") && m.contains("line 1"), m);
    m = loadError("count.tsv", "<eos>\t5\na\tmany\n<unk>\t0\n");
    assertTrue(m.contains("count.tsv:2:") && m.contains("bad count"), m);
    m = loadError("neg.tsv", "<eos>\t5\n<unk>\t-2\n");
    assertTrue(m.contains("neg.tsv:2:") && m.contains("bad count"), m);
    m = loadError("tab.tsv", "<eos>\t5\n<unk> 0\n");
    assertTrue(m.contains("tab.tsv:2:") && m.contains("word<TAB>count"), m);
    m = loadError("blank.tsv", "<eos>\t5\n\n<unk>\t0\n");
    assertTrue(m.contains("blank.tsv:2:"), m);
    m = loadError("empty.tsv", "");
    assertTrue(m.contains("empty.tsv") && m.contains("empty"), m);
    m = loadError("nounk.tsv", "<eos>\t5\na\t1\n");
    assertTrue(m.contains("nounk.tsv") && m.contains("<unk>"), m);
    m = loadError("utf.tsv", new byte[] {'<', 'e', 'o', 's', '>', '\t', '1', '\n', 'a', (byte) 0xC3, '\t', '1', '\n'});
    assertTrue(m.contains("utf.tsv:2:") && m.contains("UTF-8"), m);
    m = assertThrows(UserError.class, () -> Vocabulary.load(dir.resolve("missing.tsv"))).getMessage();
    assertTrue(m.contains("missing.tsv") && m.contains("not found"), m);
  }

  @Test void ofValidates() {
    Vocabulary v = Vocabulary.of(new String[] {"a", "<eos>", "<unk>"}, new long[] {3, 2, 0});
    assertEquals(1, v.eosId());
    assertThrows(IllegalArgumentException.class, () -> Vocabulary.of(new String[] {"a", "a", "<eos>", "<unk>"}, new long[4]));
    assertThrows(IllegalArgumentException.class, () -> Vocabulary.of(new String[] {"a b", "<eos>", "<unk>"}, new long[3]));
    assertThrows(IndexOutOfBoundsException.class, () -> v.word(3));
  }
}
