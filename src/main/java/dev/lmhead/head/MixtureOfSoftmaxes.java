package dev.lmhead.head;

import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Blas;
import dev.lmhead.tensor.Parallel;
import dev.lmhead.tensor.Rng;
import dev.lmhead.tensor.Vec;
import dev.lmhead.tensor.Workspace;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Mixture of Softmaxes (Yang et al. 2018, "Breaking the softmax bottleneck"): K softmaxes over the
 * vocabulary that share one decoder but see different contexts, mixed by a context-dependent prior.
 * For a hidden state h ∈ R^d:
 * <pre>
 *   π      = softmax(W_π h)                       W_π = prior.weight  [K, d] (no bias, as in the
 *                                                 reference implementation)
 *   h_k    = tanh(W_k h + b_k) ∈ R^D              latent.weight [K·D, d], latent.bias [K·D];
 *                                                 component k uses rows k·D .. (k+1)·D
 *   z_k    = W_dec h_k + b_dec ∈ R^V              decoder.weight [V, D], decoder.bias [V] (optional)
 *   log P(w|h) = logsumexp_k(log π_k + z_k[w] − logsumexp_v z_k[v])
 * </pre>
 * Everything is done in log space: no probability is ever formed and then logged, so log-probs far
 * below the reference implementation's {@code log(p + 1e-8)} floor (≈ −18.4) are exact.
 *
 * <p><b>Gradients.</b> With responsibilities {@code r_k = π_k softmax_k(w) / P(w)} (the posterior
 * over components given the target), {@code −log P(w)} has
 * <pre>
 *   d/dz_k         = r_k (softmax_k − onehot(w))
 *   d/d(W_π h)_j   = π_j − r_j
 *   d/d(W_k h+b_k) = (W_decᵀ d/dz_k) ⊙ (1 − h_k²)
 * </pre>
 * <b>Memory.</b> Rows are processed in blocks of B rows (B·V ≤ 16 Mi floats, as in
 * {@link FullSoftmax}), and within a block the K components one at a time, so only one [B, V]
 * logits buffer exists whatever K is. Training makes two passes over the components: the first
 * computes each component's log-normaliser and target logit per row (from which the
 * responsibilities follow), the second recomputes each component's logits (one GEMM, cheaper than
 * storing K·B·V floats) and turns them into its gradient. The second pass runs the components in
 * reverse, so the last component of the first pass is still in the buffer and is not recomputed
 * (with K = 1 no logits are recomputed at all). The K-dependent state is B·K·(2D + 4) floats.
 *
 * <p>With K = 1 the prior is exactly 1 and the head is a full softmax over tanh(W_1 h + b_1).
 */
public final class MixtureOfSoftmaxes implements OutputLayer {
  public static final HeadOption EXPERTS = HeadOption.of("experts", HeadOption.Kind.INT, "5",
      "mos: number of softmax components K (default: 5).");
  public static final HeadOption MOS_DIM = HeadOption.of("mos-dim", HeadOption.Kind.INT, "0",
      "mos: component context size D (default: the tied embedding size, else the LSTM hidden size).");
  public static final HeadOption MOS_BASE = HeadOption.of("mos-base", HeadOption.Kind.STRING, "full",
      "mos: full | adaptive component softmaxes (default: full).");

  /** The component softmaxes: full ({@link MixtureOfSoftmaxes}) or adaptive ({@link AdaptiveMixture}). */
  public enum MosBase { FULL, ADAPTIVE }

  /**
   * {@code --head mos}: this class for base FULL, an {@link AdaptiveMixture} for ADAPTIVE.
   *
   * @param bias     the shared decoder has a bias (FULL)
   * @param experts  K, the number of mixture components
   * @param mosDim   D, the component context size (0 = default, see the constructors)
   * @param mosBase  the component softmaxes
   * @param cutoffs  ADAPTIVE: the adaptive softmax cutoffs (empty = {@link AdaptiveSoftmax#defaultCutoffs})
   * @param divValue ADAPTIVE: its div_value
   * @param headBias ADAPTIVE: its head_bias
   */
  public record Spec(boolean bias, int experts, int mosDim, MosBase mosBase, int[] cutoffs, double divValue, boolean headBias)
      implements HeadSpec {
    public Spec {
      if (mosBase == null) mosBase = MosBase.FULL;
      if (cutoffs == null) cutoffs = new int[0];
    }
    @Override public String type() { return "mos"; }
    @Override public OutputLayer create(int vocab, int dim, long[] counts, Parameter tiedWeight, Rng rng) {
      return switch (mosBase) {
        case FULL -> new MixtureOfSoftmaxes(vocab, dim, experts, mosDim, bias, tiedWeight, rng);
        case ADAPTIVE -> AdaptiveMixture.fromSpec(this, vocab, dim, tiedWeight, rng);
      };
    }
    @Override public String describe() {
      return "mos(K " + experts + ", D " + mosDim + ", " + HeadOptions.name(mosBase) + ")";
    }
    @Override public String label() {
      return "mos K=" + experts + (mosBase != MosBase.FULL ? " " + HeadOptions.name(mosBase) : "");
    }
    @Override public Spec resolve(int vocab) {
      return mosBase != MosBase.ADAPTIVE || cutoffs.length > 0 ? this
          : new Spec(bias, experts, mosDim, mosBase, AdaptiveSoftmax.defaultCutoffs(vocab), divValue, headBias);
    }
    @Override public void checkSizes(int vocab, int hidden) {
      long d = mosDim > 0 ? mosDim : hidden; // D = 0: the head's input size (= emb when tied)
      HeadSpec.checkFits("--experts " + experts + " x --mos-dim " + d + " x --hidden " + hidden + " (MoS latent weight)",
          Math.max(0, (long) experts) * d * hidden);
    }
    @Override public long minParameters(int vocab, int hidden, boolean sharesEmbedding) {
      return (long) Math.max(1, experts) * (mosDim > 0 ? mosDim : hidden) * hidden;
    }
    @Override public boolean tiesEmbedding() { return mosBase == MosBase.FULL; }
    @Override public String tieRefusal() {
      return mosBase == MosBase.ADAPTIVE
          ? "--tied is not supported with --mos-base adaptive (it has no [V, d] output matrix to share with the embedding); use --no-tied"
          : null;
    }
    @Override public boolean outputBias() { return bias; }
  }

  /** The registry entry ({@link Heads}). */
  public static final HeadType TYPE = new HeadType("mos", "mixture of softmaxes", Spec.class,
      List.of(FullSoftmax.BIAS, EXPERTS, MOS_DIM, MOS_BASE, AdaptiveSoftmax.CUTOFFS, AdaptiveSoftmax.DIV_VALUE, AdaptiveSoftmax.HEAD_BIAS),
      o -> new Spec(o.bool(FullSoftmax.BIAS), o.integer(EXPERTS), o.integer(MOS_DIM), o.choice(MOS_BASE, MosBase.class),
          o.ints(AdaptiveSoftmax.CUTOFFS), o.real(AdaptiveSoftmax.DIV_VALUE), o.bool(AdaptiveSoftmax.HEAD_BIAS)), false);

  private final int vocab, dim, experts, ctx, kd;
  private final Spec spec;
  public final Parameter prior;      // [K, d]
  public final Parameter latentW;    // [K·D, d]
  public final Parameter latentB;    // [K·D]
  public final Parameter decoderW;   // [V, D], possibly tied to the input embedding
  public final Parameter decoderB;   // [V] or null

  // per-block buffers, grown lazily
  private float[] logits = new float[0];   // [B, V] one component's logits (or its gradient)
  private float[] mix = new float[0];      // [B, V] mixture log-probs, top-k only
  private float[] logPrior = new float[0]; // [B, K] log π
  private float[] lat = new float[0];      // [B, K·D] tanh contexts
  private float[] dLat = new float[0];     // [B, K·D] d loss / d pre-tanh contexts
  private float[] lse = new float[0];      // [B, K] component log-normalisers
  private float[] tgt = new float[0];      // [B, K] component target logits
  private float[] resp = new float[0];     // [B, K] scale · responsibilities
  private float[] dPrior = new float[0];   // [B, K] d loss / d prior logits

  /**
   * @param experts    K, the number of mixture components (>= 1)
   * @param ctxDim     D, the size of each component context; 0 means the tied weight's column count
   *                   (the embedding size) when tied, else {@code dim}
   * @param useBias    whether the shared decoder has a bias
   * @param tiedWeight an existing [V, D] parameter (the input embedding) to use as the decoder
   *                   weight, or null to create one; tying therefore needs D == embedding size
   */
  public MixtureOfSoftmaxes(int vocab, int dim, int experts, int ctxDim, boolean useBias, Parameter tiedWeight, Rng rng) {
    if (vocab < 1) throw new IllegalArgumentException("vocabulary size must be >= 1, got " + vocab);
    if (dim < 1) throw new IllegalArgumentException("input dimension must be >= 1, got " + dim);
    if (experts < 1) throw new IllegalArgumentException("--experts must be >= 1, got " + experts);
    if (ctxDim < 0) throw new IllegalArgumentException("--mos-dim must be >= 0 (0 = hidden size), got " + ctxDim);
    this.vocab = vocab;
    this.dim = dim;
    this.experts = experts;
    // D = 0: the embedding size when tied (as in the reference implementation, whose latent
    // projects to ninp), else the input size
    this.ctx = ctxDim != 0 ? ctxDim
        : tiedWeight != null && tiedWeight.shape.length == 2 && tiedWeight.shape[1] > 0 ? tiedWeight.shape[1] : dim;
    if ((long) experts * ctx > Integer.MAX_VALUE / Math.max(1, dim)) {
      throw new IllegalArgumentException("--experts " + experts + " x --mos-dim " + ctx + " is too large");
    }
    this.kd = experts * ctx;
    this.spec = new Spec(useBias, experts, ctxDim, MosBase.FULL, new int[0], 4.0, false);
    float rIn = (float) (1.0 / Math.sqrt(dim)), rCtx = (float) (1.0 / Math.sqrt(ctx)); // nn.Linear's default bounds
    prior = new Parameter("prior.weight", experts, dim);
    rng.fillUniform(prior.data, -rIn, rIn);
    latentW = new Parameter("latent.weight", kd, dim);
    rng.fillUniform(latentW.data, -rIn, rIn);
    latentB = new Parameter("latent.bias", kd);
    rng.fillUniform(latentB.data, -rIn, rIn);
    if (tiedWeight != null) {
      int cols = tiedWeight.shape.length == 2 ? tiedWeight.shape[1] : -1;
      if (tiedWeight.size() != (long) vocab * ctx || cols != ctx) {
        throw new IllegalArgumentException("mos: cannot tie the decoder to " + tiedWeight + ": it needs shape ["
            + vocab + ", " + ctx + "] (set --mos-dim to the embedding size)");
      }
      decoderW = tiedWeight;
    } else {
      decoderW = new Parameter("decoder.weight", vocab, ctx);
      rng.fillUniform(decoderW.data, -rCtx, rCtx);
    }
    if (useBias) {
      decoderB = new Parameter("decoder.bias", vocab);
      rng.fillUniform(decoderB.data, -rCtx, rCtx);
    } else {
      decoderB = null;
    }
  }

  @Override public int vocabSize() { return vocab; }
  @Override public int inputDim() { return dim; }
  @Override public String type() { return "mos"; }
  @Override public Spec spec() { return spec; }

  /** K, the number of mixture components. */
  public int experts() { return experts; }

  /** D, the size of each component context. */
  public int contextDim() { return ctx; }

  @Override
  public List<Parameter> parameters() {
    List<Parameter> ps = new ArrayList<>();
    ps.add(prior);
    ps.add(latentW);
    ps.add(latentB);
    ps.add(decoderW);
    if (decoderB != null) ps.add(decoderB);
    return ps;
  }

  /**
   * Bytes of the per-call work buffers currently held (they grow lazily to the largest block seen):
   * one [B, V] logits buffer (+ one more after {@link #topK}), [B, K·D] twice and [B, K] five times.
   */
  public long workspaceBytes() {
    long floats = (long) logits.length + mix.length + logPrior.length + lat.length + dLat.length
        + lse.length + tgt.length + resp.length + dPrior.length;
    return 4 * floats;
  }

  // ---------------------------------------------------------------- building blocks

  private int blockRows(int n) {
    return Workspace.rowsPerBlock(Workspace.BLOCK_FLOATS, vocab, n);
  }

  private void ensure(int rows) {
    long s = (long) rows * experts;
    logits = Workspace.grow(logits, (long) rows * vocab);
    lat = Workspace.grow(lat, (long) rows * kd);
    dLat = Workspace.grow(dLat, (long) rows * kd);
    logPrior = Workspace.grow(logPrior, s);
    lse = Workspace.grow(lse, s);
    tgt = Workspace.grow(tgt, s);
    resp = Workspace.grow(resp, s);
    dPrior = Workspace.grow(dPrior, s);
  }

  /** logPrior[0..rows) = log softmax(W_π h), lat[0..rows) = tanh(W_lat h + b_lat) for hidden rows r0.. */
  private void project(float[] hidden, int r0, int rows) {
    Mixture.logPrior(hidden, r0, rows, dim, prior, experts, logPrior);
    Blas.get().sgemm(false, true, rows, kd, dim, 1f, hidden, r0 * dim, dim, latentW.data, 0, dim, 0f, lat, 0, kd);
    Parallel.forRange(rows, 4, (a, b) -> {
      for (int r = a; r < b; r++) {
        Vec.add(latentB.data, 0, lat, r * kd, kd);
        Vec.tanhInPlace(lat, r * kd, kd);
      }
    });
  }

  /** logits[0..rows) = h_k · W_decᵀ + b_dec for component k of the projected block. */
  private void componentLogits(int k, int rows) {
    Blas.get().sgemm(false, true, rows, vocab, ctx, 1f, lat, k * ctx, kd, decoderW.data, 0, ctx, 0f, logits, 0, vocab);
    if (decoderB != null) {
      Parallel.forRange(rows, 8, (a, b) -> {
        for (int r = a; r < b; r++) Vec.add(decoderB.data, 0, logits, r * vocab, vocab);
      });
    }
  }

  /**
   * First pass over the components of a projected block: lse[r, k] and (for rows with a target)
   * tgt[r, k]. Leaves the logits of component K−1 in the buffer, unmodified.
   */
  private void componentStats(int rows, int[] targets, int base, Loss loss) {
    for (int k = 0; k < experts; k++) {
      final int kk = k;
      componentLogits(k, rows);
      Parallel.forRange(rows, 4, (a, b) -> {
        for (int r = a; r < b; r++) {
          int off = r * vocab;
          float m = Vec.max(logits, off, vocab);
          lse[r * experts + kk] = (float) (m + Math.log(Vec.sumExp(logits, off, vocab, m)));
          int t = targets == null ? -1 : targets[base + r];
          tgt[r * experts + kk] = t < 0 || loss.ignored(t) ? 0f : logits[off + t];
        }
      });
    }
  }

  /** joint[k] = log π_k + log p_k(target) of block row r after {@link #componentStats}, in double. */
  private double[] joint(int r, double[] joint) {
    int o = r * experts;
    for (int k = 0; k < experts; k++) joint[k] = (double) logPrior[o + k] + tgt[o + k] - lse[o + k];
    return joint;
  }

  // ---------------------------------------------------------------- contract

  @Override
  public double forwardBackward(float[] hidden, int n, int[] targets, float[] gradHidden, Loss loss, float[] rowLoss) {
    int count = loss.validate(targets, n, vocab);
    float scale = loss.gradScale(count);
    int block = blockRows(n);
    ensure(block);
    Blas blas = Blas.get();
    double total = 0;
    for (int r0 = 0; r0 < n; r0 += block) {
      final int rows = Math.min(block, n - r0), base = r0;
      project(hidden, r0, rows);
      componentStats(rows, targets, base, loss);
      // per row: NLL, scaled responsibilities and the prior-logit gradient scale·(π − r)
      total += Mixture.posteriorBlock(rows, experts, targets, base, loss, scale, logPrior, this::joint,
          resp, experts, 1, dPrior, rowLoss);
      // second pass, components in reverse: the last one's logits are still in the buffer
      for (int k = experts - 1; k >= 0; k--) {
        final int kk = k;
        if (k != experts - 1) componentLogits(k, rows);
        Parallel.forRange(rows, 4, (a, b) -> {
          for (int r = a; r < b; r++) {
            int off = r * vocab;
            float f = resp[r * experts + kk];
            if (f == 0f) { Arrays.fill(logits, off, off + vocab, 0f); continue; }
            Vec.softmaxGradGivenLse(logits, off, vocab, targets[base + r], lse[r * experts + kk], f);
          }
        });
        // d/d h_k = G_k · W_dec ;  dW_dec += G_kᵀ · h_k ;  db_dec += Σ_rows G_k
        blas.sgemm(false, false, rows, ctx, vocab, 1f, logits, 0, vocab, decoderW.data, 0, ctx, 0f, dLat, k * ctx, kd);
        blas.sgemm(true, false, vocab, ctx, rows, 1f, logits, 0, vocab, lat, k * ctx, kd, 1f, decoderW.grad, 0, ctx);
        if (decoderB != null) addColumnSums(logits, rows, vocab, decoderB.grad);
      }
      // through tanh: dZ = dH_k ⊙ (1 − h_k²)
      Parallel.forRange(rows, 4, (a, b) -> {
        Vec.tanhBackwardInPlace(dLat, lat, a * kd, (b - a) * kd);
      });
      blas.sgemm(true, false, kd, dim, rows, 1f, dLat, 0, kd, hidden, r0 * dim, dim, 1f, latentW.grad, 0, dim);
      addColumnSums(dLat, rows, kd, latentB.grad);
      blas.sgemm(true, false, experts, dim, rows, 1f, dPrior, 0, experts, hidden, r0 * dim, dim, 1f, prior.grad, 0, dim);
      if (gradHidden != null) {
        blas.sgemm(false, false, rows, dim, kd, 1f, dLat, 0, kd, latentW.data, 0, dim, 0f, gradHidden, r0 * dim, dim);
        blas.sgemm(false, false, rows, dim, experts, 1f, dPrior, 0, experts, prior.data, 0, dim, 1f, gradHidden, r0 * dim, dim);
      }
    }
    return loss.reduce(total, count);
  }

  /** acc[j] += Σ_r m[r, j] for a row-major [rows, cols] matrix. */
  private static void addColumnSums(float[] m, int rows, int cols, float[] acc) {
    Parallel.forRange(cols, 1024, (a, b) -> {
      for (int r = 0; r < rows; r++) Vec.add(m, r * cols + a, acc, a, b - a);
    });
  }

  @Override
  public void targetLogProb(float[] hidden, int n, int[] targets, float[] out) {
    Loss.checkTargets(targets, n, vocab);
    int block = blockRows(n);
    ensure(block);
    for (int r0 = 0; r0 < n; r0 += block) {
      final int rows = Math.min(block, n - r0), base = r0;
      project(hidden, r0, rows);
      componentStats(rows, targets, base, Loss.STRICT);
      double[] joint = new double[experts];
      for (int r = 0; r < rows; r++) out[base + r] = (float) Mixture.logLikelihood(joint(r, joint), experts);
    }
  }

  /**
   * Mixture log-probs of a projected block into out[outOff ..] ([rows, V]): component by component,
   * out = logaddexp(out, log π_k + z_k − lse_k).
   */
  private void mixture(int rows, float[] out, int outOff) {
    for (int k = 0; k < experts; k++) {
      final int kk = k;
      componentLogits(k, rows);
      Parallel.forRange(rows, 4, (a, b) -> {
        for (int r = a; r < b; r++) {
          int off = r * vocab;
          float shift = logPrior[r * experts + kk] - Vec.logSumExp(logits, off, vocab);
          Mixture.accumulate(out, outOff + off, logits, off, shift, vocab, kk == 0);
        }
      });
    }
  }

  @Override
  public void logProb(float[] hidden, int n, float[] out) {
    int block = blockRows(n);
    ensure(block);
    for (int r0 = 0; r0 < n; r0 += block) {
      int rows = Math.min(block, n - r0);
      project(hidden, r0, rows);
      mixture(rows, out, r0 * vocab);
    }
  }

  /** Exact top-k: the full mixture of each row block is formed (in a second [B, V] buffer) and selected from. */
  @Override
  public TopK topK(float[] hidden, int n, int k) {
    TopK.checkK(k, vocab);
    int[] ids = new int[n * k];
    float[] vals = new float[n * k];
    int block = blockRows(n);
    ensure(block);
    mix = Workspace.grow(mix, (long) block * vocab);
    for (int r0 = 0; r0 < n; r0 += block) {
      final int rows = Math.min(block, n - r0), base = r0;
      project(hidden, r0, rows);
      mixture(rows, mix, 0);
      Parallel.forRange(rows, 4, (a, b) -> {
        for (int r = a; r < b; r++) TopK.selectRow(mix, r * vocab, vocab, k, ids, vals, (base + r) * k);
      });
    }
    return new TopK(n, k, ids, vals);
  }
}
