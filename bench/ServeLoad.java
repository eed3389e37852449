// Load test for 'lmhead serve': closed-loop clients on POST /v1/next, bounded in time and count.
// Source-file program, JDK only (java.net.http):
//
//   java bench/ServeLoad.java --url http://127.0.0.1:8080 --clients 1,8,64 --seconds 10 --max-requests 20000 \
//       [--warmup 2] [--k 10] [--min-words 5] [--max-words 20] [--data data/wikitext-2/valid.txt.gz] [--label NAME]
//
// Each client sends one request, waits for the answer, sends the next (keep-alive connections). Contexts are
// word windows of 5..20 words (uniform) from WikiText-2's validation text, the same sequence for every run
// (seed 1). For each concurrency level: a warm-up, then requests/s over the measured window, latency p50/p99,
// errors (any non-200 answer or I/O failure), and from /health the mean contexts per forward pass.
// Prints one JSON object per level on stdout.
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
    String url = "http://127.0.0.1:8080", path = "/v1/next", data = "data/wikitext-2/valid.txt.gz", label = "";
    int[] clients = {1, 8, 64};
    double seconds = 10, warmup = 2;
    int maxRequests = 20000, k = 10, minWords = 5, maxWords = 20;
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
        case "--path" -> path = v; // e.g. /health (GET): the HTTP stack alone, no model
        default -> throw new IllegalArgumentException("unknown flag " + args[i]);
      }
    }
    if (seconds <= 0 || seconds > 600 || maxRequests < 1 || maxRequests > 1_000_000) throw new IllegalArgumentException("bounded runs only: --seconds in (0, 600], --max-requests in [1, 1e6]");
    List<String> bodies = contexts(data, 4096, minWords, maxWords, k);
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    waitHealthy(http, url);
    for (int c : clients) {
      run(http, url + path, bodies, c, warmup, maxRequests); // warm-up (JIT, buffers, connections)
      long[] h0 = health(http, url);
      Result r = run(http, url + path, bodies, c, seconds, maxRequests);
      long[] h1 = health(http, url);
      double perPass = (h1[1] - h0[1]) / (double) Math.max(1, h1[0] - h0[0]);
      double busy = (h1[2] - h0[2]) / 1e9 / r.seconds; // share of the time the model thread was computing
      // of the /v1/next passes' time: the share in the head's top-k (the rest is the LSTM over the contexts)
      double lstm = h1[3] - h0[3], head = h1[4] - h0[4], headShare = lstm + head > 0 ? head / (lstm + head) : Double.NaN;
      System.out.printf(Locale.ROOT, "{\"label\": \"%s\", \"clients\": %d, \"requests\": %d, \"errors\": %d, \"seconds\": %.3f, \"rps\": %.1f, "
          + "\"p50_ms\": %.2f, \"p99_ms\": %.2f, \"mean_ms\": %.2f, \"contexts_per_pass\": %.2f, \"model_busy\": %.2f, \"head_share\": %.3f}%n",
          label, c, r.ok, r.errors, r.seconds, r.ok / r.seconds, r.pct(0.50), r.pct(0.99), r.mean(), perPass, busy, headShare);
    }
  }

  record Result(int ok, int errors, double seconds, long[] lat) {
    double pct(double p) {
      if (lat.length == 0) return Double.NaN;
      return lat[Math.min(lat.length - 1, (int) Math.ceil(p * lat.length) - 1)] / 1e6;
    }
    double mean() { return Arrays.stream(lat).average().orElse(Double.NaN) / 1e6; }
  }

  static Result run(HttpClient http, String url, List<String> bodies, int clients, double seconds, int maxRequests) throws Exception {
    AtomicInteger issued = new AtomicInteger(), errors = new AtomicInteger();
    long end = System.nanoTime() + (long) (seconds * 1e9);
    List<long[]> lats = new ArrayList<>();
    int[] counts = new int[clients];
    String[] errMsg = new String[1];
    Thread[] ts = new Thread[clients];
    long t0 = System.nanoTime();
    for (int c = 0; c < clients; c++) {
      long[] mine = new long[maxRequests];
      lats.add(mine);
      int cid = c;
      ts[c] = new Thread(() -> {
        int count = 0;
        while (System.nanoTime() < end) {
          int i = issued.getAndIncrement();
          if (i >= maxRequests) break;
          String body = bodies.get((i * 7919 + cid) % bodies.size());
          long s = System.nanoTime();
          try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60));
            if (url.endsWith("/health")) b.GET();
            else b.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) throw new RuntimeException("HTTP " + r.statusCode() + ": " + r.body());
            mine[count++] = System.nanoTime() - s;
          } catch (Exception e) {
            errors.incrementAndGet();
            synchronized (errMsg) { if (errMsg[0] == null) errMsg[0] = e.toString(); }
          }
        }
        counts[cid] = count;
      });
      ts[c].start();
    }
    for (Thread t : ts) t.join();
    double secs = (System.nanoTime() - t0) / 1e9;
    int total = 0;
    List<Long> all = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      for (int i = 0; i < counts[c]; i++) all.add(lats.get(c)[i]);
      total += counts[c];
    }
    if (errMsg[0] != null) System.err.println("first error: " + errMsg[0]);
    long[] lat = all.stream().mapToLong(Long::longValue).sorted().toArray();
    return new Result(total, errors.get(), secs, lat);
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
    return new long[] {num(b, "forward_passes"), num(b, "contexts"), nanos(b, "model_busy_s"), nanos(b, "next_lstm_s"), nanos(b, "next_head_s")};
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

  static List<String> contexts(String file, int n, int minWords, int maxWords, int k) throws Exception {
    List<String> words = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(file.endsWith(".gz")
        ? new GZIPInputStream(Files.newInputStream(Path.of(file))) : Files.newInputStream(Path.of(file)), StandardCharsets.UTF_8))) {
      for (String line; (line = r.readLine()) != null && words.size() < 200_000; ) {
        for (String w : line.trim().split("\\s+")) if (!w.isEmpty()) words.add(w);
      }
    }
    Random rnd = new Random(1);
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int len = minWords + rnd.nextInt(maxWords - minWords + 1);
      int s = rnd.nextInt(words.size() - len);
      String ctx = String.join(" ", words.subList(s, s + len)).replace("\\", "\\\\").replace("\"", "\\\"");
      out.add("{\"context\": \"" + ctx + "\", \"k\": " + k + "}");
    }
    return out;
  }
}
