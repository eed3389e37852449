package dev.lmhead.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Native OpenBLAS (bundled in the {@code org.bytedeco:openblas} jar from Maven Central) called
 * through FFM downcalls on heap arrays ({@code Linker.Option.critical(true)}): no copies, no JNI
 * marshalling. JavaCPP is used only to extract and load the shared library.
 */
public final class OpenBlas implements Blas {
  private static final int ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;
  private static volatile OpenBlas instance;

  private final MethodHandle sgemm;
  private final MethodHandle sgemv;
  private final MethodHandle setThreads;
  private final MethodHandle getThreads;
  private final MethodHandle coreName;
  private int threads = 1;

  /**
   * OpenBLAS's {@code OPENBLAS_THREAD_TIMEOUT} (its idle worker threads spin for 2^N cycles before they sleep;
   * OpenBLAS's default is N = 28, about 0.1 s) set before the library loads, unless the environment already
   * sets it ({@code -Dlmhead.blas.threadTimeout=}, empty: leave OpenBLAS's default). lmhead runs its own
   * passes (softmax, LSTM cell) on the same cores right after each GEMM, and a spinning worker took a core
   * from them: a [2048, 512] exp-sum pass after a 2-thread GEMM ran at 0.84-2.11 ns per element with the default
   * against 0.42 without the GEMM and 0.51-0.55 with N = 4 (the GEMM itself unchanged); measured A/B figures in
   * docs/blas.md.
   */
  static final String THREAD_TIMEOUT = System.getProperty("lmhead.blas.threadTimeout", "4");

  private OpenBlas() throws Throwable {
    if (!THREAD_TIMEOUT.isEmpty()) {
      try {
        setenvIfUnset("OPENBLAS_THREAD_TIMEOUT", THREAD_TIMEOUT);
      } catch (Throwable t) {
        // a libc without setenv only costs speed: OpenBLAS then loads with its own default
      }
    }
    org.bytedeco.javacpp.Loader.load(org.bytedeco.openblas.global.openblas_nolapack.class);
    SymbolLookup lib = SymbolLookup.libraryLookup("libopenblas_nolapack.so.0", Arena.global());
    Linker linker = Linker.nativeLinker();
    ValueLayout.OfInt I = ValueLayout.JAVA_INT;
    ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    var P = ValueLayout.ADDRESS;
    sgemm = linker.downcallHandle(lib.find("cblas_sgemm").orElseThrow(),
        FunctionDescriptor.ofVoid(I, I, I, I, I, I, F, P, I, P, I, F, P, I),
        Linker.Option.critical(true));
    sgemv = linker.downcallHandle(lib.find("cblas_sgemv").orElseThrow(),
        FunctionDescriptor.ofVoid(I, I, I, I, F, P, I, P, I, F, P, I),
        Linker.Option.critical(true));
    setThreads = linker.downcallHandle(lib.find("openblas_set_num_threads").orElseThrow(),
        FunctionDescriptor.ofVoid(I));
    getThreads = linker.downcallHandle(lib.find("openblas_get_num_threads").orElseThrow(),
        FunctionDescriptor.of(I));
    coreName = linker.downcallHandle(lib.find("openblas_get_corename").orElseThrow(),
        FunctionDescriptor.of(P));
  }

  /** libc {@code setenv(name, value, 0)}: the process environment that native code reads, kept if already set. */
  private static void setenvIfUnset(String name, String value) throws Throwable {
    Linker linker = Linker.nativeLinker();
    MethodHandle setenv = linker.downcallHandle(linker.defaultLookup().find("setenv").orElseThrow(),
        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    try (Arena a = Arena.ofConfined()) {
      int rc = (int) setenv.invokeExact(a.allocateFrom(name), a.allocateFrom(value), 0);
      if (rc != 0) throw new IllegalStateException("setenv(" + name + ") failed");
    }
  }

  /** The value of an environment variable as native code sees it now (libc {@code getenv}), or null. */
  static String nativeEnv(String name) {
    Linker linker = Linker.nativeLinker();
    MethodHandle getenv = linker.downcallHandle(linker.defaultLookup().find("getenv").orElseThrow(),
        FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS));
    try (Arena a = Arena.ofConfined()) {
      MemorySegment v = (MemorySegment) getenv.invokeExact(a.allocateFrom(name));
      return v.equals(MemorySegment.NULL) ? null : v.reinterpret(4096).getString(0);
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  /** Loads the native library once; throws if it is unavailable on this platform. */
  public static OpenBlas load() {
    OpenBlas b = instance;
    if (b == null) {
      synchronized (OpenBlas.class) {
        if (instance == null) {
          try {
            instance = new OpenBlas();
          } catch (Throwable t) {
            throw new IllegalStateException("OpenBLAS could not be loaded: " + t, t);
          }
        }
        b = instance;
      }
    }
    return b;
  }

  @Override
  public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                    float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                    float beta, float[] c, int cOff, int ldc) {
    if (m == 0 || n == 0) return;
    if (k == 0) {
      // cblas rejects lda/ldb < max(1, k) here without touching C; BLAS semantics are C = beta * C.
      scaleC(m, n, beta, c, cOff, ldc);
      return;
    }
    // Small products (an LSTM step is [20,200]x[200,800]) run on one thread: OpenBLAS's thread hand-off
    // costs more than it saves there, and with contended cores its spinning workers collapse (measured
    // 0.2 GFLOP/s on 2 threads vs 12 on 1 under load). The switch depends only on the shape.
    int want = (long) m * n * k < SMALL_GEMM ? 1 : threads;
    if (want != nativeNow) setNative(want);
    if (m == 1 && GEMV) {
      gemvRow(transA, transB, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff);
      return;
    }
    try {
      sgemm.invokeExact(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS, m, n, k, alpha,
          MemorySegment.ofArray(a).asSlice(4L * aOff), lda,
          MemorySegment.ofArray(b).asSlice(4L * bOff), ldb, beta,
          MemorySegment.ofArray(c).asSlice(4L * cOff), ldc);
    } catch (Throwable t) {
      throw new IllegalStateException("cblas_sgemm failed", t);
    }
  }

  /**
   * One output row (m = 1, what scoring and serving do per request): C[1,n] = alpha·op(A)[1,k]·op(B)[k,n]
   * + beta·C as a matrix-vector product over B as stored, which OpenBLAS's sgemv streams at memory speed
   * where its sgemm with one row runs far below it. op(A)'s row is A's first row (transA: its first
   * column, stride lda).
   */
  private void gemvRow(boolean transA, boolean transB, int n, int k, float alpha, float[] a, int aOff, int lda,
                       float[] b, int bOff, int ldb, float beta, float[] c, int cOff) {
    // BLAS leaves C unread when beta = 0, but sgemv scales y by beta first, and 0·NaN would stay NaN
    if (beta == 0f) java.util.Arrays.fill(c, cOff, cOff + n, 0f);
    try {
      // transB: B is stored [n, k], y = B·x; else B is stored [k, n], y = Bᵀ·x
      sgemv.invokeExact(ROW_MAJOR, transB ? NO_TRANS : TRANS, transB ? n : k, transB ? k : n, alpha,
          MemorySegment.ofArray(b).asSlice(4L * bOff), ldb,
          MemorySegment.ofArray(a).asSlice(4L * aOff), transA ? lda : 1, beta,
          MemorySegment.ofArray(c).asSlice(4L * cOff), 1);
    } catch (Throwable t) {
      throw new IllegalStateException("cblas_sgemv failed", t);
    }
  }

  /** One-row products go through sgemv (-Dlmhead.blas.gemv=false sends them to sgemm). */
  static final boolean GEMV = !"false".equals(System.getProperty("lmhead.blas.gemv"));

  /** Multiply-adds below which a GEMM runs single-threaded (-Dlmhead.blas.small, default 2^23). */
  static final long SMALL_GEMM = Long.getLong("lmhead.blas.small", 1L << 23);
  private int nativeNow = -1;

  private void setNative(int n) {
    try {
      setThreads.invokeExact(n);
      nativeNow = n;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  private static void scaleC(int m, int n, float beta, float[] c, int cOff, int ldc) {
    if (beta == 1f) return;
    for (int i = 0; i < m; i++) {
      int ci = cOff + i * ldc;
      if (beta == 0f) java.util.Arrays.fill(c, ci, ci + n, 0f);
      else Vec.scale(c, ci, n, beta);
    }
  }

  @Override public String name() { return "openblas"; }

  @Override public int threads() { return threads; }

  @Override
  public synchronized void setThreads(int threads) {
    try {
      setThreads.invokeExact(threads);
      this.threads = threads;
      this.nativeNow = threads;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  /** The thread count OpenBLAS itself reports ({@code openblas_get_num_threads}). */
  public int nativeThreads() {
    try {
      return (int) getThreads.invokeExact();
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  /** The CPU kernel family OpenBLAS picked (e.g. "Cooperlake", "Haswell"). */
  public String coreName() {
    try {
      MemorySegment s = (MemorySegment) coreName.invokeExact();
      return s.reinterpret(64).getString(0);
    } catch (Throwable t) {
      return "unknown";
    }
  }
}
