package dev.lmhead.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import dev.lmhead.TestData;
import dev.lmhead.model.Checkpoint;
import dev.lmhead.tensor.Rng;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash safety: training runs in a child JVM that saves its resume checkpoint every 20 ms and is killed
 * with SIGKILL several times, at random moments and the moment a save's temporary file appears (a
 * save in progress). After every kill {@code last.safetensors} must load with a valid checksum and its
 * step must not go backwards; the next child resumes from exactly that step; a last child finishes,
 * leaving no temporary files and a loadable best model.
 */
class CrashSafetyTest {
  @TempDir Path tmp;

  static final int KILLS = 5;

  /** A corpus of ~25k tokens over ~1500 word types (so a checkpoint is a few hundred KB). */
  static Path corpus(Path dir) throws IOException {
    Files.createDirectories(dir);
    Rng r = new Rng(3);
    for (String split : new String[] {"train", "valid", "test"}) {
      StringBuilder b = new StringBuilder();
      int lines = split.equals("train") ? 2000 : 60;
      for (int l = 0; l < lines; l++) {
        int n = 4 + r.nextInt(16);
        for (int i = 0; i < n; i++) b.append(i == 0 ? "" : " ").append("w").append((int) (1500 * Math.pow(r.nextDouble(), 3)));
        b.append('\n');
      }
      Files.writeString(dir.resolve(split + ".txt"), b.toString());
    }
    return dir;
  }

  Process launch(Path data, Path run, boolean resume, Path log) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-XX:+UseSerialGC",
        "-Dlmhead.home=" + TestData.root(), "-cp", System.getProperty("java.class.path"), "dev.lmhead.cli.Main",
        "train", "--data", data.toString(), "--output", run.toString(), "--emb", "32", "--hidden", "32", "--layers", "1",
        "--bptt", "10", "--batch", "4", "--epochs", "2", "--dropout", "0", "--save-every", "0.02s", "--threads", "1",
        "--blas", "java", "--eval-batch", "10", "--lr", "5"));
    if (resume) cmd.add("--resume");
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  static long savedStep(Path run) {
    var c = Checkpoint.loadTensors(run.resolve(Checkpoint.LAST)); // checksum verified here
    return JsonParser.parseString(c.metadata().get("lmhead.trainer")).getAsJsonObject().get("step").getAsLong();
  }

  static boolean saveInProgress(Path run) throws IOException {
    try (var s = Files.newDirectoryStream(run, "." + Checkpoint.LAST + "*.tmp")) {
      return s.iterator().hasNext();
    }
  }

  static long mtime(Path f) {
    try {
      return Files.exists(f) ? Files.getLastModifiedTime(f).toMillis() : -1;
    } catch (IOException e) {
      return -1;
    }
  }

  @Test
  void killedAtRandomMomentsTheRunAlwaysResumesFromAValidCheckpoint() throws Exception {
    Path data = corpus(tmp.resolve("data")), run = tmp.resolve("run");
    long seed = System.nanoTime();
    Rng rng = new Rng(seed);
    long lastStep = -1;
    int killedDuringSave = 0, kills = 0, finalChild = -1, finalExit = -1;
    String context = "seed " + seed;
    for (int k = 0; k <= KILLS; k++) {
      Path log = tmp.resolve("child-" + k + ".log");
      long before = mtime(run.resolve(Checkpoint.LAST));
      Process p = launch(data, run, k > 0, log);
      try {
        if (k == KILLS) { // the last child runs to the end
          assertTrue(p.waitFor(120, TimeUnit.SECONDS), "final run did not finish; " + context);
          finalChild = k;
          finalExit = p.exitValue();
          break;
        }
        // wait for this child's first save, then kill it: half the time as soon as a save starts,
        // otherwise after a random delay
        boolean duringSave = k % 2 == 1;
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (p.isAlive() && mtime(run.resolve(Checkpoint.LAST)) == before && System.nanoTime() < deadline) Thread.sleep(5);
        if (duringSave) {
          long until = System.nanoTime() + 2_000_000_000L;
          while (p.isAlive() && !saveInProgress(run) && System.nanoTime() < until) Thread.onSpinWait();
          if (saveInProgress(run)) killedDuringSave++;
        } else {
          Thread.sleep(rng.nextInt(400));
        }
        if (!p.isAlive()) { // finished before the kill: it is the final run
          finalChild = k;
          finalExit = p.exitValue();
          break;
        }
        p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        kills++;
      } finally {
        if (p.isAlive()) p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      }
      String out = Files.readString(log);
      if (k > 0) {
        // the child resumed where the previous one's checkpoint stopped
        assertTrue(out.contains("resumed from " + run.resolve(Checkpoint.LAST) + ": ") && out.contains(", step " + lastStep + ","),
            "child " + k + " did not resume at step " + lastStep + "; " + context + "\n" + out);
      }
      long step = savedStep(run);
      assertTrue(step > lastStep, "checkpoint step went from " + lastStep + " to " + step + "; " + context);
      lastStep = step;
    }
    String out = Files.readString(tmp.resolve("child-" + finalChild + ".log"));
    assertEquals(0, finalExit, out);
    assertTrue(kills >= 3, "only " + kills + " kills happened; " + context);
    assertTrue(out.contains("=== data, full head: valid ppl "), out);
    try (var s = Files.newDirectoryStream(run, ".*.tmp")) {
      assertTrue(!s.iterator().hasNext(), "temporary files left in " + run);
    }
    var loaded = Checkpoint.load(run, Checkpoint.MODEL);
    assertTrue(loaded.model().parameterCount() > 0);
    var events = Files.readAllLines(run.resolve("metrics.jsonl"));
    assertTrue(events.get(events.size() - 1).contains("\"event\":\"final\""), events.get(events.size() - 1));
    System.out.printf("crash safety: %d kills (%d while a save was in progress), final step %d, seed %d%n",
        kills, killedDuringSave, savedStep(run), seed);
  }
}
