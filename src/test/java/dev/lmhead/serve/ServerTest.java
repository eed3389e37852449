package dev.lmhead.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.lmhead.cli.ServeCommand;
import dev.lmhead.data.Vocabulary;
import dev.lmhead.head.HeadSpec;
import dev.lmhead.head.TopK;
import dev.lmhead.model.LanguageModel;
import dev.lmhead.model.ModelConfig;
import dev.lmhead.model.Scorer;
import dev.lmhead.tensor.Blas;
import dev.lmhead.tensor.Rng;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code lmhead serve} in process on ephemeral ports: every endpoint against the model computed directly,
 * batched = one at a time, malformed requests (each a 4xx JSON error naming the field), slow and oversized
 * bodies, flat memory under bad requests, and the server healthy afterwards.
 */
class ServerTest {
  static final int V = 60;
  static Server full, adaptive;
  static final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();

  static Vocabulary vocab() {
    String[] w = new String[V];
    String[] real = {"<eos>", "the", "meaning", "of", "life", "is", "a", "cat", "dog", "and"};
    for (int i = 0; i < V; i++) w[i] = i < real.length ? real[i] : i == V - 1 ? "<unk>" : "w" + i;
    return Vocabulary.of(w, new long[V]);
  }

  /** A fresh model; the same head and seed give the same weights, so a second instance is a reference for the server's. */
  static LanguageModel model(String head) {
    HeadSpec s = HeadSpec.full();
    if (head.equals("adaptive")) s = new dev.lmhead.head.AdaptiveSoftmax.Spec(new int[] {10, 30}, 2.0, true);
    var cfg = new ModelConfig(V, 20, 20, 2, 0f, head.equals("full"), "embedding", 0.5f, s, 0.5f);
    long[] counts = new long[V];
    for (int i = 0; i < V; i++) counts[i] = V - i;
    return new LanguageModel(cfg, counts, new Rng(head.equals("full") ? 5 : 6));
  }

  @BeforeAll
  static void start() throws Exception {
    // long wait: concurrent test requests surely land in one batch
    full = Server.start(model("full"), vocab(), ServeCommand.GENERATOR, Server.Options.defaults().withBatch(64, 50).withReadTimeoutMs(1500), "test-full");
    adaptive = Server.start(model("adaptive"), vocab(), ServeCommand.GENERATOR, Server.Options.defaults().withBatch(16, 50), "test-adaptive");
  }

  @AfterAll
  static void stop() {
    if (full != null) full.close();
    if (adaptive != null) adaptive.close();
  }

  @Test
  void warmUpRunsBothPathsAndChangesNoResult() throws Exception {
    for (String head : List.of("full", "adaptive")) {
      LanguageModel m = model(head);
      Vocabulary v = vocab();
      int[] seq = {v.eosId(), 1, 2, 3};
      Engine.Next before, after;
      List<Scorer.Result> sBefore, sAfter;
      try (Engine e = new Engine(m, v, null, 64, 2)) {
        before = e.next(seq, 5).get();
        sBefore = e.score(new int[][] {{1, 2, 3}}).get();
      }
      long n = Engine.warmUp(m, v, 64, 2, 0.5);
      assertTrue(n > 0, head + ": the warm-up ran no request"); // how many is a speed, not a unit-test matter
      try (Engine e = new Engine(m, v, null, 64, 2)) {
        after = e.next(seq, 5).get();
        sAfter = e.score(new int[][] {{1, 2, 3}}).get();
      }
      assertArrayEquals(before.ids(), after.ids(), head);
      // bit for bit, although the warm-up is what gets the single-request path (its one-row LSTM step,
      // SmallGemm.dots) compiled by C2: its sums do not depend on the JIT (SmallGemmTest)
      assertArrayEquals(before.logProbs(), after.logProbs(), 0f, head);
      assertEquals(sBefore.get(0).logProb(), sAfter.get(0).logProb(), 0, head);
      assertTrue(Double.isFinite(sAfter.get(0).logProb()), head);
    }
    assertEquals(0, Engine.warmUp(model("full"), vocab(), 64, 2, 0));
    assertEquals("--warmup must be in [0, 600] seconds, got NaN",
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> Engine.warmUp(model("full"), vocab(), 64, 2, Double.NaN)).getMessage());
  }

  static Server server(String head) { return head.equals("full") ? full : adaptive; }

  record Reply(int status, JsonObject json, String text, HttpResponse<String> raw) {}

  static HttpRequest.Builder req(Server s, String path) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path)).timeout(Duration.ofSeconds(60));
  }

  static Reply post(Server s, String path, String body) throws Exception {
    return send(req(s, path).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build());
  }

  static Reply get(Server s, String path) throws Exception {
    return send(req(s, path).GET().build());
  }

  static Reply send(HttpRequest r) throws Exception {
    HttpResponse<String> resp = http.send(r, HttpResponse.BodyHandlers.ofString());
    return reply(resp);
  }

  static Reply reply(HttpResponse<String> resp) {
    JsonObject o = null;
    if (resp.headers().firstValue("Content-Type").orElse("").startsWith("application/json") && !resp.body().isEmpty()) o = JsonParser.parseString(resp.body()).getAsJsonObject();
    return new Reply(resp.statusCode(), o, resp.body(), resp);
  }

  static String q(String s) { return new com.google.gson.Gson().toJson(s); }

  /** Direct computation: fresh state, {@code <eos>} then the words, exact top-k of the last position. */
  static TopK direct(LanguageModel m, String context, int k) {
    Vocabulary v = vocab();
    List<String> w = Scorer.split(context);
    int[] seq = new int[w.size() + 1];
    seq[0] = v.eosId();
    for (int i = 0; i < w.size(); i++) seq[i + 1] = v.id(w.get(i));
    m.resetState(1);
    float[] x = m.headInputs(seq, seq.length, 1);
    int H = m.config.hidden();
    return m.decoder.topK(Arrays.copyOfRange(x, (seq.length - 1) * H, seq.length * H), 1, k);
  }

  /**
   * Batched and single computations agree up to float rounding, not bit for bit: a request alone is a
   * product with one row, which OpenBlas computes with sgemv, and some sgemm kernels (Haswell's) round a
   * row differently depending on how many rows the product has. Log-probs must
   * agree within {@link #TOL}, and ids rank by rank except where two neighbours are within TOL (a tie
   * that rounding may order either way).
   */
  static final double TOL = 1e-5;

  static void assertTop(TopK want, JsonObject got, String msg) {
    JsonArray top = got.getAsJsonArray("top");
    assertEquals(want.k(), top.size(), msg);
    Vocabulary v = vocab();
    for (int j = 0; j < want.k(); j++) {
      JsonObject t = top.get(j).getAsJsonObject();
      double lp = t.get("logprob").getAsDouble();
      assertEquals(want.logProb(0, j), lp, TOL, msg + " rank " + j);
      boolean tie = (j > 0 && want.logProb(0, j - 1) - want.logProb(0, j) <= TOL)
          || (j + 1 < want.k() && want.logProb(0, j) - want.logProb(0, j + 1) <= TOL);
      if (!tie) {
        assertEquals(want.id(0, j), t.get("id").getAsInt(), msg + " rank " + j);
        assertEquals(v.word(want.id(0, j)), t.get("word").getAsString(), msg);
      }
      assertEquals(Math.exp(lp), t.get("prob").getAsDouble(), 1e-6 * Math.exp(lp), msg);
    }
  }

  /** Two /v1/next responses for the same request: same fields, and the same top-k up to float rounding. */
  static void assertSameNext(JsonObject want, JsonObject got, String msg) {
    for (String f : new String[] {"words", "oov", "k"}) assertEquals(want.get(f), got.get(f), msg + " " + f);
    assertEquals(want.get("oov_words"), got.get("oov_words"), msg);
    JsonArray a = want.getAsJsonArray("top"), b = got.getAsJsonArray("top");
    assertEquals(a.size(), b.size(), msg);
    for (int j = 0; j < a.size(); j++) {
      double la = a.get(j).getAsJsonObject().get("logprob").getAsDouble(), lb = b.get(j).getAsJsonObject().get("logprob").getAsDouble();
      assertEquals(la, lb, TOL, msg + " rank " + j);
      boolean tie = (j > 0 && a.get(j - 1).getAsJsonObject().get("logprob").getAsDouble() - la <= TOL)
          || (j + 1 < a.size() && la - a.get(j + 1).getAsJsonObject().get("logprob").getAsDouble() <= TOL);
      if (!tie) assertEquals(a.get(j).getAsJsonObject().get("id"), b.get(j).getAsJsonObject().get("id"), msg + " rank " + j);
    }
  }

  static List<String> contexts(int n, long seed) {
    Rng r = new Rng(seed);
    List<String> out = new ArrayList<>();
    Vocabulary v = vocab();
    for (int i = 0; i < n; i++) {
      int len = 1 + r.nextInt(i % 9 == 0 ? 60 : 15);
      StringBuilder b = new StringBuilder();
      for (int j = 0; j < len; j++) b.append(j > 0 ? " " : "").append(r.nextInt(10) == 0 ? "zzz" + j : v.word(1 + r.nextInt(V - 2)));
      out.add(b.toString());
    }
    return out;
  }

  // ---------------------------------------------------------------- good requests

  @ParameterizedTest
  @ValueSource(strings = {"full", "adaptive"})
  void nextEqualsTopKComputedDirectly(String head) throws Exception {
    LanguageModel ref = model(head);
    for (String ctx : List.of("the meaning of", "  the\tmeaning   of  life ", "qqq the xyzzy", "life")) {
      for (int k : new int[] {1, 5, V}) {
        Reply r = post(server(head), "/v1/next", "{\"context\": " + q(ctx) + ", \"k\": " + k + "}");
        assertEquals(200, r.status(), r.text());
        assertTop(direct(ref, ctx, k), r.json(), head + " '" + ctx + "' k " + k);
        assertEquals(Scorer.split(ctx).size(), r.json().get("words").getAsInt());
      }
    }
    Reply r = post(server(head), "/v1/next", "{\"context\": \"qqq the xyzzy\"}"); // k defaults to 10
    assertEquals(2, r.json().get("oov").getAsInt());
    assertEquals("[\"qqq\",\"xyzzy\"]", r.json().get("oov_words").toString());
    assertEquals(10, r.json().getAsJsonArray("top").size());
    double sum = 0;
    for (JsonElement e : post(server(head), "/v1/next", "{\"context\": \"the\", \"k\": " + V + "}").json().getAsJsonArray("top")) {
      sum += e.getAsJsonObject().get("prob").getAsDouble();
    }
    assertEquals(1.0, sum, 1e-5, "k = V gives the whole distribution");
  }

  @ParameterizedTest
  @ValueSource(strings = {"full", "adaptive"})
  void concurrentRequestsEqualOneByOne(String head) throws Exception {
    Server s = server(head);
    LanguageModel ref = model(head);
    List<String> ctx = contexts(48, 7);
    Rng r = new Rng(3);
    int[] ks = new int[ctx.size()];
    for (int i = 0; i < ks.length; i++) ks[i] = 1 + r.nextInt(20);
    long passes0 = s.engine().passes.get(), contexts0 = s.engine().contexts.get();
    List<CompletableFuture<HttpResponse<String>>> fs = new ArrayList<>();
    for (int i = 0; i < ctx.size(); i++) {
      fs.add(http.sendAsync(req(s, "/v1/next").header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{\"context\": " + q(ctx.get(i)) + ", \"k\": " + ks[i] + "}")).build(), HttpResponse.BodyHandlers.ofString()));
    }
    List<JsonObject> concurrent = new ArrayList<>();
    for (var f : fs) {
      Reply rep = reply(f.get());
      assertEquals(200, rep.status(), rep.text());
      concurrent.add(rep.json());
    }
    long passes = s.engine().passes.get() - passes0, n = s.engine().contexts.get() - contexts0;
    assertEquals(ctx.size(), n);
    assertTrue(passes < n, "concurrent requests must share forward passes: " + n + " contexts in " + passes + " passes");
    for (int i = 0; i < ctx.size(); i++) {
      Reply one = post(s, "/v1/next", "{\"context\": " + q(ctx.get(i)) + ", \"k\": " + ks[i] + "}");
      // same ids and log-probs, batched or alone, up to float rounding (bit for bit with some kernels only)
      assertSameNext(one.json(), concurrent.get(i), head + " request " + i);
      assertTop(direct(ref, ctx.get(i), ks[i]), concurrent.get(i), head + " request " + i);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"full", "adaptive"})
  void scoreEqualsScorer(String head) throws Exception {
    LanguageModel ref = model(head);
    List<String> sents = new ArrayList<>(contexts(30, 9));
    sents.add("");
    sents.add("the <unk> qqq");
    StringBuilder body = new StringBuilder("{\"per_token\": true, \"sentences\": [");
    for (int i = 0; i < sents.size(); i++) body.append(i > 0 ? "," : "").append(q(sents.get(i)));
    body.append("]}");
    Reply r = post(server(head), "/v1/score", body.toString());
    assertEquals(200, r.status(), r.text());
    List<Scorer.Result> want = new Scorer(ref, vocab()).batchLines(1).score(sents);
    JsonArray res = r.json().getAsJsonArray("results");
    assertEquals(sents.size(), res.size());
    for (int i = 0; i < sents.size(); i++) {
      JsonObject o = res.get(i).getAsJsonObject();
      Scorer.Result w = want.get(i);
      assertEquals(w.logProb(), o.get("logprob").getAsDouble(), 1e-6 * Math.max(1, Math.abs(w.logProb())), "sentence " + i);
      assertEquals(w.log10(), o.get("log10").getAsDouble(), 1e-5);
      assertEquals(w.tokens(), o.get("tokens").getAsInt());
      assertEquals(w.oov(), o.get("oov").getAsInt());
      assertEquals(w.ppl(), o.get("ppl").getAsDouble(), 1e-6 * w.ppl());
      JsonArray pt = o.getAsJsonArray("per_token");
      assertEquals(w.tokens(), pt.size());
      assertEquals("<eos>", pt.get(pt.size() - 1).getAsJsonObject().get("word").getAsString());
      for (int t = 0; t < w.tokens(); t++) assertEquals(w.tokenLogProbs()[t], pt.get(t).getAsJsonObject().get("logprob").getAsFloat(), 2e-6f);
    }
    assertEquals(2, res.get(sents.size() - 1).getAsJsonObject().get("oov").getAsInt());
    assertTrue(res.get(sents.size() - 1).getAsJsonObject().getAsJsonArray("per_token").get(2).getAsJsonObject().get("oov").getAsBoolean());
    Reply plain = post(server(head), "/v1/score", "{\"sentences\": [\"the cat\"]}");
    assertFalse(plain.json().getAsJsonArray("results").get(0).getAsJsonObject().has("per_token"));
  }

  @Test
  void generateEqualsTheSamplerOfLmheadGenerate() throws Exception {
    for (String body : List.of("{\"context\": \"the meaning of\", \"words\": 25, \"temperature\": 0.8, \"top_k\": 5, \"seed\": 42}",
        "{\"words\": 10, \"seed\": 7}", "{\"context\": \"qqq the\", \"words\": 12, \"seed\": 1}")) {
      Reply r = post(full, "/v1/generate", body);
      assertEquals(200, r.status(), r.text());
      JsonObject b = JsonParser.parseString(body).getAsJsonObject();
      String prompt = b.has("context") ? b.get("context").getAsString() : null;
      String want = ServeCommand.GENERATOR.generate(model("full"), vocab(), prompt, b.get("words").getAsInt(),
          b.has("temperature") ? b.get("temperature").getAsDouble() : 1.0, b.has("top_k") ? b.get("top_k").getAsInt() : 0, b.get("seed").getAsLong());
      assertEquals(want, r.json().get("text").getAsString(), body);
      assertTrue(want.endsWith(r.json().get("continuation").getAsString()), r.text());
    }
    JsonObject a = post(full, "/v1/generate", "{\"context\": \"the\", \"seed\": 3}").json(), c = post(full, "/v1/generate", "{\"context\": \"the\", \"seed\": 3}").json();
    assertEquals(a, c, "same seed, same text");
    assertFalse(a.get("continuation").getAsString().isBlank(), a.toString());
  }

  @Test
  void modelHealthAndPage() throws Exception {
    Reply m = get(adaptive, "/v1/model");
    assertEquals(200, m.status());
    assertEquals("adaptive", m.json().get("head").getAsString());
    assertEquals(V, m.json().get("vocab_size").getAsInt());
    assertEquals(model("adaptive").parameterCount(), m.json().get("parameters").getAsLong());
    assertEquals(20, m.json().getAsJsonObject("config").get("hidden").getAsInt());
    assertEquals(16, m.json().get("max_batch").getAsInt());
    assertEquals(200, post(full, "/v1/next", "{\"context\": \"the meaning of\", \"k\": 3}").status());
    Reply h = get(full, "/health");
    assertEquals("ok", h.json().get("status").getAsString());
    // a /v1/next pass is timed in two parts, the LSTM over the contexts and the head's top-k, within the busy time
    double lstm = h.json().get("next_lstm_s").getAsDouble(), topk = h.json().get("next_head_s").getAsDouble();
    assertTrue(lstm > 0 && topk > 0, "next_lstm_s " + lstm + ", next_head_s " + topk);
    assertTrue(lstm + topk <= h.json().get("model_busy_s").getAsDouble() + 1e-6, "the split is part of model_busy_s");
    Reply page = get(full, "/");
    assertEquals(200, page.status());
    assertTrue(page.raw().headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
    assertTrue(page.text().contains("/v1/next") && !page.text().contains("http://") && !page.text().contains("https://"), "self-contained page");
    Reply head = send(req(full, "/health").method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
    assertEquals(200, head.status());
  }

  // ---------------------------------------------------------------- bad requests

  static String words(int n) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < n; i++) b.append("the ");
    return b.toString();
  }

  /** method, path, content type (null: none), body, expected status, expected field. */
  static Stream<Arguments> badRequests() {
    String ct = "application/json";
    return Stream.of(
        Arguments.of("POST", "/v1/next", ct, "{\"context\": \"the\", \"k\": 3", 400, "body"),          // truncated
        Arguments.of("POST", "/v1/next", ct, "{context: \"the\"}", 400, "body"),                      // unquoted name
        Arguments.of("POST", "/v1/next", ct, "{'context': 'the'}", 400, "body"),                      // single quotes
        Arguments.of("POST", "/v1/next", ct, "[\"the\"]", 400, "body"),                               // not an object
        Arguments.of("POST", "/v1/next", ct, "", 400, "body"),                                        // empty body
        Arguments.of("POST", "/v1/next", ct, "{\"context\": \"the\"} {}", 400, "body"),               // trailing data
        Arguments.of("POST", "/v1/next", ct, "{\"k\": 3}", 400, "context"),                           // missing field
        Arguments.of("POST", "/v1/next", ct, "{\"context\": 42}", 400, "context"),                    // wrong type
        Arguments.of("POST", "/v1/next", ct, "{\"context\": null}", 400, "context"),
        Arguments.of("POST", "/v1/next", ct, "{\"context\": [\"the\"]}", 400, "context"),
        Arguments.of("POST", "/v1/next", ct, "{\"context\": \"   \"}", 400, "context"),                // empty context
        Arguments.of("POST", "/v1/next", ct, "{\"context\": \"" + words(Server.MAX_CONTEXT_WORDS + 1) + "\"}", 400, "context"), // huge
        Arguments.of("POST", "/v1/next", ct, "{\"context\": \"the\", \"k\": 0}", 400, "k"),
        Arguments.of("POST", "/v1/next", ct, "{\"context\": \"the\", \"k\": -3}", 400, "k"),
        Arguments.of("POST", "/v1/next", ct, "{\"context\": \"the\", \"k\": " + (V + 1) + "}", 400, "k"),
        Arguments.of("POST", "/v1/next", ct, "{\"context\": \"the\", \"k\": \"10\"}", 400, "k"),
        Arguments.of("POST", "/v1/next", ct, "{\"context\": \"the\", \"k\": 2.5}", 400, "k"),
        Arguments.of("POST", "/v1/next", ct, "{\"context\": \"the\", \"k\": 1e400}", 400, "k"),
        Arguments.of("POST", "/v1/next", ct, "{\"context\": \"the\", \"k\": NaN}", 400, "k"),
        Arguments.of("POST", "/v1/next", ct, "{\"context\": \"the\", \"topk\": 3}", 400, "topk"),     // unknown field: rejected
        Arguments.of("POST", "/v1/next", ct, "{\"context\": \"the\", \"context\": \"a\"}", 400, "context"), // duplicate
        Arguments.of("POST", "/v1/next", "text/plain", "{\"context\": \"the\"}", 415, "Content-Type"),
        Arguments.of("POST", "/v1/next", null, "{\"context\": \"the\"}", 415, "Content-Type"),
        Arguments.of("POST", "/v1/next", "application/json; charset=latin1", "{\"context\": \"the\"}", 415, "Content-Type"),
        Arguments.of("GET", "/v1/next", null, null, 405, "method"),
        Arguments.of("PUT", "/v1/score", ct, "{}", 405, "method"),
        Arguments.of("POST", "/health", ct, "{}", 405, "method"),
        Arguments.of("GET", "/v2/next", null, null, 404, "path"),
        Arguments.of("POST", "/v1/nextt", ct, "{}", 404, "path"),
        Arguments.of("POST", "/v1/score", ct, "{\"sentences\": []}", 400, "sentences"),
        Arguments.of("POST", "/v1/score", ct, "{\"sentences\": \"the cat\"}", 400, "sentences"),
        Arguments.of("POST", "/v1/score", ct, "{\"sentences\": [\"the\", 3]}", 400, "sentences"),
        Arguments.of("POST", "/v1/score", ct, "{\"sentences\": [\"the\"], \"per_token\": \"yes\"}", 400, "per_token"),
        Arguments.of("POST", "/v1/score", ct, "{}", 400, "sentences"),
        Arguments.of("POST", "/v1/generate", ct, "{\"context\": \"the\", \"words\": 100000}", 400, "words"),
        Arguments.of("POST", "/v1/generate", ct, "{\"context\": \"the\", \"temperature\": 0}", 400, "temperature"),
        Arguments.of("POST", "/v1/generate", ct, "{\"context\": \"the\", \"temperature\": \"hot\"}", 400, "temperature"),
        Arguments.of("POST", "/v1/generate", ct, "{\"context\": \"the\", \"top_k\": -1}", 400, "top_k"),
        Arguments.of("POST", "/v1/generate", ct, "{\"context\": \"the\", \"seed\": 1.5}", 400, "seed"),
        Arguments.of("POST", "/v1/generate", ct, "{\"context\": \"the\", \"seed\": 99999999999999999999999}", 400, "seed"));
  }

  static HttpRequest badRequest(String method, String path, String ct, String body) {
    HttpRequest.Builder b = req(full, path);
    if (ct != null) b.header("Content-Type", ct);
    return b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body)).build();
  }

  @ParameterizedTest
  @MethodSource("badRequests")
  void badRequestIsA4xxNamingTheField(String method, String path, String ct, String body, int status, String field) throws Exception {
    Reply r = send(badRequest(method, path, ct, body));
    assertEquals(status, r.status(), r.text());
    assertNotNull(r.json(), "a JSON error body: " + r.text());
    assertEquals(field, r.json().get("field").getAsString(), r.text());
    assertFalse(r.json().get("error").getAsString().isBlank());
    if (status == 405) assertTrue(r.raw().headers().firstValue("Allow").isPresent());
    assertEquals(200, get(full, "/health").status());
  }

  @Test
  void invalidUtf8AndOversizedBodies() throws Exception {
    byte[] bad = {'{', '"', 'c', 'o', 'n', 't', 'e', 'x', 't', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'};
    Reply r = send(req(full, "/v1/next").header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(bad)).build());
    assertEquals(400, r.status());
    assertEquals("body", r.json().get("field").getAsString());
    // 1 MiB + 1 byte: read, discarded and refused with 413
    String big = "{\"context\": \"" + "x".repeat(Server.MAX_BODY) + "\"}";
    r = post(full, "/v1/next", big);
    assertEquals(413, r.status(), r.text());
    assertEquals("body", r.json().get("field").getAsString());
    // just under the limit is fine (a single long OOV word)
    r = post(full, "/v1/next", "{\"context\": \"" + "x".repeat(Server.MAX_BODY - 100) + "\", \"k\": 2}");
    assertEquals(200, r.status(), r.text().length() > 300 ? r.text().substring(0, 300) : r.text());
    assertEquals(1, r.json().get("oov").getAsInt());
    // huge but within the word limit: 10,000 words of context
    r = post(full, "/v1/next", "{\"context\": \"" + words(Server.MAX_CONTEXT_WORDS) + "\", \"k\": 3}");
    assertEquals(200, r.status());
    assertTop(direct(model("full"), words(Server.MAX_CONTEXT_WORDS), 3), r.json(), "10,000-word context");
    assertEquals(200, get(full, "/health").status());
  }

  @Test
  void slowClientGets408AndTheServerCarriesOn() throws Exception {
    long t0 = System.nanoTime();
    try (Socket s = new Socket("127.0.0.1", full.port())) {
      s.setSoTimeout(20_000);
      OutputStream out = s.getOutputStream();
      out.write(("POST /v1/next HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"context\"").getBytes(StandardCharsets.US_ASCII));
      out.flush(); // then nothing: 90 bytes never come
      InputStream in = s.getInputStream();
      String resp = new String(in.readAllBytes(), StandardCharsets.UTF_8); // the server answers, then closes
      assertTrue(resp.startsWith("HTTP/1.1 408"), resp);
      assertTrue(resp.contains("\"field\":\"body\""), resp);
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    assertTrue(secs >= 1.4 && secs < 15, "answered after the 1.5 s read timeout, got " + secs);
    // meanwhile and afterwards others are served
    assertEquals(200, post(full, "/v1/next", "{\"context\": \"the\"}").status());
  }

  @Test
  void answeredRequestsLeaveNoReadTimerQueued() throws Exception {
    // the adaptive server has the default 10 s read timeout: a cancelled timer kept in the queue would still be there
    for (int i = 0; i < 40; i++) assertEquals(200, post(adaptive, "/v1/next", "{\"context\": \"the meaning of\", \"k\": 3}").status());
    assertEquals(400, post(adaptive, "/v1/next", "{\"context\": 5}").status());
    assertEquals(0, adaptive.pendingReadTimers(), "read-timeout timers of answered requests still queued");
  }

  @Test
  void badRequestsKeepMemoryFlat() throws Exception {
    List<HttpRequest> bad = new ArrayList<>();
    badRequests().forEach(a -> {
      Object[] x = a.get();
      String body = (String) x[3];
      if (body == null || body.length() < 1000) bad.add(badRequest((String) x[0], (String) x[1], (String) x[2], body));
    });
    for (int i = 0; i < 300; i++) assertTrue(http.send(bad.get(i % bad.size()), HttpResponse.BodyHandlers.ofString()).statusCode() >= 400); // warm-up
    long before = usedHeap();
    int n = 2000;
    for (int i = 0; i < n; i++) {
      int code = http.send(bad.get(i % bad.size()), HttpResponse.BodyHandlers.ofString()).statusCode();
      assertTrue(code >= 400 && code < 500, "request " + i + ": " + code);
    }
    long after = usedHeap();
    System.out.printf("used heap before/after %d bad requests: %.1f / %.1f MB%n", n, before / 1048576.0, after / 1048576.0);
    assertTrue(after - before < 32L << 20, "heap grew by " + (after - before) / 1048576.0 + " MB over " + n + " bad requests");
    assertEquals(200, post(full, "/v1/next", "{\"context\": \"the meaning of\"}").status());
    assertEquals("ok", get(full, "/health").json().get("status").getAsString());
  }

  static long usedHeap() throws InterruptedException {
    Runtime rt = Runtime.getRuntime();
    long best = Long.MAX_VALUE;
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(50);
      best = Math.min(best, rt.totalMemory() - rt.freeMemory());
    }
    return best;
  }
}
