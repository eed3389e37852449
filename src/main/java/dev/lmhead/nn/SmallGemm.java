package dev.lmhead.nn;

import dev.lmhead.tensor.GemmProfile;
import dev.lmhead.tensor.Parallel;
import dev.lmhead.tensor.Vec;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
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
   * product itself. Four rows of W per pass over a row of A, k in vector-wide lanes, the four sums reduced together in a fixed order ({@link #sum4}).
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
    for (int m = 0; m < M; m++) {
      int ao = aOff + m * lda, co = cOff + m * ldc, n = 0;
      for (; n + 4 <= N; n += 4) dots4(K, a, ao, w, wOff + n * ldw, ldw, c, co + n, 4);
      if (n < N) dots4(K, a, ao, w, wOff + n * ldw, ldw, c, co + n, N - n);
    }
  }

  /**
   * {@code c[co + j] += a·w_j} for the rows w_j = w[w0 + j·ldw ..] of W, j &lt; rows ≤ 4. A method of its own
   * (not part of {@link #dots}) so that C2 inlines {@link #sum4} into it: a vector-valued call that is not
   * inlined boxes its arguments.
   */
  private static void dots4(int K, float[] a, int ao, float[] w, int w0, int ldw, float[] c, int co, int rows) {
    int kv = K - K % VL;
    // rows < 4 (the last rows of W) repeat row 0, whose sums are then not stored
    int w1 = rows > 1 ? w0 + ldw : w0, w2 = rows > 2 ? w0 + 2 * ldw : w0, w3 = rows > 3 ? w0 + 3 * ldw : w0;
    FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
    for (int k = 0; k < kv; k += VL) {
      FloatVector x = FloatVector.fromArray(S, a, ao + k);
      s0 = FloatVector.fromArray(S, w, w0 + k).fma(x, s0);
      s1 = FloatVector.fromArray(S, w, w1 + k).fma(x, s1);
      s2 = FloatVector.fromArray(S, w, w2 + k).fma(x, s2);
      s3 = FloatVector.fromArray(S, w, w3 + k).fma(x, s3);
    }
    if (kv < K) {
      VectorMask<Float> tail = S.indexInRange(kv, K);
      FloatVector x = FloatVector.fromArray(S, a, ao + kv, tail);
      s0 = FloatVector.fromArray(S, w, w0 + kv, tail).fma(x, s0);
      s1 = FloatVector.fromArray(S, w, w1 + kv, tail).fma(x, s1);
      s2 = FloatVector.fromArray(S, w, w2 + kv, tail).fma(x, s2);
      s3 = FloatVector.fromArray(S, w, w3 + kv, tail).fma(x, s3);
    }
    FloatVector r = sum4(s0, s1, s2, s3);
    c[co] += r.lane(0);
    if (rows > 1) c[co + 1] += r.lane(Q1);
    if (rows > 2) c[co + 2] += r.lane(Q2);
    if (rows > 3) c[co + 3] += r.lane(Q3);
  }

  // The lane sums of four vectors at once, in a fixed order of IEEE adds, blends and lane permutes: unlike
  // reduceLanes(ADD), whose order differs between the interpreter and C2, the result does not depend on
  // when the JIT compiles this code, so a request scored alone gives the same bits on its first call and
  // its millionth. Two butterfly steps put the four vectors' partial sums into one vector (its quarters),
  // then each quarter is summed in place; no slower than four reduceLanes (bench/LstmProbe.java 1).
  /** Lanes holding the sums of s1, s2, s3 in {@link #sum4}'s result (s0's is lane 0). */
  private static final int Q1 = VL / 2, Q2 = VL / 4, Q3 = 3 * VL / 4;
  /**
   * Lane i ↔ lane i XOR bit, for bit = VL/2, VL/4, ... VL/64 (separate constants: C2 intrinsifies a shuffle it
   * sees as a constant; x86 has VL = 4, 8 or 16, the last two stages are for wider vectors).
   */
  private static final VectorShuffle<Float> SWAP_H = swap(VL / 2), SWAP_Q = swap(VL / 4), SWAP_8 = swap(VL / 8),
      SWAP_16 = swap(VL / 16), SWAP_32 = swap(VL / 32), SWAP_64 = swap(VL / 64);
  /** The lanes whose index has bit VL/2 (HALF) or bit VL/4 (QUARTER) set. */
  private static final VectorMask<Float> HALF = upper(VL / 2), QUARTER = upper(VL / 4);

  /**
   * One vector r with r[0] = Σ s0, r[{@link #Q1}] = Σ s1, r[{@link #Q2}] = Σ s2, r[{@link #Q3}] = Σ s3 (VL a power
   * of 2 in [4, 64]).
   */
  static FloatVector sum4(FloatVector s0, FloatVector s1, FloatVector s2, FloatVector s3) {
    // halves: lane i of t01 is s0[i] + s0[i ^ VL/2] in the lower half, s1's pair sum in the upper half
    FloatVector t01 = s0.blend(s1, HALF).add(s0.rearrange(SWAP_H).blend(s1.rearrange(SWAP_H), HALF));
    FloatVector t23 = s2.blend(s3, HALF).add(s2.rearrange(SWAP_H).blend(s3.rearrange(SWAP_H), HALF));
    // quarters: s0 (lanes 0..), s2 (VL/4..), s1 (VL/2..), s3 (3VL/4..), each as VL/4 partial sums
    FloatVector u = t01.blend(t23, QUARTER).add(t01.rearrange(SWAP_Q).blend(t23.rearrange(SWAP_Q), QUARTER));
    if (VL >= 8) u = u.add(u.rearrange(SWAP_8));
    if (VL >= 16) u = u.add(u.rearrange(SWAP_16));
    if (VL >= 32) u = u.add(u.rearrange(SWAP_32));
    if (VL >= 64) u = u.add(u.rearrange(SWAP_64));
    return u;
  }

  private static VectorShuffle<Float> swap(int bit) {
    if (VL < 4 || VL > 64 || Integer.bitCount(VL) != 1) throw new IllegalStateException("vector length " + VL + " is not a power of 2 in [4, 64]");
    return VectorShuffle.fromOp(S, j -> j ^ bit);
  }

  private static VectorMask<Float> upper(int bit) {
    boolean[] m = new boolean[VL];
    for (int j = 0; j < VL; j++) m[j] = (j & bit) != 0;
    return VectorMask.fromArray(S, m, 0);
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
