package dev.lmhead.tensor;

/** Holds the process-wide {@link Blas} choice. */
final class BlasRegistry {
  private static volatile Blas current;

  private BlasRegistry() {}

  static Blas current() {
    Blas b = current;
    if (b == null) {
      synchronized (BlasRegistry.class) {
        if (current == null) current = auto();
        b = current;
      }
    }
    return b;
  }

  /** Installs {@code b} as it is (no thread setting) and returns the previous backend: for {@link GemmProfile}'s decorator. */
  static synchronized Blas swap(Blas b) {
    Blas old = current();
    current = b;
    return old;
  }

  static synchronized Blas use(String name) {
    Blas b = switch (name) {
      case "auto" -> auto();
      case "openblas" -> OpenBlas.load();
      case "java" -> new JavaBlas();
      default -> throw new IllegalArgumentException("unknown BLAS backend '" + name + "' (expected auto, openblas or java)");
    };
    b.setThreads(Parallel.threads());
    current = b;
    return b;
  }

  /**
   * OpenBLAS when it loads, else pure Java; {@code -Dlmhead.blas=java} (or {@code openblas}) forces one,
   * e.g. to run the whole test suite on the fallback backend.
   */
  private static Blas auto() {
    String forced = System.getProperty("lmhead.blas", "auto").trim();
    if (!forced.equals("auto") && !forced.isEmpty()) {
      if (!forced.equals("java") && !forced.equals("openblas")) {
        throw new IllegalArgumentException("-Dlmhead.blas must be auto, openblas or java, got '" + forced + "'");
      }
      Blas b = forced.equals("java") ? new JavaBlas() : OpenBlas.load();
      b.setThreads(Parallel.threads());
      return b;
    }
    Blas b;
    try {
      b = OpenBlas.load();
    } catch (Throwable t) {
      b = new JavaBlas();
    }
    b.setThreads(Parallel.threads());
    return b;
  }
}
