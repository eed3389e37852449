package dev.lmhead.nn;

import dev.lmhead.tensor.GemmProfile;
import dev.lmhead.tensor.Parallel;
import dev.lmhead.tensor.Vec;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The LSTM's per-step product with few rows: {@code C[M, N] (+)= A[M, K] · P[K, N]}, row-major, where P is
 * already k-major (a weight transposed once per forward, or W_hh itself in backward) and M is the batch
 * (tens of rows).
 *
 * <p>A general BLAS packs the whole [K, N] operand on every call, which for M = 20 costs about as much as
 * the arithmetic; here P is used as stored. Register blocking: 4 rows x 2 vectors of columns (8
 * accumulators), k innermost, so each P load feeds 4 FMAs and a 2-vector column panel of P is reused from
 * L1 by all row blocks. Columns are split into contiguous chunks over {@link Parallel} threads; the
 * summation order of every output element is fixed (k ascending), so results do not depend on the thread
 * count.
 */
final class SmallGemm {
  private static final VectorSpecies<Float> S = Vec.S;
  private static final int VL = S.length();
  /** Flops per parallel chunk, at least: below this the fork/join costs more than it saves. */
  private static final int MIN_CHUNK_FLOPS = 1 << 20;

  private SmallGemm() {}

  /** {@code C = A·P} (accumulate = false) or {@code C += A·P}; reported to a running {@link GemmProfile}. */
  static void mul(int M, int N, int K, float[] a, int aOff, int lda, float[] p, int pOff, int ldp,
                  boolean accumulate, float[] c, int cOff, int ldc) {
    if (GemmProfile.recording()) {
      long t = System.nanoTime();
      multiply(M, N, K, a, aOff, lda, p, pOff, ldp, accumulate, c, cOff, ldc);
      GemmProfile.note(false, false, M, N, K, System.nanoTime() - t);
    } else {
      multiply(M, N, K, a, aOff, lda, p, pOff, ldp, accumulate, c, cOff, ldc);
    }
  }

  private static void multiply(int M, int N, int K, float[] a, int aOff, int lda, float[] p, int pOff, int ldp,
                               boolean accumulate, float[] c, int cOff, int ldc) {
    int panels = (N + 2 * VL - 1) / (2 * VL);
    long flopsPerPanel = 2L * M * K * 2 * VL;
    int minPanels = (int) Math.max(1, MIN_CHUNK_FLOPS / flopsPerPanel);
    if (Math.min(Parallel.threads(), panels / minPanels) <= 1) { // inline, without allocating a lambda
      mulColumns(M, K, a, aOff, lda, p, pOff, ldp, accumulate, c, cOff, ldc, 0, N);
      return;
    }
    Parallel.forRange(panels, minPanels, (from, to) ->
        mulColumns(M, K, a, aOff, lda, p, pOff, ldp, accumulate, c, cOff, ldc, from * 2 * VL, Math.min(N, to * 2 * VL)));
  }

  /** Columns [n0, n1) of the product. */
  static void mulColumns(int M, int K, float[] a, int aOff, int lda, float[] p, int pOff, int ldp,
                         boolean accumulate, float[] c, int cOff, int ldc, int n0, int n1) {
    int n = n0;
    for (; n + 2 * VL <= n1; n += 2 * VL) {
      int m = 0;
      for (; m + 4 <= M; m += 4) block4x2(K, a, aOff + m * lda, lda, p, pOff + n, ldp, accumulate, c, cOff + m * ldc + n, ldc);
      for (; m < M; m++) block1x2(K, a, aOff + m * lda, p, pOff + n, ldp, accumulate, c, cOff + m * ldc + n);
    }
    for (; n < n1; n += VL) { // the last < 2 vectors of columns, masked
      VectorMask<Float> mask = S.indexInRange(0, n1 - n);
      int m = 0;
      for (; m + 4 <= M; m += 4) block4x1(K, a, aOff + m * lda, lda, p, pOff + n, ldp, accumulate, c, cOff + m * ldc + n, ldc, mask);
      for (; m < M; m++) block1x1(K, a, aOff + m * lda, p, pOff + n, ldp, accumulate, c, cOff + m * ldc + n, mask);
    }
  }

  private static void block4x2(int K, float[] a, int ao, int lda, float[] p, int po, int ldp,
                               boolean acc, float[] c, int co, int ldc) {
    FloatVector c00, c01, c10, c11, c20, c21, c30, c31;
    if (acc) {
      c00 = FloatVector.fromArray(S, c, co); c01 = FloatVector.fromArray(S, c, co + VL);
      c10 = FloatVector.fromArray(S, c, co + ldc); c11 = FloatVector.fromArray(S, c, co + ldc + VL);
      c20 = FloatVector.fromArray(S, c, co + 2 * ldc); c21 = FloatVector.fromArray(S, c, co + 2 * ldc + VL);
      c30 = FloatVector.fromArray(S, c, co + 3 * ldc); c31 = FloatVector.fromArray(S, c, co + 3 * ldc + VL);
    } else {
      c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = FloatVector.zero(S);
    }
    int a0 = ao, a1 = ao + lda, a2 = ao + 2 * lda, a3 = ao + 3 * lda;
    for (int k = 0; k < K; k++) {
      int pk = po + k * ldp;
      FloatVector p0 = FloatVector.fromArray(S, p, pk), p1 = FloatVector.fromArray(S, p, pk + VL);
      FloatVector b = FloatVector.broadcast(S, a[a0 + k]);
      c00 = p0.fma(b, c00); c01 = p1.fma(b, c01);
      b = FloatVector.broadcast(S, a[a1 + k]);
      c10 = p0.fma(b, c10); c11 = p1.fma(b, c11);
      b = FloatVector.broadcast(S, a[a2 + k]);
      c20 = p0.fma(b, c20); c21 = p1.fma(b, c21);
      b = FloatVector.broadcast(S, a[a3 + k]);
      c30 = p0.fma(b, c30); c31 = p1.fma(b, c31);
    }
    c00.intoArray(c, co); c01.intoArray(c, co + VL);
    c10.intoArray(c, co + ldc); c11.intoArray(c, co + ldc + VL);
    c20.intoArray(c, co + 2 * ldc); c21.intoArray(c, co + 2 * ldc + VL);
    c30.intoArray(c, co + 3 * ldc); c31.intoArray(c, co + 3 * ldc + VL);
  }

  private static void block1x2(int K, float[] a, int ao, float[] p, int po, int ldp, boolean acc, float[] c, int co) {
    FloatVector c0 = acc ? FloatVector.fromArray(S, c, co) : FloatVector.zero(S);
    FloatVector c1 = acc ? FloatVector.fromArray(S, c, co + VL) : FloatVector.zero(S);
    for (int k = 0; k < K; k++) {
      int pk = po + k * ldp;
      FloatVector b = FloatVector.broadcast(S, a[ao + k]);
      c0 = FloatVector.fromArray(S, p, pk).fma(b, c0);
      c1 = FloatVector.fromArray(S, p, pk + VL).fma(b, c1);
    }
    c0.intoArray(c, co);
    c1.intoArray(c, co + VL);
  }

  private static void block4x1(int K, float[] a, int ao, int lda, float[] p, int po, int ldp,
                               boolean acc, float[] c, int co, int ldc, VectorMask<Float> mask) {
    FloatVector c0, c1, c2, c3;
    if (acc) {
      c0 = FloatVector.fromArray(S, c, co, mask); c1 = FloatVector.fromArray(S, c, co + ldc, mask);
      c2 = FloatVector.fromArray(S, c, co + 2 * ldc, mask); c3 = FloatVector.fromArray(S, c, co + 3 * ldc, mask);
    } else {
      c0 = c1 = c2 = c3 = FloatVector.zero(S);
    }
    int a0 = ao, a1 = ao + lda, a2 = ao + 2 * lda, a3 = ao + 3 * lda;
    for (int k = 0; k < K; k++) {
      FloatVector p0 = FloatVector.fromArray(S, p, po + k * ldp, mask);
      c0 = p0.fma(FloatVector.broadcast(S, a[a0 + k]), c0);
      c1 = p0.fma(FloatVector.broadcast(S, a[a1 + k]), c1);
      c2 = p0.fma(FloatVector.broadcast(S, a[a2 + k]), c2);
      c3 = p0.fma(FloatVector.broadcast(S, a[a3 + k]), c3);
    }
    c0.intoArray(c, co, mask); c1.intoArray(c, co + ldc, mask);
    c2.intoArray(c, co + 2 * ldc, mask); c3.intoArray(c, co + 3 * ldc, mask);
  }

  private static void block1x1(int K, float[] a, int ao, float[] p, int po, int ldp, boolean acc, float[] c, int co,
                               VectorMask<Float> mask) {
    FloatVector c0 = acc ? FloatVector.fromArray(S, c, co, mask) : FloatVector.zero(S);
    for (int k = 0; k < K; k++) c0 = FloatVector.fromArray(S, p, po + k * ldp, mask).fma(FloatVector.broadcast(S, a[ao + k]), c0);
    c0.intoArray(c, co, mask);
  }

  /**
   * {@code C[M, N] += A[M, K] · Wᵀ} for W [N, K] row-major as stored: every output element is the dot product
   * of a row of A and a row of W. For the LSTM's recurrent product with one row (a request served alone),
   * where transposing W_hh into the layout of {@link #mul} would cost about as much as the
   * product itself. Four rows of W per pass over a row of A, k in vector-wide lanes, each sum reduced once.
   */
  static void mulTransposed(int M, int N, int K, float[] a, int aOff, int lda, float[] w, int wOff, int ldw,
                            float[] c, int cOff, int ldc) {
    if (GemmProfile.recording()) {
      long t = System.nanoTime();
      dots(M, N, K, a, aOff, lda, w, wOff, ldw, c, cOff, ldc);
      GemmProfile.note(false, true, M, N, K, System.nanoTime() - t);
    } else {
      dots(M, N, K, a, aOff, lda, w, wOff, ldw, c, cOff, ldc);
    }
  }

  private static void dots(int M, int N, int K, float[] a, int aOff, int lda, float[] w, int wOff, int ldw,
                           float[] c, int cOff, int ldc) {
    int kv = K - K % VL;
    VectorMask<Float> tail = S.indexInRange(kv, K);
    for (int m = 0; m < M; m++) {
      int ao = aOff + m * lda, co = cOff + m * ldc, n = 0;
      for (; n + 4 <= N; n += 4) {
        int w0 = wOff + n * ldw, w1 = w0 + ldw, w2 = w1 + ldw, w3 = w2 + ldw;
        FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
        for (int k = 0; k < kv; k += VL) {
          FloatVector x = FloatVector.fromArray(S, a, ao + k);
          s0 = FloatVector.fromArray(S, w, w0 + k).fma(x, s0);
          s1 = FloatVector.fromArray(S, w, w1 + k).fma(x, s1);
          s2 = FloatVector.fromArray(S, w, w2 + k).fma(x, s2);
          s3 = FloatVector.fromArray(S, w, w3 + k).fma(x, s3);
        }
        if (kv < K) {
          FloatVector x = FloatVector.fromArray(S, a, ao + kv, tail);
          s0 = FloatVector.fromArray(S, w, w0 + kv, tail).fma(x, s0);
          s1 = FloatVector.fromArray(S, w, w1 + kv, tail).fma(x, s1);
          s2 = FloatVector.fromArray(S, w, w2 + kv, tail).fma(x, s2);
          s3 = FloatVector.fromArray(S, w, w3 + kv, tail).fma(x, s3);
        }
        c[co + n] += s0.reduceLanes(VectorOperators.ADD);
        c[co + n + 1] += s1.reduceLanes(VectorOperators.ADD);
        c[co + n + 2] += s2.reduceLanes(VectorOperators.ADD);
        c[co + n + 3] += s3.reduceLanes(VectorOperators.ADD);
      }
      for (; n < N; n++) {
        int w0 = wOff + n * ldw;
        FloatVector s0 = FloatVector.zero(S);
        for (int k = 0; k < kv; k += VL) s0 = FloatVector.fromArray(S, w, w0 + k).fma(FloatVector.fromArray(S, a, ao + k), s0);
        if (kv < K) s0 = FloatVector.fromArray(S, w, w0 + kv, tail).fma(FloatVector.fromArray(S, a, ao + kv, tail), s0);
        c[co + n] += s0.reduceLanes(VectorOperators.ADD);
      }
    }
  }

  /** dst[j, i] = src[i, j] for src [rows, cols] row-major; blocked for cache locality. */
  static void transpose(float[] src, int rows, int cols, float[] dst) {
    final int bs = 32;
    for (int i0 = 0; i0 < rows; i0 += bs) {
      int i1 = Math.min(rows, i0 + bs);
      for (int j0 = 0; j0 < cols; j0 += bs) {
        int j1 = Math.min(cols, j0 + bs);
        for (int i = i0; i < i1; i++) {
          for (int j = j0; j < j1; j++) dst[j * rows + i] = src[i * cols + j];
        }
      }
    }
  }
}
