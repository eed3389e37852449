package dev.lmhead.analysis;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import dev.lmhead.analysis.HeadBench.Result;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;

/**
 * The results of one {@code lmhead bench heads} run and their renderings: a terminal table, markdown,
 * JSON and a PNG chart; lmhead/PyTorch ratios per cell and the ratios issue 6 sets as goals.
 */
public final class HeadBenchReport {
  /** One PyTorch measurement (same meaning as {@link Result}, without memory figures). */
  public record PeerResult(String head, int vocab, int dim, String op, int runs, double medianS, double minS,
                           double maxS, double tokensPerS, String note) {}

  /**
   * The peer's answer for one (V, d) cell.
   *
   * @param status ok | refused (slow or reference BLAS) | failed
   */
  public record PeerCell(int vocab, int dim, String status, String reason, double gemmGflops, String torch,
                         List<PeerResult> results) {}

  /**
   * A goal of issues 6 and 19: {@code value} = measured ratio, or fraction of the machine limit when
   * {@code fraction} (NaN when a side was not measured).
   */
  public record Goal(String name, String cell, double value, double target, String how, boolean fraction) {
    public Goal(String name, String cell, double value, double target, String how) {
      this(name, cell, value, target, how, false);
    }

    public String verdict() {
      return Double.isNaN(value) ? "not measured" : value >= target ? "met" : "not met";
    }

    String valueText() { return fraction ? pct(value) : ratioStr(value); }

    String targetText() { return fraction ? String.format(">= %.0f%%", 100 * target) : String.format(">= %.1fx", target); }
  }

  public final HeadBench.Options options;
  public final String cpu;
  public final int threads;
  public final String blas;
  public final double gemmGflops;
  public final String date;
  public final List<Result> results = new ArrayList<>();
  /** PyTorch's cells (bench/pytorch_heads.py). */
  public final List<PeerCell> peer = new ArrayList<>();
  /** null when PyTorch was run (per-cell status in {@link #peer}), else why it was not. */
  public String peerUnavailable;
  /** The DJL peer's cells (peers/djl: libtorch through DJL), when asked for ({@link #djlRequested}). */
  public final List<PeerCell> djl = new ArrayList<>();
  /** null when DJL was run, else why it was not. */
  public String djlUnavailable = "not requested";
  /** Whether --peer named DJL: only then is it in the table, markdown, JSON and chart (PyTorch always is). */
  public boolean djlRequested;
  /** GFLOP/s of the BLAS on a 2048³ product, measured in the same run (NaN when not measured). */
  public double squareGflops = Double.NaN;

  public HeadBenchReport(HeadBench.Options options, String cpu, int threads, String blas, double gemmGflops, String date) {
    this.options = options;
    this.cpu = cpu;
    this.threads = threads;
    this.blas = blas;
    this.gemmGflops = gemmGflops;
    this.date = date;
  }

  // ---------------------------------------------------------------- peers

  /** The cells of one peer. */
  public List<PeerCell> cells(BenchPeer p) {
    return p == BenchPeer.PYTORCH ? peer : djl;
  }

  /** null when the peer was run, else why it was not. */
  public String unavailable(BenchPeer p) {
    return p == BenchPeer.PYTORCH ? peerUnavailable : djlUnavailable;
  }

  public void setUnavailable(BenchPeer p, String why) {
    if (p == BenchPeer.PYTORCH) peerUnavailable = why;
    else djlUnavailable = why;
  }

  public void setRequested(BenchPeer p, boolean requested) {
    if (p == BenchPeer.DJL) djlRequested = requested;
  }

  /** The peers the renderings show: PyTorch always (measured or why not), DJL when it was asked for. */
  public List<BenchPeer> shownPeers() {
    return djlRequested ? List.of(BenchPeer.PYTORCH, BenchPeer.DJL) : List.of(BenchPeer.PYTORCH);
  }

  // ---------------------------------------------------------------- lookups

  Result ours(String head, int v, int d, String op) {
    for (Result r : results) if (r.head().equals(head) && r.vocab() == v && r.dim() == d && r.op().equals(op)) return r;
    return null;
  }

  PeerCell peerCell(int v, int d) {
    return peerCell(BenchPeer.PYTORCH, v, d);
  }

  PeerCell peerCell(BenchPeer p, int v, int d) {
    for (PeerCell c : cells(p)) if (c.vocab() == v && c.dim() == d) return c;
    return null;
  }

  /** Whether the peer measured this head on this cell (so that its rows go under the head's). */
  boolean peerOk(BenchPeer p, String head, int v, int d) {
    PeerCell c = peerCell(p, v, d);
    return p.has(head) && c != null && c.status().equals("ok");
  }

  PeerResult theirs(String head, int v, int d, String op) {
    return theirs(BenchPeer.PYTORCH, head, v, d, op);
  }

  PeerResult theirs(BenchPeer p, String head, int v, int d, String op) {
    PeerCell c = peerCell(p, v, d);
    if (c == null || c.results() == null) return null;
    for (PeerResult r : c.results()) if (r.head().equals(head) && r.op().equals(op)) return r;
    return null;
  }

  double oursTps(String head, int v, int d, String op) {
    Result r = ours(head, v, d, op);
    return r != null && r.ok() ? r.tokensPerS() : Double.NaN;
  }

  double theirsTps(String head, int v, int d, String op) {
    return theirsTps(BenchPeer.PYTORCH, head, v, d, op);
  }

  double theirsTps(BenchPeer p, String head, int v, int d, String op) {
    PeerResult r = theirs(p, head, v, d, op);
    return r != null ? r.tokensPerS() : Double.NaN;
  }

  /** lmhead tokens/s over PyTorch tokens/s for a head PyTorch has (full, adaptive); NaN when either is missing. */
  public double ratio(String head, int v, int d, String op) {
    return ratio(BenchPeer.PYTORCH, head, v, d, op);
  }

  /** lmhead tokens/s over the peer's tokens/s; NaN when either is missing. */
  public double ratio(BenchPeer p, String head, int v, int d, String op) {
    return oursTps(head, v, d, op) / theirsTps(p, head, v, d, op);
  }

  /** The (V, d) cells in run order. */
  List<int[]> cells() {
    List<int[]> cs = new ArrayList<>();
    for (Result r : results) {
      boolean seen = false;
      for (int[] c : cs) seen |= c[0] == r.vocab() && c[1] == r.dim();
      if (!seen) cs.add(new int[] {r.vocab(), r.dim()});
    }
    return cs;
  }

  // The goals of the project's issue 6 ("output layers alone: speed"), which names these heads and
  // vocabulary sizes itself; they are benchmark targets, not tests.
  /** The heads the goals compare (registry names). */
  static final String FULL = "full", ADAPTIVE = "adaptive", HSM = "hsm";
  /** V of WikiText-2 (word level, as shipped: 33,278 types). */
  public static final int V_WIKITEXT2 = 33_278;
  /** V of WikiText-103 (word level, as shipped: 267,735 types). */
  public static final int V_WIKITEXT103 = 267_735;
  /** Issue 6: our full softmax train step at least 1.3x PyTorch's (nn.Linear + cross_entropy), same cell. */
  public static final double GOAL_FULL_VS_PYTORCH = 1.3;
  /** Issue 6: our adaptive softmax train step at least 1.5x PyTorch's AdaptiveLogSoftmaxWithLoss, same cell. */
  public static final double GOAL_ADAPTIVE_VS_PYTORCH = 1.5;
  /** Issue 6: our adaptive softmax train step at least 3x our full softmax's at V = 33,278 (WikiText-2). */
  public static final double GOAL_ADAPTIVE_VS_FULL_WT2 = 3;
  /** Issue 6: ... and at least 8x at V = 267,735 (WikiText-103). */
  public static final double GOAL_ADAPTIVE_VS_FULL_WT103 = 8;
  /** Issue 6: hsm and adaptive exact top-1 at least 20x full logits + argmax, at V = 267,735 (WikiText-103). */
  public static final double GOAL_TOP1_VS_FULL_WT103 = 20;

  /** The ratios issue 6 sets as goals, wherever the grid has the cells they need. */
  public List<Goal> goals() {
    List<Goal> g = new ArrayList<>();
    for (int[] c : cells()) {
      String cell = "V=" + c[0] + ", d=" + c[1];
      if (options.heads().contains(FULL)) {
        g.add(new Goal("full softmax train step vs PyTorch (Linear + cross_entropy)", cell, ratio(FULL, c[0], c[1], "train"),
            GOAL_FULL_VS_PYTORCH, "lmhead full train tokens/s / PyTorch full train tokens/s"));
      }
      if (options.heads().contains(ADAPTIVE)) {
        g.add(new Goal("adaptive train step vs PyTorch AdaptiveLogSoftmaxWithLoss", cell, ratio(ADAPTIVE, c[0], c[1], "train"),
            GOAL_ADAPTIVE_VS_PYTORCH, "lmhead adaptive train tokens/s / PyTorch adaptive train tokens/s"));
      }
    }
    for (int[] c : cells()) {
      String cell = "V=" + c[0] + ", d=" + c[1];
      if (c[0] == V_WIKITEXT2 || c[0] == V_WIKITEXT103) {
        g.add(new Goal("adaptive vs our full softmax, train step", cell,
            oursTps(ADAPTIVE, c[0], c[1], "train") / oursTps(FULL, c[0], c[1], "train"),
            c[0] == V_WIKITEXT2 ? GOAL_ADAPTIVE_VS_FULL_WT2 : GOAL_ADAPTIVE_VS_FULL_WT103,
            "lmhead adaptive train tokens/s / lmhead full train tokens/s"));
      }
    }
    for (int[] c : cells()) {
      String cell = "V=" + c[0] + ", d=" + c[1];
      if (c[0] == V_WIKITEXT103) {
        for (String h : List.of(HSM, ADAPTIVE)) {
          g.add(new Goal(h + " exact top-1 vs full logits + argmax", cell,
              oursTps(h, c[0], c[1], "top1") / oursTps(FULL, c[0], c[1], "top1"), GOAL_TOP1_VS_FULL_WT103,
              "lmhead " + h + " top1 tokens/s / lmhead full top1 tokens/s"));
        }
      }
    }
    for (int[] c : cells()) {
      String cell = "V=" + c[0] + ", d=" + c[1];
      for (String op : HeadBench.OPS) {
        Result r = ours(FULL, c[0], c[1], op);
        if (r != null && !Double.isNaN(r.limitFraction())) {
          g.add(new Goal("full softmax " + op + ": fraction of its GEMM limit", cell, r.limitFraction(), GOAL_FULL_LIMIT,
              "GEMM time at this machine's rates / median time", true));
        }
      }
      for (String op : List.of("train", "top1", "top10")) {
        Result r = ours(ADAPTIVE, c[0], c[1], op);
        if (r != null && !Double.isNaN(r.limitFraction())) {
          g.add(new Goal("adaptive " + op + ": fraction of its GEMM limit", cell, r.limitFraction(), GOAL_ADAPTIVE_LIMIT,
              "GEMM time at this machine's rates / median time", true));
        }
      }
    }
    return g;
  }

  /** Issue 19: every full-softmax op at least 85% of the time its GEMMs take at this machine's rates. */
  public static final double GOAL_FULL_LIMIT = 0.85;
  /** Issue 19: adaptive train and exact top-k at least 75% of theirs (head and routed tail products). */
  public static final double GOAL_ADAPTIVE_LIMIT = 0.75;

  static String pct(double x) {
    return Double.isNaN(x) || Double.isInfinite(x) ? "-" : String.format("%.0f%%", 100 * x);
  }

  /** The fraction of the limit per (cell, head, op), as a table of percentages, or "" when not measured. */
  String limitTable(boolean markdown) {
    boolean any = false;
    for (Result r : results) any |= !Double.isNaN(r.limitFraction());
    if (!any) return "";
    StringBuilder b = new StringBuilder();
    if (markdown) {
      b.append("\n### Fraction of the machine limit\n\n").append(LIMIT_EXPLAINED).append("\n\n| V | d | head |");
      for (String op : HeadBench.OPS) b.append(' ').append(op).append(" |");
      b.append("\n|---|---|---|").append("---:|".repeat(HeadBench.OPS.size())).append('\n');
    } else {
      b.append("\nfraction of the machine limit (").append(LIMIT_EXPLAINED).append("):\n");
    }
    String fmt = "%-7s %-4s %-17s" + " %10s".repeat(HeadBench.OPS.size()) + "%n";
    for (int[] c : cells()) {
      for (String h : options.heads()) {
        List<String> cellsText = new ArrayList<>();
        for (String op : HeadBench.OPS) {
          Result r = ours(h, c[0], c[1], op);
          cellsText.add(r == null || !r.ok() ? "-" : pct(r.limitFraction()));
        }
        if (markdown) {
          b.append("| ").append(c[0]).append(" | ").append(c[1]).append(" | ").append(h).append(" | ").append(String.join(" | ", cellsText)).append(" |\n");
        } else {
          List<Object> row = new ArrayList<>(List.of("" + c[0], "" + c[1], h));
          row.addAll(cellsText);
          b.append(String.format(fmt, row.toArray()));
        }
      }
    }
    return b.toString();
  }

  static final String LIMIT_EXPLAINED = "each op's matrix products were counted on one extra call (shape and number); its GEMM limit is the "
      + "time they take at the GFLOP/s this machine reaches on each of those shapes alone, its read limit the time to read the head's "
      + "weights once at the bandwidth this machine reaches on a working set of that size, both measured in the same run (best of >= 3); "
      + "the fraction is the larger limit / median time per call, so 100% means the op is as fast as its GEMMs (or, at small batches, "
      + "its memory reads) allow, and the rest of the time is everything else it does (softmax passes, gathers, idle threads)";

  // ---------------------------------------------------------------- renderings

  /** tokens/s of an ok cell, else n/a (head not in this build) or skipped. */
  static String cellText(Result r) {
    if (r == null) return "-";
    if (r.ok()) return tps(r.tokensPerS());
    return r.status().equals("unavailable") ? "n/a" : r.status();
  }

  static String tps(double x) {
    return Double.isNaN(x) ? "-" : String.format("%,.0f", x);
  }

  static String ratioStr(double x) {
    return Double.isNaN(x) || Double.isInfinite(x) ? "-" : String.format("%.2fx", x);
  }

  static String ms(double s) {
    return Double.isNaN(s) ? "-" : s >= 10 ? String.format("%,.0f", s * 1e3) : String.format("%.1f", s * 1e3);
  }

  static String mb(double x) {
    return Double.isNaN(x) ? "-" : String.format("%.1f", x);
  }

  String header() {
    StringBuilder b = new StringBuilder();
    b.append(String.format("lmhead bench heads: N=%d rows, Zipf(s=1) targets, gaussian hidden states; %d threads; %s BLAS, sgemm %.0f GFLOP/s"
        + " on [2048,512]x[512,33278]%s", options.rows(), threads, blas, gemmGflops,
        Double.isNaN(squareGflops) ? "" : String.format(", %.0f GFLOP/s on a 2048³ square", squareGflops)));
    b.append(String.format("; warm-up %d call%s and >= %.1f s, up to %d timed runs per cell (budget %.0f s); median tokens/s = N / median seconds per call",
        options.warmup(), options.warmup() == 1 ? "" : "s", options.warmupSeconds(), options.repeats(), options.maxSeconds()));
    return b.toString();
  }

  String peerLine() {
    StringBuilder b = new StringBuilder();
    for (BenchPeer p : shownPeers()) {
      if (b.length() > 0) b.append('\n');
      b.append(peerLine(p));
    }
    return b.toString();
  }

  String peerLine(BenchPeer p) {
    if (unavailable(p) != null) return p.label() + ": not measured: " + unavailable(p);
    StringBuilder b = new StringBuilder(p.label());
    String torch = null;
    List<String> gf = new ArrayList<>();
    for (PeerCell c : cells(p)) {
      if (c.torch() != null) torch = c.torch();
      if (!Double.isNaN(c.gemmGflops())) gf.add(String.format("%.0f", c.gemmGflops()));
    }
    if (torch != null) b.append(p == BenchPeer.PYTORCH ? " " + torch : " (" + torch + ")");
    b.append(" measured in the same run, per (V, d) cell in its own process; its sgemm: ").append(gf).append(" GFLOP/s");
    for (PeerCell c : cells(p)) {
      if (!c.status().equals("ok")) b.append(String.format("%n  V=%d d=%d: %s not compared: %s", c.vocab(), c.dim(), p.label(), c.reason()));
    }
    return b.toString();
  }

  /** The terminal table: tokens/s per op, one line per head, PyTorch and ratio lines under full/adaptive. */
  public String table() {
    StringBuilder b = new StringBuilder();
    b.append(header()).append('\n').append(peerLine()).append("\n\n");
    String fmt = "%-7s %-4s %-17s" + " %10s".repeat(HeadBench.OPS.size()) + "%n";
    List<Object> hdr = new ArrayList<>(List.of("V", "d", "head (tokens/s)"));
    hdr.addAll(HeadBench.OPS);
    b.append(String.format(fmt, hdr.toArray()));
    Map<String, List<String>> notes = new LinkedHashMap<>(); // "cell head: note" -> ops
    for (int[] c : cells()) {
      boolean first = true;
      for (String h : options.heads()) {
        List<Object> row = new ArrayList<>(List.of(first ? "" + c[0] : "", first ? "" + c[1] : "", h));
        first = false;
        for (String op : HeadBench.OPS) {
          Result r = ours(h, c[0], c[1], op);
          row.add(cellText(r));
          if (r != null && !r.note().isEmpty()) notes.computeIfAbsent(String.format("V=%d d=%d %s|%s", c[0], c[1], h, r.note()), x -> new ArrayList<>()).add(op);
        }
        b.append(String.format(fmt, row.toArray()));
        for (BenchPeer peerKind : shownPeers()) {
          if (!peerOk(peerKind, h, c[0], c[1])) continue;
          String id = peerKind.id();
          List<Object> pr = new ArrayList<>(List.of("", "", "  " + id + " " + h));
          List<Object> rr = new ArrayList<>(List.of("", "", "  lmhead/" + id));
          for (String op : HeadBench.OPS) {
            pr.add(tps(theirsTps(peerKind, h, c[0], c[1], op)));
            rr.add(ratioStr(ratio(peerKind, h, c[0], c[1], op)));
            PeerResult p = theirs(peerKind, h, c[0], c[1], op);
            if (p != null && !p.note().isEmpty()) notes.computeIfAbsent(String.format("V=%d d=%d %s %s|%s", c[0], c[1], id, h, p.note()), x -> new ArrayList<>()).add(op);
          }
          b.append(String.format(fmt, pr.toArray())).append(String.format(fmt, rr.toArray()));
        }
      }
    }
    if (!notes.isEmpty()) {
      b.append("\nnotes:\n");
      for (Map.Entry<String, List<String>> e : notes.entrySet()) {
        String[] kn = e.getKey().split("\\|", 2);
        String ops = e.getValue().size() == HeadBench.OPS.size() ? "all ops" : String.join(",", e.getValue());
        b.append("  ").append(kn[0]).append(' ').append(ops).append(": ").append(kn[1]).append('\n');
      }
    }
    b.append(limitTable(false));
    List<Goal> goals = goals();
    if (!goals.isEmpty()) {
      b.append("\ngoals of issues 6 and 19 (benchmarks, not tests):\n");
      for (Goal g : goals) {
        b.append(String.format("  %-62s %-18s %8s  (goal %s: %s)%n", g.name(), g.cell(), g.valueText(), g.targetText(), g.verdict()));
      }
    }
    b.append("\nmemory (Java heap; --markdown/--json list it per cell): retained = heap growth over a cell's first call after GC "
        + "(MemoryMXBean), alloc = bytes allocated per timed call by all threads (ThreadMXBean.getTotalThreadAllocatedBytes)\n");
    return b.toString();
  }

  /** Markdown: summary table (tokens/s), goals, then every cell with spread and memory. */
  public String markdown() {
    StringBuilder b = new StringBuilder();
    b.append("### Output layers alone: tokens/s\n\n").append(header()).append(".\n\n").append(peerLine().replace("\n", "\n\n")).append(".\n\n");
    b.append("| V | d | head |");
    for (String op : HeadBench.OPS) b.append(' ').append(op).append(" |");
    b.append("\n|---|---|---|").append("---:|".repeat(HeadBench.OPS.size())).append('\n');
    for (int[] c : cells()) {
      for (String h : options.heads()) {
        b.append("| ").append(c[0]).append(" | ").append(c[1]).append(" | ").append(h).append(" |");
        for (String op : HeadBench.OPS) {
          Result r = ours(h, c[0], c[1], op);
          b.append(' ').append(cellText(r)).append(" |");
        }
        b.append('\n');
        for (BenchPeer p : shownPeers()) {
          if (!peerOk(p, h, c[0], c[1])) continue;
          b.append("| ").append(c[0]).append(" | ").append(c[1]).append(" | ").append(p.label()).append(' ').append(h).append(" |");
          for (String op : HeadBench.OPS) b.append(' ').append(tps(theirsTps(p, h, c[0], c[1], op))).append(" |");
          b.append("\n| ").append(c[0]).append(" | ").append(c[1]).append(" | *lmhead/").append(p.label()).append("* |");
          for (String op : HeadBench.OPS) b.append(" *").append(ratioStr(ratio(p, h, c[0], c[1], op))).append("* |");
          b.append('\n');
        }
      }
    }
    b.append(limitTable(true));
    List<Goal> goals = goals();
    if (!goals.isEmpty()) {
      b.append("\n### Goals of issues 6 and 19 (benchmarks, not tests)\n\n| goal | cell | measured | target | verdict |\n|---|---|---:|---:|---|\n");
      for (Goal g : goals) {
        b.append(String.format("| %s | %s | %s | %s | %s |%n", g.name(), g.cell(), g.valueText(), g.targetText(), g.verdict()));
      }
    }
    b.append("\n### Every cell: spread and memory\n\n");
    b.append("Seconds per call: median and min–max over the timed runs. Memory is Java heap only: *retained* = heap growth over the cell's "
        + "first call (MemoryMXBean after System.gc()), *alloc/call* = bytes allocated per timed call by all threads "
        + "(ThreadMXBean.getTotalThreadAllocatedBytes), *state* = parameters + gradients.\n\n");
    b.append("*GEMM GFLOP* = the matrix products of one call; *GEMM limit ms* = their time at this machine's rate on each shape; "
        + "*read limit ms* = the time to read the head's weights (*weights MB*) once at this machine's bandwidth for a working set of "
        + "that size; *% of limit* = the larger of the two limits / median; *in GEMM ms* = the time the call spent inside its "
        + "products; *largest product* = the shape with the most work (t = transposed operand).\n\n");
    b.append("| V | d | head | op | tokens/s | median ms | min–max ms | runs | GEMM GFLOP | GEMM limit ms | weights MB | read limit ms | % of limit | bound by | in GEMM ms | largest product | retained MB | alloc MB/call | state MB | note |\n");
    b.append("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---:|---:|---:|---|\n");
    for (Result r : results) {
      HeadBench.Limit l = r.limit();
      b.append(String.format("| %d | %d | %s | %s | %s | %s | %s–%s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n", r.vocab(), r.dim(), r.head(), r.op(),
          r.ok() ? tps(r.tokensPerS()) : r.status(), ms(r.medianS()), ms(r.minS()), ms(r.maxS()), r.runs(),
          Double.isNaN(l.gemmGflop()) ? "-" : String.format("%.2f", l.gemmGflop()), ms(l.limitS()), mb(l.weightMb()), ms(l.readS()),
          pct(r.limitFraction()), l.boundBy(), ms(l.gemmS()), l.topShape(),
          mb(r.retainedMb()), mb(r.allocMbPerCall()), mb(r.stateMb()), r.note().replace("|", "/")));
    }
    for (BenchPeer p : shownPeers()) {
      for (PeerCell c : cells(p)) {
        if (c.results() == null) continue;
        for (PeerResult r : c.results()) {
          b.append(String.format("| %d | %d | %s %s | %s | %s | %s | %s–%s | %d | - | - | - | - | - | - | - | - | %s |%n", r.vocab(), r.dim(), p.label(), r.head(), r.op(),
              tps(r.tokensPerS()), ms(r.medianS()), ms(r.minS()), ms(r.maxS()), r.runs(), r.note().replace("|", "/")));
        }
      }
    }
    return b.toString();
  }

  private static JsonElement num(double x) {
    return Double.isNaN(x) || Double.isInfinite(x) ? com.google.gson.JsonNull.INSTANCE : new JsonPrimitive(x);
  }

  /** One peer's part of the JSON: its cells with ratios, or "not measured: why". */
  private JsonElement peerJson(BenchPeer p) {
    if (unavailable(p) != null) return new JsonPrimitive("not measured: " + unavailable(p));
    JsonArray ps = new JsonArray();
    for (PeerCell c : cells(p)) {
      JsonObject j = new JsonObject();
      j.addProperty("vocab", c.vocab());
      j.addProperty("dim", c.dim());
      j.addProperty("status", c.status());
      if (c.reason() != null) j.addProperty("reason", c.reason());
      j.add("gemm_gflops", num(c.gemmGflops()));
      if (c.torch() != null) j.addProperty("torch", c.torch());
      JsonArray prs = new JsonArray();
      if (c.results() != null) {
        for (PeerResult r : c.results()) {
          JsonObject k = new JsonObject();
          k.addProperty("head", r.head());
          k.addProperty("op", r.op());
          k.addProperty("runs", r.runs());
          k.add("median_s", num(r.medianS()));
          k.add("min_s", num(r.minS()));
          k.add("max_s", num(r.maxS()));
          k.add("tokens_per_s", num(r.tokensPerS()));
          k.add("ratio_lmhead_over_" + p.id(), num(ratio(p, r.head(), c.vocab(), c.dim(), r.op())));
          k.addProperty("note", r.note());
          prs.add(k);
        }
      }
      j.add("results", prs);
      ps.add(j);
    }
    return ps;
  }

  /** Everything, as one JSON object (NaN written as null). */
  public String json() {
    Gson gson = new GsonBuilder().setPrettyPrinting().serializeNulls().create();
    JsonObject o = new JsonObject();
    o.addProperty("date", date);
    o.addProperty("cpu", cpu);
    o.addProperty("threads", threads);
    o.addProperty("blas", blas);
    o.add("gemm_gflops", num(gemmGflops));
    o.add("sgemm_square_gflops", num(squareGflops));
    o.addProperty("limit_definition", LIMIT_EXPLAINED);
    JsonObject opt = new JsonObject();
    opt.add("heads", gson.toJsonTree(options.heads()));
    opt.add("vocab", gson.toJsonTree(options.vocabs()));
    opt.add("dim", gson.toJsonTree(options.dims()));
    opt.addProperty("rows", options.rows());
    opt.addProperty("warmup", options.warmup());
    opt.addProperty("warmup_seconds", options.warmupSeconds());
    opt.addProperty("repeats", options.repeats());
    opt.addProperty("max_seconds", options.maxSeconds());
    opt.addProperty("max_block_bytes", options.maxBlockBytes());
    opt.addProperty("div_value", options.divValue());
    opt.addProperty("experts", options.experts());
    opt.addProperty("mos_base", options.mosBase());
    opt.addProperty("seed", options.seed());
    JsonObject cut = new JsonObject();
    for (int v : options.vocabs()) cut.add("" + v, gson.toJsonTree(options.cutoffsFor(v)));
    opt.add("cutoffs", cut);
    o.add("options", opt);
    JsonArray rs = new JsonArray();
    for (Result r : results) {
      JsonObject j = new JsonObject();
      j.addProperty("head", r.head());
      j.addProperty("vocab", r.vocab());
      j.addProperty("dim", r.dim());
      j.addProperty("op", r.op());
      j.addProperty("status", r.status());
      j.addProperty("runs", r.runs());
      j.add("median_s", num(r.medianS()));
      j.add("min_s", num(r.minS()));
      j.add("max_s", num(r.maxS()));
      j.add("tokens_per_s", num(r.tokensPerS()));
      j.add("retained_mb", num(r.retainedMb()));
      j.add("alloc_mb_per_call", num(r.allocMbPerCall()));
      j.add("state_mb", num(r.stateMb()));
      j.add("gemm_gflop_per_call", num(r.limit().gemmGflop()));
      j.add("gemm_limit_s", num(r.limit().limitS()));
      j.add("limit_fraction", num(r.limitFraction()));
      j.add("gemm_s", num(r.limit().gemmS()));
      j.add("weights_mb", num(r.limit().weightMb()));
      j.add("read_limit_s", num(r.limit().readS()));
      j.addProperty("bound_by", r.limit().boundBy());
      j.addProperty("largest_gemm", r.limit().topShape());
      j.addProperty("note", r.note());
      rs.add(j);
    }
    o.add("results", rs);
    for (BenchPeer p : shownPeers()) o.add(p.id(), peerJson(p));
    JsonArray gs = new JsonArray();
    for (Goal g : goals()) {
      JsonObject j = new JsonObject();
      j.addProperty("goal", g.name());
      j.addProperty("cell", g.cell());
      j.add("ratio", num(g.value()));
      j.addProperty("target", g.target());
      j.addProperty("verdict", g.verdict());
      j.addProperty("how", g.how());
      gs.add(j);
    }
    o.add("goals", gs);
    return gson.toJson(o);
  }

  /**
   * A PNG with one panel per operation: x = the (V, d) cells, one line with markers per head (and per
   * PyTorch head), y = tokens/s on a log scale. Cells a head was not measured on are left empty.
   */
  public void png(Path file) throws IOException {
    if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    List<int[]> cells = cells();
    if (cells.isEmpty()) throw new IllegalArgumentException("nothing to plot: no results");
    List<String> x = new ArrayList<>();
    for (int[] c : cells) x.add((c[0] >= 10_000 ? Math.round(c[0] / 1000.0) + "k" : "" + c[0]) + "/" + c[1]);
    List<CategoryChart> charts = new ArrayList<>();
    for (String op : HeadBench.OPS) {
      CategoryChart ch = new CategoryChartBuilder().width(900).height(420).title(op + " (N = " + options.rows() + ")")
          .xAxisTitle("V / d").yAxisTitle("tokens/s (log)").build();
      ch.getStyler().setYAxisLogarithmic(true);
      ch.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideE);
      // XChart cannot draw bars on a log axis: lines with markers, one point per cell
      ch.getStyler().setDefaultSeriesRenderStyle(org.knowm.xchart.CategorySeries.CategorySeriesRenderStyle.Line);
      Map<String, List<Double>> series = new LinkedHashMap<>();
      for (String h : options.heads()) {
        List<Double> y = new ArrayList<>();
        for (int[] c : cells) y.add(oursTps(h, c[0], c[1], op));
        series.put(h, y);
        for (BenchPeer p : shownPeers()) {
          if (!p.has(h) || cells(p).isEmpty()) continue;
          List<Double> py = new ArrayList<>();
          for (int[] c : cells) py.add(theirsTps(p, h, c[0], c[1], op));
          series.put(p.label() + " " + h, py);
        }
      }
      for (Map.Entry<String, List<Double>> e : series.entrySet()) {
        if (e.getValue().stream().allMatch(v -> Double.isNaN(v))) continue;
        List<Double> y = new ArrayList<>();
        for (double v : e.getValue()) y.add(Double.isNaN(v) || v <= 0 ? null : v);
        ch.addSeries(e.getKey(), x, y);
      }
      if (!ch.getSeriesMap().isEmpty()) charts.add(ch);
    }
    Path dir = file.toAbsolutePath().getParent();
    if (dir != null) Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, ".bench", ".png.tmp");
    try {
      try (OutputStream out = Files.newOutputStream(tmp)) {
        BitmapEncoder.saveBitmap(charts, charts.size(), 1, out, BitmapEncoder.BitmapFormat.PNG);
      }
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** The CPU model from /proc/cpuinfo (what {@code lscpu} prints as "Model name"), or os.arch. */
  public static String cpuModel() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).trim();
      }
    } catch (IOException | RuntimeException e) {
      // fall through
    }
    return System.getProperty("os.arch");
  }

  static String ints(int[] a) {
    return Arrays.toString(a);
  }
}
