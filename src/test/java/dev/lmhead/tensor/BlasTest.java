package dev.lmhead.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Both SGEMM backends (OpenBLAS, pure Java with each micro-kernel) against a naive double-precision
 * reference: every transpose combination, odd and tiny sizes, k = 0, offsets, leading dimensions
 * wider than the rows, alpha/beta (beta = 0 over NaN garbage), sizes that cross the cache blocks
 * (KC, MC, NC) and the thread split, on 1 and 2 threads.
 *
 * <p>Every array is filled with NaN outside the elements the call may read or write, so reading
 * padding, or writing outside C's [m, n] window, makes the test fail.
 */
class BlasTest {
  /** m, n, k: tiny, exact tile, edges, LSTM-like, crossing KC/MC, crossing NC, thread splits, thin. */
  private static final int[][] SHAPES = {
      {1, 1, 1}, {1, 7, 3}, {3, 1, 5}, {5, 17, 1}, {2, 3, 0}, {4, 16, 8}, {6, 16, 8}, {7, 33, 65},
      {13, 19, 40}, {40, 40, 40}, {133, 37, 270}, {9, 4100, 7}, {150, 70, 300}, {20, 800, 200},
      {3, 4000, 300}, {1, 5000, 400}, {300, 5, 700},
  };
  /** alpha, beta; beta = 0 runs over a C full of NaN. */
  private static final float[][] ALPHA_BETA = {{1f, 0f}, {0.5f, 1f}, {-1.5f, 0.25f}, {0f, 2f}, {0f, 0f}};

  private static List<Blas> backends() {
    return List.of(OpenBlas.load(), new JavaBlas(JavaBlas.Kernel.K4x16), new JavaBlas(JavaBlas.Kernel.K6x16));
  }

  /**
   * Runs a test body that changes thread counts, then restores the previous ones: Parallel's (and with
   * it the current BLAS backend's) and the loaded OpenBLAS library's.
   */
  private static void restoringThreads(Runnable body) {
    int before = Parallel.threads();
    OpenBlas o = OpenBlas.load();
    int openBefore = o.threads();
    try {
      body.run();
    } finally {
      o.setThreads(openBefore);
      Parallel.setThreads(before);
    }
  }

  /**
   * OpenBLAS loads with a short worker spin time (OPENBLAS_THREAD_TIMEOUT, see OpenBlas.THREAD_TIMEOUT) unless
   * the environment set one before: what the native library read is what libc's environment holds.
   */
  @Test
  void openBlasLoadsWithTheShortThreadTimeoutUnlessTheEnvironmentSetsOne() {
    OpenBlas.load();
    String user = System.getenv("OPENBLAS_THREAD_TIMEOUT"); // the JVM's snapshot from before the load
    String expected = user != null ? user : OpenBlas.THREAD_TIMEOUT.isEmpty() ? null : OpenBlas.THREAD_TIMEOUT;
    assertEquals(expected, OpenBlas.nativeEnv("OPENBLAS_THREAD_TIMEOUT"));
    assertEquals(null, OpenBlas.nativeEnv("LMHEAD_SURELY_UNSET_VARIABLE"));
  }

  /** One GEMM problem laid out in padded, offset arrays. */
  private record Problem(boolean ta, boolean tb, int m, int n, int k, float alpha, float beta,
                         float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                         float[] c0, int cOff, int ldc) {

    static Problem random(Rng rng, boolean ta, boolean tb, int m, int n, int k, float alpha, float beta) {
      int aRows = ta ? k : m, aCols = ta ? m : k, bRows = tb ? n : k, bCols = tb ? k : n;
      int lda = aCols + rng.nextInt(3), ldb = bCols + rng.nextInt(3), ldc = n + rng.nextInt(3);
      int aOff = rng.nextInt(5), bOff = rng.nextInt(5), cOff = rng.nextInt(5);
      float[] a = matrix(rng, aRows, aCols, aOff, lda), b = matrix(rng, bRows, bCols, bOff, ldb);
      float[] c0 = matrix(rng, m, n, cOff, ldc);
      if (beta == 0f) {
        for (int i = 0; i < m; i++) Arrays.fill(c0, cOff + i * ldc, cOff + i * ldc + n, Float.NaN);
      }
      return new Problem(ta, tb, m, n, k, alpha, beta, a, aOff, lda, b, bOff, ldb, c0, cOff, ldc);
    }

    /** rows x cols of N(0,1) values at off with row stride ld; NaN everywhere else. */
    static float[] matrix(Rng rng, int rows, int cols, int off, int ld) {
      float[] x = new float[off + Math.max(0, rows - 1) * ld + cols + 3];
      Arrays.fill(x, Float.NaN);
      for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) x[off + i * ld + j] = (float) rng.gaussian();
      return x;
    }

    float opA(int i, int p) { return ta ? a[aOff + p * lda + i] : a[aOff + i * lda + p]; }

    float opB(int p, int j) { return tb ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j]; }

    /** Double-precision reference C and a per-element tolerance, as {ref, tol}, each [m*n]. */
    double[][] reference() {
      double[] ref = new double[m * n], tol = new double[m * n];
      for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
          double s = 0, abs = 0;
          for (int p = 0; p < k; p++) {
            double t = (double) opA(i, p) * opB(p, j);
            s += t;
            abs += Math.abs(t);
          }
          double r = alpha * s, scale = Math.abs(alpha) * abs;
          if (beta != 0f) {
            r += (double) beta * c0[cOff + i * ldc + j];
            scale += Math.abs(beta * c0[cOff + i * ldc + j]);
          }
          ref[i * n + j] = r;
          // worst-case float summation bound k * eps * sum|terms|, plus a tiny absolute floor
          tol[i * n + j] = (k + 3) * 1.2e-7 * scale + 1e-30;
        }
      }
      return new double[][] {ref, tol};
    }

    /** Checks c (the backend's output) element by element against {@link #reference()}. */
    void check(String what, float[] c, double[][] refTol) {
      for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
          double ref = refTol[0][i * n + j], tol = refTol[1][i * n + j];
          float got = c[cOff + i * ldc + j];
          if (!(Math.abs(got - ref) <= tol)) {
            fail(what + ": C[" + i + "," + j + "] = " + got + ", reference " + ref + " (tol " + tol + ")");
          }
        }
      }
      // nothing outside the [m, n] window of C was written
      for (int x = 0; x < c.length; x++) {
        int r = x - cOff;
        boolean inside = r >= 0 && r / ldc < m && r % ldc < n;
        if (!inside && Float.floatToRawIntBits(c[x]) != Float.floatToRawIntBits(c0[x])) {
          fail(what + ": wrote outside C at index " + x);
        }
      }
    }

    void run(Blas blas, float[] c) {
      blas.sgemm(ta, tb, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
    }
  }

  @Test
  void allBackendsMatchReference() {
    Rng rng = new Rng(42);
    List<Problem> problems = new ArrayList<>();
    List<double[][]> refs = new ArrayList<>();
    for (int[] s : SHAPES) {
      for (int t = 0; t < 4; t++) {
        boolean big = (long) s[0] * s[1] * s[2] > 1_000_000; // keeps the test fast: two alpha/beta cases
        for (int q = 0; q < ALPHA_BETA.length; q++) {
          if (big && q != 0 && q != 2) continue;
          float[] ab = ALPHA_BETA[q];
          Problem pr = Problem.random(rng, (t & 1) != 0, (t & 2) != 0, s[0], s[1], s[2], ab[0], ab[1]);
          problems.add(pr);
          refs.add(pr.reference());
        }
      }
    }
    List<Blas> backends = backends();
    List<String> checked = new ArrayList<>();
    restoringThreads(() -> checkAll(problems, refs, backends, checked));
    assertTrue(checked.size() > problems.size() * 5);
    assertTrue(problems.size() > 250);
  }

  private static void checkAll(List<Problem> problems, List<double[][]> refs, List<Blas> backends, List<String> checked) {
    for (int threads = 1; threads <= 2; threads++) {
      Parallel.setThreads(threads);
      for (Blas blas : backends) {
        blas.setThreads(threads);
        for (int q = 0; q < problems.size(); q++) {
          Problem pr = problems.get(q);
          // OpenBLAS only threads large products itself, and its idle workers spin: on a busy
          // 2-core box every small 2-thread call can cost tens of ms. Test 2 threads where it splits.
          if (threads > 1 && blas instanceof OpenBlas && (long) pr.m * pr.n * pr.k < 1_000_000) continue;
          float[] c = pr.c0.clone();
          pr.run(blas, c);
          String what = blas.name() + (blas instanceof JavaBlas jb ? "/" + jb.kernel() : "") + " threads=" + threads
              + " transA=" + pr.ta + " transB=" + pr.tb + " m,n,k=" + pr.m + "," + pr.n + "," + pr.k
              + " alpha=" + pr.alpha + " beta=" + pr.beta;
          pr.check(what, c, refs.get(q));
          checked.add(what);
        }
      }
    }
  }

  @Test
  void denseConvenienceForm() {
    Rng rng = new Rng(3);
    int m = 11, n = 23, k = 17;
    float[] a = new float[m * k], b = new float[n * k];
    rng.fillUniform(a, -1, 1);
    rng.fillUniform(b, -1, 1);
    for (Blas blas : backends()) {
      float[] c = new float[m * n];
      blas.sgemm(false, true, m, n, k, 1f, a, b, 0f, c); // C = A * B^T, B stored [n, k]
      for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
          double s = 0;
          for (int p = 0; p < k; p++) s += (double) a[i * k + p] * b[j * k + p];
          assertEquals(s, c[i * n + j], 1e-5, blas.name());
        }
      }
    }
  }

  @Test
  void multiThreadedJavaEqualsSingleThreadedBitForBit() {
    // Each part of the split runs the same blocked code on a sub-block, with the same k order.
    Rng rng = new Rng(5);
    Problem pr = Problem.random(rng, false, true, 200, 300, 300, 1f, 0f);
    JavaBlas j = new JavaBlas();
    float[] c1 = pr.c0.clone(), c2 = pr.c0.clone();
    restoringThreads(() -> {
      Parallel.setThreads(1);
      j.setThreads(1);
      pr.run(j, c1);
      Parallel.setThreads(2);
      j.setThreads(2);
      pr.run(j, c2);
    });
    assertTrue(Arrays.equals(c1, c2) || sameBits(c1, c2));
  }

  private static boolean sameBits(float[] x, float[] y) {
    for (int i = 0; i < x.length; i++) if (Float.floatToRawIntBits(x[i]) != Float.floatToRawIntBits(y[i])) return false;
    return true;
  }

  @Test
  void openBlasThreadSettingReachesTheLibrary() {
    OpenBlas o = OpenBlas.load();
    restoringThreads(() -> {
      o.setThreads(1);
      assertEquals(1, o.nativeThreads());
      o.setThreads(2);
      assertEquals(2, o.nativeThreads());
      assertEquals(2, o.threads());
    });
    assertTrue(!o.coreName().isEmpty());
  }

  @Test
  void kernelOverrideAndRegistry() {
    assertEquals(JavaBlas.Kernel.K4x16, withProperty("4x16"));
    assertEquals(JavaBlas.Kernel.K6x16, withProperty("6x16"));
    assertThrows(IllegalArgumentException.class, () -> withProperty("8x8"));
    assertThrows(IllegalArgumentException.class, () -> new JavaBlas().sgemm(false, false, -1, 1, 1, 1f,
        new float[1], 0, 1, new float[1], 0, 1, 0f, new float[1], 0, 1));
    assertThrows(IllegalArgumentException.class, () -> Blas.use("cublas"));
  }

  private static JavaBlas.Kernel withProperty(String v) {
    String old = System.getProperty("lmhead.gemm.kernel");
    System.setProperty("lmhead.gemm.kernel", v);
    try {
      return JavaBlas.Kernel.detect();
    } finally {
      if (old == null) System.clearProperty("lmhead.gemm.kernel");
      else System.setProperty("lmhead.gemm.kernel", old);
    }
  }
}
