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
 * A mixture of adaptive softmaxes ({@code --head mos --mos-base adaptive}): the mixture of softmaxes of
 * Yang et al. (2018) whose K components are adaptive softmaxes (Grave et al. 2017) sharing one cluster
 * structure and one set of weights, so that a high-rank head stays affordable for large vocabularies.
 * For a hidden state h ∈ R^d:
 * <pre>
 *   π      = softmax(W_π h)                       W_π = prior.weight [K, d] (no bias, as in
 *                                                 {@link MixtureOfSoftmaxes})
 *   h_k    = tanh(W_k h + b_k) ∈ R^D              latent.weight [K·D, d], latent.bias [K·D];
 *                                                 component k uses rows k·D .. (k+1)·D
 *   log P(w|h) = logsumexp_k(log π_k + log p_A(w | h_k))
 * </pre>
 * where p_A is ONE {@link AdaptiveSoftmax} with input size D (the model's cutoffs, div_value and
 * head_bias), shared by every component; its parameters are PyTorch's
 * {@code AdaptiveLogSoftmaxWithLoss} names under {@code adaptive.} ({@code adaptive.head.weight},
 * {@code adaptive.tail.{i}.0.weight}, ...), as a PyTorch module holding it as {@code self.adaptive}
 * would name them. Everything is in log space (no {@code log(p + 1e-8)} floor).
 *
 * <h2>Gradients</h2>
 * With the responsibilities {@code γ_k = softmax_k(log π_k + log p_A(y | h_k))} (the posterior over
 * components given the target), {@code −log P(y|h)} has
 * <pre>
 *   d/d(W_π h)_k      = π_k − γ_k
 *   d/d(adaptive, h_k) = γ_k · d(−log p_A(y | h_k))          (the adaptive backward, row-weighted)
 *   d/d(W_k h + b_k)   = (d/dh_k) ⊙ (1 − h_k²)
 * </pre>
 *
 * <h2>Cost and memory</h2>
 * The K contexts of a block of B rows are laid out component-major, [K, B, D], so the shared adaptive
 * softmax sees them as one batch of K·B rows: training runs {@link AdaptiveSoftmax#targetLogProb} on
 * it (for γ), then {@link AdaptiveSoftmax#weightedForwardBackward} with row weights scale·γ. That is
 * about K × (one adaptive softmax forward + forward/backward) plus the K projections; no [N, V]
 * buffer exists (the adaptive softmax bounds its tail blocks, and B bounds its [K·B, head] buffer).
 * {@link #logProb} adds the components into the output one at a time (running logaddexp), so its
 * memory is one [B, V] buffer whatever K is. {@link #topK} is exact without [N, V]: the shortlist is
 * mixed from the K heads, and tail cluster c is expanded (for all components, exactly) only for rows
 * where its mixture probability Σ_k π_k P_A(c | h_k) — an upper bound on the probability of each of
 * its words — can still reach the row's k-th best.
 *
 * <p>With K = 1 the prior is exactly 1 and the head is an adaptive softmax over tanh(W_1 h + b_1).
 * No output weight can be tied to a [V, d] input embedding.
 */
public final class AdaptiveMixture implements OutputLayer {

  private final int vocab, dim, experts, ctx, kd;
  private final int shortlist, clusters, headSize;
  private final int[] bounds;     // c_0 .. c_{C-1}, V
  private final MixtureOfSoftmaxes.Spec spec;
  public final Parameter prior;   // [K, d]
  public final Parameter latentW; // [K·D, d]
  public final Parameter latentB; // [K·D]
  /** The shared component softmax, input size D; its parameters are named {@code adaptive.*}. */
  public final AdaptiveSoftmax adaptive;

  // per-block buffers, grown lazily
  private float[] logPrior = new float[0]; // [B, K] log π
  private float[] dPrior = new float[0];   // [B, K] d loss / d prior logits
  private float[] lat = new float[0];      // [K, B, D] tanh contexts, component-major
  private float[] dLat = new float[0];     // [K, B, D] d loss / d contexts, then / d pre-tanh
  private float[] lpA = new float[0];      // [K·B] log p_A(target | h_k)
  private float[] weight = new float[0];   // [K·B] scale · γ
  private int[] tk = new int[0];           // [K·B] targets repeated per component (0 for ignored rows)
  private float[] comp = new float[0];     // [B, D] one component's contexts (packed)
  private float[] tmp = new float[0];      // [B, V] one component's log-probs, or [B, osz] in top-k
  private float[] acc = new float[0];      // [B, osz] mixture log-probs of a cluster (top-k)
  private float[] headLp = new float[0];   // [K, B, head] component head log-probs (top-k)
  private float[] mixHead = new float[0];  // [B, head] mixture head log-probs (top-k)

  /**
   * A new head, initialised like PyTorch's {@code nn.Linear} / {@code AdaptiveLogSoftmaxWithLoss}.
   *
   * @param experts  K >= 1
   * @param ctxDim   D, the size of each component context (0 = dim)
   * @param cutoffs  the adaptive softmax cutoffs (see {@link AdaptiveSoftmax#validate})
   * @param divValue the adaptive softmax div_value
   * @param headBias the adaptive softmax head_bias
   */
  public AdaptiveMixture(int vocab, int dim, int experts, int ctxDim, int[] cutoffs, double divValue, boolean headBias, Rng rng) {
    if (vocab < 2) throw new IllegalArgumentException("vocabulary size must be >= 2, got " + vocab);
    if (dim < 1) throw new IllegalArgumentException("input dimension must be >= 1, got " + dim);
    if (experts < 1) throw new IllegalArgumentException("--experts must be >= 1, got " + experts);
    if (ctxDim < 0) throw new IllegalArgumentException("--mos-dim must be >= 0 (0 = hidden size), got " + ctxDim);
    this.vocab = vocab;
    this.dim = dim;
    this.experts = experts;
    this.ctx = ctxDim != 0 ? ctxDim : dim;
    if ((long) experts * ctx > Integer.MAX_VALUE / Math.max(1, dim)) {
      throw new IllegalArgumentException("--experts " + experts + " x --mos-dim " + ctx + " is too large");
    }
    this.kd = experts * ctx;
    AdaptiveSoftmax.validate(ctx, vocab, cutoffs, divValue);
    float rIn = (float) (1.0 / Math.sqrt(dim));
    prior = new Parameter("prior.weight", experts, dim);
    rng.fillUniform(prior.data, -rIn, rIn);
    latentW = new Parameter("latent.weight", kd, dim);
    rng.fillUniform(latentW.data, -rIn, rIn);
    latentB = new Parameter("latent.bias", kd);
    rng.fillUniform(latentB.data, -rIn, rIn);
    adaptive = new AdaptiveSoftmax(ctx, vocab, cutoffs, divValue, headBias, rng);
    for (Parameter p : adaptive.parameters()) p.rename("adaptive." + p.name());
    this.shortlist = adaptive.shortlistSize();
    this.clusters = adaptive.nClusters();
    this.headSize = adaptive.headSize();
    this.bounds = Arrays.copyOf(adaptive.cutoffs(), clusters + 1);
    bounds[clusters] = vocab;
    this.spec = new MixtureOfSoftmaxes.Spec(false, experts, ctxDim, MixtureOfSoftmaxes.MosBase.ADAPTIVE,
        adaptive.cutoffs(), divValue, headBias);
  }

  /**
   * The head {@code --head mos --mos-base adaptive} builds: K = experts, D = mosDim (0 = dim), and the
   * adaptive softmax's cutoffs (empty = {@link AdaptiveSoftmax#defaultCutoffs}), div_value and head_bias.
   */
  public static AdaptiveMixture fromSpec(MixtureOfSoftmaxes.Spec spec, int vocab, int dim, Parameter tiedWeight, Rng rng) {
    if (tiedWeight != null) {
      throw new IllegalArgumentException("--mos-base adaptive cannot tie its output weights to the input embedding; use --no-tied");
    }
    int[] cutoffs = spec.cutoffs() == null || spec.cutoffs().length == 0 ? AdaptiveSoftmax.defaultCutoffs(vocab) : spec.cutoffs();
    return new AdaptiveMixture(vocab, dim, spec.experts(), spec.mosDim(), cutoffs, spec.divValue(), spec.headBias(), rng);
  }

  @Override public int vocabSize() { return vocab; }
  @Override public int inputDim() { return dim; }
  @Override public String type() { return "mos"; }
  @Override public MixtureOfSoftmaxes.Spec spec() { return spec; }

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
    ps.addAll(adaptive.parameters());
    return ps;
  }

  // ---------------------------------------------------------------- building blocks

  /** Rows per block so that a [B, width] buffer stays under {@link Workspace#BLOCK_FLOATS}. */
  private static int blockRows(int n, long width) {
    return Workspace.rowsPerBlock(Workspace.BLOCK_FLOATS, width, n);
  }

  private void ensure(int rows) {
    logPrior = Workspace.grow(logPrior, (long) rows * experts);
    dPrior = Workspace.grow(dPrior, (long) rows * experts);
    lat = Workspace.grow(lat, (long) rows * kd);
    lpA = Workspace.grow(lpA, (long) rows * experts);
    weight = Workspace.grow(weight, (long) rows * experts);
    tk = Workspace.grow(tk, (long) rows * experts);
  }

  /**
   * For hidden rows r0 .. r0+rows: logPrior [rows, K] = log softmax(W_π h), lat [K, rows, D] =
   * tanh(W_k h + b_k).
   */
  private void project(float[] hidden, int r0, int rows) {
    Mixture.logPrior(hidden, r0, rows, dim, prior, experts, logPrior);
    Blas blas = Blas.get();
    for (int k = 0; k < experts; k++) {
      blas.sgemm(false, true, rows, ctx, dim, 1f, hidden, r0 * dim, dim, latentW.data, k * ctx * dim, dim, 0f, lat, k * rows * ctx, ctx);
    }
    Parallel.forRange(rows, 4, (a, b) -> {
      for (int r = a; r < b; r++) {
        for (int k = 0; k < experts; k++) {
          int off = (k * rows + r) * ctx;
          Vec.add(latentB.data, k * ctx, lat, off, ctx);
          Vec.tanhInPlace(lat, off, ctx);
        }
      }
    });
  }

  /**
   * tk = the block's targets repeated per component (ignored rows get id 0, weight 0 later), then
   * lpA[k·rows + r] = log p_A(tk | h_k) for every component and row.
   */
  private void componentTargetLogProb(int[] targets, int r0, int rows, Loss loss) {
    for (int k = 0; k < experts; k++) {
      for (int r = 0; r < rows; r++) {
        int t = targets[r0 + r];
        tk[k * rows + r] = loss.ignored(t) ? 0 : t;
      }
    }
    adaptive.targetLogProb(lat, experts * rows, tk, lpA);
  }

  /** joint[k] = log π_k + log p_A(target | h_k) of block row r, in double, after componentTargetLogProb. */
  private double[] joint(int r, int rows, double[] joint) {
    for (int k = 0; k < experts; k++) joint[k] = (double) logPrior[r * experts + k] + lpA[k * rows + r];
    return joint;
  }

  // ---------------------------------------------------------------- training and scoring

  @Override
  public double forwardBackward(float[] hidden, int n, int[] targets, float[] gradHidden, Loss loss, float[] rowLoss) {
    int count = loss.validate(targets, n, vocab);
    float scale = loss.gradScale(count);
    int block = blockRows(n, (long) experts * Math.max(headSize, ctx));
    ensure(block);
    dLat = Workspace.grow(dLat, (long) block * kd);
    Blas blas = Blas.get();
    double total = 0;
    for (int r0 = 0; r0 < n; r0 += block) {
      final int rows = Math.min(block, n - r0), base = r0;
      project(hidden, r0, rows);
      componentTargetLogProb(targets, r0, rows, loss);
      // per row: NLL, weights scale·γ_k and prior-logit gradient scale·(π_k − γ_k)
      total += Mixture.posteriorBlock(rows, experts, targets, base, loss, scale, logPrior, (r, buf) -> joint(r, rows, buf),
          weight, 1, rows, dPrior, rowLoss);
      // the shared adaptive softmax on all K·rows contexts, each row weighted by scale·γ
      int m = experts * rows;
      adaptive.weightedForwardBackward(lat, m, tk, weight, dLat);
      // through tanh: d pre-activation = dH ⊙ (1 − h²)
      Parallel.forRange(m, 16, (a, b) -> {
        Vec.tanhBackwardInPlace(dLat, lat, a * ctx, (b - a) * ctx);
      });
      for (int k = 0; k < experts; k++) {
        int zo = k * rows * ctx;
        blas.sgemm(true, false, ctx, dim, rows, 1f, dLat, zo, ctx, hidden, r0 * dim, dim, 1f, latentW.grad, k * ctx * dim, dim);
        for (int r = 0; r < rows; r++) Vec.add(dLat, zo + r * ctx, latentB.grad, k * ctx, ctx);
      }
      blas.sgemm(true, false, experts, dim, rows, 1f, dPrior, 0, experts, hidden, r0 * dim, dim, 1f, prior.grad, 0, dim);
      if (gradHidden != null) {
        blas.sgemm(false, false, rows, dim, experts, 1f, dPrior, 0, experts, prior.data, 0, dim, 0f, gradHidden, r0 * dim, dim);
        for (int k = 0; k < experts; k++) {
          blas.sgemm(false, false, rows, dim, ctx, 1f, dLat, k * rows * ctx, ctx, latentW.data, k * ctx * dim, dim,
              1f, gradHidden, r0 * dim, dim);
        }
      }
    }
    return loss.reduce(total, count);
  }

  @Override
  public void targetLogProb(float[] hidden, int n, int[] targets, float[] out) {
    Loss.checkTargets(targets, n, vocab);
    int block = blockRows(n, (long) experts * Math.max(headSize, ctx));
    ensure(block);
    for (int r0 = 0; r0 < n; r0 += block) {
      int rows = Math.min(block, n - r0);
      project(hidden, r0, rows);
      componentTargetLogProb(targets, r0, rows, Loss.STRICT);
      double[] joint = new double[experts];
      for (int r = 0; r < rows; r++) out[r0 + r] = (float) Mixture.logLikelihood(joint(r, rows, joint), experts);
    }
  }

  // ---------------------------------------------------------------- full distribution and top-k

  /**
   * Exact [n, V] log-probabilities: per row block, component by component, the adaptive softmax's
   * full log-probs of h_k are added into the output with out = logaddexp(out, log π_k + log p_A).
   */
  @Override
  public void logProb(float[] hidden, int n, float[] out) {
    int block = blockRows(n, Math.max(vocab, (long) kd));
    ensure(block);
    comp = Workspace.grow(comp, (long) block * ctx);
    tmp = Workspace.grow(tmp, (long) block * vocab);
    for (int r0 = 0; r0 < n; r0 += block) {
      final int rows = Math.min(block, n - r0), base = r0;
      project(hidden, r0, rows);
      for (int k = 0; k < experts; k++) {
        final int kk = k;
        System.arraycopy(lat, k * rows * ctx, comp, 0, rows * ctx);
        adaptive.logProb(comp, rows, tmp);
        Parallel.forRange(rows, 4, (a, b) -> {
          for (int r = a; r < b; r++) {
            int off = (base + r) * vocab;
            Mixture.accumulate(out, off, tmp, r * vocab, logPrior[r * experts + kk], vocab, kk == 0);
          }
        });
      }
    }
  }

  /**
   * Exact top-k per row, best first. The mixture head log-probs M[j] = logsumexp_k(log π_k +
   * log p_head,k[j]) give the shortlist words exactly (a shortlist word's mixture log-prob) and,
   * for cluster c, log Σ_k π_k P_A(c | h_k), an upper bound on the mixture log-prob of each of its
   * words (the within-cluster probabilities are ≤ 1). Cluster c is expanded, for every component
   * and exactly, only for rows where that bound (plus a rounding margin) reaches the row's k-th best
   * or the list is not yet full; skipping is therefore exact.
   */
  @Override
  public TopK topK(float[] hidden, int n, int k) {
    TopK.checkK(k, vocab);
    int[] ids = new int[n * k];
    float[] vals = new float[n * k];
    int[] size = new int[n];
    int block = blockRows(n, Math.max(vocab, (long) experts * Math.max(headSize, ctx)));
    ensure(block);
    comp = Workspace.grow(comp, (long) block * ctx);
    headLp = Workspace.grow(headLp, (long) experts * block * headSize);
    mixHead = Workspace.grow(mixHead, (long) block * headSize);
    tmp = Workspace.grow(tmp, (long) block * headSize);
    int first = Math.min(k, shortlist);
    for (int r0 = 0; r0 < n; r0 += block) {
      final int rows = Math.min(block, n - r0), base = r0;
      project(hidden, r0, rows);
      for (int c = 0; c < experts; c++) {
        final int cc = c;
        System.arraycopy(lat, c * rows * ctx, comp, 0, rows * ctx);
        adaptive.headLogProb(comp, rows, tmp);
        System.arraycopy(tmp, 0, headLp, c * rows * headSize, rows * headSize);
        Parallel.forRange(rows, 16, (a, b) -> {
          for (int r = a; r < b; r++) {
            int off = r * headSize;
            Mixture.accumulate(mixHead, off, tmp, off, logPrior[r * experts + cc], headSize, cc == 0);
          }
        });
      }
      Parallel.forRange(rows, 16, (a, b) -> {
        for (int r = a; r < b; r++) {
          TopK.selectRow(mixHead, r * headSize, shortlist, k, ids, vals, (base + r) * k);
          size[base + r] = first;
        }
      });
      for (int c = 0; c < clusters; c++) expandCluster(c, base, rows, k, ids, vals, size);
    }
    return new TopK(n, k, ids, vals);
  }

  /** Merges tail cluster c's best words into the lists of the block's rows whose bound can still compete. */
  private void expandCluster(int c, int base, int rows, int k, int[] ids, float[] vals, int[] size) {
    int o = bounds[c + 1] - bounds[c], first = bounds[c], hc = shortlist + c, kc = Math.min(k, o);
    int[] sel = new int[rows];
    int m = 0;
    for (int r = 0; r < rows; r++) {
      float bound = mixHead[r * headSize + hc];
      int last = (base + r) * k + k - 1;
      float margin = 1e-5f * Math.max(1f, Math.abs(bound));
      if (size[base + r] < k || bound + margin >= vals[last]) sel[m++] = r;
    }
    if (m == 0) return;
    final int mm = m;
    acc = Workspace.grow(acc, (long) m * o);
    tmp = Workspace.grow(tmp, (long) m * o);
    // acc[j] = logsumexp_k(log π_k + log p_head,k[c] + tail log-softmax_k), one component at a time
    for (int e = 0; e < experts; e++) {
      final int ee = e;
      for (int j = 0; j < m; j++) System.arraycopy(lat, (e * rows + sel[j]) * ctx, comp, j * ctx, ctx);
      adaptive.tailLogSoftmax(comp, m, c, tmp);
      Parallel.forRange(m, 8, (a, b) -> {
        for (int j = a; j < b; j++) {
          int r = sel[j];
          float shift = logPrior[r * experts + ee] + headLp[(ee * rows + r) * headSize + hc];
          Mixture.accumulate(acc, j * o, tmp, j * o, shift, o, ee == 0);
        }
      });
    }
    Parallel.forRange(mm, 8, (a, b) -> {
      int[] candIds = new int[kc], mergedIds = new int[k];
      float[] candVals = new float[kc], mergedVals = new float[k];
      for (int j = a; j < b; j++) {
        int ro = (base + sel[j]) * k;
        TopK.selectRow(acc, j * o, o, kc, candIds, candVals, 0);
        for (int q = 0; q < kc; q++) candIds[q] += first;
        size[base + sel[j]] = TopK.merge(ids, vals, ro, size[base + sel[j]], k, candIds, candVals, 0, kc, mergedIds, mergedVals);
      }
    });
  }
}
