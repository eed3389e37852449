package dev.lmhead.head;

import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Rng;
import java.util.List;

/**
 * A throwaway head that proves what adding a head takes: this one file (the head, its spec record, its
 * option and its registry entry) plus one registry line ({@code Heads.register(UnigramHead.TYPE)} here in
 * a test; a line in {@code Heads.BUILT_IN} for a real head). No edit in cli/, model/ or analysis/.
 *
 * <p>The head ignores the hidden state: {@code log P(w) = s·b_w - logsumexp_v(s·b_v)}, a learnable
 * unigram distribution with logits b [V] and a fixed temperature-like scale s ({@code --unigram-scale}).
 */
public final class UnigramHead implements OutputLayer {
  public static final HeadOption SCALE = HeadOption.of("unigram-scale", HeadOption.Kind.DOUBLE, "1.0",
      "unigram: logit scale s (default: 1.0).");

  /** {@code --head unigram}. */
  public record Spec(double scale) implements HeadSpec {
    @Override public String type() { return "unigram"; }
    @Override public OutputLayer create(int vocab, int dim, long[] counts, Parameter tiedWeight, Rng rng) {
      return new UnigramHead(vocab, dim, scale);
    }
    @Override public String describe() { return "unigram(scale " + scale + ")"; }
  }

  public static final HeadType TYPE = new HeadType("unigram", "unigram (ignores the context)", Spec.class, List.of(SCALE),
      o -> new Spec(o.real(SCALE)), false);

  private final int vocab, dim;
  private final double scale;
  public final Parameter logits;

  public UnigramHead(int vocab, int dim, double scale) {
    this.vocab = vocab;
    this.dim = dim;
    this.scale = scale;
    this.logits = new Parameter("logits", vocab);
  }

  @Override public int vocabSize() { return vocab; }
  @Override public int inputDim() { return dim; }
  @Override public String type() { return "unigram"; }
  @Override public HeadSpec spec() { return new Spec(scale); }
  @Override public List<Parameter> parameters() { return List.of(logits); }

  private float[] logProbRow() {
    float[] lp = new float[vocab];
    double m = Double.NEGATIVE_INFINITY;
    for (int v = 0; v < vocab; v++) m = Math.max(m, scale * logits.data[v]);
    double s = 0;
    for (int v = 0; v < vocab; v++) s += Math.exp(scale * logits.data[v] - m);
    double lse = m + Math.log(s);
    for (int v = 0; v < vocab; v++) lp[v] = (float) (scale * logits.data[v] - lse);
    return lp;
  }

  @Override
  public double forwardBackward(float[] hidden, int n, int[] targets, float[] gradHidden, Loss loss, float[] rowLoss) {
    int count = loss.validate(targets, n, vocab);
    float g = loss.gradScale(count);
    float[] lp = logProbRow();
    double total = 0;
    for (int r = 0; r < n; r++) {
      int t = targets[r];
      double nll = loss.ignored(t) ? 0 : -lp[t];
      if (rowLoss != null) rowLoss[r] = (float) nll;
      if (loss.ignored(t)) continue;
      total += nll;
      for (int v = 0; v < vocab; v++) logits.grad[v] += (float) (g * scale * (Math.exp(lp[v]) - (v == t ? 1 : 0)));
    }
    if (gradHidden != null) java.util.Arrays.fill(gradHidden, 0, n * dim, 0f);
    return loss.reduce(total, count);
  }

  @Override
  public void targetLogProb(float[] hidden, int n, int[] targets, float[] out) {
    Loss.checkTargets(targets, n, vocab);
    float[] lp = logProbRow();
    for (int r = 0; r < n; r++) out[r] = lp[targets[r]];
  }

  @Override
  public void logProb(float[] hidden, int n, float[] out) {
    float[] lp = logProbRow();
    for (int r = 0; r < n; r++) System.arraycopy(lp, 0, out, r * vocab, vocab);
  }

  @Override
  public TopK topK(float[] hidden, int n, int k) {
    if (k < 1 || k > vocab) throw new IllegalArgumentException("k must be in [1, " + vocab + "], got " + k);
    float[] lp = logProbRow();
    int[] ids = new int[n * k];
    float[] vals = new float[n * k];
    for (int r = 0; r < n; r++) TopK.selectRow(lp, 0, vocab, k, ids, vals, r * k);
    return new TopK(n, k, ids, vals);
  }
}
