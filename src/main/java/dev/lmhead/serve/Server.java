package dev.lmhead.serve;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.lmhead.data.Vocabulary;
import dev.lmhead.model.Checkpoint;
import dev.lmhead.model.LanguageModel;
import dev.lmhead.model.Scorer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code lmhead serve}: HTTP/JSON over the JDK's own {@code com.sun.net.httpserver} (no dependency: HTTP/1.1
 * with keep-alive and a handler executor is all a JSON API needs) and Gson.
 *
 * <p>Endpoints: {@code POST /v1/next}, {@code POST /v1/score}, {@code POST /v1/generate}, {@code GET /health},
 * {@code GET /v1/model}, {@code GET /} (a static page). Handler threads parse and validate requests, then
 * wait on the {@link Engine}, whose single batcher thread is the only one touching the model.
 *
 * <p>Every refused request gets a 4xx and {@code {"error": "...", "field": "..."}}: malformed JSON, wrong
 * types, missing or unknown fields (rejected, named), empty or too long contexts, k outside [1, V]
 * (400); unknown path (404, field "path"); wrong method (405, "method"); wrong content type (415,
 * "Content-Type"); bodies over 1 MiB (413, "body"); a body not received within the read timeout
 * (408, "body", then the connection is closed). Request headers that never complete are cut by the JDK's
 * own {@code sun.net.httpserver.maxReqTime} (set to 30 s unless given).
 */
public final class Server implements AutoCloseable {
  static {
    // must be set before the JDK's ServerConfig class loads (the first HttpServer of the JVM)
    if (System.getProperty("sun.net.httpserver.maxReqTime") == null) System.setProperty("sun.net.httpserver.maxReqTime", "30");
    // a request whose body we did not read to the end (timed out, oversized) closes its connection instead of
    // the handler thread blocking to drain it from a slow client
    if (System.getProperty("sun.net.httpserver.drainAmount") == null) System.setProperty("sun.net.httpserver.drainAmount", "0");
  }

  public static final int MAX_BODY = 1 << 20;
  /** Bodies up to this size are read and discarded before the 413, so that an ordinary client sees the response. */
  static final int DISCARD_CAP = 8 << 20;
  public static final int MAX_CONTEXT_WORDS = 10_000;
  public static final int MAX_SENTENCES = 1_000;
  public static final int MAX_SCORE_WORDS = 100_000;
  public static final int MAX_GENERATE_WORDS = 1_000;

  /** Server settings. {@code port} 0 picks a free port. */
  public record Options(String host, int port, int httpThreads, int maxBatch, double maxWaitMs, int readTimeoutMs, long stateCacheBytes) {
    /** Without a state cache: every context runs in full. */
    public Options(String host, int port, int httpThreads, int maxBatch, double maxWaitMs, int readTimeoutMs) {
      this(host, port, httpThreads, maxBatch, maxWaitMs, readTimeoutMs, 0);
    }

    public Options {
      if (stateCacheBytes < 0) throw new IllegalArgumentException("--state-cache-mb must be >= 0, got " + stateCacheBytes + " bytes");
      if (port < 0 || port > 65535) throw new IllegalArgumentException("--port must be in [0, 65535], got " + port);
      if (httpThreads < 1 || httpThreads > 4096) throw new IllegalArgumentException("--http-threads must be in [1, 4096], got " + httpThreads);
      if (readTimeoutMs < 1) throw new IllegalArgumentException("--read-timeout-ms must be >= 1, got " + readTimeoutMs);
    }

    public static Options defaults() { return new Options("127.0.0.1", 0, 128, 64, 2, 10_000); }

    public Options withPort(int p) { return new Options(host, p, httpThreads, maxBatch, maxWaitMs, readTimeoutMs, stateCacheBytes); }
    public Options withBatch(int b, double w) { return new Options(host, port, httpThreads, b, w, readTimeoutMs, stateCacheBytes); }
    public Options withReadTimeoutMs(int t) { return new Options(host, port, httpThreads, maxBatch, maxWaitMs, t, stateCacheBytes); }
    public Options withStateCacheBytes(long b) { return new Options(host, port, httpThreads, maxBatch, maxWaitMs, readTimeoutMs, b); }
  }

  private static final Gson GSON = new GsonBuilder().serializeSpecialFloatingPointValues().disableHtmlEscaping().create();
  private static final Map<String, JsonBody.Type> NEXT = JsonBody.schema("context", JsonBody.Type.STRING, "k", JsonBody.Type.INT);
  private static final Map<String, JsonBody.Type> SCORE = JsonBody.schema("sentences", JsonBody.Type.STRING_ARRAY, "per_token", JsonBody.Type.BOOLEAN);
  private static final Map<String, JsonBody.Type> GENERATE = JsonBody.schema("context", JsonBody.Type.STRING, "words", JsonBody.Type.INT,
      "temperature", JsonBody.Type.NUMBER, "top_k", JsonBody.Type.INT, "seed", JsonBody.Type.INT);

  private final LanguageModel model;
  private final Vocabulary vocab;
  private final Engine engine;
  private final Options opt;
  private final String modelName;
  private final HttpServer http;
  private final ExecutorService handlers;
  private final ScheduledThreadPoolExecutor watchdog;
  private final byte[] page;
  private final long started = System.nanoTime();
  private final AtomicLong ok = new AtomicLong(), clientErrors = new AtomicLong(), serverErrors = new AtomicLong();

  private Server(LanguageModel model, Vocabulary vocab, Engine.Generator gen, Options opt, String modelName) throws IOException {
    this.model = model;
    this.vocab = vocab;
    this.opt = opt;
    this.modelName = modelName;
    this.page = resource("index.html");
    this.engine = new Engine(model, vocab, gen, opt.maxBatch(), opt.maxWaitMs(), opt.stateCacheBytes());
    try {
      http = HttpServer.create(new InetSocketAddress(opt.host(), opt.port()), 256);
    } catch (IOException e) {
      engine.close();
      throw new UncheckedIOException("cannot listen on " + opt.host() + ":" + opt.port() + " (" + e.getMessage() + ")", e);
    }
    AtomicLong n = new AtomicLong();
    handlers = Executors.newFixedThreadPool(opt.httpThreads(), r -> {
      Thread t = new Thread(r, "lmhead-http-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    watchdog = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "lmhead-read-timeout");
      t.setDaemon(true);
      return t;
    });
    // every request schedules a read timeout and cancels it once its body is in: without this, each cancelled
    // timer (holding its exchange) stayed queued for the whole timeout, 20,000 of them at 2,000 requests/s
    watchdog.setRemoveOnCancelPolicy(true);
    http.setExecutor(handlers);
    http.createContext("/", this::handle);
    http.start();
  }

  /** Starts a server on {@code opt.host():opt.port()} (port 0: any free port). */
  public static Server start(LanguageModel model, Vocabulary vocab, Engine.Generator gen, Options opt, String modelName) throws IOException {
    return new Server(model, vocab, gen, opt, modelName);
  }

  public int port() { return http.getAddress().getPort(); }

  public Engine engine() { return engine; }

  @Override
  public void close() {
    http.stop(0);
    engine.close();
    handlers.shutdownNow();
    watchdog.shutdownNow();
  }

  private static byte[] resource(String name) throws IOException {
    try (InputStream in = Server.class.getResourceAsStream(name)) {
      if (in == null) throw new IOException("resource " + name + " missing from the jar");
      return in.readAllBytes();
    }
  }

  // ---------------------------------------------------------------- dispatch

  /** The request was answered elsewhere (the read-timeout watchdog) or its connection is gone. */
  private static final class Aborted extends Exception {
    Aborted() { super(null, null, false, false); }
  }

  private void handle(HttpExchange ex) {
    AtomicBoolean answered = new AtomicBoolean();
    String p = ex.getRequestURI().getPath();
    counted.set(ex.getRequestMethod().equals("POST") && ("/v1/next".equals(p) || "/v1/score".equals(p)));
    if (counted.get()) engine.arriving(+1);
    try {
      byte[] body = readBody(ex, answered);
      Object reply = route(ex, body);
      if (reply instanceof byte[] html) send(ex, answered, 200, "text/html; charset=utf-8", html);
      else send(ex, answered, 200, "application/json; charset=utf-8", GSON.toJson(reply).getBytes(StandardCharsets.UTF_8));
      ok.incrementAndGet();
    } catch (ApiError e) {
      (e.status >= 500 ? serverErrors : clientErrors).incrementAndGet();
      sendError(ex, answered, e);
    } catch (Aborted e) {
      // already answered (408) or the client went away
    } catch (Throwable t) {
      serverErrors.incrementAndGet();
      sendError(ex, answered, new ApiError(500, null, "internal error: " + t.getClass().getSimpleName()));
    } finally {
      queued();
      ex.close();
    }
  }

  /** Read-timeout timers still queued: those of requests whose body is being read now. */
  int pendingReadTimers() { return watchdog.getQueue().size(); }

  /** Whether this handler thread's request still counts as arriving at the engine (see {@link Engine#arriving}). */
  private final ThreadLocal<Boolean> counted = ThreadLocal.withInitial(() -> false);

  private void queued() {
    if (counted.get()) {
      counted.set(false);
      engine.arriving(-1);
    }
  }

  private Object route(HttpExchange ex, byte[] body) throws ApiError, Aborted {
    String path = ex.getRequestURI().getPath(), method = ex.getRequestMethod();
    boolean get = method.equals("GET") || method.equals("HEAD");
    switch (path == null ? "" : path) {
      case "/", "/index.html" -> { allow(ex, get, "GET, HEAD"); return page; }
      case "/health" -> { allow(ex, get, "GET, HEAD"); return health(); }
      case "/v1/model" -> { allow(ex, get, "GET, HEAD"); return modelInfo(); }
      case "/v1/next" -> { allow(ex, method.equals("POST"), "POST"); return next(parse(ex, body, NEXT)); }
      case "/v1/score" -> { allow(ex, method.equals("POST"), "POST"); return score(parse(ex, body, SCORE)); }
      case "/v1/generate" -> { allow(ex, method.equals("POST"), "POST"); return generate(parse(ex, body, GENERATE)); }
      default -> throw new ApiError(404, "path", "no such endpoint: " + clip(path, 200)
          + " (endpoints: POST /v1/next, POST /v1/score, POST /v1/generate, GET /v1/model, GET /health, GET /)");
    }
  }

  private static void allow(HttpExchange ex, boolean ok, String allowed) throws ApiError {
    if (ok) return;
    ex.getResponseHeaders().set("Allow", allowed);
    throw new ApiError(405, "method", "method " + clip(ex.getRequestMethod(), 20) + " not allowed here (allowed: " + allowed + ")");
  }

  // ---------------------------------------------------------------- request bodies

  /** The body, read within the read timeout; null when larger than {@link #MAX_BODY} (read and discarded up to {@link #DISCARD_CAP}). */
  private byte[] readBody(HttpExchange ex, AtomicBoolean answered) throws Aborted, ApiError {
    String len = ex.getRequestHeaders().getFirst("Content-Length");
    if (len != null) {
      long n;
      try {
        n = Long.parseLong(len.trim());
      } catch (NumberFormatException e) {
        throw new ApiError(400, "Content-Length", "bad Content-Length");
      }
      if (n > DISCARD_CAP) {
        ex.getResponseHeaders().set("Connection", "close"); // not read: the connection cannot be reused
        throw new ApiError(413, "body", "request body of " + n + " bytes is over the limit of " + MAX_BODY + " bytes");
      }
    }
    // always read to the end of the body (even an empty one): only then may the connection be kept alive
    ScheduledFuture<?> timer = watchdog.schedule(() -> {
      if (answered.compareAndSet(false, true)) {
        clientErrors.incrementAndGet();
        ex.getResponseHeaders().set("Connection", "close");
        respond(ex, 408, "application/json; charset=utf-8", errorJson(new ApiError(408, "body",
            "request body not received within " + opt.readTimeoutMs() + " ms")));
        ex.close(); // the body is unread: the server closes the connection, which ends the blocked read below
      }
    }, opt.readTimeoutMs(), TimeUnit.MILLISECONDS);
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    long total = 0;
    try (InputStream in = ex.getRequestBody()) {
      byte[] chunk = new byte[16384];
      for (int r; (r = in.read(chunk)) >= 0; ) {
        total += r;
        if (total <= MAX_BODY) buf.write(chunk, 0, r);
        else if (total > DISCARD_CAP) break;
      }
    } catch (IOException e) {
      if (answered.get()) throw new Aborted();
      throw new ApiError(400, "body", "could not read the request body (" + e.getClass().getSimpleName() + ")");
    } finally {
      timer.cancel(false);
    }
    if (answered.get()) throw new Aborted();
    if (total > DISCARD_CAP) ex.getResponseHeaders().set("Connection", "close");
    if (total > MAX_BODY) throw new ApiError(413, "body", "request body of " + (total > DISCARD_CAP ? "over " + DISCARD_CAP : total) + " bytes is over the limit of " + MAX_BODY + " bytes");
    return buf.toByteArray();
  }

  private static JsonBody parse(HttpExchange ex, byte[] body, Map<String, JsonBody.Type> schema) throws ApiError {
    String ct = ex.getRequestHeaders().getFirst("Content-Type");
    if (ct == null) throw new ApiError(415, "Content-Type", "missing Content-Type: send application/json");
    String[] parts = ct.split(";");
    if (!parts[0].trim().equalsIgnoreCase("application/json")) {
      throw new ApiError(415, "Content-Type", "Content-Type must be application/json, got '" + clip(ct, 100) + "'");
    }
    for (int i = 1; i < parts.length; i++) {
      String p = parts[i].trim().toLowerCase(Locale.ROOT);
      if (p.startsWith("charset=") && !p.equals("charset=utf-8") && !p.equals("charset=\"utf-8\"")) {
        throw new ApiError(415, "Content-Type", "only UTF-8 request bodies are accepted, got '" + clip(parts[i].trim(), 60) + "'");
      }
    }
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(body)).toString();
    } catch (CharacterCodingException e) {
      throw ApiError.bad("body", "the request body is not valid UTF-8");
    }
    if (text.isBlank()) throw ApiError.bad("body", "empty request body: send a JSON object");
    return JsonBody.parse(text, schema);
  }

  // ---------------------------------------------------------------- endpoints

  /** Encoded context: ids[0] = {@code <eos>}, then the words; and the OOV words. */
  private record Context(int[] seq, List<String> words, List<String> oov) {}

  private Context context(String field, String text, boolean allowEmpty) throws ApiError {
    List<String> words = Scorer.split(text);
    if (words.isEmpty() && !allowEmpty) throw ApiError.bad(field, "'" + field + "' has no words (it must contain at least one)");
    if (words.size() > MAX_CONTEXT_WORDS) {
      throw ApiError.bad(field, "'" + field + "' has " + words.size() + " words, over the limit of " + MAX_CONTEXT_WORDS);
    }
    int[] seq = new int[words.size() + 1];
    seq[0] = vocab.eosId();
    List<String> oov = new ArrayList<>();
    for (int i = 0; i < words.size(); i++) {
      seq[i + 1] = vocab.id(words.get(i));
      if (seq[i + 1] == vocab.unkId()) oov.add(words.get(i));
    }
    return new Context(seq, words, oov);
  }

  private Object next(JsonBody b) throws ApiError, Aborted {
    Context c = context("context", b.string("context", null), false);
    int k = (int) b.integer("k", 10L, 1, vocab.size());
    queued(); // before the job is queued: the batcher must not wait for this request itself
    Engine.Next r = await(engine.next(c.seq(), k));
    List<Object> top = new ArrayList<>();
    for (int j = 0; j < k; j++) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("word", vocab.word(r.ids()[j]));
      m.put("id", r.ids()[j]);
      m.put("logprob", r.logProbs()[j]);
      m.put("prob", Math.exp(r.logProbs()[j]));
      top.add(m);
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("words", c.words().size());
    out.put("oov", c.oov().size());
    out.put("oov_words", c.oov());
    out.put("k", k);
    out.put("top", top);
    return out;
  }

  private Object score(JsonBody b) throws ApiError, Aborted {
    List<String> sentences = b.strings("sentences");
    boolean perToken = b.bool("per_token", false);
    if (sentences.isEmpty()) throw ApiError.bad("sentences", "'sentences' is empty (give at least one)");
    if (sentences.size() > MAX_SENTENCES) throw ApiError.bad("sentences", "'sentences' has " + sentences.size() + " entries, over the limit of " + MAX_SENTENCES);
    int[][] seqs = new int[sentences.size()][];
    List<List<String>> words = new ArrayList<>();
    long total = 0;
    for (int i = 0; i < seqs.length; i++) {
      List<String> w = Scorer.split(sentences.get(i));
      total += w.size();
      if (w.size() > MAX_CONTEXT_WORDS) throw ApiError.bad("sentences", "'sentences[" + i + "]' has " + w.size() + " words, over the limit of " + MAX_CONTEXT_WORDS);
      if (total > MAX_SCORE_WORDS) throw ApiError.bad("sentences", "'sentences' has over " + MAX_SCORE_WORDS + " words in all");
      int[] q = new int[w.size() + 1];
      for (int t = 0; t < w.size(); t++) q[t] = vocab.id(w.get(t));
      q[w.size()] = vocab.eosId();
      seqs[i] = q;
      words.add(w);
    }
    queued();
    List<Scorer.Result> res = await(engine.score(seqs));
    List<Object> results = new ArrayList<>();
    double sum = 0;
    long tokens = 0, oov = 0;
    for (int i = 0; i < res.size(); i++) {
      Scorer.Result r = res.get(i);
      sum += r.logProb();
      tokens += r.tokens();
      oov += r.oov();
      results.add(r.fields(words.get(i), perToken, vocab.unkId())); // the fields and order of `lmhead score --json`
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("results", results);
    out.put("sentences", res.size());
    out.put("tokens", tokens);
    out.put("oov", oov);
    out.put("logprob", sum);
    out.put("ppl", Math.exp(-sum / Math.max(1, tokens)));
    return out;
  }

  private Object generate(JsonBody b) throws ApiError, Aborted {
    String ctx = b.string("context", "");
    Context c = context("context", ctx, true);
    int words = (int) b.integer("words", 20L, 0, MAX_GENERATE_WORDS);
    double temperature = b.number("temperature", 1.0);
    if (!(temperature > 0) || temperature > 1e6) throw ApiError.bad("temperature", "'temperature' must be in (0, 1e6], got " + temperature);
    int topK = (int) b.integer("top_k", 0L, 0, vocab.size());
    long seed = b.integer("seed", 1111L, Long.MIN_VALUE, Long.MAX_VALUE);
    String prompt = c.words().isEmpty() ? null : String.join(" ", c.words());
    String text = await(engine.generate(prompt, words, temperature, topK, seed));
    String cont = prompt != null && text.startsWith(prompt) ? text.substring(prompt.length()).strip() : text;
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("text", text);
    out.put("continuation", cont);
    out.put("oov", c.oov().size());
    out.put("words", words);
    out.put("temperature", temperature);
    out.put("top_k", topK);
    out.put("seed", seed);
    return out;
  }

  private Object health() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("status", "ok");
    m.put("uptime_s", (System.nanoTime() - started) / 1e9);
    m.put("queued", engine.queued());
    m.put("responses_ok", ok.get());
    m.put("client_errors", clientErrors.get());
    m.put("server_errors", serverErrors.get());
    m.put("batches", engine.batches.get());
    m.put("forward_passes", engine.passes.get());
    m.put("contexts", engine.contexts.get());
    m.put("largest_pass", engine.largestPass.get());
    m.put("model_busy_s", engine.busyNanos.get() / 1e9);
    m.put("next_lstm_s", engine.nextLstmNanos.get() / 1e9);
    m.put("next_head_s", engine.nextHeadNanos.get() / 1e9);
    Map<String, Long> cache = engine.stateCacheStats();
    if (cache != null) m.put("state_cache", cache);
    Runtime rt = Runtime.getRuntime();
    m.put("heap_used_mb", (rt.totalMemory() - rt.freeMemory()) / 1048576.0);
    return m;
  }

  private Object modelInfo() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("model", modelName);
    m.put("head", model.decoder.type());
    m.put("vocab_size", vocab.size());
    m.put("parameters", model.parameterCount());
    m.put("config", Checkpoint.gson().toJsonTree(model.config));
    m.put("max_batch", engine.maxBatch());
    m.put("max_wait_ms", engine.maxWaitMs());
    Map<String, Object> lim = new LinkedHashMap<>();
    lim.put("body_bytes", MAX_BODY);
    lim.put("context_words", MAX_CONTEXT_WORDS);
    lim.put("sentences", MAX_SENTENCES);
    lim.put("score_words", MAX_SCORE_WORDS);
    lim.put("generate_words", MAX_GENERATE_WORDS);
    lim.put("read_timeout_ms", opt.readTimeoutMs());
    m.put("limits", lim);
    return m;
  }

  private static <T> T await(CompletableFuture<T> f) throws ApiError {
    try {
      return f.get(600, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof OutOfMemoryError) throw new ApiError(503, null, "out of memory: try a shorter request");
      if (c instanceof IllegalStateException) throw new ApiError(503, null, c.getMessage());
      throw new ApiError(500, null, "internal error: " + (c == null ? "unknown" : c.getClass().getSimpleName()));
    } catch (TimeoutException e) {
      throw new ApiError(503, null, "the model did not answer within 600 s");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ApiError(503, null, "server is shutting down");
    }
  }

  // ---------------------------------------------------------------- responses

  private static byte[] errorJson(ApiError e) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("error", e.getMessage());
    m.put("field", e.field);
    return new GsonBuilder().serializeNulls().disableHtmlEscaping().create().toJson(m).getBytes(StandardCharsets.UTF_8);
  }

  private void sendError(HttpExchange ex, AtomicBoolean answered, ApiError e) {
    send(ex, answered, e.status, "application/json; charset=utf-8", errorJson(e));
  }

  private static void send(HttpExchange ex, AtomicBoolean answered, int status, String type, byte[] body) {
    if (answered.compareAndSet(false, true)) respond(ex, status, type, body);
  }

  private static void respond(HttpExchange ex, int status, String type, byte[] body) {
    try {
      ex.getResponseHeaders().set("Content-Type", type);
      ex.getResponseHeaders().set("Cache-Control", "no-store");
      ex.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
      boolean head = ex.getRequestMethod().equals("HEAD");
      ex.sendResponseHeaders(status, head ? -1 : body.length);
      if (!head) {
        try (OutputStream out = ex.getResponseBody()) {
          out.write(body);
        }
      }
    } catch (IOException | RuntimeException e) {
      // the client went away: nothing to do, the connection is closed
    }
  }

  private static String clip(String s, int n) {
    if (s == null) return "";
    return s.length() > n ? s.substring(0, n) + "..." : s;
  }
}
