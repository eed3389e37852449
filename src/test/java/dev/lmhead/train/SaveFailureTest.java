package dev.lmhead.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.cli.Main;
import dev.lmhead.model.Checkpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint save that fails for lack of space: a run is resumed in a child JVM whose file size limit
 * ({@code ulimit -f}) is below the checkpoint's size, so its first save fails with EFBIG ("File too
 * large"; the JVM ignores SIGXFSZ), as a full disk fails with ENOSPC. The run must end with exit code 2
 * and one error line naming the file it could not write, no stack trace, and the previous checkpoints
 * unchanged and loadable.
 */
class SaveFailureTest {
  @TempDir Path tmp;

  /** The JVM's own notice when the vector incubator module is added; not lmhead's output. */
  static final String INCUBATOR = "WARNING: Using incubator modules: jdk.incubator.vector";

  static final String[] MODEL = {"--emb", "32", "--hidden", "32", "--layers", "1", "--bptt", "10", "--batch", "4",
      "--dropout", "0", "--threads", "1", "--blas", "java", "--eval-batch", "1", "--lr", "5", "--quiet"};

  /** The first run stops after 400 tokens; the resumed one would train on, saving after its first step. */
  static List<String> trainArgs(Path data, Path run, boolean resume) {
    List<String> a = new ArrayList<>(List.of("train", "--data", data.toString(), "--output", run.toString(),
        "--max-tokens", resume ? "100000" : "400", "--save-every", resume ? "0.001s" : "0", "--epochs", "5"));
    a.addAll(List.of(MODEL));
    if (resume) a.add("--resume");
    return a;
  }

  /** 1,500 word types (so that a checkpoint is ~230 KB) in ~3,000 training tokens; valid and test of 3 short lines, quick to evaluate. */
  static Path corpus(Path dir) throws java.io.IOException {
    Files.createDirectories(dir);
    StringBuilder train = new StringBuilder();
    for (int w = 0; w < 1500; w++) train.append("w").append(w).append(w % 10 == 9 ? "\n" : " ");
    for (int w = 0; w < 1500; w++) train.append("w").append(w % 7).append(' ').append("w").append(w).append(w % 10 == 9 ? "\n" : " ");
    Files.writeString(dir.resolve("train.txt"), train.toString());
    Files.writeString(dir.resolve("valid.txt"), "w1 w2 w3\nw4 w5\nw0 w6 w1\n");
    Files.writeString(dir.resolve("test.txt"), "w2 w3 w1\nw5 w4\nw6 w0 w1\n");
    return dir;
  }

  @Test
  void aSaveThatRunsOutOfSpaceNamesTheFileAndKeepsThePreviousCheckpoint() throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/bin/bash")), "needs bash for ulimit");
    Path data = corpus(tmp.resolve("data")), run = tmp.resolve("run");
    assertEquals(0, Main.execute(trainArgs(data, run, false).toArray(new String[0])));
    Path last = run.resolve(Checkpoint.LAST), best = run.resolve(Checkpoint.MODEL);
    byte[] lastBytes = Files.readAllBytes(last), bestBytes = Files.readAllBytes(best);
    long limitKiB = 64; // bash's ulimit -f counts 1024-byte blocks
    assertTrue(bestBytes.length > 2 * limitKiB * 1024 && lastBytes.length > 2 * limitKiB * 1024,
        "the checkpoints must be larger than the file size limit: " + bestBytes.length + ", " + lastBytes.length);
    assertTrue(Files.size(run.resolve("metrics.jsonl")) < limitKiB * 1024 / 4, "metrics.jsonl must stay below the limit");

    List<String> cmd = new ArrayList<>(List.of("/bin/bash", "-c", "ulimit -f " + limitKiB + " && exec \"$@\"", "bash",
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:-UsePerfData",
        "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-XX:+UseSerialGC",
        "-cp", System.getProperty("java.class.path"), "dev.lmhead.cli.Main"));
    cmd.addAll(trainArgs(data, run, true));
    Path out = tmp.resolve("child.out"), err = tmp.resolve("child.err");
    Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child did not finish");
    String stderr = Files.readString(err), all = "stderr:\n" + stderr + "stdout:\n" + Files.readString(out);
    assertEquals(2, p.exitValue(), all);
    List<String> lines = stderr.lines().filter(l -> !l.equals(INCUBATOR)).toList();
    assertEquals(1, lines.size(), all);
    String line = lines.get(0);
    assertTrue(line.startsWith("lmhead: error: " + run) && line.contains(": cannot write (") && line.contains("File too large"), all);
    assertTrue(line.startsWith("lmhead: error: " + last + ": ") || line.startsWith("lmhead: error: " + best + ": "), all);
    assertFalse(stderr.contains("\tat "), all);
    // the previous checkpoints are untouched and load with a valid checksum; no temporary file is left
    assertArrayEquals(lastBytes, Files.readAllBytes(last));
    assertArrayEquals(bestBytes, Files.readAllBytes(best));
    Checkpoint.loadTensors(last);
    Checkpoint.load(run, Checkpoint.MODEL);
    try (var s = Files.newDirectoryStream(run, ".*.tmp")) {
      assertFalse(s.iterator().hasNext(), "temporary files left in " + run);
    }
  }
}
