package dev.lmhead.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lmhead bench train} end to end on a tiny corpus, without the peer: speed, work per token and its limit. */
class BenchTrainTest {
  @TempDir Path tmp;

  @Test
  void reportsTheLimitOfItsOwnMatrixProducts() throws Exception {
    Path data = BadInputTest.writeCorpus(tmp.resolve("data"));
    var r = BadInputTest.run("bench", "train", "--data", data.toString(), "--emb", "8", "--hidden", "8", "--layers", "1",
        "--bptt", "5", "--batch", "2", "--steps", "2", "--warmup", "1", "--repeats", "1", "--peer", "none", "--json");
    assertEquals(0, r.code(), r.err());
    JsonObject j = JsonParser.parseString(r.out()).getAsJsonObject();
    int v = j.get("vocab").getAsInt();
    double tps = j.get("lmhead_tokens_per_s").getAsDouble(), limit = j.get("limit_tokens_per_s").getAsDouble();
    assertTrue(tps > 0 && Double.isFinite(limit) && limit > 0, j.toString());
    assertEquals(tps / limit, j.get("limit_fraction").getAsDouble(), 1e-9 * tps / limit);
    // per token: the tied full softmax's three products (logits, dHidden, dWeight: 3 x 2·V·d) and the
    // LSTM's (gates G = 4H = 32 from E = H = 8): input gates, dW_ih, dW_hh and dX (4 x 2·G·8) every step,
    // plus the recurrent product forward and its gradient backward (2 x 2·G·8) on the steps that have a
    // previous state (all but the first of each window)
    double head = 3 * 2.0 * v * 8, lstm = 2.0 * 32 * 8, work = j.get("gemm_mflop_per_token").getAsDouble() * 1e6;
    assertTrue(work >= head + 4 * lstm && work <= head + 6 * lstm, "work " + work + " FLOP/token vs head " + head + " + LSTM");
    assertTrue(j.getAsJsonArray("largest_gemms").size() >= 3, j.toString());
    assertTrue(j.get("sgemm_square_gflops").getAsDouble() > 0);
  }

  @Test
  void anUnknownPeerIsAOneLineErrorNamingTheFlag() {
    for (String cmd : new String[] {"train", "heads"}) {
      var r = BadInputTest.run("bench", cmd, "--peer", "foo");
      assertEquals(2, r.code(), cmd + ": " + r.err());
      assertTrue(r.err().contains("lmhead: error: --peer: unknown peer 'foo' (expected pytorch, djl, none or a comma list"), r.err());
      assertEquals(1, r.err().strip().lines().count(), r.err());
      assertFalse(r.err().contains("\tat ") || r.err().contains("Exception"), r.err());
    }
  }

  @Test
  void anUnbuiltDjlPeerIsNotMeasuredWithTheReason() throws Exception {
    Path data = BadInputTest.writeCorpus(tmp.resolve("data"));
    String old = System.getProperty("lmhead.djl.home");
    Path home = java.nio.file.Files.createDirectories(tmp.resolve("djl"));
    java.nio.file.Files.writeString(home.resolve("pom.xml"), "<project/>");
    System.setProperty("lmhead.djl.home", home.toString());
    try {
      String[] args = {"bench", "train", "--data", data.toString(), "--emb", "8", "--hidden", "8", "--layers", "1",
          "--bptt", "5", "--batch", "2", "--steps", "1", "--warmup", "0", "--repeats", "1", "--peer", "djl"};
      var r = BadInputTest.run(args);
      assertEquals(0, r.code(), r.err());
      assertTrue(r.out().contains("PyTorch: not measured: not requested"), r.out());
      assertTrue(r.out().contains("DJL    : not measured: peers/djl not built: run `mvn -f peers/djl/pom.xml package`"), r.out());
      String[] withJson = java.util.Arrays.copyOf(args, args.length + 1);
      withJson[args.length] = "--json";
      JsonObject j = JsonParser.parseString(BadInputTest.run(withJson).out()).getAsJsonObject();
      assertEquals("not measured: peers/djl not built: run `mvn -f peers/djl/pom.xml package`", j.get("djl").getAsString());
      assertEquals("not measured: not requested", j.get("pytorch").getAsString());
      assertFalse(j.has("ratio") || j.has("ratio_djl"), j.toString());
    } finally {
      if (old == null) System.clearProperty("lmhead.djl.home");
      else System.setProperty("lmhead.djl.home", old);
    }
  }
}
