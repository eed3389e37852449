package dev.lmhead.head;

import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Parallel;
import dev.lmhead.tensor.Rng;
import dev.lmhead.tensor.Vec;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Sampled softmax (importance sampling: Bengio &amp; Senécal 2008; Jean et al. 2015; TensorFlow's
 * {@code sampled_softmax_loss}). Training costs O(n·S·d) per call instead of O(n·V·d); evaluation is
 * exact.
 *
 * <p><b>Training objective.</b> Each {@link #forwardBackward} call draws S ids w_1..w_S from the
 * proposal Q ({@link CandidateSampler}: log-uniform or unigram^α), independently and <em>with
 * replacement</em>, shared by all n rows. With raw logits {@code s(w) = h·W[w] + b[w]} and the
 * expected count of w in the sample {@code S·Q(w)}, the corrected logits are
 * <pre>
 *   o(w) = s(w) − log(S·Q(w))          (subtractLogQ; o(w) = s(w) without it)
 * </pre>
 * for the target and for every draw (a duplicated draw is a separate term). Row r's loss is the
 * cross-entropy of its target over [target, w_1..w_S]:
 * <pre>
 *   L_r = −o(t) + log( exp(o(t)) + Σ_{j: w_j ≠ t} exp(o(w_j)) )
 * </pre>
 * — accidental hits (draws equal to the row's target) are dropped for that row (logit −∞) when
 * removeAccidentalHits is set (TensorFlow's default), otherwise kept. Σ_j exp(s(w_j))/(S·Q(w_j)) is
 * the importance-sampling estimate of Σ_w exp(s(w)). Since the same log S is subtracted from every
 * term, the softmax is the same as with TensorFlow's −log Q alone. The loss is then reduced as
 * {@link Loss} says (ignored rows: zero loss and gradient); with {@code Reduction.NONE} {@code rowLoss}
 * holds the per-row sampled objective L_r, not the exact NLL.
 *
 * <p><b>Evaluation.</b> {@link #logProb}, {@link #targetLogProb}, {@link #topK}, {@link #predict} are
 * those of a {@link FullSoftmax} holding the same {@code weight} and {@code bias} Parameters: exact,
 * normalised, and perplexities comparable with every other head. Weight tying works as for
 * FullSoftmax.
 *
 * <p>The sampler's random stream is its own ({@code samplerSeed}), separate from initialisation.
 */
public final class SampledSoftmax extends SampledObjective {
  /** {@code --samples}: negatives (sampled) or noise draws (NCE) per training call, shared by all rows. */
  public static final HeadOption SAMPLES = HeadOption.of("samples", HeadOption.Kind.INT, "1024",
      "sampled/nce: samples per training call, shared by the rows (default: 1024).");
  public static final HeadOption SAMPLER = HeadOption.of("sampler", HeadOption.Kind.STRING, "log-uniform",
      "sampled: proposal Q, log-uniform (over frequency-sorted ids, TensorFlow's) | unigram (counts^alpha) (default: log-uniform).");
  /** {@code --sampler-alpha}: the exponent of the unigram proposal (sampled) and of NCE's noise. */
  public static final HeadOption SAMPLER_ALPHA = HeadOption.of("sampler-alpha", HeadOption.Kind.DOUBLE, "0.75",
      "sampled/nce: exponent of the unigram distribution (default: 0.75).");

  /** The proposal distribution Q. */
  public enum Sampler { LOG_UNIFORM, UNIGRAM }

  /**
   * {@code --head sampled}: a full softmax trained by importance sampling; evaluation is exact.
   *
   * @param bias    output bias
   * @param samples S draws per training call
   * @param sampler the proposal Q
   * @param alpha   exponent of the unigram proposal
   */
  public record Spec(boolean bias, int samples, Sampler sampler, double alpha) implements HeadSpec {
    public Spec {
      if (sampler == null) sampler = Sampler.LOG_UNIFORM;
      if (samples < 1) throw new IllegalArgumentException("--samples must be >= 1, got " + samples);
      if (!(alpha >= 0) || Double.isInfinite(alpha)) throw new IllegalArgumentException("--sampler-alpha must be a finite number >= 0, got " + alpha);
    }
    @Override public String type() { return "sampled"; }
    @Override public OutputLayer create(int vocab, int dim, long[] counts, Parameter tiedWeight, Rng rng) {
      FullSoftmax full = new FullSoftmax(vocab, dim, bias, tiedWeight, rng);
      CandidateSampler q = sampler == Sampler.LOG_UNIFORM || counts == null ? CandidateSampler.logUniform(vocab)
          : CandidateSampler.unigram(counts, alpha);
      return new SampledSoftmax(full, q, samples, true, true, rng.nextLong()).withSpec(this);
    }
    @Override public String describe() {
      return "sampled(S " + samples + ", " + HeadOptions.name(sampler) + (sampler == Sampler.UNIGRAM ? "^" + alpha : "") + ")";
    }
    @Override public long minParameters(int vocab, int hidden, boolean sharesEmbedding) {
      return sharesEmbedding ? 0 : (long) vocab * hidden;
    }
    @Override public boolean tiesEmbedding() { return true; }
    @Override public boolean outputBias() { return bias; }
  }

  /** The registry entry ({@link Heads}). */
  public static final HeadType TYPE = new HeadType("sampled", "sampled softmax (importance sampling)", Spec.class,
      List.of(FullSoftmax.BIAS, SAMPLES, SAMPLER, SAMPLER_ALPHA),
      o -> new Spec(o.bool(FullSoftmax.BIAS), o.integer(SAMPLES), o.choice(SAMPLER, Sampler.class), o.real(SAMPLER_ALPHA)), false);

  private Spec spec;

  /** The spec this head reports: the one it was built from ({@link Spec#create}). */
  SampledSoftmax withSpec(Spec s) { this.spec = s; return this; }

  private final boolean subtractLogQ, removeAccidentalHits;

  /**
   * A new full-softmax layer (weights as {@link FullSoftmax}'s constructor makes them) trained by
   * sampled softmax.
   *
   * @param tiedWeight   an input embedding [V, d] to share, or null
   * @param initRng      initialises weight (unless tied) and bias
   * @param proposal     Q over the V ids
   * @param samples      S >= 1 draws per call, shared by all rows
   * @param samplerSeed  seed of the sampler's own {@link Rng}
   */
  public SampledSoftmax(int vocab, int dim, boolean useBias, Parameter tiedWeight, Rng initRng,
                        CandidateSampler proposal, int samples, boolean subtractLogQ, boolean removeAccidentalHits,
                        long samplerSeed) {
    this(new FullSoftmax(vocab, dim, useBias, tiedWeight, initRng), proposal, samples, subtractLogQ,
        removeAccidentalHits, samplerSeed);
  }

  /** Sampled-softmax training of an existing full softmax (its Parameters are shared, not copied). */
  public SampledSoftmax(FullSoftmax full, CandidateSampler proposal, int samples, boolean subtractLogQ,
                        boolean removeAccidentalHits, long samplerSeed) {
    super(full, proposal, samples, samplerSeed, "proposal", "samples");
    this.subtractLogQ = subtractLogQ;
    this.removeAccidentalHits = removeAccidentalHits;
    // built directly (not from a Spec): describe it as well as the arguments allow
    this.spec = new Spec(full.bias != null, samples,
        proposal.name().startsWith("log") ? Sampler.LOG_UNIFORM : Sampler.UNIGRAM, NceSoftmax.DEFAULT_ALPHA);
  }

  @Override public String type() { return "sampled"; }
  @Override public Spec spec() { return spec; }

  public CandidateSampler proposal() { return proposal; }
  public int samples() { return samples; }
  public boolean subtractLogQ() { return subtractLogQ; }
  public boolean removeAccidentalHits() { return removeAccidentalHits; }

  /** The training step with a given sample (ids in [0, V), with repetitions as drawn). */
  @Override
  double forwardBackwardWithSample(float[] hidden, int n, int[] targets, float[] gradHidden, Loss loss,
                                   float[] rowLoss, int[] sample) {
    int count = loss.validate(targets, n, vocab);
    final int s = sample.length;
    checkSample(sample, "sampled id");
    final float scale = loss.gradScale(count);
    final double logS = Math.log(s);
    final float[] corr = new float[s];
    if (subtractLogQ) for (int j = 0; j < s; j++) corr[j] = (float) (logS + proposal.logQ(sample[j]));
    // positions of each sampled id in the sample, for accidental-hit removal
    final Map<Integer, int[]> hits = removeAccidentalHits ? positions(sample) : null;
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
        float ot = zt[r] - (subtractLogQ ? (float) (logS + proposal.logQ(t)) : 0f);
        if (subtractLogQ) Vec.axpy(-1f, corr, 0, z, off, s);
        if (hits != null) {
          int[] at = hits.get(t);
          if (at != null) for (int j : at) z[off + j] = Float.NEGATIVE_INFINITY;
        }
        float m = Math.max(ot, Vec.max(z, off, s));
        double sum = Vec.expShiftInPlace(z, off, s, m); // exp(-inf) = 0 for dropped hits
        double et = Math.exp((double) ot - m);
        sum += et;
        double lse = m + Math.log(sum);
        partial[r] = lse - ot;
        Vec.scale(z, off, s, (float) (scale / sum));
        zt[r] = (float) (scale * (et / sum - 1.0));
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

  private static Map<Integer, int[]> positions(int[] sample) {
    Map<Integer, int[]> at = new HashMap<>();
    for (int j = 0; j < sample.length; j++) {
      int[] prev = at.get(sample[j]);
      int[] next = prev == null ? new int[1] : Arrays.copyOf(prev, prev.length + 1);
      next[next.length - 1] = j;
      at.put(sample[j], next);
    }
    return at;
  }

}
