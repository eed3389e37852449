package dev.lmhead.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.model.Checkpoint;
import dev.lmhead.tensor.Rng;
import dev.lmhead.tensor.Safetensors;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Malformed input end to end through the CLI: every case must exit with code 2 and print exactly one
 * line on stderr, {@code lmhead: error: ...}, that names the file, line or flag at fault, and no stack
 * trace (which {@code --verbose} adds). Tiny corpora and models (--emb 8 --hidden 8 --layers 1) in a
 * temporary folder keep the whole class fast.
 */
class BadInputTest {
  @TempDir static Path tmp;
  static Path corpus, fullRun, adaptiveRun, wideRun;
  static int caseNo;

  record Run(int code, String out, String err) {}

  /**
   * Runs the CLI in-process. picocli's writers and System.out/err are all captured, so a trace printed
   * anywhere would be seen; both error streams are returned together as {@code err}.
   */
  static synchronized Run run(String... args) {
    StringWriter out = new StringWriter(), err = new StringWriter();
    ByteArrayOutputStream sysOut = new ByteArrayOutputStream(), sysErr = new ByteArrayOutputStream();
    PrintStream oldOut = System.out, oldErr = System.err;
    int code;
    try {
      System.setOut(new PrintStream(sysOut, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(sysErr, true, StandardCharsets.UTF_8));
      code = Main.execute(new PrintWriter(out), new PrintWriter(err), args);
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
    return new Run(code, out + sysOut.toString(StandardCharsets.UTF_8), err + sysErr.toString(StandardCharsets.UTF_8));
  }

  static final String[] TINY = {"--emb", "8", "--hidden", "8", "--layers", "1", "--bptt", "5", "--batch", "2",
      "--epochs", "1", "--max-tokens", "120", "--save-every", "0", "--quiet", "--dropout", "0"};

  static String[] train(Path data, Path outDir, String... extra) {
    List<String> a = new ArrayList<>(List.of("train", "--data", data.toString(), "--output", outDir.toString()));
    List<String> given = List.of(extra);
    for (int i = 0; i < TINY.length; i++) {
      boolean flag = TINY[i].startsWith("--");
      boolean hasValue = flag && i + 1 < TINY.length && !TINY[i + 1].startsWith("--");
      if (!given.contains(TINY[i])) {
        a.add(TINY[i]);
        if (hasValue) a.add(TINY[i + 1]);
      }
      if (hasValue) i++;
    }
    a.addAll(given);
    return a.toArray(new String[0]);
  }

  /** A synthetic corpus: Zipf-ish words w0..w39, 60 train lines, 10 valid and 10 test lines. */
  static Path writeCorpus(Path dir) throws IOException {
    Files.createDirectories(dir);
    Rng rng = new Rng(7);
    for (String split : new String[] {"train", "valid", "test"}) {
      StringBuilder b = new StringBuilder();
      int lines = split.equals("train") ? 60 : 10;
      for (int l = 0; l < lines; l++) {
        int n = 3 + rng.nextInt(8);
        for (int i = 0; i < n; i++) {
          double u = rng.nextDouble();
          b.append(i == 0 ? "" : " ").append("w").append((int) (40 * u * u));
        }
        b.append('\n');
      }
      Files.writeString(dir.resolve(split + ".txt"), b.toString());
    }
    return dir;
  }

  @BeforeAll
  static void setUp() throws Exception {
    corpus = writeCorpus(tmp.resolve("corpus"));
    fullRun = tmp.resolve("full");
    adaptiveRun = tmp.resolve("adaptive");
    wideRun = tmp.resolve("wide");
    for (var r : List.of(run(train(corpus, fullRun)),
        run(train(corpus, adaptiveRun, "--head", "adaptive", "--no-tied", "--div-value", "2")),
        run(train(corpus, wideRun, "--emb", "12", "--hidden", "12")))) {
      assertEquals(0, r.code(), r.err() + r.out());
    }
    assertTrue(Files.exists(fullRun.resolve(Checkpoint.MODEL)) && Files.exists(fullRun.resolve(Checkpoint.LAST)));
  }

  // ---------------- helpers that build broken inputs ----------------

  static Path fresh() throws IOException {
    return Files.createDirectories(tmp.resolve("case" + (++caseNo)));
  }

  /** A copy of the good corpus whose split file {@code name} has the given bytes ({@code null}: removed). */
  static Path corpusWith(String name, byte[] bytes) throws IOException {
    Path d = writeCorpus(fresh().resolve("data"));
    Files.delete(d.resolve(name.replace(".gz", "")));
    if (bytes != null) Files.write(d.resolve(name), bytes);
    return d;
  }

  /** A copy of a run folder (config, vocabulary, checkpoints). */
  static Path copyRun(Path run) throws IOException {
    Path d = fresh().resolve("run");
    Files.createDirectories(d);
    try (var s = Files.list(run)) {
      for (Path f : s.toList()) if (Files.isRegularFile(f)) Files.copy(f, d.resolve(f.getFileName()));
    }
    return d;
  }

  static String[] eval(Path model, String... extra) {
    List<String> a = new ArrayList<>(List.of("eval", "--model", model.toString()));
    a.addAll(List.of(extra));
    return a.toArray(new String[0]);
  }

  static byte[] utf8(String s) { return s.getBytes(StandardCharsets.UTF_8); }

  static byte[] safetensorsWithHeader(String header) {
    byte[] h = utf8(header);
    return ByteBuffer.allocate(8 + h.length).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h).array();
  }

  static void edit(Path file, java.util.function.UnaryOperator<String> f) throws IOException {
    Files.writeString(file, f.apply(Files.readString(file)));
  }

  // ---------------- the cases ----------------

  @FunctionalInterface interface Args { String[] get() throws Exception; }

  /** One malformed input: how to build the command line, and what the error line must name. */
  record Case(String name, Args args, String... names) {}

  static List<Case> cases() {
    List<Case> c = new ArrayList<>();
    // corpus folders and files
    c.add(new Case("missing corpus folder", () -> train(tmp.resolve("no-such-corpus"), fresh()), "no-such-corpus"));
    c.add(new Case("corpus is a file", () -> train(corpus.resolve("train.txt"), fresh()), "train.txt", "folder"));
    c.add(new Case("folder without valid/test", () -> {
      Path d = fresh().resolve("only-train");
      Files.createDirectories(d);
      Files.copy(corpus.resolve("train.txt"), d.resolve("train.txt"));
      return train(d, fresh());
    }, "only-train", "valid", "test"));
    c.add(new Case("folder without any split", () -> train(fresh(), fresh()), "train", "valid", "test"));
    c.add(new Case("empty train file", () -> train(corpusWith("train.txt", new byte[0]), fresh()), "train.txt", "no tokens"));
    c.add(new Case("train file of empty lines only", () -> train(corpusWith("train.txt", utf8("\n\n\r\n\n")), fresh()), "train.txt", "no tokens"));
    c.add(new Case("train file of blanks only", () -> train(corpusWith("train.txt", utf8("  \t \n \u3000 \n")), fresh()), "train.txt", "no tokens"));
    c.add(new Case("invalid UTF-8 on line 3", () -> {
      byte[] b = utf8("a b\nc d\ne \u00e9 f\n");
      b[b.length - 4] = (byte) 0xC3; // é is C3 A9: make it C3 C3 (a lead byte without continuation)
      b[b.length - 3] = (byte) 0xC3;
      return train(corpusWith("train.txt", b), fresh());
    }, "train.txt:3", "UTF-8"));
    c.add(new Case("binary valid file", () -> {
      byte[] b = new byte[4096];
      new java.util.Random(1).nextBytes(b);
      b[0] = 'x';
      b[1] = 0;
      return train(corpusWith("valid.txt", b), fresh());
    }, "valid.txt:1"));
    c.add(new Case("train file is a directory", () -> {
      Path d = corpusWith("train.txt", null);
      Files.createDirectories(d.resolve("train.txt"));
      return train(d, fresh());
    }, "train.txt", "directory"));
    c.add(new Case("train file is a dangling symlink", () -> {
      Path d = corpusWith("train.txt", null);
      Files.createSymbolicLink(d.resolve("train.txt"), d.resolve("gone.txt"));
      return train(d, fresh());
    }, "train"));
    c.add(new Case("corrupt gzip train file", () -> {
      var bo = new ByteArrayOutputStream();
      try (var z = new java.util.zip.GZIPOutputStream(bo)) { z.write(Files.readAllBytes(corpus.resolve("train.txt"))); }
      byte[] b = bo.toByteArray();
      for (int i = 20; i < 40; i++) b[i] ^= 0x5A;
      return train(corpusWith("train.txt.gz", b), fresh());
    }, "train.txt.gz", "gzip"));
    c.add(new Case("truncated gzip test file", () -> {
      var bo = new ByteArrayOutputStream();
      try (var z = new java.util.zip.GZIPOutputStream(bo)) { z.write(Files.readAllBytes(corpus.resolve("test.txt"))); }
      byte[] b = bo.toByteArray();
      return train(corpusWith("test.txt.gz", Arrays.copyOf(b, b.length / 2)), fresh());
    }, "test.txt.gz"));
    c.add(new Case("empty test file", () -> train(corpusWith("test.txt", new byte[0]), fresh()), "test.txt", "no tokens"));
    if (!"root".equals(System.getProperty("user.name"))) {
      c.add(new Case("unreadable train file", () -> {
        Path d = writeCorpus(fresh().resolve("data"));
        d.resolve("train.txt").toFile().setReadable(false, false);
        return train(d, fresh());
      }, "train.txt"));
    }
    // sizes and flags
    c.add(new Case("--emb 0", () -> train(corpus, fresh(), "--emb", "0", "--no-tied"), "--emb"));
    c.add(new Case("--hidden -3", () -> train(corpus, fresh(), "--hidden", "-3", "--no-tied"), "--hidden"));
    c.add(new Case("--layers 0", () -> train(corpus, fresh(), "--layers", "0"), "--layers"));
    c.add(new Case("--bptt 0", () -> train(corpus, fresh(), "--bptt", "0"), "--bptt"));
    c.add(new Case("--batch 0", () -> train(corpus, fresh(), "--batch", "0"), "--batch"));
    c.add(new Case("--epochs 0", () -> train(corpus, fresh(), "--epochs", "0"), "--epochs"));
    c.add(new Case("--lr 0", () -> train(corpus, fresh(), "--lr", "0"), "--lr"));
    c.add(new Case("--lr NaN", () -> train(corpus, fresh(), "--lr", "NaN"), "--lr"));
    c.add(new Case("--clip -1", () -> train(corpus, fresh(), "--clip", "-1"), "--clip"));
    c.add(new Case("--dropout 1", () -> train(corpus, fresh(), "--dropout", "1"), "--dropout"));
    c.add(new Case("--init-range 0", () -> train(corpus, fresh(), "--init-range", "0"), "--init-range"));
    c.add(new Case("--lstm-init-range -1", () -> train(corpus, fresh(), "--lstm-init-range", "-1"), "--lstm-init-range"));
    c.add(new Case("--emb not a number", () -> train(corpus, fresh(), "--emb", "eight"), "--emb", "eight"));
    c.add(new Case("unknown flag", () -> train(corpus, fresh(), "--embedding-size", "8"), "--embedding-size"));
    c.add(new Case("unknown head", () -> train(corpus, fresh(), "--head", "softmax2"), "--head", "softmax2"));
    c.add(new Case("unknown input layer", () -> train(corpus, fresh(), "--input", "onehot"), "--input", "onehot"));
    c.add(new Case("unsorted cutoffs", () -> train(corpus, fresh(), "--head", "adaptive", "--no-tied", "--cutoffs", "20,10"), "--cutoffs"));
    c.add(new Case("duplicated cutoffs", () -> train(corpus, fresh(), "--head", "adaptive", "--no-tied", "--cutoffs", "10,10"), "--cutoffs"));
    c.add(new Case("cutoff >= V", () -> train(corpus, fresh(), "--head", "adaptive", "--no-tied", "--cutoffs", "10,100000"), "--cutoffs", "100000"));
    c.add(new Case("cutoff 0", () -> train(corpus, fresh(), "--head", "adaptive", "--no-tied", "--cutoffs", "0,10"), "--cutoffs"));
    c.add(new Case("--div-value 0", () -> train(corpus, fresh(), "--head", "adaptive", "--no-tied", "--div-value", "0"), "--div-value"));
    c.add(new Case("--div-value -2", () -> train(corpus, fresh(), "--head", "adaptive", "--no-tied", "--div-value", "-2"), "--div-value"));
    c.add(new Case("--experts 0", () -> train(corpus, fresh(), "--head", "mos", "--experts", "0"), "--experts"));
    c.add(new Case("--mos-dim -1", () -> train(corpus, fresh(), "--head", "mos", "--mos-dim", "-1"), "--mos-dim"));
    c.add(new Case("--mos-base unknown", () -> train(corpus, fresh(), "--head", "mos", "--mos-base", "hsm"), "--mos-base"));
    c.add(new Case("--tied with --mos-base adaptive", () -> train(corpus, fresh(), "--head", "mos", "--mos-base", "adaptive", "--tied"), "--tied", "--mos-base adaptive"));
    c.add(new Case("--input adaptive --tied with a full head", () -> train(corpus, fresh(), "--input", "adaptive", "--tied", "--head", "full"), "--input adaptive", "--tied"));
    c.add(new Case("--tied with emb != hidden", () -> train(corpus, fresh(), "--tied", "--emb", "8", "--hidden", "16"), "--tied", "--emb"));
    c.add(new Case("huge --hidden overflows a tensor", () -> train(corpus, fresh(), "--hidden", "40000", "--emb", "40000"), "--hidden"));
    c.add(new Case("--time-budget garbage", () -> train(corpus, fresh(), "--time-budget", "5x"), "--time-budget", "5x"));
    c.add(new Case("--save-every negative", () -> train(corpus, fresh(), "--save-every", "-1"), "--save-every"));
    c.add(new Case("--threads 0", () -> train(corpus, fresh(), "--threads", "0"), "--threads"));
    c.add(new Case("--blas unknown", () -> train(corpus, fresh(), "--blas", "cuda"), "--blas", "cuda"));
    c.add(new Case("--optimizer unknown", () -> train(corpus, fresh(), "--optimizer", "rmsprop"), "--optimizer", "rmsprop"));
    c.add(new Case("--lr-schedule unknown", () -> train(corpus, fresh(), "--lr-schedule", "cosine"), "--lr-schedule"));
    c.add(new Case("--lr-decay 0", () -> train(corpus, fresh(), "--lr-decay", "0"), "--lr-decay"));
    c.add(new Case("--lr-decay 4 (would raise the lr)", () -> train(corpus, fresh(), "--lr-decay", "4"), "--lr-decay", "0.25"));
    c.add(new Case("--lr-schedule epoch --lr-decay 2", () -> train(corpus, fresh(), "--lr-schedule", "epoch", "--lr-decay", "2"), "--lr-decay"));
    c.add(new Case("--min-count 0", () -> train(corpus, fresh(), "--min-count", "0"), "--min-count"));
    c.add(new Case("--max-vocab 1", () -> train(corpus, fresh(), "--max-vocab", "1"), "--max-vocab"));
    c.add(new Case("--eval-batch 0", () -> train(corpus, fresh(), "--eval-batch", "0"), "--eval-batch"));
    c.add(new Case("--log-interval 0", () -> train(corpus, fresh(), "--log-interval", "0"), "--log-interval"));
    c.add(new Case("--max-tokens -5", () -> train(corpus, fresh(), "--max-tokens", "-5"), "--max-tokens"));
    c.add(new Case("--output is a file", () -> {
      Path f = fresh().resolve("a-file");
      Files.writeString(f, "x");
      return train(corpus, f);
    }, "a-file"));
    // runs and resume
    c.add(new Case("--resume with nothing to resume", () -> train(corpus, fresh().resolve("new-run"), "--resume"), "--resume", "new-run"));
    c.add(new Case("--resume in a folder without a last checkpoint", () -> {
      Path d = copyRun(fullRun);
      Files.delete(d.resolve(Checkpoint.LAST));
      return train(corpus, d, "--resume");
    }, "--resume", Checkpoint.LAST));
    c.add(new Case("--resume with a corrupt last checkpoint", () -> {
      Path d = copyRun(fullRun);
      Path f = d.resolve(Checkpoint.LAST);
      byte[] b = Files.readAllBytes(f);
      b[b.length - 5] ^= 1;
      Files.write(f, b);
      return train(corpus, d, "--resume");
    }, Checkpoint.LAST, "checksum"));
    c.add(new Case("--resume with other flags", () -> train(corpus, copyRun(fullRun), "--resume", "--layers", "2"), Checkpoint.CONFIG, "--resume"));
    c.add(new Case("--resume with another optimizer", () -> train(corpus, copyRun(fullRun), "--resume", "--optimizer", "adam"), Checkpoint.LAST, "--optimizer"));
    c.add(new Case("output already holds a run", () -> train(corpus, copyRun(fullRun)), "--resume"));
    // model folders and checkpoints
    c.add(new Case("eval of a missing model folder", () -> eval(tmp.resolve("no-such-run")), "no-such-run"));
    c.add(new Case("eval --topk -1", () -> eval(fullRun, "--topk", "-1"), "--topk"));
    c.add(new Case("eval --topk beyond the vocabulary", () -> eval(fullRun, "--topk", "100000"), "--topk"));
    c.add(new Case("eval of a folder without config.json", () -> eval(fresh()), Checkpoint.CONFIG));
    c.add(new Case("config.json is not JSON", () -> {
      Path d = copyRun(fullRun);
      Files.writeString(d.resolve(Checkpoint.CONFIG), "{\"model\": [1, 2");
      return eval(d);
    }, Checkpoint.CONFIG));
    c.add(new Case("config.json is binary", () -> {
      Path d = copyRun(fullRun);
      Files.write(d.resolve(Checkpoint.CONFIG), new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1, 2});
      return eval(d);
    }, Checkpoint.CONFIG));
    c.add(new Case("config.json of another head", () -> {
      Path d = copyRun(fullRun);
      Files.copy(adaptiveRun.resolve(Checkpoint.CONFIG), d.resolve(Checkpoint.CONFIG), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      return eval(d);
    }, Checkpoint.MODEL));
    c.add(new Case("config.json with a negative size", () -> {
      Path d = copyRun(fullRun);
      edit(d.resolve(Checkpoint.CONFIG), s -> s.replace("\"layers\": 1", "\"layers\": -1"));
      return eval(d);
    }, Checkpoint.CONFIG, "layers"));
    c.add(new Case("config.json with an unknown head", () -> {
      Path d = copyRun(fullRun);
      edit(d.resolve(Checkpoint.CONFIG), s -> s.replace("\"type\": \"full\"", "\"type\": \"quantum\""));
      return eval(d);
    }, Checkpoint.CONFIG, "quantum"));
    c.add(new Case("config.json claiming a huge model (must not allocate)", () -> {
      Path d = copyRun(fullRun);
      edit(d.resolve(Checkpoint.CONFIG), s -> s.replace("\"emb\": 8", "\"emb\": 30000000").replace("\"hidden\": 8", "\"hidden\": 30000000"));
      return eval(d);
    }, Checkpoint.CONFIG));
    c.add(new Case("config.json claiming a big but valid model (must not allocate)", () -> {
      Path d = copyRun(fullRun);
      edit(d.resolve(Checkpoint.CONFIG), s -> s.replace("\"emb\": 8", "\"emb\": 16000").replace("\"hidden\": 8", "\"hidden\": 16000"));
      return eval(d);
    }, Checkpoint.MODEL));
    c.add(new Case("vocab.txt missing", () -> {
      Path d = copyRun(fullRun);
      Files.delete(d.resolve(Checkpoint.VOCAB));
      return eval(d);
    }, Checkpoint.VOCAB));
    c.add(new Case("vocab.txt with a duplicate word", () -> {
      Path d = copyRun(fullRun);
      List<String> lines = new ArrayList<>(Files.readAllLines(d.resolve(Checkpoint.VOCAB)));
      lines.set(4, lines.get(2));
      Files.write(d.resolve(Checkpoint.VOCAB), lines);
      return eval(d);
    }, Checkpoint.VOCAB + ":5", "duplicate"));
    c.add(new Case("vocab.txt of another corpus", () -> {
      Path d = copyRun(fullRun);
      Files.writeString(d.resolve(Checkpoint.VOCAB), "<eos>\t10\nthe\t5\n<unk>\t0\n");
      return eval(d);
    }, Checkpoint.VOCAB));
    c.add(new Case("vocab.txt without <unk>", () -> {
      Path d = copyRun(fullRun);
      edit(d.resolve(Checkpoint.VOCAB), s -> s.replace("<unk>\t", "<nuk>\t"));
      return eval(d);
    }, Checkpoint.VOCAB, "<unk>"));
    c.add(new Case("vocab.txt with invalid UTF-8", () -> {
      Path d = copyRun(fullRun);
      byte[] b = Files.readAllBytes(d.resolve(Checkpoint.VOCAB));
      b[0] = (byte) 0xC0;
      Files.write(d.resolve(Checkpoint.VOCAB), b);
      return eval(d);
    }, Checkpoint.VOCAB + ":1", "UTF-8"));
    c.add(new Case("vocab.txt with a bad count", () -> {
      Path d = copyRun(fullRun);
      edit(d.resolve(Checkpoint.VOCAB), s -> s.replaceFirst("\t\\d+\n", "\t-7\n"));
      return eval(d);
    }, Checkpoint.VOCAB + ":1", "count"));
    c.add(new Case("checkpoint missing", () -> {
      Path d = copyRun(fullRun);
      Files.delete(d.resolve(Checkpoint.MODEL));
      return eval(d);
    }, Checkpoint.MODEL));
    c.add(new Case("checkpoint empty", () -> {
      Path d = copyRun(fullRun);
      Files.write(d.resolve(Checkpoint.MODEL), new byte[0]);
      return eval(d);
    }, Checkpoint.MODEL));
    c.add(new Case("checkpoint truncated", () -> {
      Path d = copyRun(fullRun);
      byte[] b = Files.readAllBytes(d.resolve(Checkpoint.MODEL));
      Files.write(d.resolve(Checkpoint.MODEL), Arrays.copyOf(b, b.length * 2 / 3));
      return eval(d);
    }, Checkpoint.MODEL));
    c.add(new Case("checkpoint truncated inside its header", () -> {
      Path d = copyRun(fullRun);
      byte[] b = Files.readAllBytes(d.resolve(Checkpoint.MODEL));
      Files.write(d.resolve(Checkpoint.MODEL), Arrays.copyOf(b, 40));
      return eval(d);
    }, Checkpoint.MODEL));
    c.add(new Case("checkpoint with a wrong magic", () -> {
      Path d = copyRun(fullRun);
      Files.write(d.resolve(Checkpoint.MODEL), utf8("\u0089HDF\r\n\u001a\n not a safetensors file at all"));
      return eval(d);
    }, Checkpoint.MODEL));
    c.add(new Case("checkpoint with a flipped data bit", () -> {
      Path d = copyRun(fullRun);
      byte[] b = Files.readAllBytes(d.resolve(Checkpoint.MODEL));
      b[b.length - 17] ^= 0x04;
      Files.write(d.resolve(Checkpoint.MODEL), b);
      return eval(d);
    }, Checkpoint.MODEL, "checksum"));
    c.add(new Case("checkpoint header claiming a huge tensor", () -> {
      Path d = copyRun(fullRun);
      Files.write(d.resolve(Checkpoint.MODEL), safetensorsWithHeader(
          "{\"w\":{\"dtype\":\"F32\",\"shape\":[2000000000,2000000000],\"data_offsets\":[0,16000000000000000000]}}"));
      return eval(d);
    }, Checkpoint.MODEL));
    c.add(new Case("checkpoint header claiming a huge header", () -> {
      Path d = copyRun(fullRun);
      Files.write(d.resolve(Checkpoint.MODEL), ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(Long.MAX_VALUE / 3).array());
      return eval(d);
    }, Checkpoint.MODEL));
    c.add(new Case("checkpoint whose tensors alias one another", () -> {
      // 200 tensors all pointing at the same 4 MB: reading them would need 800 MB
      StringBuilder h = new StringBuilder("{");
      for (int i = 0; i < 200; i++) h.append(i == 0 ? "" : ",").append("\"t").append(i).append("\":{\"dtype\":\"F32\",\"shape\":[1048576],\"data_offsets\":[0,4194304]}");
      byte[] head = safetensorsWithHeader(h.append("}").toString());
      Path d = copyRun(fullRun);
      byte[] b = Arrays.copyOf(head, head.length + 4194304);
      Files.write(d.resolve(Checkpoint.MODEL), b);
      return eval(d);
    }, Checkpoint.MODEL, "overlap"));
    c.add(new Case("checkpoint with wrong shapes", () -> {
      Path d = copyRun(fullRun);
      Files.copy(wideRun.resolve(Checkpoint.MODEL), d.resolve(Checkpoint.MODEL), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      return eval(d);
    }, Checkpoint.MODEL, "shape"));
    c.add(new Case("checkpoint without a checksum (not lmhead's)", () -> {
      Path d = copyRun(fullRun);
      Safetensors.Contents s = Safetensors.read(d.resolve(Checkpoint.MODEL));
      Safetensors.write(d.resolve(Checkpoint.MODEL), s.tensors(), Map.of());
      return eval(d);
    }, Checkpoint.MODEL, "lmhead.crc32c"));
    c.add(new Case("checkpoint with non-finite weights", () -> {
      Path d = copyRun(fullRun);
      Safetensors.Contents s = Safetensors.read(d.resolve(Checkpoint.MODEL));
      Map<String, Safetensors.Tensor> t = new LinkedHashMap<>(s.tensors());
      var first = t.entrySet().iterator().next();
      float[] w = first.getValue().f32().clone();
      w[3] = Float.NaN;
      t.put(first.getKey(), Safetensors.Tensor.of(w, first.getValue().shape()));
      Checkpoint.saveTensors(d.resolve(Checkpoint.MODEL), t, s.metadata());
      return eval(d);
    }, Checkpoint.MODEL, "non-finite"));
    c.add(new Case("eval --checkpoint last without a last checkpoint", () -> {
      Path d = copyRun(fullRun);
      Files.delete(d.resolve(Checkpoint.LAST));
      return eval(d, "--checkpoint", "last");
    }, Checkpoint.LAST));
    c.add(new Case("eval --checkpoint unknown", () -> eval(fullRun, "--checkpoint", "newest"), "--checkpoint", "newest"));
    c.add(new Case("eval --split of a missing file", () -> eval(fullRun, "--split", tmp.resolve("nope.txt").toString()), "--split", "nope.txt"));
    c.add(new Case("eval --split of an empty file", () -> {
      Path f = fresh().resolve("empty.txt");
      Files.write(f, new byte[0]);
      return eval(fullRun, "--split", f.toString());
    }, "empty.txt"));
    c.add(new Case("eval --split of a binary file", () -> {
      Path f = fresh().resolve("blob.bin");
      Files.write(f, new byte[] {'a', ' ', 'b', '\n', 'c', 0, 0, 1});
      return eval(fullRun, "--split", f.toString());
    }, "blob.bin:2"));
    c.add(new Case("eval --split valid when the corpus has moved", () -> {
      Path d = copyRun(fullRun);
      edit(d.resolve(Checkpoint.CONFIG), s -> s.replace(corpus.toString().replace("\\", "\\\\"), tmp.resolve("moved").toString()));
      return eval(d, "--split", "valid");
    }, "moved"));
    c.add(new Case("eval --batch 0", () -> eval(fullRun, "--batch", "0"), "--batch"));
    c.add(new Case("eval --bptt 0", () -> eval(fullRun, "--bptt", "0"), "--bptt"));
    c.add(new Case("eval --batch larger than the split", () -> eval(fullRun, "--batch", "100000"), "--batch"));
    c.add(new Case("generate --temperature 0", () -> new String[] {"generate", "--model", fullRun.toString(), "--temperature", "0"}, "--temperature"));
    c.add(new Case("generate --top-k -1", () -> new String[] {"generate", "--model", fullRun.toString(), "--top-k", "-1"}, "--top-k"));
    c.add(new Case("generate --words -1", () -> new String[] {"generate", "--model", fullRun.toString(), "--words", "-1"}, "--words"));
    c.add(new Case("generate from a truncated checkpoint", () -> {
      Path d = copyRun(adaptiveRun);
      byte[] b = Files.readAllBytes(d.resolve(Checkpoint.MODEL));
      Files.write(d.resolve(Checkpoint.MODEL), Arrays.copyOf(b, b.length - 1));
      return new String[] {"generate", "--model", d.toString()};
    }, Checkpoint.MODEL));
    c.add(new Case("eval without --model", () -> new String[] {"eval"}, "--model"));
    return c;
  }

  @TestFactory
  Stream<DynamicTest> everyMalformedInputGivesOneErrorLineAndExitCode2() {
    List<Case> cs = cases();
    assertTrue(cs.size() >= 30, "only " + cs.size() + " cases");
    return cs.stream().map(k -> DynamicTest.dynamicTest(k.name(), () -> {
      String[] args = k.args().get();
      Run r = run(args);
      String ctx = k.name() + ": " + String.join(" ", args) + "\n--- stderr:\n" + r.err() + "--- stdout:\n" + r.out();
      assertEquals(2, r.code(), ctx);
      List<String> lines = r.err().lines().filter(l -> !l.isBlank()).toList();
      assertEquals(1, lines.size(), "expected one line on stderr\n" + ctx);
      String line = lines.get(0);
      assertTrue(line.startsWith("lmhead: error: "), ctx);
      assertFalse(line.contains("Exception") || r.out().contains("\tat ") || r.err().contains("\tat "), "stack trace or exception name\n" + ctx);
      for (String n : k.names()) assertTrue(line.contains(n), "error line does not name '" + n + "'\n" + ctx);
    }));
  }

  @Test
  void aDivergingRunRollsBackThenStopsWithOneError() throws Exception {
    Path d = fresh().resolve("diverge");
    Run r = run(train(corpus, d, "--lr", "1e30", "--clip", "0", "--max-tokens", "0", "--epochs", "3"));
    assertEquals(2, r.code(), r.err() + r.out());
    List<String> lines = r.err().lines().filter(l -> !l.isBlank()).toList();
    assertEquals(1, lines.size(), r.err());
    assertTrue(lines.get(0).startsWith("lmhead: error: training diverged: "), r.err());
    assertTrue(r.out().contains("rolled back to"), r.out());
    String metrics = Files.readString(d.resolve("metrics.jsonl"));
    assertTrue(metrics.contains("\"event\":\"rollback\""), metrics);
  }

  @Test
  void nonFinitePerplexitiesAreExplained() throws Exception {
    // a checkpoint with huge but finite output weights: exp(mean NLL) overflows; eval must say why.
    // Only the tied embedding/decoder weight is scaled (by 1e25): LSTM gates saturate, the logits are
    // ~1e25 and nothing inside float32 overflows, so every GEMM kernel gives the same verdict
    Path d = copyRun(wideRun);
    var c = Checkpoint.loadTensors(d.resolve(Checkpoint.MODEL));
    Map<String, dev.lmhead.tensor.Safetensors.Tensor> t = new java.util.LinkedHashMap<>(c.tensors());
    float[] w = t.get("encoder.weight").f32();
    for (int i = 0; i < w.length; i++) w[i] *= 1e25f;
    Map<String, String> meta = new java.util.LinkedHashMap<>(c.metadata());
    meta.remove("lmhead.crc32c");
    Checkpoint.saveTensors(d.resolve(Checkpoint.MODEL), t, meta);
    Run r = run(eval(d));
    assertEquals(2, r.code(), r.err() + r.out());
    List<String> lines = r.err().lines().filter(l -> !l.isBlank()).toList();
    assertEquals(1, lines.size(), r.err());
    assertTrue(lines.get(0).contains(d.resolve(Checkpoint.MODEL).toString()), r.err());
    assertTrue(lines.get(0).contains("ppl inf (mean NLL"), "the weights are finite: the explanation is an overflow\n" + r.err());
  }

  @Test
  void verboseAddsTheStackTrace() throws Exception {
    Path d = copyRun(fullRun);
    byte[] b = Files.readAllBytes(d.resolve(Checkpoint.MODEL));
    Files.write(d.resolve(Checkpoint.MODEL), Arrays.copyOf(b, b.length / 2));
    Run quiet = run(eval(d));
    Run verbose = run(eval(d, "--verbose"));
    assertEquals(2, verbose.code());
    String first = verbose.err().lines().findFirst().orElse("");
    assertEquals(quiet.err().strip(), first, verbose.err());
    assertTrue(verbose.err().contains("\tat dev.lmhead."), verbose.err());
    assertTrue(verbose.err().lines().count() > 3, verbose.err());
  }
}
