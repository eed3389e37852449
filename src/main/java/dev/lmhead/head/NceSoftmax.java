package dev.lmhead.head;

import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Parallel;
import dev.lmhead.tensor.Rng;
import dev.lmhead.tensor.Vec;
import java.util.Arrays;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Noise-contrastive estimation (Mnih &amp; Teh 2012; faster-rnnlm's {@code -nce}). Training costs
 * O(n·k·d) per call; evaluation is exact.
 *
 * <p><b>Training objective.</b> Each {@link #forwardBackward} call draws k noise ids n_1..n_k from the
 * noise distribution Q ({@link CandidateSampler}, unigram^α with α = 0.75 by default), independently
 * and with replacement, shared by all rows. The model's unnormalised log-probability of w is its raw
 * logit {@code s(w) = h·W[w] + b[w]} minus a <b>fixed log-normaliser log Z</b> (self-normalisation; no
 * learned normaliser): {@code --log-z auto}, the default, fixes it at ln V, as faster-rnnlm ({@code ln(Z)
 * = 9}) and Pytorch-NCE ({@code --norm-term 9}) do, so that the untrained model, whose scores are all
 * near 0, starts self-normalised (Σ_w exp(s(w) − ln V) ≈ 1); Mnih &amp; Teh's 0 ({@code --log-z 0}) starts
 * every word at probability ~1, and the first updates then spend the whole clipped gradient pushing
 * every score down instead of learning (measured on WikiText-2: valid ppl 179,316 after 500k tokens at
 * lr 5, worse than uniform). With {@code Δ(w) = s(w) − log Z − log(k·Q(w))} (the log-odds that w came from
 * the data rather than the noise), row r with target t has the binary logistic loss
 * <pre>
 *   L_r = −log σ(Δ(t)) − Σ_{j=1..k} log(1 − σ(Δ(n_j)))  =  softplus(−Δ(t)) + Σ_j softplus(Δ(n_j))
 * </pre>
 * with gradients {@code dL_r/ds(t) = σ(Δ(t)) − 1} and {@code dL_r/ds(n_j) = σ(Δ(n_j))}. Noise draws
 * equal to the target are kept as noise terms (NCE's definition; no accidental-hit removal). The loss
 * is reduced as {@link Loss} says; with {@code Reduction.NONE} {@code rowLoss} holds L_r, not the NLL.
 *
 * <p><b>Evaluation.</b> {@link #logProb}, {@link #targetLogProb}, {@link #topK}, {@link #predict} are
 * the exact full softmax over the same {@code weight} and {@code bias} (a {@link FullSoftmax} holding
 * them): they normalise explicitly, so perplexities do not rely on the self-normalisation. Weight
 * tying works as for FullSoftmax.
 */
public final class NceSoftmax extends SampledObjective {
  /** Mnih &amp; Teh's and word2vec's unigram exponent. */
  public static final double DEFAULT_ALPHA = 0.75;

  /**
   * {@code --head nce}: a full softmax trained by noise-contrastive estimation (log Z fixed at 0);
   * evaluation is exact.
   *
   * @param bias    output bias
   * @param samples k noise draws per training call ({@code --samples})
   * @param alpha   noise distribution unigram^alpha ({@code --sampler-alpha})
   * @param logZ    the fixed log-normaliser ({@code --log-z}); NaN = auto, ln V
   */
  public record Spec(boolean bias, int samples, double alpha, double logZ) implements HeadSpec {
    public Spec {
      if (samples < 1) throw new IllegalArgumentException("--samples must be >= 1, got " + samples);
      if (!(alpha >= 0) || Double.isInfinite(alpha)) throw new IllegalArgumentException("--sampler-alpha must be a finite number >= 0, got " + alpha);
      if (Double.isInfinite(logZ)) throw new IllegalArgumentException("--log-z must be auto or a finite number, got " + logZ);
    }

    /** Mnih &amp; Teh's log Z = 0 (config.json files written before {@code logZ} existed read as 0, as they trained). */
    public Spec(boolean bias, int samples, double alpha) { this(bias, samples, alpha, 0); }

    /** The log-normaliser used at vocabulary size V: ln V for {@code auto} (NaN), else as given. */
    public double logZ(int vocab) { return Double.isNaN(logZ) ? Math.log(vocab) : logZ; }

    @Override public String type() { return "nce"; }
    @Override public OutputLayer create(int vocab, int dim, long[] counts, Parameter tiedWeight, Rng rng) {
      FullSoftmax full = new FullSoftmax(vocab, dim, bias, tiedWeight, rng);
      long[] c = counts != null ? counts : ones(vocab);
      return new NceSoftmax(full, CandidateSampler.unigram(c, alpha), samples, rng.nextLong(), logZ(vocab)).withSpec(this);
    }
    @Override public String describe() {
      return "nce(k " + samples + ", unigram^" + alpha + ", log Z = " + (Double.isNaN(logZ) ? "ln V" : Double.toString(logZ)) + ")";
    }
    @Override public long minParameters(int vocab, int hidden, boolean sharesEmbedding) {
      return sharesEmbedding ? 0 : (long) vocab * hidden;
    }
    @Override public boolean tiesEmbedding() { return true; }
    @Override public boolean outputBias() { return bias; }

    private static long[] ones(int v) {
      long[] c = new long[v];
      Arrays.fill(c, 1);
      return c;
    }
  }

  /** The registry entry ({@link Heads}). */
  public static final HeadOption LOG_Z = HeadOption.of("log-z", HeadOption.Kind.STRING, "auto",
      "nce: the fixed log-normaliser of the self-normalised scores: auto = ln V (faster-rnnlm, Pytorch-NCE), or a number (Mnih & Teh: 0) (default: auto).");

  public static final HeadType TYPE = new HeadType("nce", "noise-contrastive estimation", Spec.class,
      List.of(FullSoftmax.BIAS, SampledSoftmax.SAMPLES, SampledSoftmax.SAMPLER_ALPHA, LOG_Z),
      o -> new Spec(o.bool(FullSoftmax.BIAS), o.integer(SampledSoftmax.SAMPLES), o.real(SampledSoftmax.SAMPLER_ALPHA),
          parseLogZ(o.string(LOG_Z))), false);

  static double parseLogZ(String v) {
    if (v.trim().equalsIgnoreCase("auto")) return Double.NaN;
    try {
      double x = Double.parseDouble(v.trim());
      if (Double.isFinite(x)) return x;
    } catch (NumberFormatException e) {
      // falls through to the message below
    }
    throw new IllegalArgumentException("--log-z must be auto or a finite number, got '" + v + "'");
  }

  private Spec spec;

  /** The spec this head reports: the one it was built from ({@link Spec#create}). */
  NceSoftmax withSpec(Spec s) { this.spec = s; return this; }

  private final CandidateSampler noise;
  private final int k;
  /** The fixed log-normaliser subtracted from every score in the objective. */
  private final double logZ;

  /**
   * A new full-softmax layer (weights as {@link FullSoftmax}'s constructor makes them) trained by NCE
   * with unigram^alpha noise built from {@code counts}.
   *
   * @param tiedWeight  an input embedding [V, d] to share, or null
   * @param counts      training unigram counts by word id
   * @param alpha       noise exponent ({@link #DEFAULT_ALPHA})
   * @param k           noise samples per call, shared by all rows
   */
  public NceSoftmax(int vocab, int dim, boolean useBias, Parameter tiedWeight, Rng initRng,
                    long[] counts, double alpha, int k, long samplerSeed) {
    this(new FullSoftmax(vocab, dim, useBias, tiedWeight, initRng), CandidateSampler.unigram(counts, alpha), k, samplerSeed);
  }

  /** NCE training of an existing full softmax (its Parameters are shared, not copied), any noise Q, log Z = 0. */
  public NceSoftmax(FullSoftmax full, CandidateSampler noise, int k, long samplerSeed) {
    this(full, noise, k, samplerSeed, 0);
  }

  /** NCE training of an existing full softmax with the fixed log-normaliser {@code logZ}. */
  public NceSoftmax(FullSoftmax full, CandidateSampler noise, int k, long samplerSeed, double logZ) {
    super(full, noise, k, samplerSeed, "noise distribution", "noise samples");
    if (!Double.isFinite(logZ)) throw new IllegalArgumentException("log Z must be finite, got " + logZ);
    this.noise = noise;
    this.k = k;
    this.logZ = logZ;
    this.spec = new Spec(full.bias != null, k, DEFAULT_ALPHA, logZ); // built directly: as well as the arguments allow
  }

  public double logZ() { return logZ; }

  @Override public String type() { return "nce"; }
  @Override public Spec spec() { return spec; }

  /** The objective sums k + 1 logistic terms, each of order ln V at worst for a sane model. */
  @Override public double explodedLoss() { return (k + 1) * OutputLayer.nllLimit(vocab); }

  public CandidateSampler noise() { return noise; }
  public int noiseSamples() { return k; }

  /** The training step with a given noise sample (its length is k here). */
  @Override
  double forwardBackwardWithSample(float[] hidden, int n, int[] targets, float[] gradHidden, Loss loss,
                                   float[] rowLoss, int[] sample) {
    int count = loss.validate(targets, n, vocab);
    final int s = sample.length;
    checkSample(sample, "noise id");
    final float scale = loss.gradScale(count);
    final double offset = Math.log(s) + logZ; // Δ(w) = s(w) − offset − log Q(w)
    final float[] corr = new float[s];
    for (int j = 0; j < s; j++) corr[j] = (float) (offset + noise.logQ(sample[j]));
    scores.forward(hidden, n, targets, loss, sample, s);
    final float[] z = scores.sampleLogits, zt = scores.targetLogits;
    final double[] partial = new double[n];
    Parallel.forRange(n, 16, (a, b) -> {
      for (int r = a; r < b; r++) {
        int t = targets[r], off = r * s;
        if (loss.ignored(t)) {
          Arrays.fill(z, off, off + s, 0f);
          zt[r] = 0f;
          partial[r] = 0;
          continue;
        }
        float dt = zt[r] - (float) (offset + noise.logQ(t));
        double l = softplus(-dt);
        zt[r] = scale * (sigmoid(dt) - 1f);
        partial[r] = l + noiseTerms(z, off, corr, s, scale);
      }
    });
    double total = 0;
    for (int r = 0; r < n; r++) {
      total += partial[r];
      if (rowLoss != null) rowLoss[r] = (float) partial[r];
    }
    scores.backward(hidden, n, targets, loss, sample, s, gradHidden);
    return loss.reduce(total, count);
  }

  /**
   * For Δ_j = z[off+j] − corr[j]: returns Σ_j softplus(Δ_j) and overwrites z[off+j] with scale·σ(Δ_j).
   * Vectorised; each lane computes exactly what {@link #softplus} and {@link #sigmoid} do.
   */
  static double noiseTerms(float[] z, int off, float[] corr, int s, float scale) {
    VectorSpecies<Float> sp = Vec.S;
    FloatVector acc = FloatVector.zero(sp), one = FloatVector.broadcast(sp, 1f);
    int j = 0;
    for (int ub = sp.loopBound(s); j < ub; j += sp.length()) {
      FloatVector x = FloatVector.fromArray(sp, z, off + j).sub(FloatVector.fromArray(sp, corr, j));
      FloatVector e = Vec.exp(x.abs().neg());
      acc = acc.add(x.max(0f).add(Vec.log1pUnit(e)));
      FloatVector inv = one.div(one.add(e));
      inv.blend(e.mul(inv), x.lt(0f)).mul(scale).intoArray(z, off + j);
    }
    double l = Vec.hsum(acc);
    for (; j < s; j++) {
      float x = z[off + j] - corr[j];
      l += softplus(x);
      z[off + j] = scale * sigmoid(x);
    }
    return l;
  }

  /** log(1 + e^x), stable for any x. */
  static float softplus(float x) {
    return Math.max(x, 0f) + Vec.log1pUnit(Vec.exp(-Math.abs(x)));
  }

  /** 1 / (1 + e^{-x}), stable for any x. */
  static float sigmoid(float x) {
    float e = Vec.exp(-Math.abs(x));
    float inv = 1f / (1f + e);
    return x >= 0 ? inv : e * inv;
  }

}
