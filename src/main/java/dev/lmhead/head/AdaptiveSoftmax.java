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
 * Adaptive softmax (Grave et al. 2017, "Efficient softmax approximation for GPUs") with the semantics,
 * arguments and state names of PyTorch's {@code nn.AdaptiveLogSoftmaxWithLoss}, so weights move both
 * ways between the two.
 *
 * <h2>Model</h2>
 * The vocabulary is frequency sorted (id 0 = most frequent) and split by {@code cutoffs}
 * {@code c_0 < c_1 < ... < c_{C-1} < V}: the <em>shortlist</em> is ids [0, c_0); tail cluster i covers
 * ids [c_i, c_{i+1}) with {@code c_C = V}. With hidden state h ∈ R^d:
 * <ul>
 *   <li>head: {@code z = h·Hᵀ (+ b)}, H = {@code head.weight} [c_0 + C, d], b = {@code head.bias}
 *       [c_0 + C] (only with {@code head_bias}); entries 0..c_0-1 are the shortlist words, entry c_0 + i
 *       is cluster i. {@code log p_head = log_softmax(z)}.</li>
 *   <li>tail i: {@code u = (h·P_iᵀ)·O_iᵀ}, P_i = {@code tail.{i}.0.weight} [hsz_i, d] (projection down
 *       to {@code hsz_i = floor(d / div_value^(i+1))}), O_i = {@code tail.{i}.1.weight} [osz_i, hsz_i]
 *       with {@code osz_i = c_{i+1} - c_i}; no biases.</li>
 *   <li>{@code log P(w|h) = log p_head[w]} for a shortlist word, and
 *       {@code log p_head[c_0 + i] + log_softmax(u)[w - c_i]} for a word of cluster i.</li>
 * </ul>
 * The distribution is exactly normalised.
 *
 * <h2>Cost</h2>
 * Training computes the head for every row and each tail only for the rows whose target falls in it:
 * the rows of cluster i are gathered into a packed [m_i, d] block, the tail's two GEMMs (and their
 * three backward GEMMs) run on that block, and the input gradients are scattered back. No [N, V]
 * buffer exists; the largest is [block, osz_i], bounded at 64 MiB by splitting rows.
 * {@link #topK} is exact without [N, V]: after the head, cluster i is expanded for a row only when an
 * upper bound on the log-prob of every word in it can still beat the row's current k-th best. The
 * bound is the cluster's head log-prob plus min(0, R_i·‖z‖ − log osz_i), where z = P_i·h is the row's
 * projection and R_i = max_j ‖o_j − ō‖ the spread of the cluster's output embeddings around their
 * mean: the best tail word's log-softmax u_max − lse(u) is at most u_max − mean(u) − log osz_i
 * (Jensen), and u_max − mean(u) = max_j (o_j − ō)·z ≤ R_i·‖z‖ (Cauchy–Schwarz). It costs one
 * [N, d]·[d, hsz_i] product per cluster, against [N, hsz_i]·[hsz_i, osz_i] for the expansion.
 *
 * <h2>Beyond PyTorch</h2>
 * Reductions mean | sum | none and an ignore index ({@link Loss}), exact top-k, and shared
 * (tied) parameters: {@link #fromParameters} builds a head over existing {@link Parameter} objects,
 * which {@link dev.lmhead.nn.AdaptiveInput} uses to tie its embedding bands to the clusters.
 *
 * <p>Initialisation is PyTorch's {@code nn.Linear} default: every weight and the head bias are
 * uniform in ±1/sqrt(fan_in).
 */
public final class AdaptiveSoftmax implements OutputLayer {
  public static final HeadOption CUTOFFS = HeadOption.of("cutoffs", HeadOption.Kind.INT_LIST, "",
      "adaptive: ascending cluster boundaries, e.g. 2000,10000 (default: scaled to V).");
  public static final HeadOption DIV_VALUE = HeadOption.of("div-value", HeadOption.Kind.DOUBLE, "4.0",
      "adaptive: projection size divisor per cluster (default: 4.0).");
  public static final HeadOption HEAD_BIAS = HeadOption.of("head-bias", HeadOption.Kind.FLAG, "false",
      "adaptive: bias in the head (PyTorch head_bias).");

  /**
   * {@code --head adaptive}: PyTorch's {@code AdaptiveLogSoftmaxWithLoss} arguments.
   *
   * @param cutoffs  ascending cluster boundaries (PyTorch's {@code cutoffs}, without V); empty = {@link #defaultCutoffs}
   * @param divValue PyTorch's {@code div_value}
   * @param headBias PyTorch's {@code head_bias}
   */
  public record Spec(int[] cutoffs, double divValue, boolean headBias) implements HeadSpec {
    public Spec {
      if (cutoffs == null) cutoffs = new int[0];
    }
    @Override public String type() { return "adaptive"; }
    @Override public OutputLayer create(int vocab, int dim, long[] counts, Parameter tiedWeight, Rng rng) {
      return AdaptiveSoftmax.create(this, vocab, dim, tiedWeight, rng);
    }
    @Override public String describe() { return "adaptive(cutoffs " + Arrays.toString(cutoffs) + ", div " + divValue + ")"; }
    @Override public Spec resolve(int vocab) {
      return cutoffs.length > 0 ? this : new Spec(defaultCutoffs(vocab), divValue, headBias);
    }
    @Override public List<String> pytorchArgs() {
      return List.of("--head", type(), "--cutoffs", String.join(",", Arrays.stream(cutoffs).mapToObj(Integer::toString).toList()),
          "--div-value", "" + divValue);
    }
  }

  /** The registry entry ({@link Heads}). */
  public static final HeadType TYPE = new HeadType("adaptive", "adaptive softmax", Spec.class,
      List.of(CUTOFFS, DIV_VALUE, HEAD_BIAS), o -> new Spec(o.ints(CUTOFFS), o.real(DIV_VALUE), o.bool(HEAD_BIAS)), true);


  private final int in, vocab, shortlist, clusters, headSize;
  private final int[] cutoffs;   // as given: c_0 .. c_{C-1}
  private final int[] bounds;    // c_0 .. c_{C-1}, V: cluster i covers [bounds[i], bounds[i+1])
  private final int[] hsz, osz;  // per tail cluster: projection size and word count
  private final double divValue;
  private final Spec spec;

  /** {@code head.weight} [shortlist + clusters, in]. */
  public final Parameter headWeight;
  /** {@code head.bias} [shortlist + clusters], or null without head bias. */
  public final Parameter headBias;
  /** {@code tail.{i}.0.weight} [hsz_i, in]: projection of cluster i. */
  public final Parameter[] tailProj;
  /** {@code tail.{i}.1.weight} [osz_i, hsz_i]: output embeddings of cluster i. */
  public final Parameter[] tailOut;

  // work buffers, grown lazily and reused across calls
  private float[] head = new float[0];     // [n, headSize] logits -> log-probs -> gradient
  private float[] x = new float[0];        // [block, in] packed rows of one cluster
  private float[] p = new float[0];        // [block, hsz] projected rows
  private float[] u = new float[0];        // [block, osz] tail logits -> gradient
  private float[] dp = new float[0];       // [block, hsz]
  private float[] dx = new float[0];       // [block, in]
  private float[] rowLp = new float[0];    // [n] log P(target) being assembled
  private int[] order = new int[0];        // rows grouped by cluster
  private int[] rowCluster = new int[0];   // [n] cluster of the row's target, -1 shortlist/ignored
  private int[] candIds = new int[0];      // top-k scratch
  private float[] candVals = new float[0];
  private long expansions;                 // rows expanded by the last topK, over all clusters
  private final java.util.concurrent.atomic.AtomicLong scansRuledOut = new java.util.concurrent.atomic.AtomicLong();
  private boolean training = true;         // train(boolean): the bound statistics below are cached only in eval mode
  private Spread[] spread;                 // per tail cluster, of outputSpread, or null (not cached)

  /**
   * A new head, initialised like PyTorch.
   *
   * @param inFeatures size d of the hidden states (PyTorch {@code in_features})
   * @param nClasses   vocabulary size V (PyTorch {@code n_classes})
   * @param cutoffs    strictly increasing cluster boundaries in [1, V-1] (V itself is implicit)
   * @param divValue   tail i projects to floor(d / divValue^(i+1)); > 0 (PyTorch default 4.0)
   * @param headBias   give the head a bias (PyTorch default false)
   */
  public AdaptiveSoftmax(int inFeatures, int nClasses, int[] cutoffs, double divValue, boolean headBias, Rng rng) {
    this(inFeatures, nClasses, cutoffs, divValue, headBias, null, null, null, null);
    float r = (float) (1.0 / Math.sqrt(in));
    rng.fillUniform(headWeight.data, -r, r);
    if (this.headBias != null) rng.fillUniform(this.headBias.data, -r, r);
    for (int i = 0; i < clusters; i++) {
      rng.fillUniform(tailProj[i].data, -r, r);
      float ro = (float) (1.0 / Math.sqrt(hsz[i]));
      rng.fillUniform(tailOut[i].data, -ro, ro);
    }
  }

  /**
   * The head {@code --head adaptive} builds (see {@link Heads#create}): empty {@code spec.cutoffs()}
   * means {@link #defaultCutoffs}. A full [V, d] embedding cannot be tied to this head; tie an
   * {@link dev.lmhead.nn.AdaptiveInput} to it instead.
   */
  public static AdaptiveSoftmax create(Spec spec, int vocab, int dim, Parameter tiedWeight, Rng rng) {
    if (tiedWeight != null) {
      throw new IllegalArgumentException("--head adaptive cannot share a full [V, d] input embedding; tie it to adaptive input embeddings instead");
    }
    int[] cutoffs = spec.cutoffs() == null || spec.cutoffs().length == 0 ? defaultCutoffs(vocab) : spec.cutoffs();
    return new AdaptiveSoftmax(dim, vocab, cutoffs, spec.divValue(), spec.headBias(), rng);
  }

  /**
   * A head over existing parameters (tying, or a PyTorch state_dict loaded by the caller). The
   * parameters are used as they are — the same objects, not copies — so every module that holds
   * them updates and accumulates into the same arrays. Shapes are checked against the arguments.
   *
   * @param headBias null for no head bias
   */
  public static AdaptiveSoftmax fromParameters(int inFeatures, int nClasses, int[] cutoffs, double divValue,
                                               Parameter headWeight, Parameter headBias,
                                               Parameter[] tailProj, Parameter[] tailOut) {
    if (headWeight == null || tailProj == null || tailOut == null) {
      throw new IllegalArgumentException("fromParameters needs head.weight and every tail weight");
    }
    return new AdaptiveSoftmax(inFeatures, nClasses, cutoffs, divValue, headBias != null,
        headWeight, headBias, tailProj, tailOut);
  }

  private AdaptiveSoftmax(int inFeatures, int nClasses, int[] cutoffs, double divValue, boolean useHeadBias,
                          Parameter hw, Parameter hb, Parameter[] tp, Parameter[] to) {
    validate(inFeatures, nClasses, cutoffs, divValue);
    this.in = inFeatures;
    this.vocab = nClasses;
    this.cutoffs = cutoffs.clone();
    this.divValue = divValue;
    this.clusters = cutoffs.length;
    this.shortlist = cutoffs[0];
    this.headSize = shortlist + clusters;
    this.bounds = Arrays.copyOf(cutoffs, clusters + 1);
    bounds[clusters] = nClasses;
    this.hsz = new int[clusters];
    this.osz = new int[clusters];
    for (int i = 0; i < clusters; i++) {
      hsz[i] = projectionSize(inFeatures, divValue, i + 1);
      osz[i] = bounds[i + 1] - bounds[i];
    }
    this.headWeight = hw != null ? expect(hw, "head.weight", headSize, in) : new Parameter("head.weight", headSize, in);
    this.headBias = !useHeadBias ? null : hb != null ? expect(hb, "head.bias", headSize) : new Parameter("head.bias", headSize);
    this.tailProj = new Parameter[clusters];
    this.tailOut = new Parameter[clusters];
    if (tp != null && (tp.length != clusters || to.length != clusters)) {
      throw new IllegalArgumentException(clusters + " cutoffs need " + clusters + " tail clusters, got " + tp.length + " and " + to.length + " tail weights");
    }
    for (int i = 0; i < clusters; i++) {
      String pn = "tail." + i + ".0.weight", on = "tail." + i + ".1.weight";
      tailProj[i] = tp != null ? expect(tp[i], pn, hsz[i], in) : new Parameter(pn, hsz[i], in);
      tailOut[i] = to != null ? expect(to[i], on, osz[i], hsz[i]) : new Parameter(on, osz[i], hsz[i]);
    }
    this.spec = new Spec(this.cutoffs.clone(), divValue, useHeadBias);
  }

  private static Parameter expect(Parameter prm, String what, int... shape) {
    if (prm == null || !Arrays.equals(prm.shape, shape)) {
      throw new IllegalArgumentException(what + " must have shape " + Arrays.toString(shape) + ", got " + (prm == null ? "none" : Arrays.toString(prm.shape)));
    }
    return prm;
  }

  // ---------------------------------------------------------------- arguments

  /**
   * Checks the arguments as strictly as PyTorch does (and a little more), with one-line messages
   * naming the flag: cutoffs non-empty, strictly increasing, each in [1, V-1]; div_value finite and
   * > 0 (1.0 is allowed, as in PyTorch, and gives every tail the full size d); every tail projection
   * size floor(d / div_value^(i+1)) at least 1.
   */
  public static void validate(int inFeatures, int nClasses, int[] cutoffs, double divValue) {
    if (inFeatures < 1) throw new IllegalArgumentException("adaptive softmax input size must be >= 1, got " + inFeatures);
    if (nClasses < 2) throw new IllegalArgumentException("adaptive softmax needs a vocabulary of at least 2 words, got " + nClasses);
    if (cutoffs == null || cutoffs.length == 0) {
      throw new IllegalArgumentException("--cutoffs must list at least one cutoff (cluster boundary) in [1, " + (nClasses - 1) + "]");
    }
    for (int i = 0; i < cutoffs.length; i++) {
      int c = cutoffs[i];
      if (c < 1 || c > nClasses - 1) {
        throw new IllegalArgumentException("--cutoffs " + str(cutoffs) + ": " + c + " is outside [1, " + (nClasses - 1)
            + "] (each cutoff must be a positive id below the vocabulary size " + nClasses + ")");
      }
      if (i > 0 && c <= cutoffs[i - 1]) {
        throw new IllegalArgumentException("--cutoffs " + str(cutoffs) + " must be sorted in increasing order and unique ("
            + cutoffs[i - 1] + " then " + c + ")");
      }
    }
    if (!(divValue > 0) || Double.isInfinite(divValue)) {
      throw new IllegalArgumentException("--div-value must be a finite number > 0, got " + divValue);
    }
    for (int i = 0; i < cutoffs.length; i++) {
      int size = projectionSize(inFeatures, divValue, i + 1);
      if (size < 1) {
        throw new IllegalArgumentException("--div-value " + divValue + " gives tail cluster " + i + " a projection size of "
            + "floor(" + inFeatures + " / " + divValue + "^" + (i + 1) + ") = 0; use a smaller --div-value, fewer --cutoffs or a larger hidden size");
      }
    }
  }

  /**
   * {@code in_features // div_value**power} with Python's float floor division, so sizes agree with
   * PyTorch's even where the quotient is within rounding of an integer.
   */
  public static int projectionSize(int inFeatures, double divValue, int power) {
    return dev.lmhead.tensor.PyFloat.floorDivPow(inFeatures, divValue, power);
  }

  /**
   * Default cutoffs for a vocabulary of V words, used when {@code --cutoffs} is not given: V/16 and
   * V/4, each rounded to the nearest number of the series 1, 2, 5, 10, 20, 50, ... in log scale
   * (below sqrt(0.5) to 0); values outside [1, V-1] and duplicates are dropped, and if none is left
   * (V = 2 or 3) the cutoffs are [1].
   *
   * <p>This is a rule of thumb, not the literature's settings: PyTorch's
   * {@code AdaptiveLogSoftmaxWithLoss} has no default, and papers choose cutoffs per data set.
   * WikiText-2 (V = 33,278) gives [2000, 10000], a common choice there; WikiText-103 (V = 267,735)
   * gives [20000, 50000], whereas Baevski &amp; Auli (fairseq's {@code transformer_lm_wiki103}) use
   * [20000, 60000] — pass {@code --cutoffs 20000,60000} to reproduce them. Other sizes:
   * V = 10,000 gives [500, 2000]; V = 1000 gives [50, 200]; V = 100,000 gives [5000, 20000].
   * The shortlist thus holds about 6% of the types, which under Zipf's law covers most tokens.
   */
  public static int[] defaultCutoffs(int vocab) {
    if (vocab < 2) throw new IllegalArgumentException("adaptive softmax needs a vocabulary of at least 2 words, got " + vocab);
    int[] c = {nice125(vocab / 16.0), nice125(vocab / 4.0)};
    int[] out = Arrays.stream(c).filter(v -> v >= 1 && v <= vocab - 1).distinct().sorted().toArray();
    return out.length > 0 ? out : new int[] {1};
  }

  /** The number of the series 1, 2, 5, 10, 20, 50, ... nearest to x in log scale (0 for x < 0.7). */
  private static int nice125(double x) {
    if (x < Math.sqrt(0.5)) return 0;
    double best = 1;
    for (double decade = 1; decade <= x * 10; decade *= 10) {
      for (double m : new double[] {1, 2, 5, 10}) {
        double v = m * decade;
        if (Math.abs(Math.log(v / x)) < Math.abs(Math.log(best / x))) best = v;
      }
    }
    return (int) best;
  }

  private static String str(int[] a) {
    return Arrays.toString(a).replace(" ", "");
  }

  // ---------------------------------------------------------------- accessors

  @Override public int vocabSize() { return vocab; }
  @Override public int inputDim() { return in; }
  @Override public String type() { return "adaptive"; }
  @Override public Spec spec() { return spec; }

  public int[] cutoffs() { return cutoffs.clone(); }
  public double divValue() { return divValue; }
  public int shortlistSize() { return shortlist; }
  public int nClusters() { return clusters; }
  /** Projection size hsz_i of tail cluster i. */
  public int projectionSize(int cluster) { return hsz[cluster]; }

  @Override
  public List<Parameter> parameters() {
    List<Parameter> ps = new ArrayList<>();
    ps.add(headWeight);
    if (headBias != null) ps.add(headBias);
    for (int i = 0; i < clusters; i++) {
      ps.add(tailProj[i]);
      ps.add(tailOut[i]);
    }
    return ps;
  }

  // ---------------------------------------------------------------- buffers

  private void ensureRows(int n) {
    head = Workspace.grow(head, (long) n * headSize);
    rowLp = Workspace.grow(rowLp, n);
    order = Workspace.grow(order, n);
    rowCluster = Workspace.grow(rowCluster, n);
  }

  /** Rows per tail block for cluster i, so that [block, osz_i] stays under {@link Workspace#BLOCK_FLOATS}. */
  private int blockRows(int cluster, int m) {
    return Workspace.rowsPerBlock(Workspace.BLOCK_FLOATS, osz[cluster], m);
  }

  private void ensureBlock(int cluster, int rows, boolean backward) {
    x = Workspace.grow(x, (long) rows * in);
    p = Workspace.grow(p, (long) rows * hsz[cluster]);
    u = Workspace.grow(u, (long) rows * osz[cluster]);
    if (backward) {
      dp = Workspace.grow(dp, (long) rows * hsz[cluster]);
      dx = Workspace.grow(dx, (long) rows * in);
    }
  }

  // ---------------------------------------------------------------- shared pieces

  /** head[0..n) = log_softmax(hidden · Hᵀ + b), [n, headSize]. */
  private void headLogProb(float[] hidden, int n) {
    headLogits(hidden, n);
    Parallel.forRange(n, 16, (a, b) -> {
      for (int r = a; r < b; r++) {
        if (headBias != null) Vec.add(headBias.data, 0, head, r * headSize, headSize);
        Vec.logSoftmaxInPlace(head, r * headSize, headSize);
      }
    });
  }

  /** head[0..n) = hidden · Hᵀ (the bias, if any, is added by the row passes that follow). */
  private void headLogits(float[] hidden, int n) {
    Blas.get().sgemm(false, true, n, headSize, in, 1f, hidden, 0, in, headWeight.data, 0, in, 0f, head, 0, headSize);
  }

  /**
   * For {@link #topK}, row r of head (already hidden · Hᵀ): adds the bias, returns the row's log-normaliser and
   * turns the cluster entries into log-probs, leaving the shortlist as logits: the log-softmax without its write
   * pass over the shortlist (the values and their rounding equal {@link #headLogProb}'s wherever they are read).
   * With {@code groups} (not null) it also leaves there the shortlist's {@link Vec#groupMaxima} for
   * {@link TopK#selectRowGivenGroups}, and takes the row maximum from them.
   */
  private float headRowForTopK(int r, float[] groups) {
    int off = r * headSize;
    float m;
    if (groups != null) { // the shortlist's group maxima, kept for the selection's floor, give the row maximum
      if (headBias != null) Vec.add(headBias.data, 0, head, off, headSize);
      Vec.groupMaxima(head, off, shortlist, groups);
      m = Math.max(Vec.max(groups, 0, groups.length), Vec.max(head, off + shortlist, clusters));
    } else { // the bias add and the max in one pass (bit for bit add then max)
      m = headBias == null ? Vec.max(head, off, headSize) : Vec.addMax(headBias.data, 0, head, off, headSize);
    }
    float l = Vec.logSumExpGivenMax(head, off, headSize, m);
    Vec.addScalar(head, off + shortlist, clusters, -l);
    return l;
  }

  /** Cluster index of a non-shortlist word id. */
  private int clusterOf(int id) {
    int c = 0;
    while (id >= bounds[c + 1]) c++;
    return c;
  }

  /**
   * Groups the rows [0, n) whose {@code rowCluster} is ≥ 0 by cluster into {@code order}; returns the
   * C + 1 start offsets (cluster i's rows are order[start[i] .. start[i+1])).
   */
  private int[] groupRows(int n) {
    int[] start = new int[clusters + 1];
    for (int r = 0; r < n; r++) if (rowCluster[r] >= 0) start[rowCluster[r] + 1]++;
    for (int i = 0; i < clusters; i++) start[i + 1] += start[i];
    int[] fill = Arrays.copyOf(start, clusters);
    for (int r = 0; r < n; r++) if (rowCluster[r] >= 0) order[fill[rowCluster[r]]++] = r;
    return start;
  }

  /** x[0..rows) = hidden rows order[from..from+rows); p = x · P_iᵀ; u = p · O_iᵀ. */
  private void tailLogits(float[] hidden, int cluster, int from, int rows) {
    int h = hsz[cluster], o = osz[cluster];
    int[] ord = order;
    Parallel.forRange(rows, 64, (a, b) -> {
      for (int j = a; j < b; j++) System.arraycopy(hidden, ord[from + j] * in, x, j * in, in);
    });
    Blas.get().sgemm(false, true, rows, h, in, 1f, x, 0, in, tailProj[cluster].data, 0, in, 0f, p, 0, h);
    Blas.get().sgemm(false, true, rows, o, h, 1f, p, 0, h, tailOut[cluster].data, 0, h, 0f, u, 0, o);
  }

  // ---------------------------------------------------------------- training and scoring

  @Override
  public double forwardBackward(float[] hidden, int n, int[] targets, float[] gradHidden, Loss loss, float[] rowLoss) {
    int count = loss.validate(targets, n, vocab);
    score(hidden, n, targets, loss, loss.gradScale(count), null, gradHidden, true);
    double total = 0;
    for (int r = 0; r < n; r++) {
      boolean skip = loss.ignored(targets[r]);
      if (!skip) total -= rowLp[r];
      if (rowLoss != null) rowLoss[r] = skip ? 0f : -rowLp[r];
    }
    return loss.reduce(total, count);
  }

  @Override
  public void targetLogProb(float[] hidden, int n, int[] targets, float[] out) {
    Loss.checkTargets(targets, n, vocab);
    score(hidden, n, targets, Loss.STRICT, 0f, null, null, false);
    System.arraycopy(rowLp, 0, out, 0, n);
  }

  /**
   * Training step for a weighted sum of row NLLs, {@code L = Σ_r w_r · (−log P(t_r | h_r))}: the
   * gradient of L goes into gradHidden (overwritten; may be null) and into the parameter gradients
   * (accumulated). A row with weight 0 contributes nothing (its target must still be a valid id).
   * This is what a mixture of adaptive softmaxes needs: each component's rows weighted by their
   * responsibilities ({@link AdaptiveMixture}). Same cost as {@link #forwardBackward}.
   *
   * @param weights [n] per-row weights w_r
   * @return L, summed in double
   */
  public double weightedForwardBackward(float[] hidden, int n, int[] targets, float[] weights, float[] gradHidden) {
    Loss.checkTargets(targets, n, vocab);
    if (weights.length < n) throw new IllegalArgumentException("weights has " + weights.length + " entries, need " + n);
    score(hidden, n, targets, Loss.STRICT, 1f, weights, gradHidden, true);
    double total = 0;
    for (int r = 0; r < n; r++) total -= (double) weights[r] * rowLp[r];
    return total;
  }

  /** Size of the head: shortlist words then one entry per tail cluster. */
  public int headSize() { return headSize; }

  /**
   * The head's log-probabilities, out = log_softmax(hidden · Hᵀ + b), [n, shortlist + clusters]:
   * entry j < shortlist is log P(word j), entry shortlist + i is log P(cluster i).
   */
  public void headLogProb(float[] hidden, int n, float[] out) {
    ensureRows(n);
    headLogProb(hidden, n);
    System.arraycopy(head, 0, out, 0, n * headSize);
  }

  /**
   * The within-cluster log-probabilities of tail cluster c, out = log_softmax((hidden · P_cᵀ) · O_cᵀ),
   * [n, osz_c] (column j is word {@code cutoffs[c] + j}); log P(word) adds the head's cluster entry.
   */
  public void tailLogSoftmax(float[] hidden, int n, int cluster, float[] out) {
    int h = hsz[cluster], o = osz[cluster];
    p = Workspace.grow(p, (long) n * h);
    Blas.get().sgemm(false, true, n, h, in, 1f, hidden, 0, in, tailProj[cluster].data, 0, in, 0f, p, 0, h);
    Blas.get().sgemm(false, true, n, o, h, 1f, p, 0, h, tailOut[cluster].data, 0, h, 0f, out, 0, o);
    Parallel.forRange(n, 8, (a, b) -> {
      for (int r = a; r < b; r++) Vec.logSoftmaxInPlace(out, r * o, o);
    });
  }

  /**
   * Writes log P(target_r | hidden_r) into rowLp for every counted row; with {@code backward}, also
   * the gradient of {@code Σ_r scale · w_r · (−log P)} into gradHidden (overwritten, may be null) and
   * into the parameter gradients (accumulated); {@code weights} null means w_r = 1.
   */
  private void score(float[] hidden, int n, int[] targets, Loss loss, float scale, float[] weights,
                     float[] gradHidden, boolean backward) {
    ensureRows(n);
    headLogProb(hidden, n);
    for (int r = 0; r < n; r++) {
      int t = targets[r];
      rowCluster[r] = loss.ignored(t) || t < shortlist ? -1 : clusterOf(t);
    }
    // head part of every row's log-prob; with backward, turn the head row into scale·(softmax - onehot)
    Parallel.forRange(n, 16, (a, b) -> {
      for (int r = a; r < b; r++) {
        int off = r * headSize, t = targets[r];
        if (loss.ignored(t)) {
          rowLp[r] = 0f;
          if (backward) Arrays.fill(head, off, off + headSize, 0f);
          continue;
        }
        int ht = t < shortlist ? t : shortlist + rowCluster[r];
        rowLp[r] = head[off + ht];
        if (backward) Vec.softmaxGradGivenLse(head, off, headSize, ht, 0f, weights == null ? scale : scale * weights[r]);
      }
    });
    if (backward) {
      if (gradHidden != null) {
        Blas.get().sgemm(false, false, n, in, headSize, 1f, head, 0, headSize, headWeight.data, 0, in, 0f, gradHidden, 0, in);
      }
      Blas.get().sgemm(true, false, headSize, in, n, 1f, head, 0, headSize, hidden, 0, in, 1f, headWeight.grad, 0, in);
      if (headBias != null) {
        for (int r = 0; r < n; r++) Vec.add(head, r * headSize, headBias.grad, 0, headSize);
      }
    }
    int[] start = groupRows(n);
    for (int c = 0; c < clusters; c++) {
      int m = start[c + 1] - start[c];
      if (m == 0) continue;
      int block = blockRows(c, m);
      ensureBlock(c, block, backward);
      for (int b0 = 0; b0 < m; b0 += block) {
        int rows = Math.min(block, m - b0);
        tailBlock(hidden, targets, c, start[c] + b0, rows, scale, weights, gradHidden, backward);
      }
    }
  }

  /** One block of rows of cluster c: adds the tail log-prob to rowLp and, with backward, the gradients. */
  private void tailBlock(float[] hidden, int[] targets, int c, int from, int rows, float scale, float[] weights,
                         float[] gradHidden, boolean backward) {
    int h = hsz[c], o = osz[c], base = bounds[c];
    int[] ord = order;
    tailLogits(hidden, c, from, rows);
    Parallel.forRange(rows, 8, (a, b) -> {
      for (int j = a; j < b; j++) {
        int r = ord[from + j], off = j * o, pos = targets[r] - base;
        float logit = u[off + pos];
        if (!backward) {
          rowLp[r] += logit - Vec.logSumExp(u, off, o);
          continue;
        }
        rowLp[r] += (float) (logit - Vec.softmaxGradInPlace(u, off, o, pos, weights == null ? scale : scale * weights[r]));
      }
    });
    if (!backward) return;
    Parameter po = tailOut[c], pp = tailProj[c];
    // dO += uᵀ·p ; dp = u·O ; dP += dpᵀ·x ; dx = dp·P
    Blas.get().sgemm(true, false, o, h, rows, 1f, u, 0, o, p, 0, h, 1f, po.grad, 0, h);
    Blas.get().sgemm(false, false, rows, h, o, 1f, u, 0, o, po.data, 0, h, 0f, dp, 0, h);
    Blas.get().sgemm(true, false, h, in, rows, 1f, dp, 0, h, x, 0, in, 1f, pp.grad, 0, in);
    if (gradHidden != null) {
      Blas.get().sgemm(false, false, rows, in, h, 1f, dp, 0, h, pp.data, 0, in, 0f, dx, 0, in);
      Parallel.forRange(rows, 64, (a, b) -> {
        for (int j = a; j < b; j++) Vec.add(dx, j * in, gradHidden, ord[from + j] * in, in);
      });
    }
  }

  // ---------------------------------------------------------------- full distribution and top-k

  /**
   * Exact [n, V] log-probabilities. The shortlist columns come from the head; each tail's logits are
   * written by one GEMM straight into its column range of {@code out} (row stride V), then turned
   * into log-probs in place.
   */
  @Override
  public void logProb(float[] hidden, int n, float[] out) {
    ensureRows(n);
    headLogProb(hidden, n);
    for (int r = 0; r < n; r++) System.arraycopy(head, r * headSize, out, r * vocab, shortlist);
    for (int c = 0; c < clusters; c++) {
      int h = hsz[c], o = osz[c], base = bounds[c], cl = shortlist + c;
      p = Workspace.grow(p, (long) n * h);
      Blas.get().sgemm(false, true, n, h, in, 1f, hidden, 0, in, tailProj[c].data, 0, in, 0f, p, 0, h);
      Blas.get().sgemm(false, true, n, o, h, 1f, p, 0, h, tailOut[c].data, 0, h, 0f, out, base, vocab);
      Parallel.forRange(n, 8, (a, b) -> {
        for (int r = a; r < b; r++) {
          int off = r * vocab + base;
          Vec.logSoftmaxInPlace(out, off, o);
          Vec.addScalar(out, off, o, head[r * headSize + cl]);
        }
      });
    }
  }

  /**
   * Exact top-k per row, best first, ties to the smaller id. The shortlist gives each row a first
   * list; cluster i is then expanded, on a packed block of the rows that need it, only for rows
   * where (head log-prob of cluster i, first id of cluster i) still ranks above the row's k-th entry
   * (or the list is not yet full). Skipping is exact: every word of the cluster has a log-prob ≤
   * the cluster's head log-prob and an id ≥ its first id.
   */
  @Override
  public TopK topK(float[] hidden, int n, int k) {
    TopK.checkK(k, vocab);
    ensureRows(n);
    headLogits(hidden, n);
    float[] zNorm = new float[n];
    expansions = 0;
    scansRuledOut.set(0);
    int[] ids = new int[n * k];
    float[] vals = new float[n * k];
    int[] size = new int[n];
    int first = Math.min(k, shortlist);
    boolean floor = TopK.floorApplies(k, shortlist);
    Parallel.forRange(n, 16, (a, b) -> {
      float[] groups = floor ? new float[Vec.GROUPS] : null;
      for (int r = a; r < b; r++) {
        // one row at a time, so that the selection reads the row from L1 after its normaliser's passes. The
        // shortlist is ranked on its logits and only the k chosen become log-probs (the same rounding as
        // logProb's x + (-lse)); ties in the logits go to the smaller id, as in the full softmax's top-k
        float negLse = -headRowForTopK(r, groups);
        if (floor) TopK.selectRowGivenGroups(head, r * headSize, shortlist, k, ids, vals, r * k, groups);
        else TopK.selectRow(head, r * headSize, shortlist, k, ids, vals, r * k);
        for (int j = 0; j < first; j++) vals[r * k + j] += negLse;
        size[r] = first;
      }
    });
    for (int c = 0; c < clusters; c++) {
      final int cl = shortlist + c, base = bounds[c];
      Spread sm = spread(c);
      double spread = sm.radius(), scale = sm.radius() + sm.meanNorm(), logO = Math.log(osz[c]);
      projectionNorms(hidden, n, c, zNorm);
      for (int r = 0; r < n; r++) {
        int last = r * k + k - 1;
        double gap = spread * zNorm[r] - logO;
        // slack far above the float rounding of the tail logits (each |u_j| ≤ (R + ‖ō‖)·‖z‖) and of
        // their lse, so that skipping stays exact
        float bound = head[r * headSize + cl] + (float) Math.min(0, gap + 1e-4 * (1 + scale * zNorm[r] + logO));
        boolean open = size[r] < k || TopK.better(bound, base, vals[last], ids[last]);
        rowCluster[r] = open ? c : -1;
      }
      int[] start = groupRows(n);
      int m = start[c + 1] - start[c];
      expansions += m;
      if (m == 0) continue;
      int block = blockRows(c, m);
      ensureBlock(c, block, false);
      candIds = Workspace.grow(candIds, (long) block * k);
      candVals = Workspace.grow(candVals, (long) block * k);
      for (int b0 = 0; b0 < m; b0 += block) {
        int rows = Math.min(block, m - b0), from = start[c] + b0;
        expandCluster(hidden, c, from, rows, k, ids, vals, size, sm, zNorm);
      }
    }
    return new TopK(n, k, ids, vals);
  }

  /**
   * Rows expanded in the last {@link #topK} call, summed over the clusters (at most N · clusters): how
   * often the bound failed to rule a cluster out. A diagnostic for benchmarks and tests.
   */
  public long lastTopKExpansions() { return expansions; }

  /**
   * Of the {@link #lastTopKExpansions} in the last {@link #topK} call, those whose cluster normaliser was never
   * computed because no word of the cluster could enter the row's top k (the scan in {@link #expandCluster}).
   */
  public long lastTopKScansRuledOut() { return scansRuledOut.get(); }

  /**
   * Evaluation mode caches the top-k bound's weight statistics ({@link #outputSpread}, one pass over every
   * tail weight: at batch 1 it cost more than expanding the clusters it could skip); changing mode drops
   * them, so weights changed in training mode are seen. Weights changed while in evaluation mode are not:
   * call {@code train(true)} after writing them.
   */
  @Override
  public void train(boolean training) {
    if (training != this.training) spread = null;
    this.training = training;
  }

  /** R = max_j ‖o_j − ō‖, ‖ō‖ and ō of the rows o_j of a cluster's output embeddings. */
  private record Spread(double radius, double meanNorm, double[] mean) {}

  /** {@link #outputSpread} of cluster c: cached in evaluation mode, recomputed per call in training mode. */
  private Spread spread(int c) {
    if (training) return outputSpread(c);
    Spread[] s = spread;
    if (s == null) spread = s = new Spread[clusters];
    if (s[c] == null) s[c] = outputSpread(c);
    return s[c];
  }

  /** {@link Spread} of cluster c's output embeddings. */
  private Spread outputSpread(int c) {
    int h = hsz[c], o = osz[c];
    float[] w = tailOut[c].data;
    double[] mean = new double[h];
    for (int j = 0; j < o; j++) for (int q = 0; q < h; q++) mean[q] += w[j * h + q];
    for (int q = 0; q < h; q++) mean[q] /= o;
    double best = 0;
    for (int j = 0; j < o; j++) {
      double s = 0;
      for (int q = 0; q < h; q++) { double e = w[j * h + q] - mean[q]; s += e * e; }
      best = Math.max(best, s);
    }
    double mn = 0;
    for (int q = 0; q < h; q++) mn += mean[q] * mean[q];
    return new Spread(Math.sqrt(best), Math.sqrt(mn), mean);
  }

  /** out[r] = ‖P_c · hidden_r‖ for every row, computed in row chunks through the {@code p} buffer. */
  private void projectionNorms(float[] hidden, int n, int c, float[] out) {
    int h = hsz[c], chunk = Math.min(n, 4096);
    p = Workspace.grow(p, (long) chunk * h);
    float[] pp = p;
    for (int r0 = 0; r0 < n; r0 += chunk) {
      int rows = Math.min(chunk, n - r0), from = r0;
      Blas.get().sgemm(false, true, rows, h, in, 1f, hidden, r0 * in, in, tailProj[c].data, 0, in, 0f, pp, 0, h);
      Parallel.forRange(rows, 256, (a, b) -> {
        for (int j = a; j < b; j++) {
          double s = 0;
          for (int q = 0; q < h; q++) { double v = pp[j * h + q]; s += v * v; }
          out[from + j] = (float) Math.sqrt(s);
        }
      });
    }
  }

  /**
   * Merges cluster c's best words into the lists of rows order[from .. from+rows). A row whose list is full
   * first scans its tail logits u for a word that could enter it: by Jensen lse(u) ≥ log osz + mean(u), and
   * mean(u) = z·ō (z = P_c·h, ō the mean output embedding), so a word w can enter only if
   * clusterLp + u_w − log osz − z·ō reaches the row's k-th best; when none can (the cluster bound of
   * {@link #topK} is looser: it bounds max(u) by R·‖z‖), the row's normaliser, an exp over all osz logits,
   * is not computed at all.
   */
  private void expandCluster(float[] hidden, int c, int from, int rows, int k, int[] ids, float[] vals, int[] size,
                             Spread sm, float[] zNorm) {
    int o = osz[c], h = hsz[c], base = bounds[c], cl = shortlist + c, kc = Math.min(k, o);
    int[] ord = order;
    double logO = Math.log(o), scale = sm.radius() + sm.meanNorm();
    double[] mean = sm.mean();
    tailLogits(hidden, c, from, rows);
    float[] z = p;
    Parallel.forRange(rows, 8, (a, b) -> {
      int[] mergedIds = new int[k];
      float[] mergedVals = new float[k];
      long ruledOut = 0;
      for (int j = a; j < b; j++) {
        int r = ord[from + j], off = j * o, co = j * k, ro = r * k;
        float clusterLp = head[r * headSize + cl];
        if (size[r] == k) {
          double zm = 0;
          for (int q = 0; q < h; q++) zm += z[j * h + q] * mean[q];
          float kth = vals[ro + k - 1];
          // slack far above the float rounding of u, of its lse and of the log-probs compared (as in topK)
          double slack = 1e-4 * (1 + scale * zNorm[r] + logO + Math.abs(clusterLp) + Math.abs(kth));
          float t = (float) (kth - clusterLp + logO + zm - slack);
          if (Vec.nextAbove(u, off, 0, o, t) == o) { ruledOut++; continue; }
        }
        float negLse = -Vec.logSumExp(u, off, o);
        TopK.selectRow(u, off, o, kc, candIds, candVals, co);
        for (int q = 0; q < kc; q++) {
          candIds[co + q] += base;
          candVals[co + q] = (candVals[co + q] + negLse) + clusterLp; // same rounding as logProb
        }
        size[r] = TopK.merge(ids, vals, ro, size[r], k, candIds, candVals, co, kc, mergedIds, mergedVals);
      }
      scansRuledOut.addAndGet(ruledOut);
    });
  }
}
