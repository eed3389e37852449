package dev.lmhead.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.lmhead.analysis.HeadBench.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --peer}: which peers a run asks for, why a peer is not measured (the DJL peer when peers/djl is not
 * built), and DJL's rows beside PyTorch's in the report. Needs neither PyTorch nor DJL.
 */
class BenchPeerTest {
  @TempDir Path tmp;

  @Test
  void parsesOnePeerACommaListOrNone() {
    assertEquals(List.of(BenchPeer.PYTORCH), BenchPeer.parse("pytorch"));
    assertEquals(List.of(BenchPeer.DJL), BenchPeer.parse("djl"));
    assertEquals(List.of(BenchPeer.PYTORCH, BenchPeer.DJL), BenchPeer.parse("pytorch,djl"));
    assertEquals(List.of(BenchPeer.DJL, BenchPeer.PYTORCH), BenchPeer.parse("djl, pytorch"));
    assertEquals(List.of(), BenchPeer.parse("none"));
    assertEquals("none", BenchPeer.flag(List.of()));
    assertEquals("pytorch,djl", BenchPeer.flag(BenchPeer.parse("pytorch,djl")));
    for (String bad : List.of("foo", "pytorch,foo", "none,djl", "", "djl,djl", "pytorch,")) {
      var e = assertThrows(IllegalArgumentException.class, () -> BenchPeer.parse(bad), bad);
      assertTrue(e.getMessage().startsWith("--peer"), e.getMessage());
      assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
    assertTrue(assertThrows(IllegalArgumentException.class, () -> BenchPeer.parse("foo")).getMessage()
        .contains("unknown peer 'foo' (expected pytorch, djl, none or a comma list such as pytorch,djl)"));
  }

  @Test
  void bothPeersMeasureFullAndAdaptiveOnly() {
    for (BenchPeer p : BenchPeer.values()) {
      assertTrue(p.has("full") && p.has("adaptive"), p.id());
      assertFalse(p.has("hsm") || p.has("class") || p.has("mos") || p.has("nosuchhead"), p.id());
    }
  }

  @Test
  void djlUnbuiltSaysHowToBuildIt() throws Exception {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Path home = tmp.resolve("djl");
    Files.createDirectories(home);
    assertTrue(DjlPeer.unavailableReason(home, java).startsWith("no DJL peer project at "));
    Files.writeString(home.resolve("pom.xml"), "<project/>");
    assertEquals("peers/djl not built: run `mvn -f peers/djl/pom.xml package`", DjlPeer.unavailableReason(home, java));
    Files.createDirectories(home.resolve("target/lib"));
    Files.writeString(home.resolve(DjlPeer.JAR), "");
    assertTrue(DjlPeer.unavailableReason(home, java).contains("no pytorch-native-cpu jar"));
    Files.writeString(home.resolve("target/lib/pytorch-native-cpu-2.7.1-linux-x86_64.jar"), "");
    assertNull(DjlPeer.unavailableReason(home, java));
    assertTrue(DjlPeer.unavailableReason(home, tmp.resolve("no-java")).startsWith("java not found at "));
    List<String> cmd = DjlPeer.command(home, java, "DjlHeads", List.of("--vocab", "10"));
    assertTrue(cmd.contains("-Dai.djl.offline=true") && cmd.contains("dev.lmhead.djl.DjlHeads"), cmd.toString());
    assertEquals(List.of("--vocab", "10"), cmd.subList(cmd.size() - 2, cmd.size()));
  }

  @Test
  void unbuiltDjlPeerIsANotMeasuredLineNotAFailure() {
    String old = System.getProperty("lmhead.djl.home");
    System.setProperty("lmhead.djl.home", tmp.resolve("nothing-here").toString());
    try {
      HeadBench.Options o = new HeadBench.Options(List.of("full"), new int[] {60}, new int[] {4}, 8, 0, 1, new int[0], 4.0, 5,
          0.5, 1L << 30, 1);
      HeadBenchReport rep = HeadBench.run(o, List.of(BenchPeer.DJL), false, line -> {});
      assertEquals(HeadBench.OPS.size(), rep.results.size());
      assertTrue(rep.djl.isEmpty() && rep.djlRequested);
      assertTrue(rep.djlUnavailable.startsWith("no DJL peer project at "), rep.djlUnavailable);
      assertEquals("not requested (--peer djl)", rep.peerUnavailable);
      String table = rep.table();
      assertTrue(table.contains("PyTorch: not measured: not requested (--peer djl)"), table);
      assertTrue(table.contains("DJL: not measured: no DJL peer project at "), table);
      JsonObject j = JsonParser.parseString(rep.json()).getAsJsonObject();
      assertTrue(j.get("djl").getAsString().startsWith("not measured: no DJL peer project"), j.toString());
      assertTrue(j.get("pytorch").getAsString().startsWith("not measured: not requested"), j.toString());
    } finally {
      if (old == null) System.clearProperty("lmhead.djl.home");
      else System.setProperty("lmhead.djl.home", old);
    }
  }

  /** A report with lmhead, PyTorch and DJL figures on one cell: lmhead 100 tokens/s, PyTorch 50, DJL 80. */
  static HeadBenchReport report(boolean withDjl) {
    HeadBench.Options o = new HeadBench.Options(List.of("full", "adaptive"), new int[] {1000}, new int[] {16}, 64, 1, 2,
        new int[0], 4.0, 5, 5, 1L << 30, 1);
    HeadBenchReport r = new HeadBenchReport(o, "cpu", 2, "java", Double.NaN, "today");
    List<HeadBenchReport.PeerResult> py = new ArrayList<>(), dj = new ArrayList<>();
    for (String h : List.of("full", "adaptive")) {
      for (String op : HeadBench.OPS) {
        r.results.add(new Result(h, 1000, 16, op, "ok", 2, 0.64, 0.64, 0.64, 100, 0, 0, 1, ""));
        py.add(new HeadBenchReport.PeerResult(h, 1000, 16, op, 2, 1.28, 1.28, 1.28, 50, ""));
        dj.add(new HeadBenchReport.PeerResult(h, 1000, 16, op, 2, 0.8, 0.8, 0.8, 80, "blocked: 2 calls"));
      }
    }
    r.peer.add(new HeadBenchReport.PeerCell(1000, 16, "ok", null, 150, "1.13.0a0", py));
    r.peerUnavailable = null;
    if (withDjl) {
      r.djlRequested = true;
      r.djlUnavailable = null;
      r.djl.add(new HeadBenchReport.PeerCell(1000, 16, "ok", null, 140, "libtorch 2.7.1 via DJL 0.36.0", dj));
    }
    return r;
  }

  @Test
  void djlRowsAndRatiosStandBesidePyTorchs() {
    HeadBenchReport r = report(true);
    assertEquals(2.0, r.ratio("full", 1000, 16, "train"), 1e-12);
    assertEquals(1.25, r.ratio(BenchPeer.DJL, "full", 1000, 16, "train"), 1e-12);
    String table = r.table();
    assertTrue(table.contains("DJL (libtorch 2.7.1 via DJL 0.36.0) measured in the same run"), table);
    assertTrue(table.lines().anyMatch(l -> l.contains("  djl full") && l.contains("80")), table);
    assertTrue(table.lines().anyMatch(l -> l.contains("  lmhead/djl") && l.contains("1.25x")), table);
    assertTrue(table.lines().anyMatch(l -> l.contains("  lmhead/pytorch") && l.contains("2.00x")), table);
    assertTrue(table.contains("V=1000 d=16 djl full all ops: blocked: 2 calls"), table);
    String md = r.markdown();
    assertTrue(md.contains("| 1000 | 16 | DJL adaptive | 80 |"), md);
    assertTrue(md.contains("| 1000 | 16 | *lmhead/DJL* | *1.25x* |"), md);
    assertTrue(md.contains("| 1000 | 16 | *lmhead/PyTorch* | *2.00x* |"), md);
    JsonObject j = JsonParser.parseString(r.json()).getAsJsonObject();
    JsonObject cell = j.getAsJsonArray("djl").get(0).getAsJsonObject();
    assertEquals("libtorch 2.7.1 via DJL 0.36.0", cell.get("torch").getAsString());
    assertEquals(1.25, cell.getAsJsonArray("results").get(0).getAsJsonObject().get("ratio_lmhead_over_djl").getAsDouble(), 1e-12);
    assertEquals(2.0, j.getAsJsonArray("pytorch").get(0).getAsJsonObject().getAsJsonArray("results").get(0).getAsJsonObject()
        .get("ratio_lmhead_over_pytorch").getAsDouble(), 1e-12);
  }

  @Test
  void withoutDjlTheReportIsAsBefore() {
    HeadBenchReport r = report(false);
    String all = r.table() + r.markdown() + r.json();
    assertFalse(all.contains("DJL") || all.contains("djl"), all);
    assertTrue(r.table().contains("  lmhead/pytorch"));
  }
}
