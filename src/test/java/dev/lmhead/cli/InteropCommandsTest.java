package dev.lmhead.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lmhead import | export | score} end to end, and their bad inputs (one line, exit 2). */
class InteropCommandsTest {
  @TempDir static Path tmp;
  static Path res, full, adaptive;

  @BeforeAll
  static void importFixtures() throws Exception {
    res = Path.of(InteropCommandsTest.class.getResource("/interop/vocab.txt").toURI()).getParent();
    full = tmp.resolve("full");
    adaptive = tmp.resolve("adaptive");
    var a = BadInputTest.run("import", "--from", "pytorch", "--state-dict", res.resolve("untied.pt").toString(),
        "--vocab", res.resolve("vocab.txt").toString(), "-o", full.toString());
    assertEquals(0, a.code(), a.err());
    assertTrue(a.out().contains("full softmax decoder"), a.out());
    var b = BadInputTest.run("import", "--from", "pytorch", "--state-dict", res.resolve("adaptive.safetensors").toString(),
        "--vocab", res.resolve("vocab.txt").toString(), "-o", adaptive.toString(), "--head", "adaptive");
    assertEquals(0, b.code(), b.err());
    assertTrue(b.out().contains("cutoffs [20, 50], div_value 2.0, head_bias true"), b.out());
  }

  @Test
  void scoreTextJsonAndPerToken() throws Exception {
    Path in = Files.writeString(tmp.resolve("in.txt"), "the company said\n\nzzz the\n");
    var r = BadInputTest.run("score", "--model", full.toString(), in.toString());
    assertEquals(0, r.code(), r.err());
    List<String> lines = r.out().lines().toList();
    assertEquals(3, lines.size(), r.out());
    String[] f = lines.get(2).split("\t");
    assertEquals(5, f.length);
    assertEquals(Double.parseDouble(f[1]) / Math.log(10), Double.parseDouble(f[0]), 1e-5);
    assertEquals("3", f[2]);
    assertEquals("1", f[3]);
    assertTrue(r.err().contains("scored 3 lines, 8 tokens (1 OOV)"), r.err());
    var j = BadInputTest.run("score", "--model", full.toString(), in.toString(), "--json", "--per-token");
    assertEquals(0, j.code(), j.err());
    JsonObject o = JsonParser.parseString(j.out().lines().toList().get(2)).getAsJsonObject();
    assertEquals(3, o.get("tokens").getAsInt());
    assertEquals(Double.parseDouble(f[1]), o.get("logprob").getAsDouble(), 1e-5);
    var toks = o.getAsJsonArray("per_token");
    assertEquals("zzz", toks.get(0).getAsJsonObject().get("word").getAsString());
    assertTrue(toks.get(0).getAsJsonObject().get("oov").getAsBoolean());
    assertEquals("<eos>", toks.get(2).getAsJsonObject().get("word").getAsString());
    var t = BadInputTest.run("score", "--model", full.toString(), in.toString(), "--per-token");
    assertTrue(t.out().lines().toList().get(2).endsWith("<eos>=" + String.format(java.util.Locale.ROOT, "%.4f", toks.get(2).getAsJsonObject().get("logprob").getAsDouble())), t.out());
    // the summary line is JSON with --json
    String last = j.err().lines().filter(s -> s.startsWith("{")).reduce((x, y) -> y).orElseThrow();
    assertEquals(8, JsonParser.parseString(last).getAsJsonObject().get("tokens").getAsInt());
  }

  @Test
  void scoreReadsStdin() throws Exception {
    var old = System.in;
    try {
      System.setIn(new java.io.ByteArrayInputStream("the company\nsaid\n".getBytes()));
      var r = BadInputTest.run("score", "--model", adaptive.toString());
      assertEquals(0, r.code(), r.err());
      assertEquals(2, r.out().lines().count());
    } finally {
      System.setIn(old);
    }
  }

  @Test
  void nbestRerankedByTotalLogProb() throws Exception {
    Path in = Files.writeString(tmp.resolve("nbest.txt"), "the the the the the\nthe company said\nsaid\n\n\nit is\nzzz yyy xxx\n");
    var r = BadInputTest.run("score", "--model", adaptive.toString(), in.toString(), "--nbest");
    assertEquals(0, r.code(), r.err());
    String[] groups = r.out().split("\n\n");
    assertEquals(2, groups.length, r.out());
    for (String g : groups) {
      List<String> c = g.lines().toList();
      for (int i = 1; i < c.size(); i++) {
        assertTrue(Double.parseDouble(c.get(i - 1).split("\t")[1]) >= Double.parseDouble(c.get(i).split("\t")[1]), g);
      }
    }
    assertEquals(3, groups[0].lines().count());
    assertTrue(r.err().contains("in 2 groups"), r.err());
    var j = BadInputTest.run("score", "--model", adaptive.toString(), in.toString(), "--nbest", "--json");
    assertEquals(2, j.out().lines().count(), j.out());
  }

  @Test
  void exportThenImportGivesTheSameScores() throws Exception {
    Path out = tmp.resolve("exp/model.safetensors");
    var e = BadInputTest.run("export", "--model", adaptive.toString(), "--to", "pytorch", "-o", out.toString());
    assertEquals(0, e.code(), e.err());
    assertTrue(e.out().contains("nn.AdaptiveLogSoftmaxWithLoss(12, 81, cutoffs=[20, 50], div_value=2.0, head_bias=True)"), e.out());
    Path vocab = tmp.resolve("exp/model.vocab.txt");
    assertEquals(Files.readString(res.resolve("vocab.txt")), Files.readString(vocab));
    Path back = tmp.resolve("back");
    var i = BadInputTest.run("import", "--from", "pytorch", "--state-dict", out.toString(), "--vocab", vocab.toString(), "-o", back.toString());
    assertEquals(0, i.code(), i.err());
    Path in = res.resolve("sentences.txt");
    assertEquals(BadInputTest.run("score", "--model", adaptive.toString(), in.toString()).out(),
        BadInputTest.run("score", "--model", back.toString(), in.toString()).out());
  }

  static void oneLineError(BadInputTest.Run r, String... fragments) {
    assertEquals(2, r.code(), r.out() + r.err());
    String err = r.err().strip();
    assertTrue(err.startsWith("lmhead: error: "), err);
    assertFalse(err.contains("\n"), err);
    assertFalse(err.contains("Exception"), err);
    for (String f : fragments) assertTrue(err.contains(f), err);
  }

  @Test
  void badInputIsOneLine() throws Exception {
    Path empty = Files.createDirectories(tmp.resolve("empty"));
    oneLineError(BadInputTest.run("score", "--model", empty.toString(), res.resolve("sentences.txt").toString()), "config.json", "empty");
    oneLineError(BadInputTest.run("score", "--model", full.toString(), tmp.resolve("missing.txt").toString()), "missing.txt: no such file");
    Path bin = Files.write(tmp.resolve("bin.txt"), new byte[] {'a', (byte) 0xff, (byte) 0xfe, '\n'});
    oneLineError(BadInputTest.run("score", "--model", full.toString(), bin.toString()), "bin.txt:1: invalid UTF-8");
    oneLineError(BadInputTest.run("score", "--model", full.toString(), "--batch", "0"), "--batch");
    String sd = res.resolve("untied.pt").toString(), vocab = res.resolve("vocab.txt").toString();
    oneLineError(BadInputTest.run("import", "--from", "pytorch", "--state-dict", sd, "--vocab", tmp.resolve("nov.txt").toString(), "-o", tmp.resolve("x").toString()), "nov.txt");
    oneLineError(BadInputTest.run("import", "--from", "tf", "--state-dict", sd, "--vocab", vocab, "-o", tmp.resolve("x").toString()), "--from");
    oneLineError(BadInputTest.run("import", "--from", "pytorch", "--state-dict", sd, "--vocab", vocab, "-o", tmp.resolve("x").toString(), "--head", "adaptive"), "untied.pt", "--head adaptive");
    oneLineError(BadInputTest.run("import", "--from", "pytorch", "--state-dict", vocab, "--vocab", vocab, "-o", tmp.resolve("x").toString()), "vocab.txt");
    oneLineError(BadInputTest.run("import", "--from", "pytorch", "--state-dict", sd, "--vocab", vocab, "-o", full.toString()), "already holds a model", "--force");
    Path small = Files.writeString(tmp.resolve("small.txt"), "<eos>\n<unk>\nthe\n");
    oneLineError(BadInputTest.run("import", "--from", "pytorch", "--state-dict", sd, "--vocab", small.toString(), "-o", tmp.resolve("y").toString()), "81 words", "has 3");
    oneLineError(BadInputTest.run("export", "--model", full.toString(), "--to", "pytorch", "-o", tmp.resolve("m.onnx").toString()), ".safetensors");
    oneLineError(BadInputTest.run("export", "--model", empty.toString(), "--to", "pytorch", "-o", tmp.resolve("m.safetensors").toString()), "config.json");
    oneLineError(BadInputTest.run("export", "--model", full.toString(), "--to", "onnx", "-o", tmp.resolve("m.safetensors").toString()), "--to");
  }
}
