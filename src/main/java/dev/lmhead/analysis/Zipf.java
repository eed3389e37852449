package dev.lmhead.analysis;

import dev.lmhead.tensor.Rng;
import java.util.Arrays;

/**
 * Zipf's law over frequency-sorted word ids: {@code P(i) = (i + 1)^-s / H_{V,s}} for ids
 * {@code 0 .. V-1} (id 0 the most frequent), {@code H_{V,s} = Σ_{j=1..V} j^-s}. With s = 1 the
 * frequency ratio of ids a and b is {@code (b + 1) / (a + 1)}, e.g. id 0 is 10 times as frequent as id 9.
 *
 * <p>Sampling is exact inversion of the cumulative distribution (a [V] table of doubles, binary
 * search per draw), deterministic for a given {@link Rng}. {@link #counts} gives the expected counts of
 * a corpus of a given size drawn from the same law (at least 1 each), which class binning and
 * Huffman trees are built from in benchmarks.
 */
public final class Zipf {
  private final int vocab;
  private final double exponent;
  private final double[] cdf; // cdf[i] = P(id <= i); cdf[V-1] = 1

  /** @param exponent s > 0 (1 for the classic law) */
  public Zipf(int vocab, double exponent) {
    if (vocab < 1) throw new IllegalArgumentException("Zipf needs a vocabulary of at least 1, got " + vocab);
    if (!(exponent > 0) || !Double.isFinite(exponent)) throw new IllegalArgumentException("Zipf exponent must be > 0, got " + exponent);
    this.vocab = vocab;
    this.exponent = exponent;
    cdf = new double[vocab];
    double s = 0;
    for (int i = 0; i < vocab; i++) cdf[i] = s += Math.pow(i + 1, -exponent);
    for (int i = 0; i < vocab; i++) cdf[i] /= s;
    cdf[vocab - 1] = 1.0;
  }

  public int vocab() { return vocab; }

  public double exponent() { return exponent; }

  /** P(id = i). */
  public double probability(int i) {
    return i == 0 ? cdf[0] : cdf[i] - cdf[i - 1];
  }

  /** One draw: the smallest id whose cumulative probability exceeds a uniform u in [0, 1). */
  public int sample(Rng rng) {
    double u = rng.nextDouble();
    int i = Arrays.binarySearch(cdf, u);
    // exact hit: cdf[i] == u means P(id <= i) == u, so the draw is i + 1; miss: insertion point
    int id = i >= 0 ? i + 1 : -i - 1;
    return Math.min(id, vocab - 1);
  }

  /** n independent draws. */
  public int[] sample(Rng rng, int n) {
    int[] out = new int[n];
    for (int r = 0; r < n; r++) out[r] = sample(rng);
    return out;
  }

  /** Expected counts in a corpus of {@code tokens} tokens, rounded, at least 1 (non-increasing in id). */
  public long[] counts(long tokens) {
    long[] c = new long[vocab];
    for (int i = 0; i < vocab; i++) c[i] = Math.max(1L, Math.round(tokens * probability(i)));
    return c;
  }
}
