package dev.lmhead.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lmhead rank} end to end: one model, and several overlaid in one plot (softmax vs MoS). */
class RankCommandTest {
  @TempDir Path tmp;

  @Test
  void ranksSeveralModelsIntoOnePlot() throws Exception {
    Path data = BadInputTest.writeCorpus(tmp.resolve("data"));
    Path full = tmp.resolve("full"), mos = tmp.resolve("mos");
    // trained for 2,000 tokens (5 epochs of the tiny corpus): the mixture's weights move away from the
    // near-linear regime of its initialisation, where its extra singular values sit just above the tolerance
    String[] longer = {"--max-tokens", "2000", "--epochs", "5"};
    assertEquals(0, BadInputTest.run(BadInputTest.train(data, full, longer)).code());
    String[] mosArgs = {"--head", "mos", "--experts", "4", "--max-tokens", "2000", "--epochs", "5"};
    assertEquals(0, BadInputTest.run(BadInputTest.train(data, mos, mosArgs)).code());
    Path png = tmp.resolve("spectra.png");
    var r = BadInputTest.run("rank", "--model", full.toString(), mos.toString(), "--contexts", "60", "--png", png.toString(), "--json");
    assertEquals(0, r.code(), r.err());
    JsonArray rows = JsonParser.parseString(r.out()).getAsJsonArray();
    assertEquals(2, rows.size());
    JsonObject f = rows.get(0).getAsJsonObject(), m = rows.get(1).getAsJsonObject();
    int d = 8, bound = f.get("softmax_bound").getAsInt();
    int fr = f.get("rank").getAsInt(), mr = m.get("rank").getAsInt(), v = f.get("vocab").getAsInt();
    // A [60, V] with V > d + 2 and 60 contexts > d + 2: the case can tell the two heads apart
    assertEquals(d + 2, bound, f.toString());
    assertTrue(v > d + 2 && 60 > d + 2, f.toString());
    // d = 8 with an output bias: rank(A) <= d + 2 = 10 for the softmax, whatever it learned (its 11th
    // singular value is float noise, ~1000x below the tolerance), and at least d on 60 contexts of a trained
    // LSTM (measured: 10, the 8th singular value ~14x above the tolerance)
    assertTrue(fr <= d + 2 && fr >= d, f.toString());
    // K = 4 components: the log of a mixture is not bounded by d + 2 (measured: rank 29, the 11th singular
    // value ~50x above the tolerance); a head that collapsed to one softmax would fail here
    assertTrue(mr > d + 2 && mr > fr, m.toString());
    assertEquals("mos", m.get("head").getAsString());
    assertTrue(Files.size(png) > 1000);
    // A single model prints one object, not an array.
    var one = BadInputTest.run("rank", "--model", full.toString(), "--contexts", "30", "--json");
    assertEquals(0, one.code(), one.err());
    assertTrue(JsonParser.parseString(one.out()).isJsonObject());
  }
}
