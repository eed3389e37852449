package dev.lmhead.tensor;

/**
 * Deterministic, splittable random numbers (xoshiro128**-free: SplitMix64 core) whose whole state is
 * one long, so a checkpoint can store it and a resumed run continues the same stream.
 */
public final class Rng {
  private long state;

  public Rng(long seed) { this.state = seed * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L; }

  private Rng(long state, boolean raw) { this.state = state; }

  public static Rng fromState(long state) { return new Rng(state, true); }

  public long state() { return state; }

  public long nextLong() {
    long z = (state += 0x9E3779B97F4A7C15L);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** Uniform in [0, 1). */
  public float nextFloat() { return (nextLong() >>> 40) * 0x1.0p-24f; }

  public double nextDouble() { return (nextLong() >>> 11) * 0x1.0p-53; }

  public int nextInt(int bound) {
    if (bound <= 0) throw new IllegalArgumentException("bound must be positive");
    return (int) (((nextLong() >>> 33) * bound) >>> 31);
  }

  public float uniform(float lo, float hi) { return lo + (hi - lo) * nextFloat(); }

  public double gaussian() {
    double u1 = Math.max(nextDouble(), 1e-300), u2 = nextDouble();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  public void fillUniform(float[] a, float lo, float hi) {
    for (int i = 0; i < a.length; i++) a[i] = uniform(lo, hi);
  }

  /** A new independent stream derived from this one. */
  public Rng split() { return new Rng(nextLong()); }
}
