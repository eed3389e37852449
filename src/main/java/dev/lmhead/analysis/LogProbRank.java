package dev.lmhead.analysis;

import dev.lmhead.head.OutputLayer;
import dev.lmhead.tensor.Parallel;
import java.util.Arrays;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;

/**
 * The softmax-bottleneck measurement of Yang et al. (2018): the numerical rank of the log-prob
 * matrix {@code A [N, V]}, {@code A[i, w] = log P(w | c_i)}, over N contexts.
 *
 * <p><b>Bounds.</b> A softmax head gives {@code A = H Wᵀ + 1 bᵀ − lse 1ᵀ}: rank ≤ d + 1 without an
 * output bias (the paper's bound: d for the logits, +1 for the row shift), d + 2 with one (the bias
 * is one more rank-1 term). Row shifts (the paper's F(A), matrices giving the same softmax) change
 * the rank by at most 1, so {@link Result#centredRank} of the row-centred matrix is reported too when
 * asked. A mixture of softmaxes is not bounded this way.
 *
 * <p><b>Tolerance.</b> The default is numpy's {@code matrix_rank}: {@code S.max · max(N, V) · eps},
 * with eps = float32 epsilon 2⁻²³ ≈ 1.19e-7 — deliberately: A holds float32 log-probs (each entry is
 * already rounded with relative error ~6e-8), and numpy applied to that float32 array would use
 * float32 eps. Using float64 eps here would count rounding noise of the float32 head as rank.
 *
 * <p><b>How the singular values are computed</b> (in double). {@link Method#SVD}: EJML's SVD of A
 * itself (values only), the most accurate (noise floor ≈ S.max · max(N,V) · 2⁻⁵²), but EJML's SVD is
 * unblocked, single-threaded Java: O(min² · max) with a large constant. {@link Method#GRAM}: the
 * eigenvalues of the smaller Gram matrix ({@code A Aᵀ} [N, N] if N ≤ V, else {@code Aᵀ A}),
 * σ = sqrt(λ). The Gram product is a parallel, vectorised double kernel; the symmetric
 * eigen-decomposition (EJML, values only) is O(min³). Squaring costs accuracy: singular values below
 * about S.max · sqrt(min(N,V) · 2⁻⁵²) are noise ({@link Result#noiseFloor}), which is still far below
 * the default tolerance (for N = V = 100 the floor is 1.5e-7·S.max, the tolerance 1.2e-5·S.max).
 * {@link Method#AUTO} picks SVD when min(N,V)² · max(N,V) ≤ 2·10⁸ and GRAM otherwise; see
 * docs/mos.md for the timings behind that threshold.
 */
public final class LogProbRank {
  private LogProbRank() {}

  /** float32 machine epsilon (numpy's finfo(float32).eps). */
  public static final double EPS_F32 = 0x1.0p-23;
  /** float64 machine epsilon. */
  public static final double EPS_F64 = 0x1.0p-52;
  /** AUTO uses the direct SVD up to this many min² · max operations. */
  public static final double SVD_WORK_LIMIT = 2e8;

  public enum Method { AUTO, SVD, GRAM }

  /**
   * @param singularValues      of A, descending, length min(N, V)
   * @param defaultTol          S.max · max(N, V) · {@link #EPS_F32}
   * @param rank                number of singular values > defaultTol
   * @param userTol             the caller's absolute tolerance (NaN when none)
   * @param userRank            number of singular values > userTol (−1 when none)
   * @param bound               d + 1, or d + 2 when the head has an output bias: the most a softmax
   *                            head of this input size can reach (not a bound for MoS)
   * @param centredSingularValues of the row-centred A (null unless asked)
   * @param centredRank         its rank at the same absolute tolerance defaultTol (−1 unless
   *                            asked); differs from rank by at most 1. (At its own relative
   *                            tolerance it would not be comparable: centring removes the large
   *                            constant −log V direction, so its S.max and tolerance are much smaller.)
   * @param method              SVD or GRAM, as used
   * @param noiseFloor          singular values below this are not resolved by the method
   */
  public record Result(int n, int vocab, double[] singularValues, double defaultTol, int rank,
                       double userTol, int userRank, int bound,
                       double[] centredSingularValues, int centredRank, Method method, double noiseFloor) {

    /** A short multi-line report. */
    public String summary() {
      StringBuilder sb = new StringBuilder();
      sb.append(String.format("log-prob matrix A: %d contexts x %d words (singular values in double, method %s)%n", n, vocab, method));
      sb.append(String.format("largest singular value %.6g, smallest %.6g%n", singularValues[0], singularValues[singularValues.length - 1]));
      sb.append(String.format("rank at numpy default tolerance S.max*max(N,V)*eps_f32 = %.4g: %d%n", defaultTol, rank));
      if (userRank >= 0) sb.append(String.format("rank at tolerance %.4g: %d%n", userTol, userRank));
      if (centredRank >= 0) sb.append(String.format("rank of the row-centred matrix (a row shift, |change| <= 1): %d%n", centredRank));
      sb.append(String.format("softmax bound for this input size: %d (d+1, +1 with an output bias)%n", bound));
      return sb.toString();
    }
  }

  /** Log-prob matrix rank of {@code head} over n contexts [n, inputDim], with an optional user tolerance (NaN = none). */
  public static Result compute(OutputLayer head, float[] contexts, int n, double userTol) {
    return compute(head, contexts, n, userTol, false, Method.AUTO);
  }

  /**
   * @param centred also compute the spectrum and rank of the row-centred matrix
   */
  public static Result compute(OutputLayer head, float[] contexts, int n, double userTol, boolean centred, Method method) {
    int d = head.inputDim(), v = head.vocabSize();
    if (n < 1) throw new IllegalArgumentException("need at least one context, got " + n);
    if (contexts.length < (long) n * d) {
      throw new IllegalArgumentException("contexts has " + contexts.length + " floats, need " + n + " x " + d);
    }
    if ((long) n * v > Integer.MAX_VALUE - 8) throw new IllegalArgumentException(n + " contexts x " + v + " words is too large");
    double[] a = logProbMatrix(head, contexts, n);
    Method m = choose(method, n, v);
    double[] s = singularValues(a, n, v, m);
    double tol = defaultTolerance(s, n, v);
    boolean hasUser = !Double.isNaN(userTol);
    if (hasUser && userTol < 0) throw new IllegalArgumentException("tolerance must be >= 0, got " + userTol);
    double[] cs = null;
    int cr = -1;
    if (centred) {
      centreRows(a, n, v);
      cs = singularValues(a, n, v, m);
      cr = rank(cs, tol); // same absolute tolerance: a rank-1 change moves the count by <= 1 (interlacing)
    }
    int bound = d + 1 + (head.spec() != null && head.spec().outputBias() ? 1 : 0);
    return new Result(n, v, s, tol, rank(s, tol), hasUser ? userTol : Double.NaN, hasUser ? rank(s, userTol) : -1,
        bound, cs, cr, m, noiseFloor(s, n, v, m));
  }

  /** A [n, V] in double: row i = head.logProb(context i), computed in row blocks. */
  public static double[] logProbMatrix(OutputLayer head, float[] contexts, int n) {
    int d = head.inputDim(), v = head.vocabSize();
    double[] a = new double[n * v];
    int block = Math.max(1, Math.min(n, (4 << 20) / v));
    float[] buf = new float[block * v];
    for (int r0 = 0; r0 < n; r0 += block) {
      int rows = Math.min(block, n - r0);
      float[] x = Arrays.copyOfRange(contexts, r0 * d, (r0 + rows) * d);
      head.logProb(x, rows, buf);
      for (int i = 0; i < rows * v; i++) a[r0 * v + i] = buf[i];
    }
    return a;
  }

  static Method choose(Method m, int rows, int cols) {
    if (m != Method.AUTO) return m;
    double mn = Math.min(rows, cols), mx = Math.max(rows, cols);
    return mn * mn * mx <= SVD_WORK_LIMIT ? Method.SVD : Method.GRAM;
  }

  /** numpy's default: S.max · max(rows, cols) · float32 eps. */
  public static double defaultTolerance(double[] s, int rows, int cols) {
    return (s.length == 0 ? 0 : s[0]) * Math.max(rows, cols) * EPS_F32;
  }

  /** Number of singular values strictly greater than tol (numpy's convention). */
  public static int rank(double[] s, double tol) {
    int r = 0;
    for (double x : s) if (x > tol) r++;
    return r;
  }

  static double noiseFloor(double[] s, int rows, int cols, Method m) {
    double smax = s.length == 0 ? 0 : s[0];
    return m == Method.GRAM ? smax * Math.sqrt(Math.min(rows, cols) * EPS_F64) : smax * Math.max(rows, cols) * EPS_F64;
  }

  /** Subtracts each row's mean (one member of F(A)). */
  static void centreRows(double[] a, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
      double mean = 0;
      for (int j = 0; j < cols; j++) mean += a[r * cols + j];
      mean /= cols;
      for (int j = 0; j < cols; j++) a[r * cols + j] -= mean;
    }
  }

  /** Singular values of the row-major [rows, cols] matrix a, descending, length min(rows, cols). a is not modified. */
  public static double[] singularValues(double[] a, int rows, int cols, Method method) {
    Method m = choose(method, rows, cols);
    int k = Math.min(rows, cols);
    double[] s;
    if (m == Method.SVD) {
      DMatrixRMaj mat = new DMatrixRMaj(rows, cols);
      System.arraycopy(a, 0, mat.data, 0, rows * cols);
      SingularValueDecomposition_F64<DMatrixRMaj> svd = DecompositionFactory_DDRM.svd(rows, cols, false, false, true);
      if (!svd.decompose(mat)) throw new IllegalStateException("SVD did not converge");
      s = Arrays.copyOf(svd.getSingularValues(), svd.numberOfSingularValues());
    } else {
      double[] g;
      if (rows <= cols) {
        g = gram(a, rows, cols);
      } else {
        g = gram(transpose(a, rows, cols), cols, rows);
      }
      DMatrixRMaj mat = DMatrixRMaj.wrap(k, k, g);
      EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(k, false, true);
      if (!eig.decompose(mat)) throw new IllegalStateException("eigen-decomposition did not converge");
      s = new double[k];
      for (int i = 0; i < k; i++) s[i] = Math.sqrt(Math.max(0, eig.getEigenvalue(i).real));
    }
    Arrays.sort(s);
    for (int i = 0, j = s.length - 1; i < j; i++, j--) { double t = s[i]; s[i] = s[j]; s[j] = t; }
    return s;
  }

  static double[] transpose(double[] a, int rows, int cols) {
    double[] t = new double[rows * cols];
    for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
    return t;
  }

  private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
  private static final int TILE = 32, KC = 512;

  /**
   * G = A Aᵀ for row-major A [m, k], symmetric, in double. Tiles of 32×32 output entries are
   * independent tasks (lower triangle, mirrored); inside a tile, columns go in chunks of 512 so
   * the 32 rows of the J tile stay in L2, and one row of I meets four rows of J per pass.
   */
  public static double[] gram(double[] a, int m, int k) {
    double[] g = new double[m * m];
    int tiles = (m + TILE - 1) / TILE;
    int pairs = tiles * (tiles + 1) / 2;
    Parallel.forRange(pairs, 1, (p0, p1) -> {
      for (int p = p0; p < p1; p++) {
        int ti = (int) ((Math.sqrt(8.0 * p + 1) - 1) / 2);
        while (ti * (ti + 1) / 2 > p) ti--;
        while ((ti + 1) * (ti + 2) / 2 <= p) ti++;
        int tj = p - ti * (ti + 1) / 2;
        gramTile(a, k, g, m, ti * TILE, Math.min(m, ti * TILE + TILE), tj * TILE, Math.min(m, tj * TILE + TILE));
      }
    });
    for (int i = 0; i < m; i++) for (int j = 0; j < i; j++) g[j * m + i] = g[i * m + j];
    return g;
  }

  private static void gramTile(double[] a, int k, double[] g, int m, int i0, int i1, int j0, int j1) {
    int lanes = D.length();
    for (int c0 = 0; c0 < k; c0 += KC) {
      int c1 = Math.min(k, c0 + KC), len = c1 - c0, ub = D.loopBound(len);
      for (int i = i0; i < i1; i++) {
        int jEnd = Math.min(j1, i + 1); // lower triangle only
        int ai = i * k + c0;
        int j = j0;
        for (; j + 4 <= jEnd; j += 4) {
          int b0 = j * k + c0, b1 = b0 + k, b2 = b1 + k, b3 = b2 + k;
          DoubleVector s0 = DoubleVector.zero(D), s1 = s0, s2 = s0, s3 = s0;
          int c = 0;
          for (; c < ub; c += lanes) {
            DoubleVector x = DoubleVector.fromArray(D, a, ai + c);
            s0 = x.fma(DoubleVector.fromArray(D, a, b0 + c), s0);
            s1 = x.fma(DoubleVector.fromArray(D, a, b1 + c), s1);
            s2 = x.fma(DoubleVector.fromArray(D, a, b2 + c), s2);
            s3 = x.fma(DoubleVector.fromArray(D, a, b3 + c), s3);
          }
          double d0 = s0.reduceLanes(VectorOperators.ADD), d1 = s1.reduceLanes(VectorOperators.ADD);
          double d2 = s2.reduceLanes(VectorOperators.ADD), d3 = s3.reduceLanes(VectorOperators.ADD);
          for (; c < len; c++) {
            double x = a[ai + c];
            d0 += x * a[b0 + c]; d1 += x * a[b1 + c]; d2 += x * a[b2 + c]; d3 += x * a[b3 + c];
          }
          g[i * m + j] += d0; g[i * m + j + 1] += d1; g[i * m + j + 2] += d2; g[i * m + j + 3] += d3;
        }
        for (; j < jEnd; j++) {
          int b = j * k + c0;
          DoubleVector s0 = DoubleVector.zero(D);
          int c = 0;
          for (; c < ub; c += lanes) s0 = DoubleVector.fromArray(D, a, ai + c).fma(DoubleVector.fromArray(D, a, b + c), s0);
          double d0 = s0.reduceLanes(VectorOperators.ADD);
          for (; c < len; c++) d0 += a[ai + c] * a[b + c];
          g[i * m + j] += d0;
        }
      }
    }
  }
}
