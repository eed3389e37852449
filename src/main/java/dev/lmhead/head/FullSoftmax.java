package dev.lmhead.head;

import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Blas;
import dev.lmhead.tensor.Parallel;
import dev.lmhead.tensor.Rng;
import dev.lmhead.tensor.Vec;
import dev.lmhead.tensor.Workspace;
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

  /**
   * The logits buffer keeps to {@link Workspace#BLOCK_FLOATS}, but never fewer rows than this: every block streams the whole [V, d] weight through the GEMMs, so at
   * V = 267,735 a 64 MiB block (62 rows) made the head memory-bound (the weight, 274 MB at d = 256, is read
   * 33 times for 2,048 rows). With 256 rows the buffer is at most the size of the weight itself.
   */
  private static final int MIN_BLOCK_ROWS = 256;

  private final int vocab, dim;
  private final Spec spec;
  public final Parameter weight;
  public final Parameter bias; // null without bias
  private float[] logits = new float[0];

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

  private int blockRows(int n) {
    return Workspace.rowsPerBlock(Workspace.BLOCK_FLOATS, vocab, n, MIN_BLOCK_ROWS);
  }

  private float[] logitsBuffer(int rows) {
    return logits = Workspace.grow(logits, (long) rows * vocab);
  }

  /** logits[0..rows) = hidden[r0..r0+rows) · Wᵀ + b */
  private void computeLogits(float[] hidden, int r0, int rows, float[] out) {
    Blas.get().sgemm(false, true, rows, vocab, dim, 1f, hidden, r0 * dim, dim, weight.data, 0, dim, 0f, out, 0, vocab);
    if (bias != null) {
      Parallel.forRange(rows, 8, (a, b) -> {
        for (int r = a; r < b; r++) Vec.add(bias.data, 0, out, r * vocab, vocab);
      });
    }
  }

  @Override
  public double forwardBackward(float[] hidden, int n, int[] targets, float[] gradHidden, Loss loss, float[] rowLoss) {
    int count = loss.validate(targets, n, vocab);
    float scale = loss.gradScale(count);
    int block = blockRows(n);
    float[] g = logitsBuffer(block);
    double total = 0;
    for (int r0 = 0; r0 < n; r0 += block) {
      final int rows = Math.min(block, n - r0), base = r0;
      computeLogits(hidden, r0, rows, g);
      double[] partial = new double[rows];
      // fused: logits -> scale * (softmax - onehot), and the row's NLL
      Parallel.forRange(rows, 4, (a, b) -> {
        for (int r = a; r < b; r++) {
          int off = r * vocab, t = targets[base + r];
          if (loss.ignored(t)) { java.util.Arrays.fill(g, off, off + vocab, 0f); partial[r] = 0; continue; }
          float target = g[off + t];
          partial[r] = Vec.softmaxGradInPlace(g, off, vocab, t, scale) - target;
        }
      });
      for (int r = 0; r < rows; r++) {
        total += partial[r];
        if (rowLoss != null) rowLoss[base + r] = (float) partial[r];
      }
      if (gradHidden != null) {
        Blas.get().sgemm(false, false, rows, dim, vocab, 1f, g, 0, vocab, weight.data, 0, dim, 0f, gradHidden, r0 * dim, dim);
      }
      Blas.get().sgemm(true, false, vocab, dim, rows, 1f, g, 0, vocab, hidden, r0 * dim, dim, 1f, weight.grad, 0, dim);
      if (bias != null) {
        Parallel.forRange(vocab, 1024, (a, b) -> {
          for (int r = 0; r < rows; r++) Vec.add(g, r * vocab + a, bias.grad, a, b - a);
        });
      }
    }
    return loss.reduce(total, count);
  }

  @Override
  public void targetLogProb(float[] hidden, int n, int[] targets, float[] out) {
    Loss.checkTargets(targets, n, vocab);
    int block = blockRows(n);
    float[] lg = logitsBuffer(block);
    for (int r0 = 0; r0 < n; r0 += block) {
      final int rows = Math.min(block, n - r0), base = r0;
      computeLogits(hidden, r0, rows, lg);
      Parallel.forRange(rows, 4, (a, b) -> {
        for (int r = a; r < b; r++) {
          out[base + r] = lg[r * vocab + targets[base + r]] - Vec.logSumExp(lg, r * vocab, vocab);
        }
      });
    }
  }

  @Override
  public void logProb(float[] hidden, int n, float[] out) {
    computeLogits(hidden, 0, n, out);
    Parallel.forRange(n, 4, (a, b) -> {
      for (int r = a; r < b; r++) Vec.logSoftmaxInPlace(out, r * vocab, vocab);
    });
  }

  @Override
  public TopK topK(float[] hidden, int n, int k) {
    TopK.checkK(k, vocab);
    int[] ids = new int[n * k];
    float[] vals = new float[n * k];
    int block = blockRows(n);
    float[] lg = logitsBuffer(block);
    for (int r0 = 0; r0 < n; r0 += block) {
      final int rows = Math.min(block, n - r0), base = r0;
      computeLogits(hidden, r0, rows, lg);
      Parallel.forRange(rows, 4, (a, b) -> {
        for (int r = a; r < b; r++) {
          float lse = Vec.logSumExp(lg, r * vocab, vocab);
          int o = (base + r) * k;
          TopK.selectRow(lg, r * vocab, vocab, k, ids, vals, o);
          for (int j = 0; j < k; j++) vals[o + j] -= lse;
        }
      });
    }
    return new TopK(n, k, ids, vals);
  }
}
