package dev.lmhead.analysis;

import com.google.gson.JsonObject;
import dev.lmhead.head.AdaptiveSoftmax;
import dev.lmhead.head.HeadOptions;
import dev.lmhead.head.HeadSpec;
import dev.lmhead.head.Heads;
import dev.lmhead.head.MixtureOfSoftmaxes;
import dev.lmhead.head.OutputLayer;
import dev.lmhead.head.TopK;
import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Bandwidth;
import dev.lmhead.tensor.Blas;
import dev.lmhead.tensor.GemmProfile;
import dev.lmhead.tensor.Parallel;
import dev.lmhead.tensor.Rng;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * Speed of every output layer alone, on synthetic data: for each head, vocabulary size V and hidden
 * size d, N hidden states drawn from N(0, 1) and N targets drawn from {@link Zipf}'s law over the
 * frequency-sorted ids (class binning and Huffman trees are built from the expected counts of the
 * same law), five operations are timed separately:
 * <ul>
 *   <li>{@code train}: zeroing the parameter gradients + {@link OutputLayer#forwardBackward} (mean
 *       loss, dHidden written); no optimiser step;</li>
 *   <li>{@code loss}: {@link OutputLayer#targetLogProb} (inference loss);</li>
 *   <li>{@code logprob}: {@link OutputLayer#logProb}, the full [N, V] log-prob matrix; when N·V·4 bytes
 *       exceeds {@link Options#maxBlockBytes} the rows are split into equal blocks and one [rows, V]
 *       output buffer is reused (stated in the result's note);</li>
 *   <li>{@code top1}, {@code top10}: {@link OutputLayer#topK} with k = 1 and 10.</li>
 * </ul>
 * {@code train} runs with the head in training mode, the other ops in evaluation mode
 * ({@link OutputLayer#train}), as scoring and serving run it: what a head caches from its weights there
 * (the adaptive softmax's top-k bound statistics) is computed in the first, untimed call.
 * Each (head, V, d, op) cell runs untimed calls until it has made {@code warmup} of them and they have
 * taken {@link Options#warmupSeconds} (the JIT needs time, not calls: an adaptive top-1 at V = 33,278,
 * d = 256, N = 2,048 ran its calls 2-6 at 16-116 ms and reached its steady 12.5-13 ms only after about
 * 60 calls, 0.9 s), then up to {@code repeats} timed
 * calls; the median, min and max seconds per call are kept and tokens/s = N / median. A cell stops
 * warming up once warm-up calls have used half of {@link Options#maxSeconds} and stops repeating once
 * its timed calls have used all of it (at least one warm-up and one timed call); a call whose first
 * (warm-up) run alone takes longer than the budget is measured by that one run (the note says so).
 *
 * <p><b>Memory</b>, two figures per cell, both Java heap only (OpenBLAS' native work space is not seen):
 * <ul>
 *   <li>{@code retainedMb}: heap growth over the cell's first call, measured with
 *       {@link MemoryMXBean#getHeapMemoryUsage()} after {@code System.gc()} before and after — the work
 *       buffers the head grows lazily and keeps, plus the harness' [rows, V] output block for logprob;</li>
 *   <li>{@code allocMbPerCall}: bytes allocated per timed call by all threads,
 *       {@code com.sun.management.ThreadMXBean#getTotalThreadAllocatedBytes()} (garbage included, so
 *       per-call temporaries such as top-k result arrays show here).</li>
 * </ul>
 * {@code stateMb} is the head's parameters plus gradients (8 bytes per parameter).
 */
public final class HeadBench {
  /** The heads registered when this class was loaded (the built-in ones), in table order; see {@link #allHeads}. */
  public static final List<String> ALL_HEADS = Heads.names();

  /** Every head the benchmark knows, in table order: the registry's ({@link Heads#names}). */
  public static List<String> allHeads() {
    return Heads.names();
  }
  /** Seconds of timed calls per GEMM shape when measuring this machine's rate on it (the limit's denominator). */
  public static final double LIMIT_RATE_SECONDS = 0.3;
  /** Operation names, in table order. */
  public static final List<String> OPS = List.of("train", "loss", "logprob", "top1", "top10");
  /** Size of the corpus whose expected Zipf counts build class bins and Huffman trees (WikiText-103-like). */
  public static final long COUNT_TOKENS = 100_000_000L;

  private HeadBench() {}

  /**
   * @param heads         head names from {@link #allHeads}
   * @param cutoffs       adaptive cutoffs for every V, or empty for {@link AdaptiveSoftmax#defaultCutoffs}
   * @param divValue      adaptive div_value
   * @param experts       MoS K
   * @param maxSeconds    time budget of the timed calls of one cell (seconds)
   * @param maxBlockBytes largest [rows, V] float matrix the harness (and the peer) materialises at once
   * @param seed          seeds the hidden states, the targets and the heads' initialisation
   * @param mosBase       MoS component softmaxes: full | adaptive (adaptive uses the cutoffs and div_value)
   */
  public record Options(List<String> heads, int[] vocabs, int[] dims, int rows, int warmup, int repeats,
                        int[] cutoffs, double divValue, int experts, double maxSeconds, long maxBlockBytes, long seed,
                        String mosBase, double warmupSeconds) {
    /** Options with full-softmax MoS components and no minimum warm-up time (only {@code warmup} calls). */
    public Options(List<String> heads, int[] vocabs, int[] dims, int rows, int warmup, int repeats,
                   int[] cutoffs, double divValue, int experts, double maxSeconds, long maxBlockBytes, long seed) {
      this(heads, vocabs, dims, rows, warmup, repeats, cutoffs, divValue, experts, maxSeconds, maxBlockBytes, seed, MixtureOfSoftmaxes.MOS_BASE.defaultValue(), 0);
    }

    public Options {
      HeadOptions.of(headOptions(new int[0], divValue, experts, mosBase)).choice(MixtureOfSoftmaxes.MOS_BASE, MixtureOfSoftmaxes.MosBase.class);
      if (heads.isEmpty()) throw new IllegalArgumentException("--heads: give at least one head");
      for (String h : heads) {
        if (!Heads.has(h)) throw new IllegalArgumentException("--heads: unknown head '" + h + "' (expected " + Heads.namesText() + ")");
      }
      if (vocabs.length == 0) throw new IllegalArgumentException("--vocab: give at least one size");
      for (int v : vocabs) if (v < 20) throw new IllegalArgumentException("--vocab must be >= 20, got " + v);
      if (dims.length == 0) throw new IllegalArgumentException("--dim: give at least one size");
      for (int d : dims) if (d < 1) throw new IllegalArgumentException("--dim must be >= 1, got " + d);
      if (rows < 1) throw new IllegalArgumentException("--rows must be >= 1, got " + rows);
      if (warmup < 0) throw new IllegalArgumentException("--warmup must be >= 0, got " + warmup);
      if (!(warmupSeconds >= 0)) throw new IllegalArgumentException("--warmup-seconds must be >= 0, got " + warmupSeconds);
      if (repeats < 1) throw new IllegalArgumentException("--repeats must be >= 1, got " + repeats);
      if (!(maxSeconds > 0)) throw new IllegalArgumentException("--max-seconds must be > 0, got " + maxSeconds);
      if (maxBlockBytes < 4096) throw new IllegalArgumentException("--max-block-mb is too small");
      if (!(divValue > 0)) throw new IllegalArgumentException("--div-value must be > 0, got " + divValue);
      if (experts < 1) throw new IllegalArgumentException("--experts must be >= 1, got " + experts);
    }

    /** The adaptive cutoffs used at vocabulary size V. */
    public int[] cutoffsFor(int vocab) {
      if (cutoffs.length == 0) return AdaptiveSoftmax.defaultCutoffs(vocab);
      AdaptiveSoftmax.validate(1 << 20, vocab, cutoffs, divValue); // projection sizes are checked with the real d by the head
      return cutoffs.clone();
    }

    /**
     * The spec each head is built from: the head's defaults (PyTorch's: bias on full/class/MoS decoders, no
     * adaptive head bias) with this benchmark's cutoffs, div_value, experts and MoS base.
     */
    public HeadSpec spec(String head, int vocab) {
      return Heads.parse(head, HeadOptions.of(headOptions(cutoffsFor(vocab), divValue, experts, mosBase)));
    }

    private static java.util.Map<String, String> headOptions(int[] cutoffs, double divValue, int experts, String mosBase) {
      java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
      m.put(AdaptiveSoftmax.CUTOFFS.key(), String.join(",", Arrays.stream(cutoffs).mapToObj(Integer::toString).toList()));
      m.put(AdaptiveSoftmax.DIV_VALUE.key(), "" + divValue);
      m.put(MixtureOfSoftmaxes.EXPERTS.key(), "" + experts);
      m.put(MixtureOfSoftmaxes.MOS_BASE.key(), mosBase);
      return m;
    }
  }

  /**
   * One measured (head, V, d, op) cell.
   *
   * @param status ok | unavailable (head not in this build) | skipped (out of memory or not run)
   * @param note   blocking, run counts under budget, or why it was not measured
   */
  public record Result(String head, int vocab, int dim, String op, String status, int runs,
                       double medianS, double minS, double maxS, double tokensPerS,
                       double allocMbPerCall, double retainedMb, double stateMb, String note, Limit limit) {
    /** Without the limit (not measured). */
    public Result(String head, int vocab, int dim, String op, String status, int runs, double medianS, double minS, double maxS,
                  double tokensPerS, double allocMbPerCall, double retainedMb, double stateMb, String note) {
      this(head, vocab, dim, op, status, runs, medianS, minS, maxS, tokensPerS, allocMbPerCall, retainedMb, stateMb, note, Limit.NONE);
    }

    public boolean ok() { return status.equals("ok"); }

    /**
     * The op's limit over its median time: how close to the machine the op runs (NaN when not measured).
     * The limit is the larger of its GEMM time at this machine's rates and the time to read the head's
     * weights once ({@link Limit#boundS}).
     */
    public double limitFraction() { return limit.boundS() / medianS; }
  }

  /**
   * The machine limit of one op ({@link GemmProfile}): the GEMM work of one call (GFLOP), the seconds that
   * work takes at the GFLOP/s this machine reaches on each of its shapes alone (measured in the same run),
   * the seconds the call actually spent inside its GEMMs, and the shape with the most work.
   */
  public record Limit(double gemmGflop, double limitS, double gemmS, String topShape, double weightMb, double readS) {
    public static final Limit NONE = new Limit(Double.NaN, Double.NaN, Double.NaN, "", Double.NaN, Double.NaN);

    static Limit of(GemmProfile p, Machine m, double weightBytes) {
      var e = p.entries();
      return new Limit(p.flops() / 1e9, p.limitSeconds(m.gemm()), p.gemmSeconds(),
          e.isEmpty() ? "" : e.get(0).shape() + (e.size() > 1 ? " + " + (e.size() - 1) + " more" : ""),
          weightBytes / 1e6, weightBytes / (m.memory().readGBps((long) weightBytes) * 1e9));
    }

    /** The roofline: an op can be neither faster than its GEMMs nor than one read of the head's weights. */
    public double boundS() { return Math.max(limitS, readS); }

    /** "GEMM" or "memory": which side of the roofline bounds the op. */
    public String boundBy() { return Double.isNaN(readS) ? "" : readS > limitS ? "memory" : "GEMM"; }
  }

  /**
   * What this machine can do, measured in the same run: GEMM GFLOP/s per shape and read bandwidth per
   * working-set size.
   */
  public record Machine(GemmProfile.Rates gemm, Bandwidth memory) {
    public static Machine measuring() {
      return new Machine(new GemmProfile.Rates(LIMIT_RATE_SECONDS), new Bandwidth(LIMIT_RATE_SECONDS));
    }
  }

  /** Synthetic inputs of one (V, d) cell, shared by every head and by the PyTorch peer. */
  public record Inputs(int vocab, int dim, int rows, float[] hidden, int[] targets, long[] counts) {}

  /** Gaussian hidden states and Zipf targets for one cell, reproducible from the seed. */
  public static Inputs inputs(int vocab, int dim, int rows, long seed) {
    Rng rng = new Rng(seed * 1_000_003L + vocab * 31L + dim);
    float[] h = new float[rows * dim];
    for (int i = 0; i < h.length; i++) h[i] = (float) rng.gaussian();
    Zipf z = new Zipf(vocab, 1.0);
    return new Inputs(vocab, dim, rows, h, z.sample(rng, rows), z.counts(COUNT_TOKENS));
  }

  /** Rows per logprob call so that one [rows, V] float block stays within maxBlockBytes (equal blocks). */
  public static int blockRows(int rows, int vocab, long maxBlockBytes) {
    long limit = Math.min(maxBlockBytes / 4, Integer.MAX_VALUE - 16L);
    long maxRows = Math.max(1, limit / vocab);
    long blocks = (rows + maxRows - 1) / maxRows;
    return (int) ((rows + blocks - 1) / blocks); // ceil(N / ceil(N / m)) <= m
  }

  /** Whether the registry ({@link Heads}) knows this head in the current build. */
  public static boolean available(String head) {
    return Heads.has(head);
  }

  /** Whether the PyTorch peer (bench/pytorch_heads.py) measures this head too ({@link dev.lmhead.head.HeadType#inPyTorch}). */
  public static boolean inPyTorch(String head) {
    return Heads.has(head) && Heads.get(head).inPyTorch();
  }

  /** Measures every head of {@code o} on one (V, d) cell; progress lines go to {@code log}. No limit. */
  public static List<Result> runCell(Options o, Inputs in, Consumer<String> log) {
    return runCell(o, in, log, null);
  }

  /**
   * Measures every head of {@code o} on one (V, d) cell, each op also against its GEMM limit at the
   * {@code rates} of this machine (null: no limit); progress lines go to {@code log}.
   */
  public static List<Result> runCell(Options o, Inputs in, Consumer<String> log, Machine rates) {
    List<Result> out = new ArrayList<>();
    for (String name : o.heads()) {
      if (!available(name)) {
        for (String op : OPS) out.add(skipped(name, in, op, "unavailable", "head not in this build (" + Heads.namesText() + ")"));
        continue;
      }
      OutputLayer head;
      try {
        head = Heads.create(o.spec(name, in.vocab()), in.vocab(), in.dim(), in.counts(), null, new Rng(o.seed()));
      } catch (OutOfMemoryError e) {
        for (String op : OPS) out.add(skipped(name, in, op, "skipped", "out of memory building the head (raise -Xmx)"));
        continue;
      }
      double stateMb = 0;
      for (Parameter p : head.parameters()) stateMb += 8.0 * p.size() / (1 << 20);
      for (String op : OPS) {
        log.accept(String.format("  %-8s V=%d d=%d %s", name, in.vocab(), in.dim(), op));
        try {
          out.add(measure(o, in, head, name, op, stateMb, rates));
        } catch (OutOfMemoryError e) {
          out.add(skipped(name, in, op, "skipped", "out of memory (raise -Xmx or lower --max-block-mb)"));
        }
      }
      head = null;
    }
    return out;
  }

  private static Result skipped(String head, Inputs in, String op, String status, String note) {
    return new Result(head, in.vocab(), in.dim(), op, status, 0, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
        Double.NaN, Double.NaN, Double.NaN, note);
  }

  /** A timed operation; {@link #call} may grow harness buffers on its first run. */
  private interface Call { void call(); }

  private static Result measure(Options o, Inputs in, OutputLayer head, String name, String op, double stateMb,
                                Machine rates) {
    final int n = in.rows(), v = in.vocab(), d = in.dim();
    final float[] hidden = in.hidden();
    final int[] targets = in.targets();
    List<Parameter> params = head.parameters();
    String note = "";
    head.train(op.equals("train"));
    Call call;
    switch (op) {
      case "train" -> {
        float[] gradHidden = new float[n * d];
        call = () -> {
          for (Parameter p : params) p.zeroGrad();
          head.forwardBackward(hidden, n, targets, gradHidden);
        };
      }
      case "loss" -> {
        float[] lp = new float[n];
        call = () -> head.targetLogProb(hidden, n, targets, lp);
      }
      case "logprob" -> {
        int rows = blockRows(n, v, o.maxBlockBytes());
        List<float[]> blocks = new ArrayList<>();
        for (int r0 = 0; r0 < n; r0 += rows) blocks.add(Arrays.copyOfRange(hidden, r0 * d, Math.min(n, r0 + rows) * d));
        if (rows < n) note = String.format("blocked: %d calls of <= %d rows ([rows, V] = %.0f MB)", blocks.size(), rows, 4.0 * rows * v / (1 << 20));
        float[][] outBuf = new float[1][];
        call = () -> {
          if (outBuf[0] == null) outBuf[0] = new float[rows * v]; // grown on the first (measured) call
          for (float[] b : blocks) head.logProb(b, b.length / d, outBuf[0]);
        };
      }
      case "top1", "top10" -> {
        int k = op.equals("top1") ? 1 : 10;
        call = () -> {
          TopK t = head.topK(hidden, n, k);
          if (t.ids().length != n * k) throw new IllegalStateException(name + " topK returned " + t.ids().length + " ids");
        };
      }
      default -> throw new IllegalArgumentException("unknown op " + op);
    }
    MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
    var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    // first call: warm-up, and the heap it leaves behind
    System.gc();
    long before = mem.getHeapMemoryUsage().getUsed();
    long t0 = System.nanoTime();
    call.call();
    double first = (System.nanoTime() - t0) / 1e9;
    System.gc();
    double retainedMb = Math.max(0, mem.getHeapMemoryUsage().getUsed() - before) / (double) (1 << 20);
    List<Double> times = new ArrayList<>();
    long alloc0 = threads.getTotalThreadAllocatedBytes();
    if (first > o.maxSeconds()) {
      times.add(first);
      note = join(note, String.format("1 run: the first call took %.1f s (> --max-seconds %.0f)", first, o.maxSeconds()));
      alloc0 = -1;
    } else {
      warmUp(call::call, System::nanoTime, first, o);
      alloc0 = threads.getTotalThreadAllocatedBytes();
      double spent = 0;
      for (int r = 0; r < o.repeats() && (r == 0 || spent < o.maxSeconds()); r++) {
        long s = System.nanoTime();
        call.call();
        double t = (System.nanoTime() - s) / 1e9;
        times.add(t);
        spent += t;
      }
      if (times.size() < o.repeats()) note = join(note, times.size() + " of " + o.repeats() + " runs (--max-seconds " + o.maxSeconds() + ")");
    }
    double allocMb = alloc0 < 0 ? Double.NaN : (threads.getTotalThreadAllocatedBytes() - alloc0) / (double) (1 << 20) / times.size();
    double[] s = times.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    double median = median(s);
    // one more call, with every GEMM counted and timed: the op's work and its limit on this machine
    Limit limit = rates == null ? Limit.NONE : Limit.of(GemmProfile.record(call::call), rates, 4.0 * parameterCount(params));
    return new Result(name, v, d, op, "ok", s.length, median, s[0], s[s.length - 1], n / median,
        allocMb, retainedMb, stateMb, note, limit);
  }

  /**
   * The untimed calls after a cell's first one: until {@code warmup} calls (the first included) have been made and
   * they have taken {@link Options#warmupSeconds}, but never past half of {@link Options#maxSeconds}.
   *
   * @param firstSeconds what the first call took
   * @param nanos the clock
   * @return the number of warm-up calls, the first included
   */
  static int warmUp(Runnable call, java.util.function.LongSupplier nanos, double firstSeconds, Options o) {
    double warmTime = firstSeconds;
    int calls = 1;
    while ((calls < o.warmup() || warmTime < o.warmupSeconds()) && warmTime < o.maxSeconds() / 2) {
      long s = nanos.getAsLong();
      call.run();
      warmTime += (nanos.getAsLong() - s) / 1e9;
      calls++;
    }
    return calls;
  }

  /**
   * The whole grid: every (V, d) cell in order, each followed by the PyTorch peer on the same inputs
   * when {@code withPeer} (interleaved, so both see the same machine load).
   */
  public static HeadBenchReport run(Options o, boolean withPeer, Consumer<String> log) {
    return run(o, withPeer, true, log);
  }

  /** @param measureGemm whether to time the reference sgemm first (NaN in the report when not) */
  public static HeadBenchReport run(Options o, boolean withPeer, boolean measureGemm, Consumer<String> log) {
    return run(o, withPeer ? List.of(BenchPeer.PYTORCH) : List.of(), measureGemm, log);
  }

  /**
   * The whole grid: every (V, d) cell in order, each followed by every peer asked for ({@link BenchPeer},
   * in the order given) on the same inputs, interleaved so that all see the same machine load.
   *
   * @param measureGemm whether to time the reference sgemm first (NaN in the report when not)
   */
  public static HeadBenchReport run(Options o, List<BenchPeer> peers, boolean measureGemm, Consumer<String> log) {
    if (measureGemm) log.accept("measuring sgemm speed...");
    HeadBenchReport rep = new HeadBenchReport(o, HeadBenchReport.cpuModel(), Parallel.threads(), Blas.get().name(),
        measureGemm ? gemmGflops() : Double.NaN, java.time.ZonedDateTime.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
    Machine rates = measureGemm ? Machine.measuring() : null;
    if (rates != null) rep.squareGflops = rates.gemm().square();
    warmJit(o);
    java.util.Map<BenchPeer, List<String>> peerHeads = new java.util.EnumMap<>(BenchPeer.class);
    for (BenchPeer p : BenchPeer.values()) {
      List<String> heads = o.heads().stream().filter(p::has).toList();
      String why;
      if (!peers.contains(p)) why = "not requested (--peer " + BenchPeer.flag(peers) + ")";
      else if (heads.isEmpty()) {
        why = p.label() + " has none of the heads asked for (it has "
            + String.join(" and ", allHeads().stream().filter(p::has).toList()) + ")";
      } else why = p.unavailableReason();
      rep.setUnavailable(p, why);
      rep.setRequested(p, peers.contains(p));
      peerHeads.put(p, heads);
    }
    for (int v : o.vocabs()) {
      for (int d : o.dims()) {
        Inputs in = inputs(v, d, o.rows(), o.seed());
        rep.results.addAll(runCell(o, in, log, rates));
        for (BenchPeer p : peers) {
          if (rep.unavailable(p) != null) continue;
          log.accept(String.format("  %-8s V=%d d=%d %s", p.id(), v, d, peerHeads.get(p)));
          rep.cells(p).add(peer(p, o, in, peerHeads.get(p)));
        }
      }
    }
    return rep;
  }

  /**
   * Compiles the Java code paths of every head before the first timed cell (each op on a tiny
   * V = 500, d = 16, N = 64 problem, a few times), so the first cell measured is not the one paying
   * for the JIT.
   */
  static void warmJit(Options o) {
    Options tiny = new Options(o.heads(), new int[] {500}, new int[] {16}, 64, 0, 1, new int[0], o.divValue(),
        o.experts(), 1, o.maxBlockBytes(), o.seed(), o.mosBase(), 0);
    Inputs in = inputs(500, 16, 64, o.seed());
    for (int i = 0; i < 20; i++) {
      for (String name : o.heads()) {
        if (!available(name)) continue;
        OutputLayer head = Heads.create(tiny.spec(name, 500), 500, 16, in.counts(), null, new Rng(1));
        float[] g = new float[64 * 16], lp = new float[64 * 500];
        head.forwardBackward(in.hidden(), 64, in.targets(), g);
        head.targetLogProb(in.hidden(), 64, in.targets(), lp);
        head.logProb(in.hidden(), 64, lp);
        head.topK(in.hidden(), 64, 1);
        head.topK(in.hidden(), 64, 10);
      }
    }
  }

  /** Runs bench/pytorch_heads.py on exactly these inputs (written to temporary little-endian files). */
  public static HeadBenchReport.PeerCell peer(Options o, Inputs in, List<String> heads) {
    return peer(BenchPeer.PYTORCH, o, in, heads);
  }

  /**
   * Runs the peer's output-layer benchmark (bench/pytorch_heads.py, peers/djl DjlHeads) on exactly these
   * inputs (written to temporary little-endian files).
   */
  public static HeadBenchReport.PeerCell peer(BenchPeer peer, Options o, Inputs in, List<String> heads) {
    Path dir = null;
    try {
      dir = Files.createTempDirectory("lmhead-bench");
      Path t = dir.resolve("targets.i32"), h = dir.resolve("hidden.f32");
      ByteBuffer tb = ByteBuffer.allocate(4 * in.rows()).order(ByteOrder.LITTLE_ENDIAN);
      for (int x : in.targets()) tb.putInt(x);
      Files.write(t, tb.array());
      ByteBuffer hb = ByteBuffer.allocate(4 * in.hidden().length).order(ByteOrder.LITTLE_ENDIAN);
      for (float x : in.hidden()) hb.putFloat(x);
      Files.write(h, hb.array());
      int[] cut = o.cutoffsFor(in.vocab());
      List<String> args = new ArrayList<>(List.of("--vocab", "" + in.vocab(), "--dim", "" + in.dim(), "--rows", "" + in.rows(),
          "--targets", t.toString(), "--hidden", h.toString(), "--heads", String.join(",", heads),
          "--cutoffs", Arrays.stream(cut).mapToObj(Integer::toString).collect(java.util.stream.Collectors.joining(",")),
          "--div-value", "" + o.divValue(), "--threads", "" + Parallel.threads(), "--warmup", "" + o.warmup(),
          "--warmup-seconds", "" + o.warmupSeconds(),
          "--repeats", "" + o.repeats(), "--max-seconds", "" + o.maxSeconds(), "--max-block-bytes", "" + o.maxBlockBytes(),
          "--seed", "" + o.seed()));
      JsonObject j = peer.runHeads(args, Parallel.threads(), 3600);
      double gf = j.has("gemm_gflops") ? j.get("gemm_gflops").getAsDouble() : Double.NaN;
      String torch = j.has("torch") ? j.get("torch").getAsString() : null;
      if (j.has("refused")) {
        return new HeadBenchReport.PeerCell(in.vocab(), in.dim(), "refused", j.get("refused").getAsString(), gf, torch, null);
      }
      List<HeadBenchReport.PeerResult> rs = new ArrayList<>();
      for (var e : j.getAsJsonArray("results")) {
        JsonObject r = e.getAsJsonObject();
        rs.add(new HeadBenchReport.PeerResult(r.get("head").getAsString(), in.vocab(), in.dim(), r.get("op").getAsString(),
            r.get("runs").getAsInt(), r.get("median_s").getAsDouble(), r.get("min_s").getAsDouble(), r.get("max_s").getAsDouble(),
            r.get("tokens_per_s").getAsDouble(), r.get("note").getAsString()));
      }
      return new HeadBenchReport.PeerCell(in.vocab(), in.dim(), "ok", null, gf, torch, rs);
    } catch (Exception e) {
      return new HeadBenchReport.PeerCell(in.vocab(), in.dim(), "failed", peer.headsProgram() + ": " + e.getMessage(), Double.NaN, null, null);
    } finally {
      if (dir != null) {
        try (var s = Files.list(dir)) {
          for (Path p : s.toList()) Files.deleteIfExists(p);
          Files.deleteIfExists(dir);
        } catch (java.io.IOException ignored) {
          // temporary files: best effort
        }
      }
    }
  }

  private static long parameterCount(List<Parameter> ps) {
    long n = 0;
    for (Parameter p : ps) n += p.size();
    return n;
  }

  static String join(String a, String b) {
    return a.isEmpty() ? b : a + "; " + b;
  }

  public static double median(double[] sorted) {
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  /**
   * GFLOP/s of the current {@link Blas} on the product the peer checks too: [2048, 512] × [512, 33278]
   * (C = A·Bᵀ with B [33278, 512]), 2 untimed and 3 timed calls.
   */
  public static double gemmGflops() {
    int m = 2048, k = 512, nn = 33278;
    float[] a = new float[m * k], b = new float[nn * k], c = new float[m * nn];
    Rng rng = new Rng(7);
    rng.fillUniform(a, -1, 1);
    rng.fillUniform(b, -1, 1);
    Blas blas = Blas.get();
    for (int i = 0; i < 2; i++) blas.sgemm(false, true, m, nn, k, 1f, a, 0, k, b, 0, k, 0f, c, 0, nn);
    long t = System.nanoTime();
    int reps = 3;
    for (int i = 0; i < reps; i++) blas.sgemm(false, true, m, nn, k, 1f, a, 0, k, b, 0, k, 0f, c, 0, nn);
    return 2.0 * m * k * nn * reps / ((System.nanoTime() - t) / 1e9) / 1e9;
  }
}
