package dev.lmhead.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.cli.ServeCommand;
import dev.lmhead.data.Vocabulary;
import dev.lmhead.head.TopK;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The page at {@code /} in a real browser: headless Chromium loads {@code /?context=...}, the page's script
 * calls /v1/next and draws the bars; the dumped DOM must hold the exact top-10 words (computed directly)
 * in order. Skipped, with one visible line, when no chromium is installed ({@code -Dlmhead.chromium=PATH}
 * picks a binary, {@code none} forces the skip).
 */
class BrowserTest {
  static Path chromium() {
    String forced = System.getProperty("lmhead.chromium");
    if (forced != null) return forced.equals("none") ? null : Path.of(forced);
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
      for (String name : new String[] {"chromium", "chromium-browser", "google-chrome"}) {
        Path p = Path.of(dir, name);
        if (Files.isExecutable(p)) return p;
      }
    }
    return null;
  }

  static String unescape(String s) {
    return s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&");
  }

  static String run(List<String> cmd, Path log) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("chromium did not finish within 120 s: " + cmd);
    }
    return new String(out, StandardCharsets.UTF_8);
  }

  @Test
  void pageShowsTheExactTopWordsAsBars() throws Exception {
    Path chromium = chromium();
    if (chromium == null) {
      dev.lmhead.TestData.visible("skipped: browser test (no chromium)");
      Assumptions.abort("skipped: browser test (no chromium)");
    }
    String context = "the meaning of";
    TopK want = ServerTest.direct(ServerTest.model("full"), context, 10);
    Vocabulary v = ServerTest.vocab();
    try (Server s = Server.start(ServerTest.model("full"), v, ServeCommand.GENERATOR, Server.Options.defaults(), "browser-test")) {
      String url = "http://127.0.0.1:" + s.port() + "/?context=" + URLEncoder.encode(context, StandardCharsets.UTF_8);
      Path target = Path.of(System.getProperty("lmhead.root", "."), "target");
      Files.createDirectories(target);
      Path profile = Files.createTempDirectory("lmhead-chromium");
      List<String> base = List.of(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
          "--user-data-dir=" + profile, "--virtual-time-budget=5000");
      List<String> dump = new ArrayList<>(base);
      dump.add("--dump-dom");
      dump.add(url);
      String dom = run(dump, target.resolve("chromium-dump.log"));
      Files.writeString(target.resolve("serve-page-dom.html"), dom);
      // bars in order, each with its word
      Matcher m = Pattern.compile("<div class=\"bar\" data-word=\"([^\"]*)\" data-prob=\"([^\"]*)\"[^>]*style=\"width: ([0-9.]+)%").matcher(dom);
      List<String> words = new ArrayList<>();
      List<Double> widths = new ArrayList<>();
      while (m.find()) {
        words.add(unescape(m.group(1)));
        widths.add(Double.parseDouble(m.group(3)));
        assertEquals(Math.exp(want.logProb(0, words.size() - 1)), Double.parseDouble(m.group(2)), 1e-9);
      }
      List<String> expected = new ArrayList<>();
      for (int j = 0; j < 10; j++) expected.add(v.word(want.id(0, j)));
      assertEquals(expected, words, "bars in the page (DOM in target/serve-page-dom.html)");
      assertEquals(100.0, widths.get(0), 1e-9);
      for (int j = 1; j < widths.size(); j++) assertTrue(widths.get(j) <= widths.get(j - 1), "bars sorted: " + widths);
      assertTrue(dom.contains("3 context words"), "summary line");
      // a screenshot for a human look (not asserted)
      List<String> shot = new ArrayList<>(base);
      shot.add("--window-size=900,700");
      shot.add("--screenshot=" + target.resolve("serve-page.png"));
      shot.add(url);
      run(shot, target.resolve("chromium-shot.log"));
    }
  }
}
