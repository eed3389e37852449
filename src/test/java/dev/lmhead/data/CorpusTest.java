package dev.lmhead.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.UserError;
import dev.lmhead.tensor.Rng;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorpusTest {
  @TempDir Path dir;

  /** Token strings of a file as the streaming reader sees them, {@code <eos>} per line. */
  private static List<String> read(Path f) {
    List<String> out = new ArrayList<>();
    CorpusReader.read(f, new CorpusReader.Sink() {
      @Override public void token(String w) { out.add(w); }
      @Override public void endOfLine() { out.add(Vocabulary.EOS); }
    });
    return out;
  }

  private static List<String> decode(int[] ids, Vocabulary v) {
    List<String> out = new ArrayList<>();
    for (int id : ids) out.add(v.word(id));
    return out;
  }

  @Test void lineEndingsWhitespaceAndBom() throws IOException {
    // \r\n, lone \r and \n end lines; tabs and runs of spaces separate; text after the last terminator
    // is a final line; a leading BOM is dropped.
    Path f = Ref.write(dir.resolve("t.txt"), "\uFEFFa  b\r\nc\td\rE\n\n f");
    assertEquals(List.of("a", "b", "<eos>", "c", "d", "<eos>", "E", "<eos>", "<eos>", "f", "<eos>"), read(f));
    CorpusReader.Counts c = CorpusReader.read(f, new CorpusReader.Sink() {
      @Override public void token(String w) {}
      @Override public void endOfLine() {}
    });
    assertEquals(new CorpusReader.Counts(5, 6), c);
  }

  @Test void randomMultiByteTextMatchesNaiveTokeniserAcrossBufferBoundaries() throws IOException {
    // ~400 KB of words with 2-, 3- and 4-byte UTF-8 characters and mixed line ends, so that characters,
    // \r\n pairs and tokens straddle the reader's 64 KiB buffers many times.
    Rng rng = new Rng(11);
    String[] alphabet = {"a", "é", "ß", "✓", "中", "𝄞", "z", "<", ">"};
    String[] seps = {" ", " ", "  ", "\t", "\n", "\r\n", "\r", "\n\n", " \r\n"};
    StringBuilder sb = new StringBuilder();
    while (sb.length() < 300_000) {
      int len = 1 + rng.nextInt(9);
      for (int i = 0; i < len; i++) sb.append(alphabet[rng.nextInt(alphabet.length)]);
      sb.append(seps[rng.nextInt(seps.length)]);
    }
    String text = sb.toString();
    Path plain = Ref.write(dir.resolve("plain.txt"), text);
    Path gz = Ref.writeGz(dir.resolve("packed.txt.gz"), text);
    List<String> ref = Ref.tokens(plain);
    assertEquals(ref, read(plain));
    assertEquals(ref, read(gz));
  }

  @Test void gzipIsDetectedByMagicBytesNotName() throws IOException {
    String text = "the cat\nsat on the mat\n";
    Path plain = Ref.write(dir.resolve("a.gz"), text);           // plain text despite the name
    Path packed = Ref.writeGz(dir.resolve("b.txt"), text);       // gzip despite the name
    assertEquals(read(plain), read(packed));
    assertEquals(List.of("the", "cat", "<eos>", "sat", "on", "the", "mat", "<eos>"), read(packed));
  }

  @Test void loadFolderMatchesNaiveReference() throws IOException {
    Path d = Files.createDirectories(dir.resolve("mine"));
    Ref.write(d.resolve("train.txt"), "the cat sat\n\non the mat\nthe end\n");
    Ref.writeGz(d.resolve("valid.txt.gz"), "the dog sat\n");
    Ref.write(d.resolve("test.txt"), "a cat\n\n");
    Corpus c = Corpus.load(d.toString(), 0, 0);
    assertEquals("mine", c.name());
    Vocabulary v = c.vocab();
    assertEquals(Ref.tokens(d.resolve("train.txt")), decode(c.train(), v));
    assertEquals(List.of("the", "<unk>", "sat", "<eos>"), decode(c.valid(), v));
    assertEquals(List.of("<unk>", "cat", "<eos>", "<eos>"), decode(c.test(), v));
    // the one-pass train stream equals encoding the file against the finished vocabulary
    assertArrayEquals(Corpus.encode(d.resolve("train.txt"), v), c.train());
    assertArrayEquals(Vocabulary.build(d.resolve("train.txt"), 0, 0).counts(), v.counts());
  }

  @Test void loadPrunedVocabularyMapsTrainToo() throws IOException {
    Path d = Files.createDirectories(dir.resolve("p"));
    Ref.write(d.resolve("train.txt"), "a a a b b c d\n");
    Ref.write(d.resolve("valid.txt"), "a d\n");
    Ref.write(d.resolve("test.txt"), "b\n");
    Corpus c = Corpus.load(d.toString(), 2, 0);
    assertEquals(List.of("a", "a", "a", "b", "b", "<unk>", "<unk>", "<eos>"), decode(c.train(), c.vocab()));
    assertEquals(List.of("a", "<unk>", "<eos>"), decode(c.valid(), c.vocab()));
  }

  @Test void acceptsWikiTextAndPtbFileNames() throws IOException {
    Path w = Files.createDirectories(dir.resolve("wt"));
    for (String s : new String[] {"train", "valid", "test"}) Ref.write(w.resolve("wiki." + s + ".tokens"), " x = y\n");
    assertEquals(4, Corpus.load(w.toString(), 0, 0).train().length);
    Path p = Files.createDirectories(dir.resolve("pt"));
    for (String s : new String[] {"train", "valid", "test"}) Ref.writeGz(p.resolve("ptb." + s + ".txt"), " x y \n");
    assertEquals(3, Corpus.load(p.toString(), 0, 0).test().length);
  }

  @Test void bundledNameResolvesUnderLmheadHome() throws IOException {
    Path home = dir.resolve("home");
    Path d = Files.createDirectories(home.resolve("data/ptb"));
    for (String s : new String[] {"train", "valid", "test"}) Ref.write(d.resolve(s + ".txt"), "q r\n");
    String old = System.getProperty("lmhead.home");
    try {
      System.setProperty("lmhead.home", home.toString());
      Corpus c = Corpus.load("ptb", 0, 0);
      assertEquals("ptb", c.name());
      assertEquals(3, c.valid().length);
      String m = assertThrows(UserError.class, () -> Corpus.load("wikitext-2", 0, 0)).getMessage();
      assertTrue(m.contains("wikitext-2") && m.contains(home.resolve("data").toString()), m);
    } finally {
      if (old == null) System.clearProperty("lmhead.home"); else System.setProperty("lmhead.home", old);
    }
  }

  // ---- errors: one line, naming the file (and line) ----

  private static String error(Runnable r) {
    String m = assertThrows(UserError.class, r::run).getMessage();
    assertTrue(!m.contains("\n"), "one-line message: " + m);
    return m;
  }

  private Path folder(String name, String train, String valid, String test) throws IOException {
    Path d = Files.createDirectories(dir.resolve(name));
    if (train != null) Ref.write(d.resolve("train.txt"), train);
    if (valid != null) Ref.write(d.resolve("valid.txt"), valid);
    if (test != null) Ref.write(d.resolve("test.txt"), test);
    return d;
  }

  @Test void missingPathAndFileInsteadOfFolder() throws IOException {
    String m = error(() -> Corpus.load(dir.resolve("nope").toString(), 0, 0));
    assertTrue(m.contains("nope") && m.contains("not found"), m);
    Path f = Ref.write(dir.resolve("file.txt"), "a\n");
    m = error(() -> Corpus.load(f.toString(), 0, 0));
    assertTrue(m.contains("file.txt") && m.contains("folder"), m);
    m = error(() -> Corpus.encode(dir.resolve("gone.txt"), Vocabulary.of(new String[] {"<eos>", "<unk>"}, new long[2])));
    assertTrue(m.contains("gone.txt") && m.contains("not found"), m);
  }

  @Test void folderWithoutSplitsNamesWhatWasLookedFor() throws IOException {
    Path d = folder("partial", "a\n", null, null);
    String m = error(() -> Corpus.load(d.toString(), 0, 0));
    assertTrue(m.contains("partial") && m.contains("valid (valid.txt, valid.txt.gz, wiki.valid.tokens")
        && m.contains("ptb.test.txt"), m);
  }

  @Test void emptySplits() throws IOException {
    Path d = folder("ev", "a b\n", "\n\n", "c\n");
    String m = error(() -> Corpus.load(d.toString(), 0, 0));
    assertTrue(m.contains("valid.txt") && m.contains("no tokens"), m);
    Path e = folder("et", "", "a\n", "a\n");
    m = error(() -> Corpus.load(e.toString(), 0, 0));
    assertTrue(m.contains("train.txt") && m.contains("no tokens"), m);
  }

  @Test void invalidUtf8NamesFileAndLine() throws IOException {
    byte[] bad = "ok line\nfine too\nbroken \u00e9 ".getBytes(StandardCharsets.UTF_8);
    bad = Arrays.copyOf(bad, bad.length + 3);
    bad[bad.length - 3] = (byte) 0xC3; // lead byte followed by a non-continuation byte
    bad[bad.length - 2] = 'x';
    bad[bad.length - 1] = '\n';
    Path f = Ref.writeBytes(dir.resolve("bad.txt"), bad);
    String m = error(() -> read(f));
    assertTrue(m.contains("bad.txt:3:") && m.contains("UTF-8"), m);
    // a sequence cut off by the end of file
    Path g = Ref.writeBytes(dir.resolve("cut.txt"), new byte[] {'a', '\n', 'b', (byte) 0xE2, (byte) 0x9C});
    m = error(() -> read(g));
    assertTrue(m.contains("cut.txt:2:") && m.contains("UTF-8"), m);
  }

  @Test void nulByteIsABinaryFile() throws IOException {
    Path f = Ref.writeBytes(dir.resolve("bin.dat"), new byte[] {'a', '\n', 'b', 0, 'c', '\n'});
    String m = error(() -> read(f));
    assertTrue(m.contains("bin.dat:2:") && m.contains("binary"), m);
    Path g = Ref.writeBytes(dir.resolve("bin.gz"), Ref.gzip(new byte[] {'a', '\n', '\n', 0, 1, 2}));
    m = error(() -> read(g));
    assertTrue(m.contains("bin.gz:3:") && m.contains("binary"), m);
  }

  @Test void overlongTokenNamesFileAndLine() throws IOException {
    int max = CorpusReader.MAX_TOKEN_CHARS;
    Path ok = Ref.write(dir.resolve("ok.txt"), "a\n" + "x".repeat(max) + " b\n");
    List<String> t = read(ok);
    assertEquals(max, t.get(2).length());
    Path f = Ref.write(dir.resolve("long.txt"), "a\nb " + "x".repeat(max + 1) + "\n");
    String m = error(() -> read(f));
    assertTrue(m.contains("long.txt:2:") && m.contains("token longer than"), m);
  }

  @Test void truncatedAndCorruptGzip() throws IOException {
    StringBuilder sb = new StringBuilder();
    Rng rng = new Rng(3);
    for (int i = 0; i < 20_000; i++) sb.append("w").append(rng.nextInt(5000)).append(i % 13 == 0 ? "\n" : " ");
    byte[] gz = Ref.gzip(sb.toString().getBytes(StandardCharsets.UTF_8));
    Path cut = Ref.writeBytes(dir.resolve("cut.txt.gz"), Arrays.copyOf(gz, gz.length / 2));
    String m = error(() -> read(cut));
    assertTrue(m.contains("cut.txt.gz") && m.contains("gzip"), m);
    Path noTrailer = Ref.writeBytes(dir.resolve("notrailer.gz"), Arrays.copyOf(gz, gz.length - 4));
    m = error(() -> read(noTrailer));
    assertTrue(m.contains("notrailer.gz") && m.contains("gzip"), m);
    byte[] bad = gz.clone();
    for (int i = gz.length / 3; i < gz.length / 3 + 64; i++) bad[i] ^= (byte) 0x5a;
    Path corrupt = Ref.writeBytes(dir.resolve("corrupt.gz"), bad);
    m = error(() -> read(corrupt));
    assertTrue(m.contains("corrupt.gz") && m.contains("gzip"), m);
    Path header = Ref.writeBytes(dir.resolve("header.gz"), new byte[] {0x1f, (byte) 0x8b, 9, 0, 0});
    m = error(() -> read(header));
    assertTrue(m.contains("header.gz") && m.contains("gzip"), m);
  }

  @Test void unreadableFile() throws IOException {
    Path d = Files.createDirectories(dir.resolve("isdir.txt"));
    String m = error(() -> read(d));
    assertTrue(m.contains("isdir.txt") && m.contains("directory"), m);
    Path f = Ref.write(dir.resolve("locked.txt"), "a\n");
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("---------"));
    if (Files.isReadable(f)) return; // running as root: permissions are not enforced
    m = error(() -> read(f));
    assertTrue(m.contains("locked.txt") && m.contains("permission"), m);
  }
}
