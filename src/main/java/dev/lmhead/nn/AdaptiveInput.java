package dev.lmhead.nn;

import dev.lmhead.tensor.Blas;
import dev.lmhead.tensor.Parallel;
import dev.lmhead.tensor.Rng;
import dev.lmhead.tensor.Vec;
import dev.lmhead.tensor.Workspace;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Adaptive input embeddings (Baevski &amp; Auli 2019, "Adaptive Input Representations for Neural
 * Language Modeling"), with fairseq's band sizes and state names.
 *
 * <h2>Model</h2>
 * The frequency-sorted vocabulary is split by the same {@code cutoffs} as the adaptive softmax into
 * bands: band 0 = ids [0, c_0), band i = [c_{i-1}, c_i) with c_C = V. Band i has its own table
 * E_i [size_i, dim_i] with {@code dim_i = floor(d / factor^i)} (the same floor as the adaptive
 * softmax's tail projections, PyTorch's {@code in_features // div_value**i}: {@link #bandDim}) and, for i ≥ 1, a projection to the output size d:
 * <pre>  x(w) = E_0[w]                       w in band 0   (dim_0 = d)
 *   x(w) = E_i[w - c_{i-1}] · W_iᵀ        w in band i ≥ 1, W_i [d, dim_i]</pre>
 *
 * <p><b>Band 0 has no projection.</b> fairseq gives every band a {@code Linear(dim_i, d)}, band 0
 * included; there dim_0 = d, so that matrix is an extra d×d linear map in front of the LSTM's own
 * input matrices, which can absorb it. Leaving it out saves d² parameters, makes band 0 an ordinary
 * embedding, and lets band 0 be exactly the first rows of the softmax's {@code head.weight} when
 * tied (so the word's input vector and its output vector are the same vector, as in classic tying).
 *
 * <p>State names follow fairseq: {@code embeddings.{i}.0.weight} = E_i, {@code embeddings.{i}.1.weight}
 * = W_i (i ≥ 1). Initialisation as fairseq: E_i ~ N(0, dim_i^-1/2), W_i Xavier-uniform.
 *
 * <h2>Tying with the adaptive softmax</h2>
 * With the same cutoffs and {@code factor == div_value}, band i+1's dimension equals the softmax's
 * tail projection size hsz_i, and (built with {@link #tiedTo}, from the softmax's parameters;
 * {@code dev.lmhead.model.AdaptiveTying} does it for a head):
 * <ul>
 *   <li>E_0 is the first c_0 rows of {@code head.weight} [c_0 + C, d] (the cluster rows are not used);</li>
 *   <li>E_{i+1} is {@code tail.{i}.1.weight} [osz_i, hsz_i], the cluster's output embeddings;</li>
 *   <li>with {@code tieProjections}, W_{i+1} is {@code tail.{i}.0.weight} [hsz_i, d] used transposed
 *       ({@code x = E·P}: the softmax maps d → hsz with P, the input maps hsz → d with Pᵀ).</li>
 * </ul>
 * Tied parameters are the softmax's own {@link Parameter} objects, so gradients from both uses add up
 * in one {@code grad} array. {@link #parameters()} lists only what this layer owns; the tied ones are
 * listed by the softmax (and by {@link #sharedParameters()}), so an optimiser that walks the input
 * layer and the head updates each array exactly once.
 */
public final class AdaptiveInput implements InputLayer {
  private final int vocab, dim, bands;
  private final int[] bounds;        // band i covers [bounds[i], bounds[i+1])
  private final int[] bandDim;
  private final double factor;
  /** E_i; for a tied band 0 this is head.weight, of which only the first c_0 rows are used. */
  private final Parameter[] emb;
  /** W_i (null for band 0): [d, dim_i], or [dim_i, d] used transposed when {@code projT[i]}. */
  private final Parameter[] proj;
  private final boolean[] projT;
  private final List<Parameter> owned = new ArrayList<>(), shared = new ArrayList<>();

  // work buffers, grown lazily
  private int[] order = new int[0], band = new int[0];
  private float[] e = new float[0], g = new float[0], ge = new float[0];

  /**
   * Untied adaptive input.
   *
   * @param vocab   V
   * @param dim     output size d
   * @param cutoffs band boundaries, as {@code --cutoffs} of the adaptive softmax (strictly increasing in [1, V-1])
   * @param factor  band i has dimension floor(d / factor^i) (fairseq {@code adaptive_input_factor}; 4 usual)
   */
  public AdaptiveInput(int vocab, int dim, int[] cutoffs, double factor, Rng rng) {
    this(vocab, dim, cutoffs, factor, null, false, rng);
  }

  /**
   * Adaptive input tied to an adaptive softmax given by its parameters (see the class comment):
   * {@code head.weight} [c_0 + C, d], {@code tail.{i}.0.weight} [hsz_i, d] and {@code tail.{i}.1.weight}
   * [osz_i, hsz_i]. {@code cutoffs} and {@code factor} must give the softmax's clusters and projection
   * sizes; otherwise a one-line error names the difference.
   *
   * @param softmaxCutoffs  the softmax's cutoffs, for messages and the check
   * @param softmaxDivValue the softmax's div_value, for messages
   * @param tieProjections  also share the projections (tail.{i}.0.weight transposed)
   */
  public static AdaptiveInput tiedTo(int vocab, int dim, int[] cutoffs, double factor, int[] softmaxCutoffs, double softmaxDivValue,
                                     Parameter headWeight, Parameter[] tailProj, Parameter[] tailOut, boolean tieProjections, Rng rng) {
    return new AdaptiveInput(vocab, dim, cutoffs, factor, new Tie(softmaxCutoffs, softmaxDivValue, headWeight, tailProj, tailOut),
        tieProjections, rng);
  }

  /** The adaptive softmax parameters an input is tied to. */
  private record Tie(int[] cutoffs, double divValue, Parameter headWeight, Parameter[] tailProj, Parameter[] tailOut) {}

  private AdaptiveInput(int vocab, int dim, int[] cutoffs, double factor, Tie tie, boolean tieProj, Rng rng) {
    validate(dim, vocab, cutoffs);
    if (!(factor > 0) || Double.isInfinite(factor)) {
      throw new IllegalArgumentException("adaptive input factor must be a finite number > 0, got " + factor);
    }
    for (int i = 1; i <= cutoffs.length; i++) {
      if (bandDim(dim, factor, i) < 1) {
        throw new IllegalArgumentException("adaptive input factor " + factor + " gives band " + i + " dimension floor("
            + dim + " / " + factor + "^" + i + ") = 0; use a smaller factor, fewer cutoffs or a larger embedding size");
      }
    }
    if (tie != null) {
      if (!Arrays.equals(cutoffs, tie.cutoffs())) {
        throw new IllegalArgumentException("cannot tie adaptive input to the adaptive softmax: input cutoffs "
            + Arrays.toString(cutoffs) + " differ from the softmax --cutoffs " + Arrays.toString(tie.cutoffs()));
      }
      for (int i = 0; i < cutoffs.length; i++) {
        int hsz = tie.tailProj()[i].shape[0];
        if (bandDim(dim, factor, i + 1) != hsz) {
          throw new IllegalArgumentException("cannot tie adaptive input to the adaptive softmax: input factor " + factor
              + " gives band " + (i + 1) + " dimension " + bandDim(dim, factor, i + 1)
              + " but --div-value " + tie.divValue() + " gives tail " + i + " size " + hsz + " (use the same value)");
        }
      }
    }
    this.vocab = vocab;
    this.dim = dim;
    this.factor = factor;
    this.bands = cutoffs.length + 1;
    this.bounds = new int[bands + 1];
    System.arraycopy(cutoffs, 0, bounds, 1, cutoffs.length);
    bounds[bands] = vocab;
    this.bandDim = new int[bands];
    this.emb = new Parameter[bands];
    this.proj = new Parameter[bands];
    this.projT = new boolean[bands];
    for (int i = 0; i < bands; i++) {
      int di = bandDim[i] = i == 0 ? dim : bandDim(dim, factor, i);
      int size = bounds[i + 1] - bounds[i];
      Parameter sharedEmb = tie == null ? null : i == 0 ? tie.headWeight() : tie.tailOut()[i - 1];
      if (sharedEmb != null) {
        emb[i] = sharedEmb;
        shared.add(sharedEmb);
      } else {
        emb[i] = new Parameter("embeddings." + i + ".0.weight", size, di);
        fillNormal(emb[i].data, 1.0 / Math.sqrt(di), rng);
        owned.add(emb[i]);
      }
      if (i == 0) continue;
      if (tie != null && tieProj) {
        proj[i] = tie.tailProj()[i - 1];
        projT[i] = true;
        shared.add(proj[i]);
      } else {
        proj[i] = new Parameter("embeddings." + i + ".1.weight", dim, di);
        float r = (float) Math.sqrt(6.0 / (dim + di));
        rng.fillUniform(proj[i].data, -r, r);
        owned.add(proj[i]);
      }
    }
  }

  /**
   * Checks cutoffs against V and d with the adaptive softmax's rules and messages (non-empty, strictly
   * increasing, each in [1, V-1]), prefixed "adaptive input: ".
   */
  private static void validate(int dim, int vocab, int[] cutoffs) {
    String p = "adaptive input: ";
    if (dim < 1) throw new IllegalArgumentException(p + "adaptive softmax input size must be >= 1, got " + dim);
    if (vocab < 2) throw new IllegalArgumentException(p + "adaptive softmax needs a vocabulary of at least 2 words, got " + vocab);
    if (cutoffs == null || cutoffs.length == 0) {
      throw new IllegalArgumentException(p + "--cutoffs must list at least one cutoff (cluster boundary) in [1, " + (vocab - 1) + "]");
    }
    String str = Arrays.toString(cutoffs).replace(" ", "");
    for (int i = 0; i < cutoffs.length; i++) {
      int c = cutoffs[i];
      if (c < 1 || c > vocab - 1) {
        throw new IllegalArgumentException(p + "--cutoffs " + str + ": " + c + " is outside [1, " + (vocab - 1)
            + "] (each cutoff must be a positive id below the vocabulary size " + vocab + ")");
      }
      if (i > 0 && c <= cutoffs[i - 1]) {
        throw new IllegalArgumentException(p + "--cutoffs " + str + " must be sorted in increasing order and unique ("
            + cutoffs[i - 1] + " then " + c + ")");
      }
    }
  }

  /**
   * {@code floor(d / factor^band)} with Python's float floor division ({@code d // factor**band}), exactly
   * as the adaptive softmax sizes its tail projections, so tied bands and tails always agree.
   */
  public static int bandDim(int dim, double factor, int band) {
    return dev.lmhead.tensor.PyFloat.floorDivPow(dim, factor, band);
  }

  private static void fillNormal(float[] a, double std, Rng rng) {
    for (int i = 0; i < a.length; i++) a[i] = (float) (rng.gaussian() * std);
  }

  @Override public int vocabSize() { return vocab; }
  @Override public int dim() { return dim; }
  @Override public String type() { return "adaptive"; }

  public double factor() { return factor; }
  public int bandDim(int band) { return bandDim[band]; }
  /** E_i (the softmax's parameter when tied). */
  public Parameter embedding(int band) { return emb[band]; }
  /** W_i, null for band 0 (the softmax's tail.{i-1}.0.weight when projections are tied). */
  public Parameter projection(int band) { return proj[band]; }

  /** Parameters this layer owns (not those it shares with a tied softmax). */
  @Override public List<Parameter> parameters() { return List.copyOf(owned); }

  /** The softmax's parameters this layer also uses (empty when untied). */
  public List<Parameter> sharedParameters() { return List.copyOf(shared); }

  /** Groups positions by band into {@code order}; returns band starts (band i: order[s[i] .. s[i+1])). */
  private int[] group(int[] ids, int n) {
    if (order.length < n) { order = new int[n]; band = new int[n]; }
    int[] start = new int[bands + 1];
    for (int p = 0; p < n; p++) {
      int id = ids[p];
      if (id < 0 || id >= vocab) throw new IllegalArgumentException("token id " + id + " at position " + p + " is outside [0, " + vocab + ")");
      int b = 0;
      while (id >= bounds[b + 1]) b++;
      band[p] = b;
      start[b + 1]++;
    }
    for (int b = 0; b < bands; b++) start[b + 1] += start[b];
    int[] fill = Arrays.copyOf(start, bands);
    for (int p = 0; p < n; p++) order[fill[band[p]]++] = p;
    return start;
  }

  /** Packs the embedding rows of positions order[from .. from+m) of band b into e [m, dim_b]. */
  private void gatherEmb(int[] ids, int b, int from, int m) {
    int db = bandDim[b], lo = bounds[b];
    e = Workspace.grow(e, (long) m * db);
    float[] src = emb[b].data, dst = e;
    int[] ord = order;
    Parallel.forRange(m, 256, (a, z) -> {
      for (int j = a; j < z; j++) System.arraycopy(src, (ids[ord[from + j]] - lo) * db, dst, j * db, db);
    });
  }

  @Override
  public void forward(int[] ids, int n, float[] out) {
    int[] start = group(ids, n);
    int[] ord = order;
    for (int b = 0; b < bands; b++) {
      int from = start[b], m = start[b + 1] - from, db = bandDim[b], lo = bounds[b];
      if (m == 0) continue;
      if (b == 0) {
        float[] src = emb[0].data;
        Parallel.forRange(m, 256, (a, z) -> {
          for (int j = a; j < z; j++) { int p = ord[from + j]; System.arraycopy(src, (ids[p] - lo) * dim, out, p * dim, dim); }
        });
        continue;
      }
      gatherEmb(ids, b, from, m);
      g = Workspace.grow(g, (long) m * dim);
      // [m, db] x W_bᵀ ([d, db] stored) or x P ([db, d] stored, tied) -> [m, d]
      if (projT[b]) Blas.get().sgemm(false, false, m, dim, db, 1f, e, 0, db, proj[b].data, 0, dim, 0f, g, 0, dim);
      else Blas.get().sgemm(false, true, m, dim, db, 1f, e, 0, db, proj[b].data, 0, db, 0f, g, 0, dim);
      float[] res = g;
      Parallel.forRange(m, 256, (a, z) -> {
        for (int j = a; j < z; j++) System.arraycopy(res, j * dim, out, ord[from + j] * dim, dim);
      });
    }
  }

  @Override
  public void backward(int[] ids, int n, float[] gradOut) {
    int[] start = group(ids, n);
    int[] ord = order;
    for (int b = 0; b < bands; b++) {
      int from = start[b], m = start[b + 1] - from, db = bandDim[b], lo = bounds[b];
      if (m == 0) continue;
      float[] eg = emb[b].grad;
      if (b == 0) {
        // sequential: a word may occur at several positions
        for (int j = 0; j < m; j++) {
          int p = ord[from + j];
          Vec.add(gradOut, p * dim, eg, (ids[p] - lo) * dim, dim);
        }
        continue;
      }
      gatherEmb(ids, b, from, m);
      g = Workspace.grow(g, (long) m * dim);
      ge = Workspace.grow(ge, (long) m * db);
      float[] gg = g;
      Parallel.forRange(m, 256, (a, z) -> {
        for (int j = a; j < z; j++) System.arraycopy(gradOut, ord[from + j] * dim, gg, j * dim, dim);
      });
      Parameter w = proj[b];
      if (projT[b]) {
        // y = e·P, P [db, d]: dP += eᵀ·g ; de = g·Pᵀ
        Blas.get().sgemm(true, false, db, dim, m, 1f, e, 0, db, g, 0, dim, 1f, w.grad, 0, dim);
        Blas.get().sgemm(false, true, m, db, dim, 1f, g, 0, dim, w.data, 0, dim, 0f, ge, 0, db);
      } else {
        // y = e·Wᵀ, W [d, db]: dW += gᵀ·e ; de = g·W
        Blas.get().sgemm(true, false, dim, db, m, 1f, g, 0, dim, e, 0, db, 1f, w.grad, 0, db);
        Blas.get().sgemm(false, false, m, db, dim, 1f, g, 0, dim, w.data, 0, db, 0f, ge, 0, db);
      }
      for (int j = 0; j < m; j++) Vec.add(ge, j * db, eg, (ids[ord[from + j]] - lo) * db, db);
    }
  }
}
