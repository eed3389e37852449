package dev.lmhead.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.lmhead.model.Checkpoint;
import dev.lmhead.serve.Server;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lmhead serve} against the CLI: /v1/score = {@code lmhead score --json}, /v1/generate = {@code lmhead generate}; flag errors. */
class ServeCommandTest {
  @TempDir static Path tmp;
  static Path adaptive, full;

  @BeforeAll
  static void importModels() throws Exception {
    Path res = Path.of(ServeCommandTest.class.getResource("/interop/vocab.txt").toURI()).getParent();
    adaptive = tmp.resolve("adaptive");
    full = tmp.resolve("full");
    var a = BadInputTest.run("import", "--from", "pytorch", "--state-dict", res.resolve("adaptive.safetensors").toString(),
        "--vocab", res.resolve("vocab.txt").toString(), "-o", adaptive.toString(), "--head", "adaptive");
    assertEquals(0, a.code(), a.err());
    var f = BadInputTest.run("import", "--from", "pytorch", "--state-dict", res.resolve("tied.pt").toString(),
        "--vocab", res.resolve("vocab.txt").toString(), "-o", full.toString());
    assertEquals(0, f.code(), f.err());
  }

  static JsonObject post(Server s, String path, String body) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r.body());
    return JsonParser.parseString(r.body()).getAsJsonObject();
  }

  @Test
  void scoreAndGenerateEqualTheCli() throws Exception {
    for (Path dir : List.of(full, adaptive)) {
      List<String> sents = List.of("the company said", "", "zzz the market", "the the the of a in to");
      Path in = Files.writeString(tmp.resolve("s.txt"), String.join("\n", sents) + "\n");
      var cli = BadInputTest.run("score", "--model", dir.toString(), in.toString(), "--json", "--per-token");
      assertEquals(0, cli.code(), cli.err());
      List<String> lines = cli.out().lines().toList();
      var l = Checkpoint.load(dir, Checkpoint.MODEL);
      try (Server s = Server.start(l.model(), l.vocab(), ServeCommand.GENERATOR, Server.Options.defaults(), dir.getFileName().toString())) {
        JsonArray res = post(s, "/v1/score", "{\"sentences\": " + new Gson().toJson(sents) + ", \"per_token\": true}").getAsJsonArray("results");
        for (int i = 0; i < sents.size(); i++) {
          assertEquals(JsonParser.parseString(lines.get(i)), res.get(i), dir + " sentence " + i); // same fields, same numbers
        }
        for (String[] g : new String[][] {{"the company", "15", "5", "0.9", "10"}, {null, "12", "1111", "1.0", "0"}, {"zzz said", "8", "2", "1.5", "0"}}) {
          var gen = g[0] == null
              ? BadInputTest.run("generate", "--model", dir.toString(), "--words", g[1], "--seed", g[2], "--temperature", g[3], "--top-k", g[4])
              : BadInputTest.run("generate", "--model", dir.toString(), "--prompt", g[0], "--words", g[1], "--seed", g[2], "--temperature", g[3], "--top-k", g[4]);
          assertEquals(0, gen.code(), gen.err());
          String body = "{" + (g[0] == null ? "" : "\"context\": \"" + g[0] + "\", ") + "\"words\": " + g[1] + ", \"seed\": " + g[2]
              + ", \"temperature\": " + g[3] + ", \"top_k\": " + g[4] + "}";
          assertEquals(gen.out().strip(), post(s, "/v1/generate", body).get("text").getAsString(), dir + " " + body);
        }
      }
    }
  }

  @Test
  void badFlagsAreOneLineErrors() {
    for (String[] args : new String[][] {
        {"serve", "--model", full.toString(), "--max-batch", "0"},
        {"serve", "--model", full.toString(), "--max-wait-ms", "-1"},
        {"serve", "--model", full.toString(), "--port", "70000"},
        {"serve", "--model", full.toString(), "--http-threads", "0"},
        {"serve", "--model", full.toString(), "--checkpoint", "newest"},
        {"serve", "--model", full.toString(), "--warmup", "-1"},
        {"serve", "--model", full.toString(), "--warmup", "NaN"},
        {"serve", "--model", full.toString(), "--input-gate-cache-mb", "-1"},
        {"serve", "--model", full.toString(), "--input-gate-cache-mb", "lots"},
        {"serve", "--model", full.toString(), "--state-cache-mb", "-1"},
        {"serve", "--model", full.toString(), "--state-cache-mb", "2000000"},
        {"serve", "--model", tmp.resolve("nope").toString()},
        {"serve", "--model", full.toString(), "--port", "x"}}) {
      var r = BadInputTest.run(args);
      assertEquals(2, r.code(), String.join(" ", args) + ": " + r.err());
      assertTrue(r.err().startsWith("lmhead: error: "), r.err());
      assertEquals(1, r.err().strip().lines().count(), r.err());
      assertFalse(r.err().contains("Exception"), r.err());
    }
  }
}
