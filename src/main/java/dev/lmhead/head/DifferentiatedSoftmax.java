package dev.lmhead.head;

import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Blas;
import dev.lmhead.tensor.Rng;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Differentiated softmax (D-softmax; Chen, Grangier &amp; Auli 2016): a full softmax whose output matrix
 * is block-diagonal. The frequency-sorted vocabulary is split into bands by {@code cutoffs}
 * (c_1 &lt; c_2 &lt; ... gives bands [0, c_1), [c_1, c_2), ..., [c_last, V)) and the hidden vector into
 * contiguous slices of widths {@code dims} (d_0 + d_1 + ... = d). Band b's logits use only its slice:
 * <pre>
 *   s(w) = h[o_b .. o_b + d_b) · W_b[w − c_b] + bias[w]     for w in band b,  W_b: [size_b, d_b]
 *   log P(w|h) = s(w) − logsumexp_{v &lt; V} s(v)              (one exact softmax over all V logits)
 * </pre>
 * so frequent words get more capacity and the output costs Σ_b size_b·d_b instead of V·d
 * multiply-adds per row. Everything (training, evaluation, top-k) is exact.
 *
 * <p>Defaults when not given: cutoffs {@link AdaptiveSoftmax#defaultCutoffs} (V/16 and V/4 rounded to
 * 1-2-5 values), and dims halving per band, {@link #defaultDims}. Parameters {@code bands.b.weight}
 * [size_b, d_b] and {@code bias} [V]. There is no [V, d] matrix, so it cannot be tied to a full input
 * embedding.
 */
public final class DifferentiatedSoftmax implements OutputLayer {
  public static final HeadOption BANDS = HeadOption.of("bands", HeadOption.Kind.INT_LIST, "",
      "dsoftmax: ascending frequency-band boundaries, e.g. 2000,10000 (default: as adaptive's cutoffs, scaled to V).");
  public static final HeadOption BAND_DIMS = HeadOption.of("band-dims", HeadOption.Kind.INT_LIST, "",
      "dsoftmax: hidden-slice width per band, summing to the hidden size, e.g. 200,100,50 (default: halving per band).");

  /**
   * {@code --head dsoftmax}.
   *
   * @param bias     output bias [V]
   * @param bands    band boundaries (empty: the default, {@link AdaptiveSoftmax#defaultCutoffs})
   * @param bandDims slice widths (empty: {@link #defaultDims})
   */
  public record Spec(boolean bias, int[] bands, int[] bandDims) implements HeadSpec {
    public Spec {
      if (bands == null) bands = new int[0];
      if (bandDims == null) bandDims = new int[0];
    }
    @Override public String type() { return "dsoftmax"; }
    @Override public OutputLayer create(int vocab, int dim, long[] counts, Parameter tiedWeight, Rng rng) {
      Spec r = resolve(vocab, dim);
      return new DifferentiatedSoftmax(vocab, dim, r.bands, r.bandDims, bias, rng).withSpec(r);
    }
    @Override public Spec resolve(int vocab) {
      return bands.length > 0 || vocab < 2 ? this : new Spec(bias, AdaptiveSoftmax.defaultCutoffs(vocab), bandDims);
    }
    /** With V and d known: the default bands and widths filled in, so checkpoints record them. */
    Spec resolve(int vocab, int dim) {
      Spec r = resolve(vocab);
      return r.bandDims.length > 0 ? r : new Spec(bias, r.bands, defaultDims(dim, r.bands.length + 1));
    }
    @Override public String describe() {
      return "dsoftmax(bands " + Arrays.toString(bands) + ", dims " + (bandDims.length == 0 ? "halving" : Arrays.toString(bandDims)) + ")";
    }
    @Override public void checkSizes(int vocab, int hidden) {
      HeadSpec.checkFits("--hidden " + hidden + " x vocabulary " + vocab + " (d-softmax band weights)", (long) vocab * hidden);
    }
    @Override public long minParameters(int vocab, int hidden, boolean sharesEmbedding) { return vocab; }
    @Override public boolean outputBias() { return bias; }
    @Override public String tieRefusal() {
      return "--tied is not supported with --head dsoftmax (its output matrix is block-diagonal, not the [V, d] embedding); use --no-tied";
    }
  }

  /** The registry entry ({@link Heads}). */
  public static final HeadType TYPE = new HeadType("dsoftmax", "differentiated softmax", Spec.class,
      List.of(FullSoftmax.BIAS, BANDS, BAND_DIMS),
      o -> new Spec(o.bool(FullSoftmax.BIAS), o.ints(BANDS), o.ints(BAND_DIMS)), false);

  private Spec spec;

  DifferentiatedSoftmax withSpec(Spec s) { this.spec = s; return this; }


  private final int vocab, dim;
  private final int[] cutoffs, dims;
  /** start id and hidden-slice offset of each band (length bands + 1: the last entries are V and d). */
  private final int[] starts, offsets;
  public final Parameter[] bands;
  public final Parameter bias; // null without bias
  private final LogitRows rows;

  /**
   * @param cutoffs ascending band boundaries in (0, V), without V; null for the default
   *                ({@link AdaptiveSoftmax#defaultCutoffs}, no cutoffs when V = 1); empty for one band
   *                (then it is a full softmax)
   * @param dims    slice width per band (cutoffs.length + 1 entries, each >= 1, summing to dim); null
   *                or empty for {@link #defaultDims}
   */
  public DifferentiatedSoftmax(int vocab, int dim, int[] cutoffs, int[] dims, boolean useBias, Rng rng) {
    if (vocab < 1) throw new IllegalArgumentException("vocabulary size must be >= 1, got " + vocab);
    if (dim < 1) throw new IllegalArgumentException("input dimension must be >= 1, got " + dim);
    int[] c = cutoffs == null ? (vocab < 2 ? new int[0] : AdaptiveSoftmax.defaultCutoffs(vocab)) : cutoffs.clone();
    for (int i = 0; i < c.length; i++) {
      if (c[i] <= (i == 0 ? 0 : c[i - 1]) || c[i] >= vocab) {
        throw new IllegalArgumentException("d-softmax cutoffs must be strictly ascending in (0, " + vocab + "), got " + Arrays.toString(c));
      }
    }
    int nb = c.length + 1;
    int[] ds = dims == null || dims.length == 0 ? defaultDims(dim, nb) : dims.clone();
    if (ds.length != nb) throw new IllegalArgumentException("d-softmax needs " + nb + " band dims for cutoffs " + Arrays.toString(c) + ", got " + Arrays.toString(ds));
    long sum = 0;
    for (int x : ds) {
      if (x < 1) throw new IllegalArgumentException("d-softmax band dims must be >= 1, got " + Arrays.toString(ds));
      sum += x;
    }
    if (sum != dim) throw new IllegalArgumentException("d-softmax band dims " + Arrays.toString(ds) + " sum to " + sum + ", not the input dimension " + dim);
    this.vocab = vocab;
    this.dim = dim;
    this.cutoffs = c;
    this.dims = ds;
    this.spec = new Spec(useBias, c, ds);
    this.starts = new int[nb + 1];
    this.offsets = new int[nb + 1];
    for (int b = 0; b < nb; b++) {
      starts[b + 1] = b < c.length ? c[b] : vocab;
      offsets[b + 1] = offsets[b] + ds[b];
    }
    this.bands = new Parameter[nb];
    for (int b = 0; b < nb; b++) {
      bands[b] = new Parameter("bands." + b + ".weight", starts[b + 1] - starts[b], ds[b]);
      float r = (float) (1.0 / Math.sqrt(ds[b])); // nn.Linear(d_b, size_b)'s default bound
      rng.fillUniform(bands[b].data, -r, r);
    }
    if (useBias) {
      bias = new Parameter("bias", vocab);
      for (int b = 0; b < nb; b++) {
        float r = (float) (1.0 / Math.sqrt(ds[b]));
        for (int w = starts[b]; w < starts[b + 1]; w++) bias.data[w] = rng.uniform(-r, r);
      }
    } else {
      bias = null;
    }
    rows = new LogitRows(vocab, bias);
  }

  /**
   * The default slice widths: band b gets a share proportional to 2^-b (each band half the previous),
   * {@code d_b = max(1, floor(d·2^-b / Σ_i 2^-i))}, and the rounding remainder goes to band 0 (so
   * d = 256 with 3 bands gives 147, 73, 36; d = 512 gives 293, 146, 73).
   * @throws IllegalArgumentException when d < number of bands
   */
  public static int[] defaultDims(int dim, int nBands) {
    if (nBands < 1) throw new IllegalArgumentException("need at least one band, got " + nBands);
    if (dim < nBands) throw new IllegalArgumentException("d-softmax needs an input dimension >= its " + nBands + " bands, got " + dim);
    double norm = 0;
    for (int b = 0; b < nBands; b++) norm += Math.scalb(1.0, -b);
    int[] ds = new int[nBands];
    int sum = 0;
    for (int b = 0; b < nBands; b++) {
      ds[b] = Math.max(1, (int) Math.floor(dim * Math.scalb(1.0, -b) / norm));
      sum += ds[b];
    }
    ds[0] += dim - sum;
    // the max(1, ·) floors can overshoot for d close to the number of bands: take the excess one by
    // one from the widest band (the first among equals) until band 0 has at least 1
    while (ds[0] < 1) {
      int w = 1;
      for (int b = 2; b < nBands; b++) if (ds[b] > ds[w]) w = b;
      ds[w]--;
      ds[0]++;
    }
    return ds;
  }

  @Override public int vocabSize() { return vocab; }
  @Override public int inputDim() { return dim; }
  @Override public String type() { return "dsoftmax"; }
  @Override public Spec spec() { return spec; }

  public int[] cutoffs() { return cutoffs.clone(); }
  public int[] dims() { return dims.clone(); }

  @Override
  public List<Parameter> parameters() {
    List<Parameter> ps = new ArrayList<>(Arrays.asList(bands));
    if (bias != null) ps.add(bias);
    return ps;
  }

  /** out[0..rows) = the V logits of hidden rows [r0, r0+rows), band by band, without the bias (LogitRows adds it). */
  private void computeLogits(float[] hidden, int r0, int rows, float[] out) {
    for (int b = 0; b < bands.length; b++) {
      int size = starts[b + 1] - starts[b];
      Blas.get().sgemm(false, true, rows, size, dims[b], 1f, hidden, r0 * dim + offsets[b], dim,
          bands[b].data, 0, dims[b], 0f, out, starts[b], vocab);
    }
  }

  @Override
  public double forwardBackward(float[] hidden, int n, int[] targets, float[] gradHidden, Loss loss, float[] rowLoss) {
    return rows.forwardBackward(hidden, n, targets, gradHidden, loss, rowLoss, this::computeLogits, (g, h, r0, m, gh) -> {
      // per band: d/dh_b = G_b · W_b ;  dW_b += G_bᵀ · h_b  (the bias gradient is added by LogitRows)
      for (int b = 0; b < bands.length; b++) {
        int size = starts[b + 1] - starts[b];
        if (gh != null) {
          Blas.get().sgemm(false, false, m, dims[b], size, 1f, g, starts[b], vocab, bands[b].data, 0, dims[b],
              0f, gh, r0 * dim + offsets[b], dim);
        }
        Blas.get().sgemm(true, false, size, dims[b], m, 1f, g, starts[b], vocab, h, r0 * dim + offsets[b], dim,
            1f, bands[b].grad, 0, dims[b]);
      }
    });
  }

  @Override
  public void targetLogProb(float[] hidden, int n, int[] targets, float[] out) {
    rows.targetLogProb(hidden, n, targets, out, this::computeLogits);
  }

  @Override
  public void logProb(float[] hidden, int n, float[] out) {
    rows.logProb(hidden, n, out, this::computeLogits);
  }

  @Override
  public TopK topK(float[] hidden, int n, int k) {
    return rows.topK(hidden, n, k, this::computeLogits);
  }
}
