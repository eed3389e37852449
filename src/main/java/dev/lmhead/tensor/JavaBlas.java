package dev.lmhead.tensor;

/**
 * Pure-Java SGEMM (Vector API), the portable fallback and the reference for tests.
 * Splits rows of C across {@link Parallel} workers.
 */
public final class JavaBlas implements Blas {
  private int threads = 1;

  @Override
  public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                    float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                    float beta, float[] c, int cOff, int ldc) {
    if (m == 0 || n == 0) return;
    long work = (long) m * n * Math.max(k, 1);
    int minRows = (int) Math.max(1, Math.min(m, 200_000L * m / Math.max(1, work) + 1));
    Parallel.forRange(m, minRows, (r0, r1) -> {
      for (int i = r0; i < r1; i++) {
        int ci = cOff + i * ldc;
        if (beta == 0f) java.util.Arrays.fill(c, ci, ci + n, 0f);
        else if (beta != 1f) Vec.scale(c, ci, n, beta);
        if (k == 0 || alpha == 0f) continue;
        if (!transB) {
          // C[i,:] += alpha * sum_p opA[i,p] * B[p,:]
          for (int p = 0; p < k; p++) {
            float av = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
            if (av != 0f) Vec.axpy(alpha * av, b, bOff + p * ldb, c, ci, n);
          }
        } else if (!transA) {
          int ai = aOff + i * lda;
          for (int j = 0; j < n; j++) c[ci + j] += alpha * Vec.dot(a, ai, b, bOff + j * ldb, k);
        } else {
          for (int j = 0; j < n; j++) {
            float s = 0f;
            int bj = bOff + j * ldb;
            for (int p = 0; p < k; p++) s += a[aOff + p * lda + i] * b[bj + p];
            c[ci + j] += alpha * s;
          }
        }
      }
    });
  }

  @Override public String name() { return "java"; }

  @Override public int threads() { return threads; }

  @Override public void setThreads(int threads) { this.threads = threads; }
}
