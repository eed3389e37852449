package dev.lmhead.head;

import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Blas;
import dev.lmhead.tensor.Rng;
import java.util.ArrayList;
import java.util.List;

/**
 * The full softmax, the baseline every other head is measured against:
 * {@code log P(w|h) = h·W[w] + b[w] - logsumexp_v(h·W[v] + b[v])}, with W [V, d] and b [V]
 * (PyTorch's {@code nn.Linear(d, V)} layout: state names {@code weight}, {@code bias}).
 *
 * <p>Training processes rows in blocks: one GEMM gives the block's logits, one fused pass per row
 * turns them into the gradient {@code scale·(softmax - onehot)} in place, then two GEMMs give
 * dHidden and dW. Only one [block, V] buffer is ever held.
 */
public final class FullSoftmax implements OutputLayer {
  /** {@code --no-bias}: shared by the heads with an output bias (full, class, hsm, MoS). */
  public static final HeadOption BIAS = new HeadOption("bias", "--no-bias", HeadOption.Kind.NEGATED_FLAG, "true",
      "Full/MoS softmax without output bias.");

  /**
   * {@code --head full}.
   *
   * @param bias output bias (off with {@code --no-bias})
   */
  public record Spec(boolean bias) implements HeadSpec {
    @Override public String type() { return "full"; }
    @Override public OutputLayer create(int vocab, int dim, long[] counts, Parameter tiedWeight, Rng rng) {
      return new FullSoftmax(vocab, dim, bias, tiedWeight, rng);
    }
    @Override public String describe() { return "full"; }
    @Override public long minParameters(int vocab, int hidden, boolean sharesEmbedding) {
      return sharesEmbedding ? 0 : (long) vocab * hidden;
    }
    @Override public boolean tiesEmbedding() { return true; }
    @Override public boolean outputBias() { return bias; }
  }

  /** The registry entry ({@link Heads}). */
  public static final HeadType TYPE = new HeadType("full", "full softmax", Spec.class, java.util.List.of(BIAS),
      o -> new Spec(o.bool(BIAS)), true);


  private final int vocab, dim;
  private final Spec spec;
  public final Parameter weight;
  public final Parameter bias; // null without bias
  private final LogitRows rows;

  /**
   * @param tiedWeight an existing [V, d] parameter to share (weight tying with the input embedding),
   *                   or null to create and initialise one
   */
  public FullSoftmax(int vocab, int dim, boolean useBias, Parameter tiedWeight, Rng rng) {
    if (vocab < 1) throw new IllegalArgumentException("vocabulary size must be >= 1, got " + vocab);
    if (dim < 1) throw new IllegalArgumentException("input dimension must be >= 1, got " + dim);
    this.vocab = vocab;
    this.dim = dim;
    this.spec = new Spec(useBias);
    if (tiedWeight != null) {
      if (tiedWeight.size() != vocab * dim) {
        throw new IllegalArgumentException("tied weight " + tiedWeight + " does not match [" + vocab + ", " + dim + "]");
      }
      weight = tiedWeight;
    } else {
      weight = new Parameter("weight", vocab, dim);
      float r = (float) (1.0 / Math.sqrt(dim)); // nn.Linear's default bound
      rng.fillUniform(weight.data, -r, r);
    }
    if (useBias) {
      bias = new Parameter("bias", vocab);
      float r = (float) (1.0 / Math.sqrt(dim));
      rng.fillUniform(bias.data, -r, r);
    } else {
      bias = null;
    }
    rows = new LogitRows(vocab, bias);
  }

  @Override public int vocabSize() { return vocab; }
  @Override public int inputDim() { return dim; }
  @Override public String type() { return "full"; }
  @Override public Spec spec() { return spec; }

  /** As the PyTorch word-LM example: decoder weight uniform(-initRange, initRange) unless tied, bias zero. */
  @Override
  public void initLikeWordLanguageModel(float initRange, boolean tied, Rng rng) {
    if (!tied) rng.fillUniform(weight.data, -initRange, initRange);
    if (bias != null) java.util.Arrays.fill(bias.data, 0f);
  }

  @Override
  public List<Parameter> parameters() {
    List<Parameter> ps = new ArrayList<>();
    ps.add(weight);
    if (bias != null) ps.add(bias);
    return ps;
  }

  /** logits[0..rows) = hidden[r0..r0+rows) · Wᵀ (LogitRows adds the bias b in its first pass over each row) */
  private void computeLogits(float[] hidden, int r0, int rows, float[] out) {
    Blas.get().sgemm(false, true, rows, vocab, dim, 1f, hidden, r0 * dim, dim, weight.data, 0, dim, 0f, out, 0, vocab);
  }

  @Override
  public double forwardBackward(float[] hidden, int n, int[] targets, float[] gradHidden, Loss loss, float[] rowLoss) {
    return rows.forwardBackward(hidden, n, targets, gradHidden, loss, rowLoss, this::computeLogits, (g, h, r0, m, gh) -> {
      // d/dh = G · W ;  dW += Gᵀ · h  (the bias gradient, the column sums of G, is added by LogitRows)
      if (gh != null) Blas.get().sgemm(false, false, m, dim, vocab, 1f, g, 0, vocab, weight.data, 0, dim, 0f, gh, r0 * dim, dim);
      Blas.get().sgemm(true, false, vocab, dim, m, 1f, g, 0, vocab, h, r0 * dim, dim, 1f, weight.grad, 0, dim);
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
