package dev.lmhead.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lmhead eval} end to end, with and without {@code --topk}. */
class EvalCommandTest {
  @TempDir Path tmp;

  @Test
  void topKAccuracyNextToThePerplexity() throws Exception {
    Path data = BadInputTest.writeCorpus(tmp.resolve("data"));
    Path run = tmp.resolve("adaptive");
    assertEquals(0, BadInputTest.run(BadInputTest.train(data, run, "--head", "adaptive", "--no-tied", "--div-value", "2")).code());
    var plain = BadInputTest.run("eval", "--model", run.toString(), "--json");
    var top = BadInputTest.run("eval", "--model", run.toString(), "--json", "--topk", "4");
    assertEquals(0, plain.code(), plain.err());
    assertEquals(0, top.code(), top.err());
    JsonObject p = JsonParser.parseString(plain.out()).getAsJsonObject(), t = JsonParser.parseString(top.out()).getAsJsonObject();
    // the same computation, so the same bits, although the second evaluation runs code the first got C2-compiled
    // (it once differed in the 9th digit when the one-row LSTM step summed with reduceLanes: SmallGemmTest)
    double pp = p.get("ppl").getAsDouble(), tp = t.get("ppl").getAsDouble();
    assertTrue(Double.isFinite(pp), "ppl " + pp);
    assertEquals(pp, tp, 0, "--topk must not change the perplexity");
    assertTrue(!p.has("topk"));
    JsonObject tk = t.getAsJsonObject("topk");
    assertEquals(4, tk.get("k").getAsInt());
    JsonArray acc = tk.getAsJsonArray("accuracy");
    assertEquals(4, acc.size());
    for (int j = 1; j < 4; j++) assertTrue(acc.get(j).getAsDouble() >= acc.get(j - 1).getAsDouble(), acc.toString());
    assertTrue(acc.get(0).getAsDouble() >= 0 && acc.get(3).getAsDouble() <= 1, acc.toString());
    assertTrue(tk.get("definition").getAsString().startsWith("acc@k"));
    var text = BadInputTest.run("eval", "--model", run.toString(), "--topk", "2");
    assertEquals(0, text.code(), text.err());
    assertTrue(text.out().contains(" acc@1 ") && text.out().contains(" acc@2 ") && text.out().contains("rows/s"), text.out());
  }
}
