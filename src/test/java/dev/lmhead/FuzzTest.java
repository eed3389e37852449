package dev.lmhead;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.lmhead.data.Corpus;
import dev.lmhead.data.Vocabulary;
import dev.lmhead.head.AdaptiveSoftmax;
import dev.lmhead.head.HeadSpec;
import dev.lmhead.model.Checkpoint;
import dev.lmhead.model.LanguageModel;
import dev.lmhead.model.ModelConfig;
import dev.lmhead.tensor.Rng;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Feeds the loaders of user files random and mutated bytes: bit flips, interesting byte values,
 * truncations, insertions, deletions, duplicated chunks, splices of two valid files, huge or negative
 * numbers written over the numbers of a header, and pure noise. Each loader may only return normally
 * or throw {@link UserError} with a one-line message naming the file or folder; any other exception,
 * an OutOfMemoryError or a case running longer than {@link #CASE_TIMEOUT} fails the test, and the
 * failing input is kept under {@code target/fuzz-failures/} with the seed and case number.
 *
 * <p>Cases per loader: {@code -Dlmhead.fuzz.cases=N} (default 600, five loaders: 3000 cases); seed:
 * {@code -Dlmhead.fuzz.seed=S}.
 */
class FuzzTest {
  static final int CASES = Integer.getInteger("lmhead.fuzz.cases", 600);
  static final long SEED = Long.getLong("lmhead.fuzz.seed", 20261123L);
  static final Duration CASE_TIMEOUT = Duration.ofSeconds(20);

  @TempDir static Path tmp;
  static byte[] text, gzText, vocabBytes;
  static Vocabulary vocab;
  /** Files of two run folders (full softmax, adaptive softmax with adaptive input). */
  static Run full, adaptive;

  record Run(byte[] config, byte[] vocab, byte[] model, byte[] last) {}

  @BeforeAll
  static void seeds() throws Exception {
    Rng rng = new Rng(5);
    StringBuilder b = new StringBuilder("\uFEFF");
    String[] extra = {"na\u00efve", "\u4e2d\u6587", "\ud83d\ude00", "<unk>", "a-b", "x.y"};
    for (int l = 0; l < 40; l++) {
      int n = rng.nextInt(9);
      for (int i = 0; i < n; i++) {
        b.append(i == 0 ? "" : rng.nextInt(5) == 0 ? "\t " : " ");
        b.append(rng.nextInt(6) == 0 ? extra[rng.nextInt(extra.length)] : "w" + (int) (30 * Math.pow(rng.nextDouble(), 2)));
      }
      b.append(l % 7 == 3 ? "\r\n" : "\n");
    }
    text = b.toString().getBytes(StandardCharsets.UTF_8);
    gzText = gzip(text);
    Path seedDir = Files.createDirectories(tmp.resolve("seed"));
    Files.write(seedDir.resolve("train.txt"), text);
    Files.write(seedDir.resolve("valid.txt"), Arrays.copyOf(text, text.length / 3));
    Files.write(seedDir.resolve("test.txt"), Arrays.copyOfRange(text, text.length / 3, text.length));
    Corpus c = Corpus.load(seedDir.toString(), 1, 0);
    vocab = c.vocab();
    Path v = seedDir.resolve("vocab.txt");
    vocab.save(v);
    vocabBytes = Files.readAllBytes(v);
    int V = vocab.size();
    full = run(seedDir.resolve("full"), new ModelConfig(V, 8, 8, 1, 0f, true, "embedding", 0.1f, HeadSpec.full()));
    adaptive = run(seedDir.resolve("adaptive"), new ModelConfig(V, 8, 8, 2, 0.1f, true, "adaptive", 0.1f,
        new AdaptiveSoftmax.Spec(new int[] {4, 12}, 2.0, false)));
  }

  static Run run(Path dir, ModelConfig cfg) throws IOException {
    Files.createDirectories(dir);
    LanguageModel m = new LanguageModel(cfg, vocab.counts(), new Rng(1));
    Checkpoint.saveSetup(dir, cfg, vocab, Map.of("data", dir.toString()));
    Checkpoint.saveTensors(dir.resolve(Checkpoint.MODEL), Checkpoint.tensors(m), Map.of("lmhead.epoch", "1"));
    var t = Checkpoint.tensors(m);
    t.put("optimizer.sum.0", dev.lmhead.tensor.Safetensors.Tensor.of(new float[] {1, 2, 3}, 3));
    Checkpoint.saveTensors(dir.resolve(Checkpoint.LAST), t, Map.of("lmhead.trainer", "{\"epoch\":1,\"position\":0}"));
    return new Run(Files.readAllBytes(dir.resolve(Checkpoint.CONFIG)), Files.readAllBytes(dir.resolve(Checkpoint.VOCAB)),
        Files.readAllBytes(dir.resolve(Checkpoint.MODEL)), Files.readAllBytes(dir.resolve(Checkpoint.LAST)));
  }

  static byte[] gzip(byte[] b) throws IOException {
    var o = new ByteArrayOutputStream();
    try (var z = new GZIPOutputStream(o)) { z.write(b); }
    return o.toByteArray();
  }

  // ---------------- mutations ----------------

  static final byte[] INTERESTING = {0, (byte) 0xff, (byte) 0x80, (byte) 0xc0, (byte) 0xed, '\n', '\r', '\t', ' ', '"', '{', '[', ',', ':', '-', '9', '0'};
  static final String[] HUGE = {"99999999999999999999", "9223372036854775807", "-9223372036854775808", "2147483647",
      "2147483648", "4294967296", "-1", "0", "1e308", "-0", "1.5", "NaN", "1099511627776", "268435456"};

  /** One random mutation of {@code seed} (sometimes several); {@code others} are splice partners. */
  static byte[] mutate(byte[] seed, Rng r, byte[]... others) {
    int op = r.nextInt(12);
    if (op == 11) { // several at once
      byte[] b = seed;
      for (int k = 2 + r.nextInt(3); k > 0; k--) b = mutateOnce(b, r, r.nextInt(11), others);
      return b;
    }
    return mutateOnce(seed, r, op, others);
  }

  static byte[] mutateOnce(byte[] s, Rng r, int op, byte[][] others) {
    int n = s.length;
    switch (op) {
      case 0 -> { // bit flips
        byte[] b = s.clone();
        for (int k = 1 + r.nextInt(8); k > 0 && n > 0; k--) b[r.nextInt(n)] ^= (byte) (1 << r.nextInt(8));
        return b;
      }
      case 1 -> { // interesting bytes
        byte[] b = s.clone();
        for (int k = 1 + r.nextInt(4); k > 0 && n > 0; k--) b[r.nextInt(n)] = INTERESTING[r.nextInt(INTERESTING.length)];
        return b;
      }
      case 2 -> { return Arrays.copyOf(s, n == 0 ? 0 : r.nextInt(n)); } // truncation
      case 3 -> { // insertion of random bytes
        int at = r.nextInt(n + 1), len = 1 + r.nextInt(64);
        byte[] ins = new byte[len];
        for (int i = 0; i < len; i++) ins[i] = (byte) r.nextInt(256);
        return concat(Arrays.copyOf(s, at), ins, Arrays.copyOfRange(s, at, n));
      }
      case 4 -> { // deletion of a range
        if (n == 0) return s;
        int from = r.nextInt(n), to = Math.min(n, from + 1 + r.nextInt(Math.max(1, n / 4)));
        return concat(Arrays.copyOf(s, from), Arrays.copyOfRange(s, to, n));
      }
      case 5 -> { // a chunk copied elsewhere
        if (n == 0) return s;
        int from = r.nextInt(n), len = 1 + r.nextInt(Math.min(n - from, 256)), at = r.nextInt(n + 1);
        return concat(Arrays.copyOf(s, at), Arrays.copyOfRange(s, from, from + len), Arrays.copyOfRange(s, at, n));
      }
      case 6 -> { // splice with another valid file
        byte[] o = others.length == 0 ? s : others[r.nextInt(others.length)];
        int a = r.nextInt(n + 1), b = r.nextInt(o.length + 1);
        return concat(Arrays.copyOf(s, a), Arrays.copyOfRange(o, b, o.length));
      }
      case 7 -> { // a number replaced by a huge, negative or odd one
        List<int[]> runs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          if (s[i] >= '0' && s[i] <= '9') {
            int j = i;
            while (j < n && s[j] >= '0' && s[j] <= '9') j++;
            runs.add(new int[] {i, j});
            i = j;
          }
        }
        if (runs.isEmpty()) return s;
        int[] run = runs.get(r.nextInt(runs.size()));
        byte[] h = HUGE[r.nextInt(HUGE.length)].getBytes(StandardCharsets.US_ASCII);
        return concat(Arrays.copyOf(s, run[0]), h, Arrays.copyOfRange(s, run[1], n));
      }
      case 8 -> { // safetensors: the 8-byte header length
        if (n < 8) return s;
        long[] v = {0, 1, 2, 7, n, n - 7, n - 8, 1L << 31, 1L << 40, Long.MAX_VALUE, -1, r.nextLong()};
        byte[] b = s.clone();
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, v[r.nextInt(v.length)]);
        return b;
      }
      case 9 -> { // noise
        byte[] b = new byte[r.nextInt(600)];
        for (int i = 0; i < b.length; i++) b[i] = (byte) r.nextInt(256);
        return b;
      }
      default -> { // a whole line or region repeated
        if (n == 0) return s;
        int from = r.nextInt(n), len = 1 + r.nextInt(Math.min(n - from, 64));
        byte[] chunk = Arrays.copyOfRange(s, from, from + len);
        byte[][] parts = new byte[2 + r.nextInt(20)][];
        parts[0] = Arrays.copyOf(s, from);
        for (int i = 1; i < parts.length - 1; i++) parts[i] = chunk;
        parts[parts.length - 1] = Arrays.copyOfRange(s, from, n);
        return concat(parts);
      }
    }
  }

  static byte[] concat(byte[]... parts) {
    int len = 0;
    for (byte[] p : parts) len += p.length;
    byte[] out = new byte[len];
    int at = 0;
    for (byte[] p : parts) { System.arraycopy(p, 0, out, at, p.length); at += p.length; }
    return out;
  }

  // ---------------- the harness ----------------

  @FunctionalInterface interface Body { void run() throws Exception; }

  /**
   * Runs one case: it must finish within {@link #CASE_TIMEOUT} and either return or throw a UserError
   * whose one-line message contains {@code named}. On failure the inputs are saved for reproduction.
   */
  static void check(String target, int i, Path caseDir, String named, Body body) {
    try {
      assertTimeoutPreemptively(CASE_TIMEOUT, () -> {
        try {
          body.run();
        } catch (UserError e) {
          String m = e.getMessage();
          if (m == null || m.isBlank() || m.contains("\n") || !m.contains(named)) {
            throw new AssertionError("bad UserError message: " + m + " (should be one line naming " + named + ")");
          }
        } catch (Throwable t) {
          throw new AssertionError(t.toString(), t);
        }
      });
    } catch (AssertionError e) {
      Path keep = Path.of("target", "fuzz-failures", target + "-" + SEED + "-" + i).toAbsolutePath();
      try {
        Files.createDirectories(keep.getParent());
        copyTree(caseDir, keep);
      } catch (IOException ignored) {
        // keeping the input is best effort
      }
      throw new AssertionError(target + " case " + i + " (seed " + SEED + ", input kept in " + keep + "): " + e.getMessage(), e);
    } finally {
      deleteTree(caseDir);
    }
  }

  static void copyTree(Path from, Path to) throws IOException {
    try (var s = Files.walk(from)) {
      for (Path p : s.toList()) {
        Path t = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) Files.createDirectories(t); else Files.copy(p, t, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }

  static void deleteTree(Path d) {
    try (var s = Files.walk(d)) {
      for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
    } catch (IOException ignored) {
      // temp folder; JUnit removes what is left
    }
  }

  static Path caseDir(String target, int i) throws IOException {
    return Files.createDirectories(tmp.resolve(target + "-" + i));
  }

  // ---------------- the loaders ----------------

  @Test
  void corpusEncode() throws Exception {
    Rng r = new Rng(SEED);
    for (int i = 0; i < CASES; i++) {
      Path d = caseDir("encode", i);
      boolean gz = r.nextInt(3) == 0;
      byte[] in = gz ? (r.nextInt(2) == 0 ? mutate(gzText, r, text) : gzip(mutate(text, r, vocabBytes))) : mutate(text, r, vocabBytes, gzText);
      Path f = d.resolve(gz ? "split.txt.gz" : "split.txt");
      Files.write(f, in);
      check("encode", i, d, f.toString(), () -> Corpus.encode(f, vocab));
    }
  }

  @Test
  void corpusLoad() throws Exception {
    Rng r = new Rng(SEED + 1);
    String[] names = {"train.txt", "valid.txt", "test.txt"};
    for (int i = 0; i < CASES; i++) {
      Path d = caseDir("corpus", i);
      for (String n : names) Files.write(d.resolve(n), text);
      String victim = names[r.nextInt(3)];
      if (r.nextInt(4) == 0) {
        Files.delete(d.resolve(victim));
        Files.write(d.resolve(victim + ".gz"), mutate(gzText, r, text));
      } else {
        Files.write(d.resolve(victim), mutate(text, r, vocabBytes, gzText, full.config()));
      }
      int minCount = r.nextInt(3), maxSize = r.nextInt(4) == 0 ? 2 + r.nextInt(10) : 0;
      check("corpus", i, d, d.toString(), () -> Corpus.load(d.toString(), minCount, maxSize));
    }
  }

  @Test
  void vocabularyLoad() throws Exception {
    Rng r = new Rng(SEED + 2);
    for (int i = 0; i < CASES; i++) {
      Path d = caseDir("vocab", i);
      Path f = d.resolve("vocab.txt");
      Files.write(f, mutate(vocabBytes, r, text, full.config()));
      check("vocab", i, d, f.toString(), () -> Vocabulary.load(f));
    }
  }

  @Test
  void checkpointLoadTensors() throws Exception {
    Rng r = new Rng(SEED + 3);
    for (int i = 0; i < CASES; i++) {
      Path d = caseDir("tensors", i);
      Path f = d.resolve("model.safetensors");
      byte[] seed = switch (r.nextInt(3)) { case 0 -> full.model(); case 1 -> adaptive.model(); default -> full.last(); };
      Files.write(f, mutate(seed, r, full.model(), adaptive.last(), full.config()));
      check("tensors", i, d, f.toString(), () -> Checkpoint.loadTensors(f));
    }
  }

  @Test
  void checkpointLoad() throws Exception {
    Rng r = new Rng(SEED + 4);
    for (int i = 0; i < CASES; i++) {
      Path d = caseDir("checkpoint", i);
      // valid files of either run, mixed: a config of one head over the weights of the other is a case too
      Run a = r.nextInt(2) == 0 ? full : adaptive, b = r.nextInt(4) == 0 ? (a == full ? adaptive : full) : a;
      byte[] config = a.config(), vocabFile = a.vocab(), model = b.model();
      switch (r.nextInt(3)) {
        case 0 -> config = mutate(config, r, b.config(), vocabFile);
        case 1 -> vocabFile = mutate(vocabFile, r, text, config);
        default -> model = mutate(model, r, a.model(), a.last(), config);
      }
      Files.write(d.resolve(Checkpoint.CONFIG), config);
      Files.write(d.resolve(Checkpoint.VOCAB), vocabFile);
      Files.write(d.resolve(Checkpoint.MODEL), model);
      check("checkpoint", i, d, d.toString(), () -> Checkpoint.load(d, Checkpoint.MODEL));
    }
  }
}
