package dev.lmhead.train;

import dev.lmhead.data.BpttBatcher;
import dev.lmhead.model.LanguageModel;

/**
 * Perplexity = exp(mean NLL in nats over every target token of the split, {@code <eos>} included), the
 * recurrent state carried across the whole split. With batch B the stream is cut into B columns (the
 * standard batchify, which drops the last len % B tokens); with B = 1 every token after the first is a target.
 */
public final class Evaluator {
  /** The definition printed next to every perplexity lmhead reports. */
  public static final String DEFINITION =
      "ppl = exp(mean NLL in nats over every target token, <eos> included, state carried over the whole split)";

  /** Sum of NLL and number of targets. */
  public record Result(double nll, long tokens, double seconds) {
    public double meanNll() { return tokens == 0 ? Double.NaN : nll / tokens; }
    public double ppl() { return Math.exp(meanNll()); }
    public double tokensPerSecond() { return tokens / Math.max(seconds, 1e-9); }
  }

  /**
   * The perplexity as printed: {@code %.2f} when finite, otherwise what went wrong, so that NaN or
   * infinity never appears without an explanation.
   */
  public static String pplText(Result r) {
    double p = r.ppl();
    if (Double.isFinite(p)) return String.format("%.2f", p);
    if (r.tokens() == 0) return "n/a (no target tokens)";
    if (Double.isNaN(r.meanNll())) return "NaN (the model gives non-finite log-probabilities: its weights are not finite)";
    if (r.meanNll() == Double.POSITIVE_INFINITY) return "inf (some target word gets probability 0)";
    return String.format("inf (mean NLL %.1f nats: exp overflows)", r.meanNll());
  }

  private Evaluator() {}

  public static Result evaluate(LanguageModel model, int[] stream, int batch, int bptt, Progress progress) {
    long t0 = System.nanoTime();
    BpttBatcher b = new BpttBatcher(stream, batch);
    model.resetState(batch);
    int[] in = new int[bptt * batch], tg = new int[bptt * batch];
    float[] scratch = new float[bptt * batch];
    double nll = 0;
    long n = 0;
    int T;
    while ((T = b.next(bptt, in, tg)) > 0) {
      nll += model.evalSum(in, tg, T, batch, scratch);
      n += (long) T * batch;
      if (progress != null) progress.step((long) T * batch, null);
    }
    return new Result(nll, n, (System.nanoTime() - t0) / 1e9);
  }
}
