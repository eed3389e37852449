package dev.lmhead.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.lmhead.analysis.HeadBench.Result;
import dev.lmhead.tensor.Rng;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The benchmark harness on a tiny grid (no timing assertions) and the Zipf sampler against its law. */
class HeadBenchTest {
  static HeadBench.Options tiny;
  static HeadBenchReport report;

  @BeforeAll
  static void runTinyGrid() {
    tiny = new HeadBench.Options(HeadBench.ALL_HEADS, new int[] {500}, new int[] {16}, 64, 1, 2, new int[0], 4.0, 5,
        5, 1L << 30, 1);
    report = HeadBench.run(tiny, false, false, line -> {});
  }

  @Test
  void everyHeadAndOpHasARowWithPositiveFiniteNumbers() {
    assertEquals(HeadBench.ALL_HEADS.size() * HeadBench.OPS.size(), report.results.size());
    for (String head : HeadBench.ALL_HEADS) {
      for (String op : HeadBench.OPS) {
        Result r = report.ours(head, 500, 16, op);
        assertNotNull(r, head + " " + op);
        if (!HeadBench.available(head)) {
          assertEquals("unavailable", r.status(), head + " is not in this build");
          continue;
        }
        assertEquals("ok", r.status(), head + " " + op + ": " + r.note());
        String what = head + " " + op + " " + r;
        assertTrue(r.runs() >= 1 && r.runs() <= tiny.repeats(), what);
        for (double x : new double[] {r.medianS(), r.minS(), r.maxS(), r.tokensPerS(), r.stateMb()}) {
          assertTrue(Double.isFinite(x) && x > 0, what);
        }
        assertTrue(r.minS() <= r.medianS() && r.medianS() <= r.maxS(), what);
        assertEquals(64 / r.medianS(), r.tokensPerS(), 1e-9 * r.tokensPerS(), what);
        assertTrue(Double.isFinite(r.retainedMb()) && r.retainedMb() >= 0, what);
        assertTrue(Double.isFinite(r.allocMbPerCall()) && r.allocMbPerCall() >= 0, what);
      }
    }
    assertTrue(report.peerUnavailable.contains("not requested"));
  }

  @Test
  void jsonParsesAndHoldsEveryRow() {
    JsonObject j = JsonParser.parseString(report.json()).getAsJsonObject();
    assertEquals(report.results.size(), j.getAsJsonArray("results").size());
    JsonObject first = j.getAsJsonArray("results").get(0).getAsJsonObject();
    assertEquals("full", first.get("head").getAsString());
    assertTrue(first.get("tokens_per_s").getAsDouble() > 0);
    assertEquals(64, j.getAsJsonObject("options").get("rows").getAsInt());
    assertTrue(j.get("pytorch").getAsString().startsWith("not measured"));
    assertTrue(j.has("goals"));
  }

  @Test
  void markdownAndTableHaveTheirHeaders(@TempDir Path dir) throws Exception {
    String md = report.markdown();
    assertTrue(md.contains("| V | d | head | train | loss | logprob | top1 | top10 |"), md);
    assertTrue(md.contains("| V | d | head | op | tokens/s | median ms |"), md);
    assertTrue(md.lines().anyMatch(l -> l.startsWith("| 500 | 16 | adaptive |")), md);
    String table = report.table();
    assertTrue(table.contains("head (tokens/s)") && table.contains("adaptive"), table);
    Path png = dir.resolve("heads.png");
    report.png(png);
    byte[] b = Files.readAllBytes(png);
    assertTrue(b.length > 1000 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G');
  }

  @Test
  void ratiosAndGoalsUseBothSides() {
    HeadBenchReport r = new HeadBenchReport(tiny, "cpu", 2, "java", Double.NaN, "today");
    List<String> ops = HeadBench.OPS;
    for (String h : List.of("full", "adaptive", "hsm")) {
      for (String op : ops) {
        double tps = h.equals("full") ? 100 : 1000;
        r.results.add(new Result(h, 267735, 512, op, "ok", 3, 2048 / tps, 2048 / tps, 2048 / tps, tps, 0, 0, 1, ""));
      }
    }
    List<HeadBenchReport.PeerResult> peer = new ArrayList<>();
    for (String op : ops) {
      peer.add(new HeadBenchReport.PeerResult("full", 267735, 512, op, 3, 1, 1, 1, 50, ""));
      peer.add(new HeadBenchReport.PeerResult("adaptive", 267735, 512, op, 3, 1, 1, 1, 800, ""));
    }
    r.peer.add(new HeadBenchReport.PeerCell(267735, 512, "ok", null, 150, "1.13", peer));
    assertEquals(2.0, r.ratio("full", 267735, 512, "train"), 1e-12);
    assertEquals(1.25, r.ratio("adaptive", 267735, 512, "loss"), 1e-12);
    List<HeadBenchReport.Goal> g = r.goals();
    HeadBenchReport.Goal own = g.stream().filter(x -> x.name().startsWith("adaptive vs our full")).findFirst().orElseThrow();
    assertEquals(10.0, own.value(), 1e-12);
    assertEquals(8.0, own.target());
    assertEquals("met", own.verdict());
    HeadBenchReport.Goal top = g.stream().filter(x -> x.name().startsWith("hsm exact top-1")).findFirst().orElseThrow();
    assertEquals(10.0, top.value(), 1e-12);
    assertEquals("not met", top.verdict());
    r.peer.clear();
    assertTrue(Double.isNaN(r.ratio("full", 267735, 512, "train")));
    assertEquals("not measured", r.goals().get(0).verdict());
  }

  @Test
  void zipfSamplerFollowsTheLaw() {
    int vocab = 1000, draws = 100_000;
    Zipf z = new Zipf(vocab, 1.0);
    int[] s = z.sample(new Rng(42), draws);
    long[] count = new long[vocab];
    for (int id : s) {
      assertTrue(id >= 0 && id < vocab);
      count[id]++;
    }
    // P(0) / P(9) = 10 under s = 1; count[9] ~ 1340, so the empirical ratio is within a few %
    double ratio = (double) count[0] / count[9];
    assertEquals(10.0, ratio, 1.0, "frequency ratio of ids 0 and 9");
    // every one of the 50 most frequent ids within 5 binomial standard deviations of its probability
    double h = 0;
    for (int i = 1; i <= vocab; i++) h += 1.0 / i;
    for (int i = 0; i < 50; i++) {
      double p = 1.0 / ((i + 1) * h);
      assertEquals(p, z.probability(i), 1e-12);
      double sd = Math.sqrt(draws * p * (1 - p));
      assertEquals(draws * p, count[i], 5 * sd, "id " + i);
    }
    // the rare half of the vocabulary gets its share (sum of P over ids 500..999 ≈ ln 2 / H)
    long tail = 0;
    for (int i = 500; i < vocab; i++) tail += count[i];
    double pTail = 0;
    for (int i = 500; i < vocab; i++) pTail += z.probability(i);
    assertEquals(draws * pTail, tail, 5 * Math.sqrt(draws * pTail));
    // same seed, same draws
    assertEquals(java.util.Arrays.toString(z.sample(new Rng(7), 100)), java.util.Arrays.toString(z.sample(new Rng(7), 100)));
  }

  @Test
  void zipfCountsAreTheExpectedCountsOfTheSameLaw() {
    Zipf z = new Zipf(267735, 1.0);
    long[] c = z.counts(HeadBench.COUNT_TOKENS);
    assertEquals(10.0, (double) c[0] / c[9], 1e-4);
    for (int i = 1; i < c.length; i++) assertTrue(c[i] <= c[i - 1] && c[i] >= 1, "count " + i);
  }

  @Test
  void logProbBlocksStayUnderTheLimit() {
    assertEquals(2048, HeadBench.blockRows(2048, 33278, 1L << 30));
    // [2048, 267735] floats = 2.04 GiB: three equal blocks of ceil(2048 / 3) rows, 0.68 GiB each
    int rows = HeadBench.blockRows(2048, 267735, 1L << 30);
    assertEquals(683, rows);
    assertTrue(4L * rows * 267735 <= 1L << 30);
    int small = HeadBench.blockRows(2048, 267735, 64L << 20);
    assertTrue(4L * small * 267735 <= 64L << 20 && small >= 1);
  }

  /**
   * The warm-up runs until both its call count and its seconds are reached, never past half the budget, on a fake
   * clock that advances 10 ms per call (no real time measured).
   */
  @Test
  void warmUpRunsForItsCallsAndItsSecondsWithinHalfTheBudget() {
    long[] now = {0};
    int[] calls = {0};
    Runnable call = () -> { calls[0]++; now[0] += 10_000_000L; };
    java.util.function.LongSupplier clock = () -> now[0];
    java.util.function.ToIntBiFunction<Integer, double[]> warm = (count, secs) -> {
      calls[0] = 0;
      HeadBench.Options o = new HeadBench.Options(List.of("full"), new int[] {500}, new int[] {16}, 64, count, 1, new int[0], 4.0, 5,
          secs[1], 1L << 30, 1, "full", secs[0]);
      int n = HeadBench.warmUp(call, clock, 0.010, o);
      assertEquals(n - 1, calls[0], "the first call is counted, not repeated");
      return n;
    };
    assertEquals(1, warm.applyAsInt(1, new double[] {0, 20}), "one call, no seconds: only the first");
    assertEquals(5, warm.applyAsInt(5, new double[] {0, 20}), "calls alone");
    assertEquals(30, warm.applyAsInt(1, new double[] {0.295, 20}), "0.295 s of 10-ms calls");
    assertEquals(40, warm.applyAsInt(40, new double[] {0.295, 20}), "the count wins when it takes longer");
    assertEquals(13, warm.applyAsInt(1, new double[] {5, 0.25}), "capped at half the 0.25-s budget");
    assertThrows(IllegalArgumentException.class, () -> new HeadBench.Options(List.of("full"), new int[] {500}, new int[] {16}, 64, 1, 1,
        new int[0], 4.0, 5, 1, 1L << 30, 1, "full", Double.NaN));
  }

  @Test
  void badOptionsNameTheFlag() {
    var e = assertThrows(IllegalArgumentException.class, () -> new HeadBench.Options(List.of("nope"), new int[] {500},
        new int[] {16}, 64, 1, 1, new int[0], 4, 5, 1, 1L << 30, 1));
    assertTrue(e.getMessage().contains("--heads"));
    HeadBench.Options o = new HeadBench.Options(List.of("adaptive"), new int[] {500}, new int[] {16}, 64, 1, 1,
        new int[] {100, 600}, 4, 5, 1, 1L << 30, 1);
    e = assertThrows(IllegalArgumentException.class, () -> o.cutoffsFor(500));
    assertTrue(e.getMessage().contains("--cutoffs"));
    assertFalse(HeadBench.available("nope"));
  }

  /**
   * With rates, every op carries its GEMM work and limit: the full softmax's work is exactly its
   * products (train: logits, dHidden, dWeight; the other ops: the logits), the adaptive head's is smaller,
   * and the fraction goals of issue 19 read them.
   */
  @Test
  void limitsCountTheWorkOfEachOp() {
    int n = 64, v = 500, d = 16;
    HeadBench.Options o = new HeadBench.Options(List.of("full", "adaptive"), new int[] {v}, new int[] {d}, n, 1, 2, new int[0], 4.0, 5,
        5, 1L << 30, 1);
    var machine = new HeadBench.Machine(new dev.lmhead.tensor.GemmProfile.Rates(0.01), new dev.lmhead.tensor.Bandwidth(0.01));
    List<Result> rs = HeadBench.runCell(o, HeadBench.inputs(v, d, n, 1), line -> {}, machine);
    HeadBenchReport rep = new HeadBenchReport(o, "cpu", 1, "test", Double.NaN, "today");
    rep.results.addAll(rs);
    double logits = 2.0 * n * v * d / 1e9;
    assertEquals(3 * logits, rep.ours("full", v, d, "train").limit().gemmGflop(), 1e-15);
    assertEquals(4.0 * (v * d + v) / 1e6, rep.ours("full", v, d, "train").limit().weightMb(), 1e-12, "weights + bias, 4 bytes each");
    for (String op : List.of("loss", "logprob", "top1", "top10")) {
      assertEquals(logits, rep.ours("full", v, d, op).limit().gemmGflop(), 1e-15, op);
    }
    for (Result r : rs) {
      double f = r.limitFraction();
      assertTrue(Double.isFinite(f) && f > 0, r.toString());
      assertTrue(r.limit().limitS() > 0 && r.limit().gemmS() > 0 && !r.limit().topShape().isEmpty(), r.toString());
      assertTrue(r.limit().readS() > 0 && r.limit().boundS() >= r.limit().limitS() && !r.limit().boundBy().isEmpty(), r.toString());
    }
    double adaptive = rep.ours("adaptive", v, d, "train").limit().gemmGflop();
    assertTrue(adaptive > 0 && adaptive < 3 * logits, "adaptive train work " + adaptive);
    var goals = rep.goals().stream().filter(HeadBenchReport.Goal::fraction).toList();
    assertEquals(5 + 3, goals.size(), goals.toString());
    HeadBenchReport.Goal g = goals.get(0);
    assertEquals(rep.ours("full", v, d, "train").limitFraction(), g.value(), 0.0);
    assertTrue(g.targetText().equals(">= 85%") && g.valueText().endsWith("%"), g.toString());
    String md = rep.markdown();
    assertTrue(md.contains("### Fraction of the machine limit") && md.contains("| " + v + " | " + d + " | full |"), md);
    JsonObject j = JsonParser.parseString(rep.json()).getAsJsonObject();
    assertTrue(j.getAsJsonArray("results").get(0).getAsJsonObject().get("limit_fraction").getAsDouble() > 0);
  }
}
