package dev.lmhead.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lmhead.TestData;
import dev.lmhead.tensor.Parallel;
import dev.lmhead.tensor.Rng;
import org.junit.jupiter.api.Test;

class SmallGemmTest {

  @Test
  void matchesDoubleReferenceOnOddShapesStridesAndOffsets() {
    Rng rng = new Rng(3);
    int[][] shapes = {{1, 1, 1}, {3, 17, 5}, {4, 32, 8}, {5, 33, 19}, {9, 70, 31}, {20, 200, 64}, {7, 15, 2}, {20, 800, 40}};
    for (int[] s : shapes) {
      int M = s[0], N = s[1], K = s[2], lda = K + 3, ldp = N + 5, ldc = N + 2, aOff = 7, pOff = 2, cOff = 4;
      float[] a = TestData.gaussian(rng, aOff + M * lda, 1), p = TestData.gaussian(rng, pOff + K * ldp, 1);
      for (boolean acc : new boolean[] {false, true}) {
        float[] c = TestData.gaussian(rng, cOff + M * ldc + 3, 1), orig = c.clone();
        SmallGemm.mul(M, N, K, a, aOff, lda, p, pOff, ldp, acc, c, cOff, ldc);
        for (int m = 0; m < M; m++) {
          for (int n = 0; n < ldc; n++) {
            int at = cOff + m * ldc + n;
            if (n >= N) { assertEquals(orig[at], c[at], 0f, "wrote outside the output at " + m + "," + n); continue; }
            double want = acc ? orig[at] : 0;
            for (int k = 0; k < K; k++) want += (double) a[aOff + m * lda + k] * p[pOff + k * ldp + n];
            assertEquals(want, c[at], 1e-5 * (1 + Math.sqrt(K)), "M,N,K=" + M + "," + N + "," + K + " at " + m + "," + n);
          }
        }
        assertEquals(orig[0], c[0], 0f);
      }
    }
  }

  @Test
  void mulTransposedMatchesDoubleReferenceOnOddShapesStridesAndOffsets() {
    Rng rng = new Rng(4);
    // K below, at and across the vector width (8 or 16 lanes), N not a multiple of the 4 rows per pass
    int[][] shapes = {{1, 1, 1}, {1, 7, 3}, {2, 9, 16}, {1, 800, 200}, {2, 801, 200}, {3, 5, 17}, {1, 4, 33}, {2, 13, 8}};
    for (int[] s : shapes) {
      int M = s[0], N = s[1], K = s[2], lda = K + 3, ldw = K + 5, ldc = N + 2, aOff = 7, wOff = 2, cOff = 4;
      float[] a = TestData.gaussian(rng, aOff + M * lda, 1), w = TestData.gaussian(rng, wOff + N * ldw, 1);
      float[] c = TestData.gaussian(rng, cOff + M * ldc + 3, 1), orig = c.clone();
      SmallGemm.mulTransposed(M, N, K, a, aOff, lda, w, wOff, ldw, c, cOff, ldc);
      for (int m = 0; m < M; m++) {
        for (int n = 0; n < ldc; n++) {
          int at = cOff + m * ldc + n;
          if (n >= N) { assertEquals(orig[at], c[at], 0f, "wrote outside the output at " + m + "," + n); continue; }
          double want = orig[at];
          for (int k = 0; k < K; k++) want += (double) a[aOff + m * lda + k] * w[wOff + n * ldw + k];
          assertEquals(want, c[at], 1e-5 * (1 + Math.sqrt(K)), "M,N,K=" + M + "," + N + "," + K + " at " + m + "," + n);
        }
      }
      for (int i = 0; i < cOff; i++) assertEquals(orig[i], c[i], 0f, "wrote before the output at " + i);
    }
  }

  /**
   * The one-row product (a request served alone) sums each dot product's lanes in one fixed order, so its
   * bits are those of a scalar emulation of that order on the first, interpreted call and after C2 has
   * compiled it (with reduceLanes(ADD) they were not: the interpreter adds lanes in order, C2 as a tree).
   */
  @Test
  void mulTransposedGivesTheSameBitsInterpretedAndCompiled() {
    Rng rng = new Rng(6);
    int N = 803, K = 200;
    float[] a = TestData.gaussian(rng, K, 1), w = TestData.gaussian(rng, N * K, 0.1f), bias = TestData.gaussian(rng, N, 1);
    float[] want = emulatedDots(a, w, bias, N, K);
    float[] first = bias.clone();
    SmallGemm.mulTransposed(1, N, K, a, 0, K, w, 0, K, first, 0, N);
    assertArrayEquals(want, first, 0f, "first call");
    float[] sa = TestData.gaussian(rng, 40, 1), sw = TestData.gaussian(rng, 9 * 40, 1), sc = new float[9];
    for (int i = 0; i < 60_000; i++) SmallGemm.mulTransposed(1, 9, 40, sa, 0, 40, sw, 0, 40, sc, 0, 9);
    float[] later = bias.clone();
    SmallGemm.mulTransposed(1, N, K, a, 0, K, w, 0, K, later, 0, N);
    assertArrayEquals(want, later, 0f, "after 60,000 calls");
    assertArrayEquals(emulatedDots(sa, sw, new float[9], 9, 40), wholeDots(sa, sw, 9, 40), 0f, "small shape");
  }

  private static float[] wholeDots(float[] a, float[] w, int N, int K) {
    float[] c = new float[N];
    SmallGemm.mulTransposed(1, N, K, a, 0, K, w, 0, K, c, 0, N);
    return c;
  }

  /** c + a·Wᵀ with SmallGemm's order: per output lane-wise FMA chains over k, then sum4's butterfly. */
  private static float[] emulatedDots(float[] a, float[] w, float[] c, int N, int K) {
    int vl = dev.lmhead.tensor.Vec.S.length();
    float[] out = c.clone();
    for (int n0 = 0; n0 < N; n0 += 4) {
      float[][] s = new float[4][vl];
      for (int j = 0; j < 4 && n0 + j < N; j++) {
        for (int k = 0; k < K; k++) s[j][k % vl] = Math.fma(w[(n0 + j) * K + k], a[k], s[j][k % vl]);
      }
      float[] t01 = new float[vl], t23 = new float[vl], u = new float[vl];
      int h = vl / 2, q = vl / 4;
      for (int l = 0; l < vl; l++) {
        t01[l] = (l & h) == 0 ? s[0][l] + s[0][l ^ h] : s[1][l] + s[1][l ^ h];
        t23[l] = (l & h) == 0 ? s[2][l] + s[2][l ^ h] : s[3][l] + s[3][l ^ h];
      }
      for (int l = 0; l < vl; l++) u[l] = (l & q) == 0 ? t01[l] + t01[l ^ q] : t23[l] + t23[l ^ q];
      for (int bit = q / 2; bit >= 1; bit /= 2) {
        float[] v = u.clone();
        for (int l = 0; l < vl; l++) u[l] = v[l] + v[l ^ bit];
      }
      int[] lane = {0, h, q, 3 * q};
      for (int j = 0; j < 4 && n0 + j < N; j++) out[n0 + j] += u[lane[j]];
    }
    return out;
  }

  @Test
  void sameBitsForAnyThreadCount() {
    Rng rng = new Rng(5);
    int M = 20, N = 800, K = 200;
    float[] a = TestData.gaussian(rng, M * K, 1), p = TestData.gaussian(rng, K * N, 1);
    int before = Parallel.threads();
    try {
      float[] one = new float[M * N], two = new float[M * N];
      Parallel.setThreads(1);
      SmallGemm.mul(M, N, K, a, 0, K, p, 0, N, false, one, 0, N);
      Parallel.setThreads(3);
      SmallGemm.mul(M, N, K, a, 0, K, p, 0, N, false, two, 0, N);
      assertArrayEquals(one, two, 0f);
    } finally {
      Parallel.setThreads(before);
    }
  }

  @Test
  void transposeIsExact() {
    float[] src = TestData.gaussian(new Rng(1), 37 * 70, 1), dst = new float[70 * 37];
    SmallGemm.transpose(src, 37, 70, dst);
    for (int i = 0; i < 37; i++) for (int j = 0; j < 70; j++) assertEquals(src[i * 70 + j], dst[j * 37 + i], 0f);
  }
}
