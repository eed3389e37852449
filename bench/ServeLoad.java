// Load test for 'lmhead serve': closed-loop clients on POST /v1/next, bounded in time and count.
// Source-file program, JDK only (java.net.http):
//
//   java bench/ServeLoad.java --url http://127.0.0.1:8080 --clients 1,8,64 --seconds 10 --max-requests 20000 \
//       [--warmup 2] [--k 10] [--min-words 5] [--max-words 20] [--data data/wikitext-2/valid.txt.gz] [--label NAME]
//       [--client socket|jdk] [--repeat 1] [--workload random|typing]
//
// --client socket (the default): each client is one thread on one keep-alive TCP connection that writes the
// HTTP/1.1 request bytes and parses the status line, headers and Content-Length body itself, as wrk does: a load
// generator that costs little CPU, so on a 2-core machine the server keeps the cores. --client jdk: java.net.http's
// HttpClient (what the tables before 2026-12-03 used; measured here at about 0.56 of a core for 876 requests/s).
// Every answer must be "200" with a JSON object body, or it counts as an error.
//
// Each client sends one request, waits for the answer, sends the next (keep-alive connections). Contexts are
// word windows of 5..20 words (uniform) from WikiText-2's validation text, the same sequence for every run
// (seed 1). For each concurrency level: a warm-up, then requests/s over the measured window, latency p50/p99,
// errors (any non-200 answer or I/O failure), and from /health the mean contexts per forward pass.
// Prints one JSON object per level and measured window (--repeat N: N windows after the one warm-up) on stdout.
//
// --workload random (the default): the contexts above, 4,096 of them cycled (so a server with a state cache finds many
// whole: measure the model's work with 'lmhead serve --state-cache-mb 0'). --workload typing: what an autocomplete
// box sends: each client starts at a random word of the text and sends its first 5 words, then 6, ... up to 20
// (one request per word typed), then starts again elsewhere; with a state cache each request continues the
// previous one. The hit counts of the server's state cache (/health) are printed when it has one.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

public class ServeLoad {
  public static void main(String[] args) throws Exception {
    String url = "http://127.0.0.1:8080", path = "/v1/next", data = "data/wikitext-2/valid.txt.gz", label = "", client = "socket", workload = "random";
    int[] clients = {1, 8, 64};
    double seconds = 10, warmup = 2;
    int maxRequests = 20000, k = 10, minWords = 5, maxWords = 20, repeat = 1;
    for (int i = 0; i + 1 < args.length; i += 2) {
      String v = args[i + 1];
      switch (args[i]) {
        case "--url" -> url = v;
        case "--clients" -> clients = Arrays.stream(v.split(",")).mapToInt(Integer::parseInt).toArray();
        case "--seconds" -> seconds = Double.parseDouble(v);
        case "--warmup" -> warmup = Double.parseDouble(v);
        case "--max-requests" -> maxRequests = Integer.parseInt(v);
        case "--k" -> k = Integer.parseInt(v);
        case "--min-words" -> minWords = Integer.parseInt(v);
        case "--max-words" -> maxWords = Integer.parseInt(v);
        case "--data" -> data = v;
        case "--label" -> label = v;
        case "--repeat" -> repeat = Integer.parseInt(v);
        case "--path" -> path = v; // e.g. /health (GET): the HTTP stack alone, no model
        case "--workload" -> { if (!v.equals("random") && !v.equals("typing")) throw new IllegalArgumentException("--workload random|typing, got " + v); workload = v; }
        case "--client" -> { if (!v.equals("socket") && !v.equals("jdk")) throw new IllegalArgumentException("--client socket|jdk, got " + v); client = v; }
        default -> throw new IllegalArgumentException("unknown flag " + args[i]);
      }
    }
    if (seconds <= 0 || seconds > 600 || maxRequests < 1 || maxRequests > 1_000_000 || repeat < 1 || repeat > 20) throw new IllegalArgumentException("bounded runs only: --seconds in (0, 600], --max-requests in [1, 1e6], --repeat in [1, 20]");
    List<String> words = words(data);
    Workload load = workload.equals("typing") ? typing(words, minWords, maxWords, k) : random(contexts(words, 4096, minWords, maxWords, k));
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    waitHealthy(http, url);
    for (int c : clients) {
      String target = url + path, base = url, route = path;
      java.util.function.Supplier<Client> make = client.equals("socket") ? () -> socketClient(base, route) : () -> jdkClient(http, target);
      run(make, load, c, warmup, maxRequests); // warm-up (JIT, buffers, connections)
      for (int rep = 0; rep < repeat; rep++) {
        long[] h0 = health(http, url);
        long cpu0 = processCpuNanos();
        Result r = run(make, load, c, seconds, maxRequests);
        double clientCpu = (processCpuNanos() - cpu0) / 1e9 / r.seconds; // cores this load generator used
        long[] h1 = health(http, url);
        double perPass = (h1[1] - h0[1]) / (double) Math.max(1, h1[0] - h0[0]);
        double busy = (h1[2] - h0[2]) / 1e9 / r.seconds; // share of the time the model thread was computing
        // of the /v1/next passes' time: the share in the head's top-k (the rest is the LSTM over the contexts)
        double lstm = h1[3] - h0[3], head = h1[4] - h0[4], headShare = lstm + head > 0 ? head / (lstm + head) : Double.NaN;
        // the state cache (0 without one): contexts found whole or continued from a kept prefix, per lookup
        long lookups = h1[5] - h0[5];
        double whole = lookups > 0 ? (h1[6] - h0[6]) / (double) lookups : 0, prefix = lookups > 0 ? (h1[7] - h0[7]) / (double) lookups : 0;
        System.out.printf(Locale.ROOT, "{\"label\": \"%s\", \"clients\": %d, \"repeat\": %d, \"requests\": %d, \"errors\": %d, \"seconds\": %.3f, \"rps\": %.1f, "
            + "\"p50_ms\": %.2f, \"p99_ms\": %.2f, \"mean_ms\": %.2f, \"contexts_per_pass\": %.2f, \"model_busy\": %.2f, \"head_share\": %.3f, "
            + "\"client\": \"%s\", \"client_cpu_cores\": %.2f, \"workload\": \"%s\", \"cache_whole\": %.3f, \"cache_prefix\": %.3f}%n",
            label, c, rep, r.ok, r.errors, r.seconds, r.ok / r.seconds, r.pct(0.50), r.pct(0.99), r.mean(), perPass, busy, headShare, client, clientCpu,
            workload, whole, prefix);
      }
    }
  }

  record Result(int ok, int errors, double seconds, long[] lat) {
    double pct(double p) {
      if (lat.length == 0) return Double.NaN;
      return lat[Math.min(lat.length - 1, (int) Math.ceil(p * lat.length) - 1)] / 1e6;
    }
    double mean() { return Arrays.stream(lat).average().orElse(Double.NaN) / 1e6; }
  }

  /** One load-generating client (one thread): sends a request and checks its answer, throwing on any failure. */
  interface Client {
    void send(String body) throws Exception;

    /** After a failure: drop what the failure may have left broken (a connection). */
    default void reset() {}
  }

  /** java.net.http's HttpClient (--client jdk). */
  static Client jdkClient(HttpClient http, String url) {
    return body -> {
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60));
      if (url.endsWith("/health")) b.GET();
      else b.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
      HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) throw new RuntimeException("HTTP " + r.statusCode() + ": " + r.body());
    };
  }

  /** A raw keep-alive socket (--client socket, see the header), opened on first use and after a failure. */
  static Client socketClient(String url, String path) {
    URI u = URI.create(url);
    String host = u.getHost();
    int port = u.getPort() < 0 ? 80 : u.getPort();
    boolean get = path.endsWith("/health");
    return new Client() {
      Conn conn;

      @Override
      public void send(String text) throws Exception {
        if (conn == null) conn = new Conn(host, port);
        byte[] body = get ? new byte[0] : text.getBytes(StandardCharsets.UTF_8);
        String head = (get ? "GET " : "POST ") + path + " HTTP/1.1\r\nHost: " + host + ":" + port + "\r\n"
            + (get ? "" : "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n") + "\r\n";
        String answer = conn.exchange(head.getBytes(StandardCharsets.ISO_8859_1), body);
        if (!answer.startsWith("{")) throw new RuntimeException("not a JSON object: " + answer.substring(0, Math.min(80, answer.length())));
      }

      @Override
      public void reset() {
        if (conn != null) conn.close();
        conn = null;
      }
    };
  }

  /** CLIENTS threads, each with its own client, in a closed loop for SECONDS (at most MAX_REQUESTS in all). */
  /** The request bodies one client sends, one after the other. */
  interface Workload {
    java.util.function.IntFunction<String> client(int id);
  }

  static Workload random(List<String> bodies) {
    return cid -> i -> bodies.get((i * 7919 + cid) % bodies.size());
  }

  static final AtomicInteger WALKS = new AtomicInteger();

  /** Each client types: a random start, then contexts of minWords, minWords + 1, ... maxWords words from it. */
  static Workload typing(List<String> words, int minWords, int maxWords, int k) {
    return cid -> {
      Random rnd = new Random(1_000_003L * WALKS.incrementAndGet() + cid);
      int[] st = {0, maxWords}; // start, length of the last context
      return i -> {
        if (++st[1] > maxWords) { st[0] = rnd.nextInt(words.size() - maxWords); st[1] = minWords; }
        return body(words.subList(st[0], st[0] + st[1]), k);
      };
    };
  }

  static String body(List<String> ctx, int k) {
    return "{\"context\": \"" + String.join(" ", ctx).replace("\\", "\\\\").replace("\"", "\\\"") + "\", \"k\": " + k + "}";
  }

  static Result run(java.util.function.Supplier<Client> newClient, Workload load, int clients, double seconds, int maxRequests) throws Exception {
    AtomicInteger issued = new AtomicInteger(), errors = new AtomicInteger();
    long end = System.nanoTime() + (long) (seconds * 1e9);
    long[][] lats = new long[clients][];
    int[] counts = new int[clients];
    String[] errMsg = new String[1];
    Thread[] ts = new Thread[clients];
    long t0 = System.nanoTime();
    for (int c = 0; c < clients; c++) {
      long[] mine = lats[c] = new long[maxRequests];
      int cid = c;
      Client client = newClient.get();
      java.util.function.IntFunction<String> bodies = load.client(cid);
      ts[c] = new Thread(() -> {
        int count = 0;
        while (System.nanoTime() < end) {
          int i = issued.getAndIncrement();
          if (i >= maxRequests) break;
          String body = bodies.apply(i);
          long s = System.nanoTime();
          try {
            client.send(body);
            mine[count++] = System.nanoTime() - s;
          } catch (Exception e) {
            errors.incrementAndGet();
            synchronized (errMsg) { if (errMsg[0] == null) errMsg[0] = e.toString(); }
            client.reset();
          }
        }
        client.reset();
        counts[cid] = count;
      });
      ts[c].start();
    }
    for (Thread t : ts) t.join();
    double secs = (System.nanoTime() - t0) / 1e9;
    int total = 0;
    for (int n : counts) total += n;
    long[] lat = new long[total];
    for (int c = 0, at = 0; c < clients; c++) { System.arraycopy(lats[c], 0, lat, at, counts[c]); at += counts[c]; }
    Arrays.sort(lat);
    if (errMsg[0] != null) System.err.println("first error: " + errMsg[0]);
    return new Result(total, errors.get(), secs, lat);
  }

  /** CPU time of this process (all threads), from the OS. */
  static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  /** One keep-alive HTTP/1.1 connection: write a request, read one fixed-length (Content-Length) response. */
  static final class Conn {
    final java.net.Socket socket;
    final java.io.OutputStream out;
    final java.io.InputStream in;
    final byte[] buf = new byte[1 << 16];
    int pos, lim;

    Conn(String host, int port) throws java.io.IOException {
      socket = new java.net.Socket(host, port);
      socket.setTcpNoDelay(true);
      socket.setSoTimeout(60_000);
      out = new java.io.BufferedOutputStream(socket.getOutputStream(), 8192);
      in = socket.getInputStream();
    }

    String exchange(byte[] head, byte[] body) throws java.io.IOException {
      out.write(head);
      out.write(body);
      out.flush();
      String status = line();
      if (!status.startsWith("HTTP/1.1 200")) throw new RuntimeException(status);
      int length = -1;
      for (String h; !(h = line()).isEmpty(); ) {
        if (h.regionMatches(true, 0, "content-length:", 0, 15)) length = Integer.parseInt(h.substring(15).trim());
      }
      if (length < 0) throw new RuntimeException("no Content-Length in the response");
      byte[] b = new byte[length];
      for (int got = 0; got < length; ) {
        if (pos == lim) fill();
        int n = Math.min(length - got, lim - pos);
        System.arraycopy(buf, pos, b, got, n);
        pos += n;
        got += n;
      }
      return new String(b, StandardCharsets.UTF_8);
    }

    private String line() throws java.io.IOException {
      StringBuilder sb = new StringBuilder();
      while (true) {
        if (pos == lim) fill();
        byte c = buf[pos++];
        if (c == '\n') break;
        if (c != '\r') sb.append((char) c);
      }
      return sb.toString();
    }

    private void fill() throws java.io.IOException {
      pos = 0;
      lim = in.read(buf);
      if (lim <= 0) { lim = 0; throw new java.io.EOFException("connection closed by the server"); }
    }

    void close() { try { socket.close(); } catch (java.io.IOException ignored) { } }
  }

  static void waitHealthy(HttpClient http, String url) throws Exception {
    long end = System.nanoTime() + 120_000_000_000L;
    while (System.nanoTime() < end) {
      try {
        if (http.send(HttpRequest.newBuilder(URI.create(url + "/health")).build(), HttpResponse.BodyHandlers.ofString()).statusCode() == 200) return;
      } catch (Exception e) {
        Thread.sleep(250);
      }
    }
    throw new IllegalStateException(url + "/health did not answer within 120 s");
  }

  /** [forward_passes, contexts] from /health. */
  static long[] health(HttpClient http, String url) throws Exception {
    String b = http.send(HttpRequest.newBuilder(URI.create(url + "/health")).build(), HttpResponse.BodyHandlers.ofString()).body();
    return new long[] {num(b, "forward_passes"), num(b, "contexts"), nanos(b, "model_busy_s"), nanos(b, "next_lstm_s"), nanos(b, "next_head_s"),
        num(b, "lookups"), num(b, "whole_hits"), num(b, "prefix_hits")};
  }

  /** A field of /health given in seconds, as nanoseconds (0 when absent). */
  static long nanos(String json, String field) {
    Matcher m = Pattern.compile("\"" + field + "\":([0-9.eE+-]+)").matcher(json);
    return m.find() ? (long) (Double.parseDouble(m.group(1)) * 1e9) : 0;
  }

  static long num(String json, String field) {
    Matcher m = Pattern.compile("\"" + field + "\":(\\d+)").matcher(json);
    return m.find() ? Long.parseLong(m.group(1)) : 0;
  }

  static List<String> words(String file) throws Exception {
    List<String> words = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(file.endsWith(".gz")
        ? new GZIPInputStream(Files.newInputStream(Path.of(file))) : Files.newInputStream(Path.of(file)), StandardCharsets.UTF_8))) {
      for (String line; (line = r.readLine()) != null && words.size() < 200_000; ) {
        for (String w : line.trim().split("\\s+")) if (!w.isEmpty()) words.add(w);
      }
    }
    return words;
  }

  static List<String> contexts(List<String> words, int n, int minWords, int maxWords, int k) {
    Random rnd = new Random(1);
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int len = minWords + rnd.nextInt(maxWords - minWords + 1);
      int s = rnd.nextInt(words.size() - len);
      out.add(body(words.subList(s, s + len), k));
    }
    return out;
  }
}
