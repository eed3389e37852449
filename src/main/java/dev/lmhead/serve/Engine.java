package dev.lmhead.serve;

import dev.lmhead.data.Vocabulary;
import dev.lmhead.head.TopK;
import dev.lmhead.model.LanguageModel;
import dev.lmhead.model.Scorer;
import dev.lmhead.nn.Lstm;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The only thread that touches the model: a batcher. Requests are queued as jobs; the batcher takes the
 * first, takes whatever else is queued and, when more work is likely (the server is reading further requests,
 * or the previous batch held several), waits at most {@code maxWaitMs} for it (up to {@code maxBatch}
 * contexts), then runs every
 * next-word job of the window in one forward pass per length group, every scoring job through
 * {@link Scorer}, and generation jobs one by one.
 *
 * <p>Why batching never changes a result: contexts are fed from a fresh state as one packed batch
 * ({@link LanguageModel#packedHeadInputs}, PyTorch's {@code PackedSequence}): each context runs over its own
 * tokens only, no padding is computed, and an LSTM's columns are independent, so a context's hidden state at
 * its last position does not depend on the other contexts; only those rows reach the head.
 * The only possible difference is floating-point: a GEMM over B rows instead of 1. Some OpenBLAS kernels
 * (SkylakeX) compute each row of a product the same way whatever the number of rows, others (Haswell) do
 * not, and the pure-Java GEMM's small-product path differs too: results agree up to float rounding (below
 * 1e-6 per log-prob measured; the tests allow 1e-5), and near-ties may swap. Top-k is computed once with the largest k of the group and cut per request: exact top-k with ties
 * broken by the smaller id is a prefix of a larger exact top-k.
 *
 * <p>With a {@link StateCache} (the server's {@code --state-cache-mb}), each context first looks up the longest
 * prefix of it already run: a context seen whole goes straight to the head (its kept top-layer state is its head
 * input), one that extends a kept prefix runs only its new words, continuing from the kept state in the same
 * packed pass as the others; the state after every context run is kept. Results are those of the full context up
 * to float rounding, as for batching.
 *
 * <p>Memory is bounded: a forward pass holds at most {@code maxBatch} contexts and
 * {@link #TOKEN_BUDGET} padded positions (contexts are grouped by length; one context alone may exceed
 * the budget, it is limited by the server's context limit).
 */
public final class Engine implements AutoCloseable {
  /** Generation with the same sampler as {@code lmhead generate} (injected by the CLI). */
  @FunctionalInterface
  public interface Generator {
    String generate(LanguageModel m, Vocabulary v, String prompt, int words, double temperature, int topK, long seed);
  }

  /** Padded positions (B x T) per forward pass. */
  public static final int TOKEN_BUDGET = 32_768;

  /** Exact top-k of one context. */
  public record Next(int[] ids, float[] logProbs) {}

  private sealed interface Job permits NextJob, ScoreJob, GenJob {
    int contexts();
    CompletableFuture<?> future();
  }

  private record NextJob(int[] seq, int k, CompletableFuture<Next> future) implements Job {
    public int contexts() { return 1; }
  }

  private record ScoreJob(int[][] seqs, CompletableFuture<List<Scorer.Result>> future) implements Job {
    public int contexts() { return Math.max(1, seqs.length); }
  }

  private record GenJob(String prompt, int words, double temperature, int topK, long seed, CompletableFuture<String> future) implements Job {
    public int contexts() { return 1; }
  }

  private final LanguageModel model;
  private final Vocabulary vocab;
  private final Scorer scorer;
  private final Generator generator;
  private final int maxBatch;
  private final long waitNanos;
  private final StateCache cache; // null: off
  private final float[] entry;
  private final LinkedBlockingQueue<Job> queue = new LinkedBlockingQueue<>();
  private final Thread thread;
  private volatile boolean running = true;
  /** Batchable requests received by the server and not yet queued (being read or parsed): more work is coming. */
  private final java.util.concurrent.atomic.AtomicInteger arriving = new java.util.concurrent.atomic.AtomicInteger();

  final AtomicLong batches = new AtomicLong(), passes = new AtomicLong(), contexts = new AtomicLong(), largestPass = new AtomicLong(), busyNanos = new AtomicLong();
  /** Time of /v1/next passes split into the LSTM over the contexts and the head's top-k: what bounds a faster head. */
  final AtomicLong nextLstmNanos = new AtomicLong(), nextHeadNanos = new AtomicLong();

  public Engine(LanguageModel model, Vocabulary vocab, Generator generator, int maxBatch, double maxWaitMs) {
    this(model, vocab, generator, maxBatch, maxWaitMs, 0);
  }

  /**
   * @param stateCacheBytes memory for the LSTM states after contexts already run ({@link StateCache}): a context
   *     that extends (or repeats) one of them runs only its new words; 0 = off, every context runs in full
   */
  public Engine(LanguageModel model, Vocabulary vocab, Generator generator, int maxBatch, double maxWaitMs, long stateCacheBytes) {
    if (stateCacheBytes < 0) throw new IllegalArgumentException("--state-cache-mb must be >= 0, got " + stateCacheBytes + " bytes");
    if (maxBatch < 1) throw new IllegalArgumentException("--max-batch must be >= 1, got " + maxBatch);
    if (!(maxWaitMs >= 0 && maxWaitMs <= 10_000)) throw new IllegalArgumentException("--max-wait-ms must be in [0, 10000], got " + maxWaitMs);
    this.model = model;
    this.vocab = vocab;
    this.scorer = new Scorer(model, vocab);
    this.generator = generator;
    this.maxBatch = maxBatch;
    this.waitNanos = (long) (maxWaitMs * 1e6);
    int stateFloats = 2 * model.config.layers() * model.config.hidden();
    this.cache = stateCacheBytes > 0 ? new StateCache(stateFloats, stateCacheBytes) : null;
    this.entry = new float[stateFloats];
    thread = new Thread(this::loop, "lmhead-batcher");
    thread.setDaemon(true);
    thread.start();
  }

  public int maxBatch() { return maxBatch; }

  public double maxWaitMs() { return waitNanos / 1e6; }

  public int queued() { return queue.size(); }

  /**
   * The state cache's counters (for /health), current for every answered request: null when it is off; else
   * lookups, contexts found whole, contexts continued from a kept prefix, tokens not run thanks to it, entries,
   * bytes, evictions.
   */
  public Map<String, Long> stateCacheStats() {
    if (cache == null) return null;
    Map<String, Long> m = new LinkedHashMap<>();
    m.put("lookups", cache.lookups);
    m.put("whole_hits", cache.fullHits);
    m.put("prefix_hits", cache.partialHits);
    m.put("tokens_saved", cache.tokensSaved);
    m.put("entries", (long) cache.entries());
    m.put("bytes", cache.bytes());
    m.put("evictions", cache.evictions);
    return m;
  }

  /**
   * The server calls this with +1 when a /v1/next or /v1/score request arrives and with -1 once it is queued
   * (or refused). The batcher waits for more work only while such requests exist: a lone client does not pay
   * the --max-wait-ms, concurrent ones are still gathered.
   */
  public void arriving(int delta) { arriving.addAndGet(delta); }

  /** Exact top-k next words after {@code seq} ({@code <eos>} first, then the context's ids). */
  public CompletableFuture<Next> next(int[] seq, int k) {
    return submit(new NextJob(seq, k, new CompletableFuture<>()));
  }

  /** Scores token-id sequences as {@link Scorer#scoreIds} does. */
  public CompletableFuture<List<Scorer.Result>> score(int[][] seqs) {
    return submit(new ScoreJob(seqs, new CompletableFuture<>()));
  }

  /** Samples a continuation with the injected generator (the one {@code lmhead generate} uses). */
  public CompletableFuture<String> generate(String prompt, int words, double temperature, int topK, long seed) {
    if (generator == null) return CompletableFuture.failedFuture(new UnsupportedOperationException("generation is not configured"));
    return submit(new GenJob(prompt, words, temperature, topK, seed, new CompletableFuture<>()));
  }

  @SuppressWarnings("unchecked")
  private <T> CompletableFuture<T> submit(Job j) {
    if (!running) return CompletableFuture.failedFuture(new IllegalStateException("server is shutting down"));
    queue.add(j);
    return (CompletableFuture<T>) j.future();
  }

  private void loop() {
    List<Job> batch = new ArrayList<>();
    int lastJobs = 0;
    while (running) {
      Job first;
      try {
        first = queue.poll(100, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        break;
      }
      if (first == null) continue;
      batch.add(first);
      int n = first.contexts();
      if (!(first instanceof GenJob)) {
        long deadline = System.nanoTime() + waitNanos;
        try {
          while (n < maxBatch) {
            long rem = deadline - System.nanoTime();
            Job j = queue.poll();
            // wait (until the deadline) only when more work is likely: requests being read now, or concurrent
            // clients seen in the previous batch; a lone client never waits
            boolean likely = arriving.get() > 0 || lastJobs > 1;
            if (j == null && rem > 0 && likely) j = queue.poll(Math.min(rem, 200_000), TimeUnit.NANOSECONDS);
            if (j == null && rem > 0 && likely) continue;
            if (j == null) break;
            batch.add(j);
            n += j.contexts();
            if (j instanceof GenJob) break;
          }
        } catch (InterruptedException e) {
          running = false;
        }
      }
      lastJobs = batch.size();
      run(batch);
      batch.clear();
    }
    for (Job j; (j = queue.poll()) != null; ) j.future().completeExceptionally(new IllegalStateException("server is shutting down"));
  }

  private void run(List<Job> batch) {
    long t0 = System.nanoTime();
    try {
      runJobs(batch);
    } finally {
      busyNanos.addAndGet(System.nanoTime() - t0);
    }
  }

  private void runJobs(List<Job> batch) {
    batches.incrementAndGet();
    List<NextJob> nexts = new ArrayList<>();
    List<ScoreJob> scores = new ArrayList<>();
    for (Job j : batch) {
      if (j instanceof NextJob nj) nexts.add(nj);
      else if (j instanceof ScoreJob sj) scores.add(sj);
    }
    if (!nexts.isEmpty()) guarded(nexts, () -> runNext(nexts));
    if (!scores.isEmpty()) guarded(scores, () -> runScore(scores));
    for (Job j : batch) {
      if (j instanceof GenJob g) {
        guarded(List.of(g), () -> g.future().complete(generator.generate(model, vocab, g.prompt(), g.words(), g.temperature(), g.topK(), g.seed())));
      }
    }
  }

  /** Runs a step; any failure (even OutOfMemoryError) fails only these jobs, never the batcher. */
  private static void guarded(List<? extends Job> jobs, Runnable r) {
    try {
      r.run();
    } catch (Throwable t) {
      for (Job j : jobs) j.future().completeExceptionally(t);
    }
  }

  /** Index groups of ascending-length sequences: at most maxBatch each and B x T_max within the token budget. */
  private List<int[]> groups(int[] lengthsSorted) {
    List<int[]> out = new ArrayList<>();
    int s = 0, n = lengthsSorted.length;
    while (s < n) {
      int e = s + 1;
      while (e < n && e - s < maxBatch && (long) (e - s + 1) * lengthsSorted[e] <= TOKEN_BUDGET) e++;
      out.add(new int[] {s, e});
      s = e;
    }
    return out;
  }

  private void runNext(List<NextJob> jobs) {
    int n = jobs.size(), H = model.config.hidden(), L = model.config.layers();
    // what each context still has to run: everything after its longest kept prefix (all of it without a cache)
    int[] from = new int[n];
    float[][] start = new float[n][];
    List<NextJob> seen = new ArrayList<>();
    List<float[]> seenState = new ArrayList<>();
    List<NextJob> rest = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      NextJob j = jobs.get(i);
      StateCache.Hit hit = cache == null ? null : cache.longestPrefix(j.seq());
      if (hit != null && hit.length() == j.seq().length) {
        seen.add(j);
        seenState.add(hit.state());
      } else {
        rest.add(j);
        if (hit != null && hit.length() > 0) { from[rest.size() - 1] = hit.length(); start[rest.size() - 1] = hit.state(); }
      }
    }
    // contexts seen before: their head input is the top layer's h of the kept state, no LSTM at all
    for (int s = 0; s < seen.size(); s += maxBatch) {
      int B = Math.min(maxBatch, seen.size() - s);
      NextJob[] grp = seen.subList(s, s + B).toArray(new NextJob[0]);
      float[] last = new float[B * H];
      for (int b = 0; b < B; b++) System.arraycopy(seenState.get(s + b), (L - 1) * H, last, b * H, H);
      topK(grp, last, System.nanoTime());
    }
    int m = rest.size();
    if (m == 0) return;
    Integer[] order = new Integer[m];
    int[] todo = new int[m];
    for (int i = 0; i < m; i++) { order[i] = i; todo[i] = rest.get(i).seq().length - from[i]; }
    Arrays.sort(order, (a, b) -> Integer.compare(todo[a], todo[b]));
    int[] lens = new int[m];
    for (int i = 0; i < m; i++) lens[i] = todo[order[i]];
    for (int[] g : groups(lens)) {
      int B = g[1] - g[0];
      // longest first, as the packed LSTM wants: each context runs over its own tokens only, no padding
      NextJob[] grp = new NextJob[B];
      int[][] seqs = new int[B][];
      int[] lensDesc = new int[B];
      float[] h0 = null, c0 = null;
      for (int b = 0; b < B; b++) {
        int i = order[g[1] - 1 - b];
        grp[b] = rest.get(i);
        seqs[b] = from[i] == 0 ? grp[b].seq() : Arrays.copyOfRange(grp[b].seq(), from[i], grp[b].seq().length);
        lensDesc[b] = seqs[b].length;
        if (start[i] != null) {
          if (h0 == null) { h0 = new float[L * B * H]; c0 = new float[L * B * H]; }
          for (int k = 0; k < L; k++) {
            System.arraycopy(start[i], k * H, h0, (k * B + b) * H, H);
            System.arraycopy(start[i], (L + k) * H, c0, (k * B + b) * H, H);
          }
        }
      }
      try {
        long t0 = System.nanoTime();
        int[] bs = Lstm.batchSizes(lensDesc);
        float[] x = model.packedHeadInputs(seqs, bs, h0, c0);
        int[] stepOffset = new int[bs.length];
        for (int t = 1; t < bs.length; t++) stepOffset[t] = stepOffset[t - 1] + bs[t - 1];
        float[] last = new float[B * H];
        for (int b = 0; b < B; b++) System.arraycopy(x, (stepOffset[lensDesc[b] - 1] + b) * H, last, b * H, H);
        if (cache != null) keep(grp, B);
        long t1 = System.nanoTime();
        nextLstmNanos.addAndGet(t1 - t0);
        topK(grp, last, t1);
      } catch (Throwable t) {
        for (NextJob j : grp) j.future().completeExceptionally(t);
      }
    }
  }

  /** Keeps the state after each context of the pass just run (row b of the model's final state [layers, B, H]). */
  private void keep(NextJob[] grp, int B) {
    int H = model.config.hidden(), L = model.config.layers();
    float[] hs = model.stateH(), cs = model.stateC();
    for (int b = 0; b < B; b++) {
      for (int k = 0; k < L; k++) {
        System.arraycopy(hs, (k * B + b) * H, entry, k * H, H);
        System.arraycopy(cs, (k * B + b) * H, entry, (L + k) * H, H);
      }
      cache.put(grp[b].seq(), entry, 0);
    }
  }

  /** Exact top-k of the head inputs last [B, H] with the group's largest k, cut per request. */
  private void topK(NextJob[] grp, float[] last, long t1) {
    int B = grp.length, kmax = 1;
    for (NextJob j : grp) kmax = Math.max(kmax, j.k());
    try {
      TopK top = model.decoder.topK(last, B, kmax);
      nextHeadNanos.addAndGet(System.nanoTime() - t1);
      passes.incrementAndGet();
      contexts.addAndGet(B);
      largestPass.accumulateAndGet(B, Math::max);
      for (int b = 0; b < B; b++) {
        int k = grp[b].k();
        grp[b].future().complete(new Next(Arrays.copyOfRange(top.ids(), b * kmax, b * kmax + k),
            Arrays.copyOfRange(top.logProbs(), b * kmax, b * kmax + k)));
      }
    } catch (Throwable t) {
      for (NextJob j : grp) j.future().completeExceptionally(t);
    }
  }

  private void runScore(List<ScoreJob> jobs) {
    int total = 0;
    for (ScoreJob j : jobs) total += j.seqs().length;
    int[][] all = new int[total][];
    int[] owner = new int[total];
    int p = 0;
    for (int i = 0; i < jobs.size(); i++) for (int[] q : jobs.get(i).seqs()) { owner[p] = i; all[p++] = q; }
    Integer[] order = new Integer[total];
    for (int i = 0; i < total; i++) order[i] = i;
    Arrays.sort(order, (a, b) -> Integer.compare(all[a].length, all[b].length));
    int[] lens = new int[total];
    for (int i = 0; i < total; i++) lens[i] = all[order[i]].length;
    Scorer.Result[] res = new Scorer.Result[total];
    boolean[] failed = new boolean[jobs.size()];
    for (int[] g : groups(lens)) {
      int B = g[1] - g[0];
      int[][] seqs = new int[B][];
      for (int b = 0; b < B; b++) seqs[b] = all[order[g[0] + b]];
      try {
        List<Scorer.Result> r = scorer.batchLines(B).scoreIds(seqs);
        passes.incrementAndGet();
        contexts.addAndGet(B);
        largestPass.accumulateAndGet(B, Math::max);
        for (int b = 0; b < B; b++) res[order[g[0] + b]] = r.get(b);
      } catch (Throwable t) {
        for (int b = 0; b < B; b++) {
          int o = owner[order[g[0] + b]];
          if (!failed[o]) { failed[o] = true; jobs.get(o).future().completeExceptionally(t); }
        }
      }
    }
    p = 0;
    for (int i = 0; i < jobs.size(); i++) {
      int m = jobs.get(i).seqs().length;
      if (!failed[i]) jobs.get(i).future().complete(Arrays.asList(Arrays.copyOfRange(res, p, p + m)));
      p += m;
    }
  }

  /**
   * Runs synthetic /v1/next and /v1/score traffic through a temporary engine over this model for about
   * {@code seconds}: 64 closed-loop clients, contexts of 1-20 random words, so that every pass size up to
   * {@code maxBatch} and both paths are compiled by the JIT before the first real request, while the cores are
   * still free. Measured with 64 clients right after start (README, Serving): 871-945 requests/s in the first
   * 10 s without it, 1,254-1,312 with 10 s of it. Results of the model are not changed (every pass starts from
   * a fresh state); returns the number of requests run.
   */
  public static long warmUp(LanguageModel model, Vocabulary vocab, int maxBatch, double maxWaitMs, double seconds) throws InterruptedException {
    return warmUp(model, vocab, maxBatch, maxWaitMs, seconds, 0);
  }

  /**
   * {@link #warmUp(LanguageModel, Vocabulary, int, double, double)} through an engine with a state cache of
   * {@code stateCacheBytes} (its own, dropped afterwards), where a quarter of the clients extend their previous
   * context by one word per request, as typing does, so that the cache's paths are compiled too.
   */
  public static long warmUp(LanguageModel model, Vocabulary vocab, int maxBatch, double maxWaitMs, double seconds, long stateCacheBytes)
      throws InterruptedException {
    if (!(seconds >= 0 && seconds <= 600)) throw new IllegalArgumentException("--warmup must be in [0, 600] seconds, got " + seconds);
    if (seconds == 0) return 0;
    try (Engine e = new Engine(model, vocab, null, maxBatch, maxWaitMs, stateCacheBytes)) {
      long end = System.nanoTime() + (long) (seconds * 1e9);
      int clients = 64, V = vocab.size(), eos = vocab.eosId();
      AtomicLong done = new AtomicLong();
      Thread[] ts = new Thread[clients];
      for (int c = 0; c < clients; c++) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(c);
        boolean scorer = c % 8 == 7, typing = c % 4 == 1;
        ts[c] = new Thread(() -> {
          int[] seq = {eos};
          while (System.nanoTime() < end) {
            if (typing && seq.length < 21) {
              seq = Arrays.copyOf(seq, seq.length + 1);
              seq[seq.length - 1] = r.nextInt(V);
            } else {
              seq = new int[2 + r.nextInt(20)];
              seq[0] = eos;
              for (int j = 1; j < seq.length; j++) seq[j] = r.nextInt(V);
            }
            try {
              if (scorer) e.score(new int[][] {Arrays.copyOfRange(seq, 1, seq.length)}).get();
              else e.next(seq, 1 + r.nextInt(10)).get();
            } catch (Exception x) {
              return; // a failing model fails the first real request with its own error
            }
            done.incrementAndGet();
          }
        }, "lmhead-warmup-" + c);
        ts[c].setDaemon(true);
        ts[c].start();
      }
      for (Thread t : ts) t.join();
      return done.get();
    }
  }

  @Override
  public void close() {
    running = false;
    thread.interrupt();
    try {
      thread.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (Job j; (j = queue.poll()) != null; ) j.future().completeExceptionally(new IllegalStateException("server is shutting down"));
  }
}
