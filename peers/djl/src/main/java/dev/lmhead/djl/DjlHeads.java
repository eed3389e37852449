package dev.lmhead.djl;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * DJL peer for {@code lmhead bench heads}: bench/pytorch_heads.py's measurements, same arguments and
 * JSON, with libtorch 2.7.1 called from Java through DJL 0.36.0 instead of PyTorch 1.13 from Python.
 *
 * <p>Heads: {@code full} = Linear(d, V) with bias (uniform ±1/sqrt(d)) + log_softmax, the target's
 * log-prob gathered; {@code adaptive} = {@link AdaptiveHead}, AdaptiveLogSoftmaxWithLoss rebuilt from DJL
 * ops (head_bias=False). Ops, each timed with lmhead's warm-up / repeat / budget rule:
 * <ul>
 *   <li>train: gradients zeroed in place (zero_grad(set_to_none=False), and the input's) + forward +
 *       backward inside a GradientCollector (mean loss over N; dL/dhidden computed);</li>
 *   <li>loss: target log-probs without autograd; logprob: the full [N, V] log-prob matrix;</li>
 *   <li>top1, top10: log-probs + topK (adaptive top1: its predict(), as PyTorch's).</li>
 * </ul>
 * Where a [rows, V] tensor is formed, rows go in equal blocks under --max-block-bytes, as the Python
 * peer does (full: every op; adaptive: logprob and top10). Prints one JSON line.
 */
public final class DjlHeads {
  static final List<String> HEADS = List.of("full", "adaptive");

  private DjlHeads() {}

  public static void main(String[] argv) throws IOException {
    Map<String, String> def = new LinkedHashMap<>();
    def.put("vocab", null);
    def.put("dim", null);
    def.put("rows", "2048");
    def.put("targets", "");
    def.put("hidden", "");
    def.put("heads", "full,adaptive");
    def.put("ops", "train,loss,logprob,top1,top10");
    def.put("cutoffs", "");
    def.put("div-value", "4.0");
    def.put("threads", Peer.cpuCount());
    def.put("warmup", "1");
    def.put("warmup-seconds", "0");
    def.put("repeats", "3");
    def.put("max-seconds", "20.0");
    def.put("max-block-bytes", "" + (1L << 30));
    def.put("min-gflops", "20.0");
    def.put("seed", "1");
    Peer.Args a = new Peer.Args("DjlHeads", argv, def, List.of());
    int n = a.i("rows"), v = a.i("vocab"), d = a.i("dim"), threads = a.i("threads");
    int warmup = a.i("warmup"), repeats = a.i("repeats");
    double warmupSeconds = a.d("warmup-seconds");
    double maxSeconds = a.d("max-seconds"), minGflops = a.d("min-gflops"), divValue = a.d("div-value");
    long seed = a.l("seed");
    List<String> ops = a.list("ops");
    for (String op : ops) if (!List.of("train", "loss", "logprob", "top1", "top10").contains(op)) a.fail("--ops: unknown op " + op);

    Engine engine = Peer.engine(threads, seed);
    try (NDManager m = NDManager.newBaseManager()) {
      double gflops = Peer.gemmGflops(m);
      Map<String, Object> info = new LinkedHashMap<>();
      info.put("peer", "djl");
      info.put("torch", Peer.version(engine));
      info.put("threads", Peer.threads());
      info.put("gemm_gflops", Peer.round(gflops, 1));
      info.put("omp_wait_policy", Peer.ompWaitPolicy());
      info.put("blas_libraries", Peer.nativeLibraries("blas", "mkl"));
      info.put("native_libraries", Peer.nativeLibraries("torch", "c10", "gomp"));
      info.put("heads", HEADS);
      if (gflops < minGflops) {
        info.put("refused", String.format("libtorch's sgemm (through DJL) runs at only %.1f GFLOP/s (< %s); "
            + "the machine is busy or the BLAS is slow: not comparing", gflops, Peer.pyFloat(minGflops)));
        Peer.printJson(info);
        return;
      }

      warmJit(engine, m, a.list("heads"), ops, seed);
      NDArray h = a.str("hidden").isEmpty() ? m.randomNormal(new Shape(n, d)) : m.create(readFloats(Path.of(a.str("hidden")), n * d), new Shape(n, d));
      long[] targets = a.str("targets").isEmpty() ? zipf(v, n, seed) : readInts(Path.of(a.str("targets")), n);
      for (long t : targets) if (t < 0 || t >= v) a.fail("bad targets file: id " + t + " outside [0, " + v + ")");
      NDArray y = m.create(targets);
      int[] cutoffs = a.ints("cutoffs");
      int rb = Peer.blockRows(n, v, a.l("max-block-bytes"));
      List<int[]> blocks = new ArrayList<>();
      for (int r0 = 0; r0 < n; r0 += rb) blocks.add(new int[] {r0, Math.min(n, r0 + rb)});
      String blockNote = blocks.size() > 1
          ? String.format("blocked: %d calls of <= %d rows ([rows, V] = %.0f MB)", blocks.size(), rb, 4.0 * rb * v / (1 << 20)) : "";

      List<Map<String, Object>> results = new ArrayList<>();
      for (String name : a.list("heads")) {
        if (!HEADS.contains(name)) continue;
        try (NDManager hm = m.newSubManager()) {
          Map<String, Runnable> fns = ops(engine, hm, name, v, d, cutoffs, divValue, h, y, blocks);
          for (String op : ops) {
            Peer.Timing t = Peer.timed(fns.get(op), warmup, warmupSeconds, repeats, maxSeconds);
            List<Double> st = new ArrayList<>(t.times());
            st.sort(null);
            double med = Peer.median(st);
            String blocked = name.equals("full") || op.equals("logprob") || op.equals("top10") ? blockNote : "";
            String note = t.note();
            if (name.equals("adaptive") && op.equals("top1")) note = join("predict()", note);
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("head", name);
            r.put("op", op);
            r.put("runs", st.size());
            r.put("median_s", med);
            r.put("min_s", st.get(0));
            r.put("max_s", st.get(st.size() - 1));
            r.put("tokens_per_s", n / med);
            r.put("note", join(blocked, note));
            results.add(r);
          }
        }
      }
      Double rss = Peer.maxRssMb();
      if (rss != null) info.put("max_rss_mb", rss);
      info.put("vocab", v);
      info.put("dim", d);
      info.put("rows", n);
      info.put("cutoffs", cutoffs);
      info.put("div_value", divValue);
      info.put("results", results);
      Peer.printJson(info);
    }
  }

  /**
   * The five timed operations of one head (built with fresh weights in {@code hm}) on these inputs: train,
   * loss, logprob, top1, top10, as pytorch_heads.py defines them.
   */
  static Map<String, Runnable> ops(Engine engine, NDManager hm, String name, int v, int d, int[] cutoffs, double divValue,
                                   NDArray h, NDArray y, List<int[]> blocks) {
    long n = y.size();
    FullHead full = name.equals("full") ? new FullHead(hm, v, d, true) : null;
    AdaptiveHead asm = name.equals("adaptive") ? new AdaptiveHead(hm, v, d, cutoffs, divValue, false) : null;
    NDArray[] params = full != null ? full.parameters() : asm.parameters();
    NDArray hg = h.duplicate();
    hg.attach(hm);
    hg.setRequiresGradient(true);
    boolean[] backwardDone = {false};
    Map<String, Runnable> fns = new LinkedHashMap<>();
    fns.put("train", () -> {
      if (backwardDone[0]) {
        Peer.zeroGrads(params);
        Peer.zeroGrads(hg);
      }
      try (GradientCollector gc = engine.newGradientCollector()) {
        if (full != null) full.train(gc, hg, y, blocks, n);
        else gc.backward(asm.output(hg, y).neg().mean());
      }
      backwardDone[0] = true;
    });
    fns.put("loss", () -> {
      if (full != null) full.targetLogProb(h, y, blocks);
      else asm.output(h, y);
    });
    fns.put("logprob", () -> {
      for (int[] b : blocks) {
        NDArray hb = h.get("{}:{}", b[0], b[1]);
        if (full != null) full.logProb(hb);
        else asm.logProb(hb);
      }
    });
    for (int k : new int[] {1, 10}) {
      fns.put("top" + k, () -> {
        if (asm != null && k == 1) {
          asm.predict(h);
          return;
        }
        for (int[] b : blocks) {
          NDArray hb = h.get("{}:{}", b[0], b[1]);
          if (full != null) full.topK(hb, k);
          else asm.logProb(hb).topK(k, 1);
        }
      });
    }
    return fns;
  }

  /**
   * Compiles the Java side (DJL's wrappers: index parsing, array bookkeeping) before the first timed cell,
   * as lmhead's harness compiles its own heads first (HeadBench.warmJit): every op of every head asked for,
   * on a tiny problem (V = 500, d = 16, N = 64 in two row blocks), 50 times. Without it the first calls of
   * a small cell run DJL's Java code in the interpreter and take several times longer.
   */
  static void warmJit(Engine engine, NDManager m, List<String> heads, List<String> opNames, long seed) {
    try (NDManager wm = m.newSubManager(); NDScope scope = new NDScope()) {
      int v = 500, d = 16, n = 64;
      NDArray h = wm.randomNormal(new Shape(n, d)), y = wm.create(zipf(v, n, seed));
      List<int[]> blocks = List.of(new int[] {0, n / 2}, new int[] {n / 2, n});
      for (String name : heads) {
        if (!HEADS.contains(name)) continue;
        Map<String, Runnable> fns = ops(engine, wm, name, v, d, new int[] {50, 200}, 4.0, h, y, blocks);
        for (int i = 0; i < 50; i++) {
          for (String op : opNames) {
            try (NDScope s = new NDScope()) {
              fns.get(op).run();
            }
          }
        }
      }
    }
  }

  static String join(String a, String b) {
    return a.isEmpty() ? b : b.isEmpty() ? a : a + "; " + b;
  }

  static float[] readFloats(Path p, int count) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
    if (b.remaining() != 4L * count) throw new IOException(p + ": " + b.remaining() + " bytes, expected " + 4L * count);
    float[] f = new float[count];
    b.asFloatBuffer().get(f);
    return f;
  }

  static long[] readInts(Path p, int count) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
    if (b.remaining() != 4L * count) throw new IOException(p + ": " + b.remaining() + " bytes, expected " + 4L * count);
    long[] t = new long[count];
    for (int i = 0; i < count; i++) t[i] = b.getInt();
    return t;
  }

  /** n ids drawn from Zipf's law (s = 1) over [0, v), by inversion of the cumulative distribution. */
  static long[] zipf(int v, int n, long seed) {
    double[] cdf = new double[v];
    double s = 0;
    for (int k = 0; k < v; k++) cdf[k] = s += 1.0 / (k + 1);
    Random r = new Random(seed);
    long[] out = new long[n];
    for (int i = 0; i < n; i++) {
      int j = Arrays.binarySearch(cdf, r.nextDouble() * s);
      out[i] = Math.min(v - 1, j < 0 ? -j - 1 : j);
    }
    return out;
  }
}
