package dev.lmhead.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lmhead compare} end to end on a tiny corpus: head variants, the table, JSON, plot and memory column. */
class CompareCommandTest {
  @TempDir Path tmp;

  static final String[] TINY = {"--emb", "8", "--hidden", "8", "--layers", "1", "--bptt", "5", "--batch", "2",
      "--dropout", "0", "--budget", "0", "--max-tokens", "120", "--val-every", "0", "--quiet"};

  private BadInputTest.Run compare(Path data, Path out, String heads) {
    List<String> a = new java.util.ArrayList<>(List.of("compare", "--data", data.toString(), "--output", out.toString(),
        "--heads", heads));
    a.addAll(List.of(TINY));
    return BadInputTest.run(a.toArray(String[]::new));
  }

  @Test
  void variantsTrainOncePerEntryAndReportEveryColumn() throws Exception {
    Path data = BadInputTest.writeCorpus(tmp.resolve("data"));
    Path out = tmp.resolve("cmp");
    var r = compare(data, out, "full,adaptive/div-value=2/tied=false,adaptive/input=adaptive/div-value=2,mos/experts=2");
    assertEquals(0, r.code(), r.err());
    JsonObject res = JsonParser.parseString(Files.readString(out.resolve("compare.json"))).getAsJsonObject();
    var rows = res.getAsJsonArray("rows");
    assertEquals(4, rows.size());
    JsonObject adaptive = rows.get(1).getAsJsonObject(), input = rows.get(2).getAsJsonObject(), mos = rows.get(3).getAsJsonObject();
    assertEquals("adaptive/input=adaptive/div-value=2", input.get("head").getAsString());
    assertTrue(input.get("config").getAsString().startsWith("adaptive input + adaptive"), input.toString());
    assertTrue(input.get("config").getAsString().endsWith("tied"), input.toString());
    assertTrue(mos.get("config").getAsString().contains("K 2"), mos.toString());
    // Tying the adaptive input's bands with the softmax changes the parameter count.
    assertNotEquals(adaptive.get("parameters").getAsLong(), input.get("parameters").getAsLong());
    for (var e : rows) {
      JsonObject row = e.getAsJsonObject();
      double ppl = row.get("valid_ppl").getAsDouble();
      assertTrue(Double.isFinite(ppl) && ppl > 1 && ppl < 200, row.toString());
      assertTrue(row.get("peak_heap_mb").getAsDouble() > 0, row.toString());
      assertTrue(row.get("train_tokens").getAsLong() >= 120, row.toString());
    }
    assertTrue(Files.size(out.resolve("compare.png")) > 1000);
    assertTrue(Files.isDirectory(out.resolve("adaptive-input-adaptive-div-value-2")));
    String md = Files.readString(out.resolve("compare.md"));
    assertTrue(md.contains("peak heap MB") && md.contains("120 tokens"), md);
  }

  @Test
  void badVariantsAreOneLineErrorsNamingTheEntry() throws Exception {
    Path data = BadInputTest.writeCorpus(tmp.resolve("data"));
    for (String[] c : new String[][] {{"mos/experts=x", "'experts' needs a number"}, {"full/foo=1", "unknown option 'foo'"},
        {"soft", "unknown head 'soft'"}, {"full/tied", "not option=value"}, {"full,full", "listed twice"}}) {
      var r = compare(data, tmp.resolve("bad"), c[0]);
      assertEquals(2, r.code(), c[0] + ": " + r.err());
      assertTrue(r.err().contains("--heads") && r.err().contains(c[1]), c[0] + ": " + r.err());
      assertEquals(1, r.err().strip().lines().count(), r.err());
    }
  }
}
