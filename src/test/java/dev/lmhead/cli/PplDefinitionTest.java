package dev.lmhead.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.lmhead.train.Evaluator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every perplexity is printed with the definition of the eval batch it was measured at. */
class PplDefinitionTest {
  @TempDir Path tmp;

  @Test
  void theDefinitionNamesTheEvalBatch() {
    assertEquals(Evaluator.DEFINITION, Evaluator.definition(1));
    String ten = Evaluator.definition(10);
    assertTrue(ten.contains("cut into 10 contiguous streams") && ten.contains("last len % 10 tokens dropped"), ten);
    assertFalse(ten.contains("whole split"), ten);
  }

  private static JsonObject compareJson(Path data, Path out, String... extra) throws Exception {
    List<String> a = new ArrayList<>(List.of("compare", "--data", data.toString(), "--output", out.toString(), "--heads", "full",
        "--emb", "8", "--hidden", "8", "--layers", "1", "--bptt", "5", "--batch", "2", "--dropout", "0", "--budget", "0",
        "--max-tokens", "60", "--val-every", "0", "--quiet", "--threads", "1"));
    a.addAll(List.of(extra));
    var r = BadInputTest.run(a.toArray(String[]::new));
    assertEquals(0, r.code(), r.err());
    return JsonParser.parseString(Files.readString(out.resolve("compare.json"))).getAsJsonObject();
  }

  @Test
  void compareReportsTheDefinitionOfItsEvalBatch() throws Exception {
    Path data = BadInputTest.writeCorpus(tmp.resolve("data"));
    JsonObject byDefault = compareJson(data, tmp.resolve("cmp10"));
    assertEquals(10, byDefault.get("eval_batch").getAsInt());
    assertEquals(Evaluator.definition(10), byDefault.get("ppl_definition").getAsString());
    assertTrue(Files.readString(tmp.resolve("cmp10").resolve("compare.md")).contains(Evaluator.definition(10)));
    JsonObject one = compareJson(data, tmp.resolve("cmp1"), "--eval-batch", "1");
    assertEquals(Evaluator.DEFINITION, one.get("ppl_definition").getAsString());
    assertTrue(Files.readString(tmp.resolve("cmp1").resolve("compare.md")).contains(Evaluator.DEFINITION));
  }

  @Test
  void trainAndEvalReportTheDefinitionOfTheirEvalBatch() throws Exception {
    Path data = BadInputTest.writeCorpus(tmp.resolve("data")), run = tmp.resolve("run");
    var t = BadInputTest.run(BadInputTest.train(data, run, "--eval-batch", "4", "--json"));
    assertEquals(0, t.code(), t.err());
    assertEquals(Evaluator.definition(4), JsonParser.parseString(t.out()).getAsJsonObject().get("ppl_definition").getAsString());
    var e = BadInputTest.run("eval", "--model", run.toString(), "--batch", "3", "--json");
    assertEquals(0, e.code(), e.err());
    assertEquals(Evaluator.definition(3), JsonParser.parseString(e.out()).getAsJsonObject().get("definition").getAsString());
    var text = BadInputTest.run("eval", "--model", run.toString(), "--batch", "3");
    assertEquals(0, text.code(), text.err());
    assertTrue(text.out().contains(Evaluator.definition(3)), text.out());
  }
}
