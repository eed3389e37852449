package dev.lmhead.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.TestData;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The bundled corpora against the published numbers (WikiText-2: Merity et al. 2016; PTB: Mikolov's
 * 10k version) and the checksums listed in ../shared/data/README.md. Reads each corpus once.
 */
class ShippedCorporaTest {
  private static final Map<String, String> SHA256 = Map.of(
      "wikitext-2/train.txt.gz", "0c202e0b5d919429261b7291d9b5998f0db680c0a6700c0ff2a886d0abe055d4",
      "wikitext-2/valid.txt.gz", "3ac34ae2b6509075d52302c50a04a8a1970739ffe1a904f2cd374fefbea3cbf2",
      "wikitext-2/test.txt.gz", "a2b26b5d2619cc1f6cd34c8e116a451aed09af51479346aadfbf508ceb8b192e",
      "ptb/train.txt.gz", "c4c6455d85f60640431f7bc738d51265ba2d55dcce10e8906322d6f9e3dcca81",
      "ptb/valid.txt.gz", "f2148d96d82f827399b7e5040868a4541bd2d2612ebaf5a2ff213bc07fd74eb8",
      "ptb/test.txt.gz", "5015d206077ff3e96161868c5c280ec8a28e9ad5617ef99ee0e734aaef6130c5");

  private static Corpus load(String name) {
    String old = System.getProperty("lmhead.home");
    try {
      System.setProperty("lmhead.home", TestData.root().toString());
      return Corpus.load(name, 0, 0);
    } finally {
      if (old == null) System.clearProperty("lmhead.home"); else System.setProperty("lmhead.home", old);
    }
  }

  private static int count(int[] s, int id) {
    int n = 0;
    for (int v : s) if (v == id) n++;
    return n;
  }

  private static void checkShape(Corpus c, int train, int valid, int test, int vocab, int trainLines,
                                 int validUnk, int testUnk) {
    Vocabulary v = c.vocab();
    assertEquals(train, c.train().length, "train tokens incl. <eos>");
    assertEquals(valid, c.valid().length, "valid tokens incl. <eos>");
    assertEquals(test, c.test().length, "test tokens incl. <eos>");
    assertEquals(vocab, v.size(), "vocabulary size");
    assertEquals(trainLines, v.counts()[v.eosId()], "one <eos> per training line");
    assertEquals(trainLines, count(c.train(), v.eosId()));
    // <unk> is a word of the training text; valid/test have no other OOV words, so the <unk> ids in
    // them are exactly the literal <unk> tokens counted in the README.
    assertTrue(v.counts()[v.unkId()] > 0);
    assertEquals(validUnk, count(c.valid(), v.unkId()), "valid <unk>");
    assertEquals(testUnk, count(c.test(), v.unkId()), "test <unk>");
    long[] counts = v.counts();
    long[] recount = new long[v.size()];
    for (int id : c.train()) recount[id]++;
    assertEquals(java.util.Arrays.toString(recount), java.util.Arrays.toString(counts));
    for (int i = 1; i < counts.length; i++) assertTrue(counts[i - 1] >= counts[i], "sorted by frequency at " + i);
  }

  @Test void wikiText2HasThePublishedSizes() {
    Corpus c = load("wikitext-2");
    assertEquals("wikitext-2", c.name());
    checkShape(c, 2_088_628, 217_646, 245_569, 33_278, 36_718, 11_718, 15_218);
    assertEquals(54_625, c.vocab().counts()[c.vocab().unkId()]);
  }

  @Test void ptbHasThePublishedSizes() {
    Corpus c = load("ptb");
    checkShape(c, 929_589, 73_760, 82_430, 10_000, 42_068, 3_485, 4_794);
    assertEquals(45_020, c.vocab().counts()[c.vocab().unkId()]);
  }

  @Test void shippedFilesMatchChecksums() throws Exception {
    for (var e : SHA256.entrySet()) {
      Path f = TestData.root().resolve("data").resolve(e.getKey());
      assertEquals(e.getValue(), sha256(f), e.getKey());
    }
  }

  private static String sha256(Path f) throws IOException, java.security.NoSuchAlgorithmException {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    try (InputStream in = Files.newInputStream(f)) {
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
    }
    return HexFormat.of().formatHex(md.digest());
  }
}
