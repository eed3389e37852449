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

  private static Blas auto() {
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
