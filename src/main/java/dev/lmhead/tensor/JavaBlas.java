package dev.lmhead.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Pure-Java SGEMM on the Vector API: the portable fallback backend and the second reference in tests.
 *
 * <p>Computes {@code C = alpha * op(A) * op(B) + beta * C} on row-major {@code float[]} with
 * arbitrary offsets and leading dimensions (see {@link Blas}). The algorithm is the classic
 * Goto/BLIS blocking:
 * <pre>
 *   for jc in n step NC:                     B block  [KC, NC]  (lives in L3)
 *     for pc in k step KC:   pack op(B)[pc:pc+KC, jc:jc+NC] into NR-wide column panels
 *       for ic in m step MC: pack alpha*op(A)[ic:ic+MC, pc:pc+KC] into MR-tall row panels (L2)
 *         for jr in NC step NR:              B micro-panel [KC, NR]  (L1)
 *           for ir in MC step MR:            MR x NR register tile of C += A panel * B panel
 * </pre>
 * Packing absorbs the transposes (all four combinations cost the same in the kernel) and the
 * zero padding of edge tiles; alpha is folded into the packed A, and beta is applied when the first
 * KC block is written to C (beta = 0 stores without reading C, so NaN garbage in C never leaks).
 *
 * <p>The micro-kernel keeps an MR x NR tile of C in registers, NR = 2 vectors ({@code 16} floats
 * with 256-bit vectors): 6x16 (12 accumulators) when the CPU has 32 vector registers (AVX-512,
 * detected as {@code FloatVector.SPECIES_PREFERRED.length() >= 16}), else 4x16 (8 accumulators; 6x16
 * spills on AVX2's 16 registers). Override with {@code -Dlmhead.gemm.kernel=4x16|6x16}.
 *
 * <p>Threads: the larger of m and n (in tiles) is split into {@link #threads()} contiguous parts run
 * through {@link Parallel}; each part is an independent blocked GEMM with its own thread-local
 * packing buffers, so results do not depend on scheduling. Small products (below
 * {@link #SMALL_WORK} multiply-adds, or m or n below a tile) take an unpacked path without packing
 * overhead.
 */
public final class JavaBlas implements Blas {
  /** Vector species of the micro-kernel: 256-bit where available (also on AVX-512), else preferred. */
  static final VectorSpecies<Float> S =
      FloatVector.SPECIES_PREFERRED.length() >= 8 ? FloatVector.SPECIES_256 : FloatVector.SPECIES_PREFERRED;
  private static final int VL = S.length();
  /** Width of the register tile: two vectors. */
  static final int NR = 2 * VL;
  /** m*n*k below which the unpacked path is used. */
  static final long SMALL_WORK = 32L * 32 * 32;
  /** Minimum multiply-adds per thread before a call is split across threads. */
  private static final long MIN_WORK_PER_THREAD = 1L << 20;

  private static final int KC = 256;
  private static final int NC = 4096;

  /** Kernel shapes this class implements. */
  public enum Kernel {
    K4x16(4, 128), K6x16(6, 144);
    final int mr, mc;
    Kernel(int mr, int mc) { this.mr = mr; this.mc = mc; }

    /** "4x16" or "6x16" (the 16 is NR for 256-bit vectors). */
    @Override public String toString() { return mr + "x" + NR; }

    /** The kernel for this CPU, or the one named by {@code -Dlmhead.gemm.kernel}. */
    public static Kernel detect() {
      String p = System.getProperty("lmhead.gemm.kernel", "").trim();
      if (p.startsWith("4x")) return K4x16;
      if (p.startsWith("6x")) return K6x16;
      if (!p.isEmpty()) {
        throw new IllegalArgumentException("lmhead.gemm.kernel must be 4x16 or 6x16, got '" + p + "'");
      }
      return FloatVector.SPECIES_PREFERRED.length() >= 16 ? K6x16 : K4x16;
    }
  }

  /** Per-thread packing buffers (grown lazily, reused across calls). */
  private static final class Workspace {
    float[] packA = new float[0], packB = new float[0];
    final float[] tile = new float[8 * 32];
  }

  private static final ThreadLocal<Workspace> WORKSPACE = ThreadLocal.withInitial(Workspace::new);

  private final Kernel kernel;
  private final int mr, mc;
  private int threads = 1;

  /** The kernel chosen by {@link Kernel#detect()}. */
  public JavaBlas() { this(Kernel.detect()); }

  public JavaBlas(Kernel kernel) {
    this.kernel = kernel;
    this.mr = kernel.mr;
    this.mc = kernel.mc;
  }

  public Kernel kernel() { return kernel; }

  @Override public String name() { return "java"; }

  @Override public int threads() { return threads; }

  @Override public void setThreads(int threads) {
    if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    this.threads = threads;
  }

  @Override
  public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                    float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                    float beta, float[] c, int cOff, int ldc) {
    if (m < 0 || n < 0 || k < 0) throw new IllegalArgumentException("negative GEMM size " + m + "x" + n + "x" + k);
    if (m == 0 || n == 0) return;
    if (k == 0 || alpha == 0f) {
      scaleC(m, n, beta, c, cOff, ldc);
      return;
    }
    long work = (long) m * n * k;
    int parts = (int) Math.max(1, Math.min(threads, work / MIN_WORK_PER_THREAD));
    if (work < SMALL_WORK || m < mr || n < NR) {
      small(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, parts);
      return;
    }
    if (parts == 1) {
      blocked(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
      return;
    }
    // Split the dimension with more register tiles; part boundaries fall on tile boundaries.
    boolean splitM = (m + mr - 1) / mr >= (n + NR - 1) / NR;
    int unit = splitM ? mr : NR;
    int tiles = ((splitM ? m : n) + unit - 1) / unit;
    int np = Math.min(parts, tiles);
    Parallel.forRange(np, 1, (p0, p1) -> {
      for (int p = p0; p < p1; p++) {
        int lo = (int) ((long) tiles * p / np) * unit;
        int hi = Math.min(splitM ? m : n, (int) ((long) tiles * (p + 1) / np) * unit);
        if (hi <= lo) continue;
        if (splitM) {
          blocked(transA, transB, hi - lo, n, k, alpha, a, aOff + (transA ? lo : lo * lda), lda,
              b, bOff, ldb, beta, c, cOff + lo * ldc, ldc);
        } else {
          blocked(transA, transB, m, hi - lo, k, alpha, a, aOff, lda,
              b, bOff + (transB ? lo * ldb : lo), ldb, beta, c, cOff + lo, ldc);
        }
      }
    });
  }

  // ---------------------------------------------------------------- blocked path

  /** Single-threaded packed GEMM (the body of one part). */
  private void blocked(boolean transA, boolean transB, int m, int n, int k, float alpha,
                       float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                       float beta, float[] c, int cOff, int ldc) {
    Workspace ws = WORKSPACE.get();
    int kcMax = Math.min(KC, k);
    int ncMax = Math.min(NC, roundUp(n, NR));
    int mcMax = Math.min(mc, roundUp(m, mr));
    if (ws.packB.length < kcMax * ncMax) ws.packB = new float[kcMax * ncMax];
    if (ws.packA.length < kcMax * mcMax) ws.packA = new float[kcMax * mcMax];
    float[] pa = ws.packA, pb = ws.packB, tile = ws.tile;

    for (int jc = 0; jc < n; jc += NC) {
      int nc = Math.min(NC, n - jc);
      for (int pc = 0; pc < k; pc += KC) {
        int kc = Math.min(KC, k - pc);
        boolean first = pc == 0;
        packB(transB, b, bOff, ldb, pc, kc, jc, nc, pb);
        for (int ic = 0; ic < m; ic += mc) {
          int mcur = Math.min(mc, m - ic);
          packA(transA, a, aOff, lda, ic, mcur, pc, kc, alpha, pa);
          for (int jr = 0; jr < nc; jr += NR) {
            int nr = Math.min(NR, nc - jr);
            int pbOff = jr * kc;
            for (int ir = 0; ir < mcur; ir += mr) {
              int mrc = Math.min(mr, mcur - ir);
              int paOff = ir * kc;
              int cij = cOff + (ic + ir) * ldc + jc + jr;
              if (mrc == mr && nr == NR) {
                kernel(kc, pa, paOff, pb, pbOff, c, cij, ldc, first, beta);
              } else {
                kernel(kc, pa, paOff, pb, pbOff, tile, 0, NR, true, 0f);
                mergeEdge(tile, mrc, nr, c, cij, ldc, first, beta);
              }
            }
          }
        }
      }
    }
  }

  private void kernel(int kc, float[] pa, int ao, float[] pb, int bo, float[] c, int co, int ldc,
                      boolean first, float beta) {
    if (mr == 6) kernel6x16(kc, pa, ao, pb, bo, c, co, ldc, first, beta);
    else kernel4x16(kc, pa, ao, pb, bo, c, co, ldc, first, beta);
  }

  /**
   * C[0:4, 0:NR] (+)= A panel [kc,4] * B panel [kc,NR] with 8 vector accumulators.
   * If {@code first}, C = beta*C + acc (beta 0: C is not read); else C += acc.
   */
  private static void kernel4x16(int kc, float[] pa, int ao, float[] pb, int bo, float[] c, int co, int ldc,
                                 boolean first, float beta) {
    FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00,
        c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    // indices are linear in the loop counter so C2 can hoist the bounds checks
    for (int p = 0; p < kc; p++) {
      int ai = ao + 4 * p, bi = bo + NR * p;
      FloatVector b0 = FloatVector.fromArray(S, pb, bi);
      FloatVector b1 = FloatVector.fromArray(S, pb, bi + VL);
      FloatVector av = FloatVector.broadcast(S, pa[ai]);
      c00 = b0.fma(av, c00); c01 = b1.fma(av, c01);
      av = FloatVector.broadcast(S, pa[ai + 1]);
      c10 = b0.fma(av, c10); c11 = b1.fma(av, c11);
      av = FloatVector.broadcast(S, pa[ai + 2]);
      c20 = b0.fma(av, c20); c21 = b1.fma(av, c21);
      av = FloatVector.broadcast(S, pa[ai + 3]);
      c30 = b0.fma(av, c30); c31 = b1.fma(av, c31);
    }
    store(c00, c01, c, co, first, beta);
    store(c10, c11, c, co + ldc, first, beta);
    store(c20, c21, c, co + 2 * ldc, first, beta);
    store(c30, c31, c, co + 3 * ldc, first, beta);
  }

  /** As {@link #kernel4x16} with 6 rows (12 accumulators); needs 32 vector registers. */
  private static void kernel6x16(int kc, float[] pa, int ao, float[] pb, int bo, float[] c, int co, int ldc,
                                 boolean first, float beta) {
    FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
        c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int p = 0; p < kc; p++) {
      int ai = ao + 6 * p, bi = bo + NR * p;
      FloatVector b0 = FloatVector.fromArray(S, pb, bi);
      FloatVector b1 = FloatVector.fromArray(S, pb, bi + VL);
      FloatVector av = FloatVector.broadcast(S, pa[ai]);
      c00 = b0.fma(av, c00); c01 = b1.fma(av, c01);
      av = FloatVector.broadcast(S, pa[ai + 1]);
      c10 = b0.fma(av, c10); c11 = b1.fma(av, c11);
      av = FloatVector.broadcast(S, pa[ai + 2]);
      c20 = b0.fma(av, c20); c21 = b1.fma(av, c21);
      av = FloatVector.broadcast(S, pa[ai + 3]);
      c30 = b0.fma(av, c30); c31 = b1.fma(av, c31);
      av = FloatVector.broadcast(S, pa[ai + 4]);
      c40 = b0.fma(av, c40); c41 = b1.fma(av, c41);
      av = FloatVector.broadcast(S, pa[ai + 5]);
      c50 = b0.fma(av, c50); c51 = b1.fma(av, c51);
    }
    store(c00, c01, c, co, first, beta);
    store(c10, c11, c, co + ldc, first, beta);
    store(c20, c21, c, co + 2 * ldc, first, beta);
    store(c30, c31, c, co + 3 * ldc, first, beta);
    store(c40, c41, c, co + 4 * ldc, first, beta);
    store(c50, c51, c, co + 5 * ldc, first, beta);
  }

  private static void store(FloatVector v0, FloatVector v1, float[] c, int co, boolean first, float beta) {
    if (first && beta == 0f) {
      v0.intoArray(c, co);
      v1.intoArray(c, co + VL);
    } else if (!first || beta == 1f) {
      v0.add(FloatVector.fromArray(S, c, co)).intoArray(c, co);
      v1.add(FloatVector.fromArray(S, c, co + VL)).intoArray(c, co + VL);
    } else {
      FloatVector vb = FloatVector.broadcast(S, beta);
      FloatVector.fromArray(S, c, co).fma(vb, v0).intoArray(c, co);
      FloatVector.fromArray(S, c, co + VL).fma(vb, v1).intoArray(c, co + VL);
    }
  }

  /** Adds the valid [mrc, nr] corner of a full tile (row stride NR) into C. */
  private static void mergeEdge(float[] tile, int mrc, int nr, float[] c, int co, int ldc,
                                boolean first, float beta) {
    for (int i = 0; i < mrc; i++) {
      int ci = co + i * ldc, ti = i * NR;
      for (int j = 0; j < nr; j++) {
        float v = tile[ti + j];
        if (!first || beta == 1f) c[ci + j] += v;
        else if (beta == 0f) c[ci + j] = v;
        else c[ci + j] = beta * c[ci + j] + v;
      }
    }
  }

  /**
   * Packs op(B)[pc:pc+kc, jc:jc+nc] into ceil(nc/NR) panels; panel q holds, for p = 0..kc-1,
   * the NR values op(B)[pc+p, jc+q*NR .. +NR) contiguously (zero-padded past nc).
   */
  private static void packB(boolean transB, float[] b, int bOff, int ldb, int pc, int kc, int jc, int nc,
                            float[] pb) {
    for (int jr = 0; jr < nc; jr += NR) {
      int nr = Math.min(NR, nc - jr);
      int dst = jr * kc;
      if (!transB) {
        int src = bOff + pc * ldb + jc + jr;
        if (nr == NR) {
          for (int p = 0; p < kc; p++, src += ldb, dst += NR) {
            FloatVector.fromArray(S, b, src).intoArray(pb, dst);
            FloatVector.fromArray(S, b, src + VL).intoArray(pb, dst + VL);
          }
        } else {
          for (int p = 0; p < kc; p++, src += ldb, dst += NR) {
            for (int j = 0; j < nr; j++) pb[dst + j] = b[src + j];
            for (int j = nr; j < NR; j++) pb[dst + j] = 0f;
          }
        }
      } else {
        // op(B)[p, j] = b[(jc+jr+j)*ldb + pc+p]: each stored row of B is one packed column.
        for (int j = 0; j < nr; j++) {
          int src = bOff + (jc + jr + j) * ldb + pc;
          for (int p = 0, d = dst + j; p < kc; p++, d += NR) pb[d] = b[src + p];
        }
        for (int j = nr; j < NR; j++) {
          for (int p = 0, d = dst + j; p < kc; p++, d += NR) pb[d] = 0f;
        }
      }
    }
  }

  /**
   * Packs alpha * op(A)[ic:ic+mcur, pc:pc+kc] into ceil(mcur/MR) panels; panel r holds, for
   * p = 0..kc-1, the MR values op(A)[ic+r*MR .. +MR, pc+p] contiguously (zero-padded past mcur).
   */
  private void packA(boolean transA, float[] a, int aOff, int lda, int ic, int mcur, int pc, int kc,
                     float alpha, float[] pa) {
    final int mr = this.mr;
    for (int ir = 0; ir < mcur; ir += mr) {
      int mrc = Math.min(mr, mcur - ir);
      int dst = ir * kc;
      if (transA) {
        // op(A)[i, p] = a[(pc+p)*lda + ic+i]: MR contiguous floats per p.
        int src = aOff + pc * lda + ic + ir;
        for (int p = 0; p < kc; p++, src += lda, dst += mr) {
          for (int i = 0; i < mrc; i++) pa[dst + i] = alpha * a[src + i];
          for (int i = mrc; i < mr; i++) pa[dst + i] = 0f;
        }
      } else {
        for (int i = 0; i < mrc; i++) {
          int src = aOff + (ic + ir + i) * lda + pc;
          for (int p = 0, d = dst + i; p < kc; p++, d += mr) pa[d] = alpha * a[src + p];
        }
        for (int i = mrc; i < mr; i++) {
          for (int p = 0, d = dst + i; p < kc; p++, d += mr) pa[d] = 0f;
        }
      }
    }
  }

  // ---------------------------------------------------------------- small / edge paths

  /** C = beta * C (beta 0 writes zeros, so NaN garbage is cleared). */
  private static void scaleC(int m, int n, float beta, float[] c, int cOff, int ldc) {
    if (beta == 1f) return;
    for (int i = 0; i < m; i++) {
      int ci = cOff + i * ldc;
      if (beta == 0f) java.util.Arrays.fill(c, ci, ci + n, 0f);
      else Vec.scale(c, ci, n, beta);
    }
  }

  /**
   * Unpacked GEMM for small products and thin shapes (matrix-vector like): row i of C is built
   * from axpys over rows of B (B not transposed) or dot products with rows of B (B transposed).
   */
  private static void small(boolean transA, boolean transB, int m, int n, int k, float alpha,
                            float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                            float beta, float[] c, int cOff, int ldc, int parts) {
    boolean splitRows = m >= parts || m >= n;
    int np = Math.min(parts, splitRows ? m : n);
    Parallel.forRange(np, 1, (p0, p1) -> {
      for (int p = p0; p < p1; p++) {
        int lo = (int) ((long) (splitRows ? m : n) * p / np), hi = (int) ((long) (splitRows ? m : n) * (p + 1) / np);
        if (splitRows) smallRows(transA, transB, lo, hi, 0, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
        else smallRows(transA, transB, 0, m, lo, hi, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
      }
    });
  }

  private static void smallRows(boolean transA, boolean transB, int i0, int i1, int j0, int j1, int k,
                                float alpha, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                float beta, float[] c, int cOff, int ldc) {
    int w = j1 - j0;
    for (int i = i0; i < i1; i++) {
      int ci = cOff + i * ldc + j0;
      if (beta == 0f) java.util.Arrays.fill(c, ci, ci + w, 0f);
      else if (beta != 1f) Vec.scale(c, ci, w, beta);
      if (!transB) {
        // C[i, :] += alpha * sum_p opA[i, p] * B[p, :]
        for (int p = 0; p < k; p++) {
          float av = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
          if (av != 0f) Vec.axpy(alpha * av, b, bOff + p * ldb + j0, c, ci, w);
        }
      } else if (!transA) {
        int ai = aOff + i * lda;
        for (int j = 0; j < w; j++) c[ci + j] += alpha * Vec.dot(a, ai, b, bOff + (j0 + j) * ldb, k);
      } else {
        for (int j = 0; j < w; j++) {
          float s = 0f;
          int bj = bOff + (j0 + j) * ldb;
          for (int p = 0; p < k; p++) s += a[aOff + p * lda + i] * b[bj + p];
          c[ci + j] += alpha * s;
        }
      }
    }
  }

  private static int roundUp(int x, int m) { return (x + m - 1) / m * m; }
}
