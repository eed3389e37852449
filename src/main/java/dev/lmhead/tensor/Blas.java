package dev.lmhead.tensor;

/**
 * The one dense-math interface of lmhead: single-precision GEMM on row-major {@code float[]}.
 *
 * <p>{@code C = alpha * op(A) * op(B) + beta * C} where op(A) is [m,k], op(B) is [k,n], C is [m,n].
 * {@code lda}, {@code ldb}, {@code ldc} are the row strides of the matrices as stored (so for a
 * transposed A stored [k,m], lda >= m). Offsets are element offsets into the arrays.
 *
 * <p>Backends: {@link OpenBlas} (native OpenBLAS from the bytedeco Maven jar, called through FFM,
 * the default) and {@link JavaBlas} (pure Java, Vector API). Pick with {@link #use(String)}.
 */
public interface Blas {

  void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
             float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
             float beta, float[] c, int cOff, int ldc);

  /** Dense, zero-offset convenience form: strides follow from the shapes. */
  default void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                     float[] a, float[] b, float beta, float[] c) {
    sgemm(transA, transB, m, n, k, alpha, a, 0, transA ? m : k, b, 0, transB ? k : n, beta, c, 0, n);
  }

  /** Backend name as used by {@code --blas}. */
  String name();

  /** Threads this backend uses for one call. */
  int threads();

  void setThreads(int threads);

  // ---- global selection ----

  /** The current backend (OpenBLAS when it loads, else pure Java). */
  static Blas get() { return BlasRegistry.current(); }

  /** Selects the backend by name: {@code openblas}, {@code java} or {@code auto}. */
  static Blas use(String name) { return BlasRegistry.use(name); }
}
