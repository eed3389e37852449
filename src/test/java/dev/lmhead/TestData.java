package dev.lmhead;

import dev.lmhead.tensor.Rng;
import java.nio.file.Files;
import java.nio.file.Path;

/** Locations of ../shared and the repo, and small random inputs for tests. */
public final class TestData {
  private TestData() {}

  /** Prints a line that shows in {@code ./lmhead test}'s output (the real stderr, which surefire does not capture). */
  public static void visible(String line) {
    java.io.PrintStream err = new java.io.PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.err), true,
        java.nio.charset.StandardCharsets.UTF_8);
    err.println(line);
    err.flush();
  }

  public static Path shared() {
    String p = System.getProperty("lmhead.shared");
    Path path = p != null ? Path.of(p) : Path.of("..", "shared");
    return path.toAbsolutePath().normalize();
  }

  public static Path root() {
    String p = System.getProperty("lmhead.root");
    return (p != null ? Path.of(p) : Path.of(".")).toAbsolutePath().normalize();
  }

  public static Path fixture(String name) {
    Path f = shared().resolve("fixtures").resolve(name);
    if (!Files.exists(f)) throw new AssertionError("fixture missing: " + f + " (../shared must sit beside the repo)");
    return f;
  }

  public static float[] gaussian(Rng rng, int n, double std) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) a[i] = (float) (rng.gaussian() * std);
    return a;
  }

  /** Zipf-ish targets over frequency-sorted ids. */
  public static int[] zipfTargets(Rng rng, int n, int vocab) {
    int[] t = new int[n];
    double hv = Math.log(vocab + 1.0);
    for (int i = 0; i < n; i++) {
      int id = (int) Math.floor(Math.exp(rng.nextDouble() * hv)) - 1;
      t[i] = Math.min(vocab - 1, Math.max(0, id));
    }
    return t;
  }

  /**
   * Max-abs-error comparison that fails naming the worst index. A non-finite entry in either array
   * fails at once, naming its index, unless both hold the same infinity (NaN never equals anything).
   */
  public static void assertClose(float[] expected, float[] actual, double tol, String what) {
    org.junit.jupiter.api.Assertions.assertEquals(expected.length, actual.length, what + " length");
    if (!(tol >= 0)) throw new IllegalArgumentException("tolerance must be >= 0, got " + tol);
    double worst = 0;
    int at = -1;
    for (int i = 0; i < expected.length; i++) {
      float x = expected[i], y = actual[i];
      if (x == y) continue; // equal infinities count as equal; NaN != NaN
      if (!Float.isFinite(x) || !Float.isFinite(y)) {
        throw new AssertionError(what + ": non-finite mismatch at " + i + ": expected " + x + ", actual " + y);
      }
      double e = Math.abs((double) x - y);
      if (e > worst) { worst = e; at = i; }
    }
    if (worst > tol) {
      throw new AssertionError(what + ": max abs error " + worst + " at " + at + " (expected " + expected[at]
          + ", actual " + actual[at] + ") > " + tol);
    }
  }
}
