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
 * with SIGKILL {@link #KILLS} times, each time once the checkpoint on disk has reached a step drawn from
 * the seed, and every other time at the moment a save's temporary file appears (a save in progress).
 * After every kill {@code last.safetensors} must load with a valid checksum and its step must have
 * gone forward; the next child resumes from exactly that step; a last child finishes, leaving no
 * temporary files and a loadable best model.
 *
 * <p>Killed children are given more epochs than they can reach, so every kill happens and the count
 * is the test's own; only the final child has a token budget. The seed (printed, and in every failure
 * message) picks the kill points; {@code -Dlmhead.crash.seed=S} replays a seed. Whether a kill lands
 * inside a save depends on timing, so that is reported, not asserted.
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

  /** A child training run; {@code maxTokens} 0 means no token budget (with 1000 epochs it never finishes on its own). */
  Process launch(Path data, Path run, boolean resume, long maxTokens, Path log) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-XX:+UseSerialGC",
        "-Dlmhead.home=" + TestData.root(), "-cp", System.getProperty("java.class.path"), "dev.lmhead.cli.Main",
        "train", "--data", data.toString(), "--output", run.toString(), "--emb", "32", "--hidden", "32", "--layers", "1",
        "--bptt", "10", "--batch", "4", "--epochs", "1000", "--max-tokens", Long.toString(maxTokens), "--dropout", "0",
        "--save-every", "0.02s", "--threads", "1", "--blas", "java", "--eval-batch", "10", "--lr", "5"));
    if (resume) cmd.add("--resume");
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  static long savedStep(Path run) { return trainerState(run).get("step").getAsLong(); }

  static com.google.gson.JsonObject trainerState(Path run) {
    var c = Checkpoint.loadTensors(run.resolve(Checkpoint.LAST)); // checksum verified here
    return JsonParser.parseString(c.metadata().get("lmhead.trainer")).getAsJsonObject();
  }

  /**
   * The step in {@code last.safetensors}'s header, read without loading the tensors (cheap enough to poll);
   * -1 while there is no checkpoint. The file is replaced by an atomic rename, so an open sees a whole one.
   */
  static long stepOnDisk(Path run) throws IOException {
    try (var in = new java.io.DataInputStream(Files.newInputStream(run.resolve(Checkpoint.LAST)))) {
      long n = Long.reverseBytes(in.readLong()); // little-endian header length
      byte[] header = in.readNBytes((int) n);
      var meta = JsonParser.parseString(new String(header, java.nio.charset.StandardCharsets.UTF_8)).getAsJsonObject()
          .getAsJsonObject("__metadata__");
      return JsonParser.parseString(meta.get("lmhead.trainer").getAsString()).getAsJsonObject().get("step").getAsLong();
    } catch (java.nio.file.NoSuchFileException e) {
      return -1;
    }
  }

  static boolean saveInProgress(Path run) throws IOException {
    try (var s = Files.newDirectoryStream(run, "." + Checkpoint.LAST + "*.tmp")) {
      return s.iterator().hasNext();
    }
  }

  @Test
  void killedAtChosenMomentsTheRunAlwaysResumesFromAValidCheckpoint() throws Exception {
    Path data = corpus(tmp.resolve("data")), run = tmp.resolve("run");
    long seed = Long.getLong("lmhead.crash.seed", System.nanoTime());
    Rng rng = new Rng(seed);
    String context = "seed " + seed + " (replay with -Dlmhead.crash.seed=" + seed + ")";
    long lastStep = -1;
    List<Long> targets = new ArrayList<>();
    int killedDuringSave = 0, kills = 0;
    for (int k = 0; k < KILLS; k++) {
      Path log = tmp.resolve("child-" + k + ".log");
      long target = lastStep + 1 + rng.nextInt(60); // kill once the checkpoint on disk is at this step or later
      targets.add(target);
      Process p = launch(data, run, k > 0, 0, log);
      try {
        long deadline = System.nanoTime() + 90_000_000_000L;
        while (stepOnDisk(run) < target) {
          assertTrue(p.isAlive(), "child " + k + " ended before it was killed; " + context + "\n" + Files.readString(log));
          assertTrue(System.nanoTime() < deadline, "child " + k + " never saved step " + target + "; " + context + "\n" + Files.readString(log));
          Thread.sleep(10);
        }
        if (k % 2 == 1) { // then at the start of the next save
          long until = System.nanoTime() + 2_000_000_000L;
          while (p.isAlive() && !saveInProgress(run) && System.nanoTime() < until) Thread.onSpinWait();
          if (saveInProgress(run)) killedDuringSave++;
        }
        assertTrue(p.isAlive(), "child " + k + " ended before it was killed; " + context + "\n" + Files.readString(log));
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
      assertTrue(step >= target && step > lastStep, "checkpoint step went from " + lastStep + " to " + step
          + " (waited for " + target + "); " + context);
      lastStep = step;
    }
    // the last child resumes and runs to the end of a token budget a little past the checkpoint
    long budget = trainerState(run).get("tokens").getAsLong() + 400;
    Path log = tmp.resolve("child-final.log");
    Process p = launch(data, run, true, budget, log);
    try {
      assertTrue(p.waitFor(120, TimeUnit.SECONDS), "final run did not finish; " + context);
    } finally {
      if (p.isAlive()) p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
    String out = Files.readString(log);
    assertEquals(0, p.exitValue(), context + "\n" + out);
    assertEquals(KILLS, kills, context);
    assertTrue(out.contains("resumed from " + run.resolve(Checkpoint.LAST) + ": ") && out.contains(", step " + lastStep + ","),
        "the final child did not resume at step " + lastStep + "; " + context + "\n" + out);
    assertTrue(out.contains("=== data, full head: valid ppl "), out);
    assertTrue(savedStep(run) > lastStep, context);
    assertTrue(trainerState(run).get("tokens").getAsLong() >= budget, context);
    try (var s = Files.newDirectoryStream(run, ".*.tmp")) {
      assertTrue(!s.iterator().hasNext(), "temporary files left in " + run + "; " + context);
    }
    var loaded = Checkpoint.load(run, Checkpoint.MODEL);
    assertTrue(loaded.model().parameterCount() > 0);
    var events = Files.readAllLines(run.resolve("metrics.jsonl"));
    assertTrue(events.get(events.size() - 1).contains("\"event\":\"final\""), events.get(events.size() - 1));
    System.out.printf("crash safety: %d kills at saved steps >= %s (%d while a save was in progress), final step %d, %s%n",
        kills, targets, killedDuringSave, savedStep(run), context);
  }
}
