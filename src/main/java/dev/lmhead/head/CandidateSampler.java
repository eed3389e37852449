package dev.lmhead.head;

import dev.lmhead.tensor.Rng;

/**
 * The proposal (noise) distribution Q over word ids shared by {@link SampledSoftmax} and
 * {@link NceSoftmax}, and independent draws from it.
 *
 * <ul>
 *   <li>{@link #logUniform(int)}: TensorFlow's {@code log_uniform_candidate_sampler} over
 *       frequency-sorted ids, {@code Q(k) = (log(k+2) − log(k+1)) / log(V+1)} (a Zipf-like proposal
 *       that needs no counts);</li>
 *   <li>{@link #unigram(long[], double)}: {@code Q(w) ∝ max(count(w), 1)^α} (α = 0.75 in word2vec and
 *       Mnih &amp; Teh); counts below 1 are raised to 1 so that every word — including one never seen
 *       in training — has Q &gt; 0 and a finite correction {@code log Q}.</li>
 * </ul>
 *
 * <p>Draws are <em>with replacement</em> and independent: {@link #sample} inverts the cumulative
 * distribution (binary search over the double CDF), so a sample of S ids has expected count
 * {@code S·Q(w)} for every w, and duplicates are kept.
 */
public final class CandidateSampler {
  private final int vocab;
  private final String name;
  /** Q(w) in double. */
  private final double[] q;
  /** log Q(w), as used by the corrections. */
  private final double[] logQ;
  /** cdf[w] = Q(0) + ... + Q(w); cdf[V-1] == 1 exactly (set, not summed). */
  private final double[] cdf;

  private CandidateSampler(String name, double[] q) {
    this.name = name;
    this.vocab = q.length;
    this.q = q;
    this.logQ = new double[vocab];
    this.cdf = new double[vocab];
    double c = 0;
    for (int w = 0; w < vocab; w++) {
      if (!(q[w] > 0)) throw new IllegalArgumentException("proposal probability of word " + w + " is " + q[w]);
      logQ[w] = Math.log(q[w]);
      c += q[w];
      cdf[w] = c;
    }
    cdf[vocab - 1] = 1.0;
  }

  /** TensorFlow's log-uniform (Zipfian) proposal over ids sorted by descending frequency. */
  public static CandidateSampler logUniform(int vocab) {
    if (vocab < 1) throw new IllegalArgumentException("vocabulary size must be >= 1, got " + vocab);
    double[] q = new double[vocab];
    double norm = Math.log(vocab + 1.0);
    for (int k = 0; k < vocab; k++) q[k] = Math.log1p(1.0 / (k + 1.0)) / norm; // = (log(k+2) - log(k+1)) / log(V+1)
    return new CandidateSampler("loguniform", q);
  }

  /** Unigram^alpha proposal from training counts (counts below 1 count as 1). */
  public static CandidateSampler unigram(long[] counts, double alpha) {
    if (counts == null || counts.length < 1) throw new IllegalArgumentException("unigram proposal needs counts for every word");
    if (!(alpha >= 0) || Double.isInfinite(alpha)) throw new IllegalArgumentException("unigram exponent must be finite and >= 0, got " + alpha);
    double[] q = new double[counts.length];
    double s = 0;
    for (int w = 0; w < counts.length; w++) {
      q[w] = Math.pow(Math.max(1.0, (double) counts[w]), alpha);
      s += q[w];
    }
    for (int w = 0; w < counts.length; w++) q[w] /= s;
    return new CandidateSampler("unigram^" + alpha, q);
  }

  public int vocabSize() { return vocab; }

  /** "loguniform" or "unigram^alpha". */
  public String name() { return name; }

  public double q(int w) { return q[w]; }

  public double logQ(int w) { return logQ[w]; }

  /** One id drawn from Q. */
  public int next(Rng rng) {
    double u = rng.nextDouble();
    // smallest w with cdf[w] > u
    int lo = 0, hi = vocab - 1;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (cdf[mid] > u) hi = mid; else lo = mid + 1;
    }
    return lo;
  }

  /** Fills out[0..s) with s independent draws from Q (with replacement). */
  public void sample(Rng rng, int s, int[] out) {
    for (int i = 0; i < s; i++) out[i] = next(rng);
  }
}
