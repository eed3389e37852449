package dev.lmhead.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.tensor.Rng;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Counting a vocabulary must take memory for the vocabulary, not for the file: a ~30 MB file that is
 * one single line (no newline at all) is counted in a child JVM limited to a 16 MiB heap. The control
 * run, which reads the same file into one String, must fail in that heap, so the test can fail.
 */
class BoundedMemoryTest {
  @TempDir Path dir;

  private static final String HEAP = "-Xmx16m";

  private static Process probe(String mode, Path file) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    return new ProcessBuilder(List.of(java, HEAP, "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
        MemoryProbe.class.getName(), mode, file.toString())).redirectErrorStream(true).start();
  }

  private static String run(Process p) throws Exception {
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "probe finished");
    return out;
  }

  @Test void oneHugeLineIsCountedInASmallHeap() throws Exception {
    Path f = dir.resolve("one-line.txt");
    int distinct = 20_000;
    long tokens = 0;
    Rng rng = new Rng(1);
    try (BufferedWriter w = Files.newBufferedWriter(f, StandardCharsets.UTF_8)) {
      for (int i = 0; i < distinct; i++, tokens++) w.write("word" + i + " "); // every type at least once
      while (tokens < 3_000_000) {
        w.write("word");
        w.write(Integer.toString(rng.nextInt(distinct)));
        w.write(' ');
        tokens++;
      }
    }
    long bytes = Files.size(f);
    assertTrue(bytes > 25_000_000L, "file is " + bytes + " bytes");
    Process p = probe("vocab", f);
    String out = run(p);
    assertEquals(0, p.exitValue(), out);
    // distinct words + <eos> + appended <unk>; tokens + one <eos> for the single line
    assertTrue(out.contains("size=" + (distinct + 2) + " tokens=" + (tokens + 1) + " "), out);

    Process naive = probe("naive", f);
    String nout = run(naive);
    assertNotEquals(0, naive.exitValue(), "reading the file as one String should not fit in " + HEAP + ": " + nout);
    assertTrue(nout.contains("OutOfMemoryError"), nout);
  }
}
