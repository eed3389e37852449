package dev.lmhead.tensor;

/**
 * Work buffers that grow lazily and are reused across calls, and the row blocking that bounds them:
 * a layer that needs a [rows, width] buffer processes its n rows in blocks of
 * {@link #rowsPerBlock} rows, so the buffer never exceeds a budget of floats whatever n is.
 */
public final class Workspace {
  /** The default budget of one block buffer, in floats (64 MiB). */
  public static final long BLOCK_FLOATS = 16L << 20;
  /** The largest array the JVM allocates reliably. */
  private static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

  private Workspace() {}

  /**
   * Rows per block so that a [rows, width] buffer stays within {@code budgetFloats}: at least 1, at
   * most n.
   */
  public static int rowsPerBlock(long budgetFloats, long width, int n) {
    return (int) Math.max(1, Math.min(n, budgetFloats / Math.max(1, width)));
  }

  /** {@link #rowsPerBlock}, but never fewer than {@code minRows} rows (still at most n). */
  public static int rowsPerBlock(long budgetFloats, long width, int n, int minRows) {
    return (int) Math.max(1, Math.min(n, Math.max(minRows, budgetFloats / Math.max(1, width))));
  }

  /** {@code a} when it holds at least {@code size} elements, else a new zeroed array of that size. */
  public static float[] grow(float[] a, long size) {
    return a.length >= size ? a : new float[checked(size)];
  }

  /** As {@link #grow(float[], long)}. */
  public static int[] grow(int[] a, long size) {
    return a.length >= size ? a : new int[checked(size)];
  }

  /** As {@link #grow(float[], long)}. */
  public static double[] grow(double[] a, long size) {
    return a.length >= size ? a : new double[checked(size)];
  }

  private static int checked(long size) {
    if (size > MAX_ARRAY) throw new IllegalArgumentException("work buffer too large: " + size + " elements");
    return (int) size;
  }
}
