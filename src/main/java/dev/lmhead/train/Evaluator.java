package dev.lmhead.train;

import dev.lmhead.data.BpttBatcher;
import dev.lmhead.head.TopK;
import dev.lmhead.model.LanguageModel;

/**
 * Perplexity = exp(mean NLL in nats over every target token of the split, {@code <eos>} included), the
 * recurrent state carried across the whole split. With batch B the stream is cut into B columns (the
 * standard batchify, which drops the last len % B tokens); with B = 1 every token after the first is a target.
 */
public final class Evaluator {
  /** The definition printed next to a perplexity measured at eval batch 1 (see {@link #definition(int)}). */
  public static final String DEFINITION =
      "ppl = exp(mean NLL in nats over every target token, <eos> included, state carried over the whole split)";

  /**
   * The definition of a perplexity measured at eval batch {@code batch}, printed next to it: {@link #DEFINITION}
   * for 1; for B > 1 the split is cut into B contiguous streams (batchify), each carrying its own state, the
   * last {@code len % B} tokens dropped and the first token of each stream not a target.
   */
  public static String definition(int batch) {
    if (batch < 1) throw new IllegalArgumentException("eval batch must be >= 1, got " + batch);
    if (batch == 1) return DEFINITION;
    return "ppl = exp(mean NLL in nats over the target tokens, <eos> included, with the split cut into " + batch
        + " contiguous streams (eval batch " + batch + "; the last len % " + batch + " tokens dropped, each stream's first token"
        + " not a target), state carried along each stream)";
  }

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
    if (Double.isNaN(r.meanNll())) return "NaN (the model gives non-finite log-probabilities: its weights are not finite or overflow float32)";
    if (r.meanNll() == Double.POSITIVE_INFINITY) return "inf (some target word gets probability 0)";
    return String.format("inf (mean NLL %.1f nats: exp overflows)", r.meanNll());
  }

  /** How top-k accuracy is defined, printed next to it. */
  public static final String TOPK_DEFINITION =
      "acc@k = share of target tokens (<eos> included) among the model's k most likely next words (exact top-k, ties to the smaller id)";

  /**
   * Perplexity and top-k accuracy in one pass. {@code hitsAtRank[j]} counts the targets that are the
   * model's (j+1)-th most likely word; {@code topKSeconds} is the time spent in the head's exact top-k.
   */
  public record TopKResult(Result result, int k, long[] hitsAtRank, double topKSeconds) {
    /** acc@(j+1): share of targets within the first j+1 predictions. */
    public double accuracy(int j) {
      long hits = 0;
      for (int i = 0; i <= j; i++) hits += hitsAtRank[i];
      return result.tokens() == 0 ? Double.NaN : (double) hits / result.tokens();
    }
    /** Rows per second through the head's top-k alone. */
    public double topKRowsPerSecond() { return result.tokens() / Math.max(topKSeconds, 1e-9); }
  }

  private Evaluator() {}

  /** {@link #evaluate}, and the exact top-k of every row, compared with its target. */
  public static TopKResult evaluateTopK(LanguageModel model, int[] stream, int batch, int bptt, int k, Progress progress) {
    if (k < 1 || k > model.vocabSize()) throw new IllegalArgumentException("k must be in [1, " + model.vocabSize() + "], got " + k);
    return run(model, stream, batch, bptt, k, progress);
  }

  /** One pass over the split; k = 0 skips top-k. */
  private static TopKResult run(LanguageModel model, int[] stream, int batch, int bptt, int k, Progress progress) {
    long t0 = System.nanoTime();
    BpttBatcher b = new BpttBatcher(stream, batch);
    model.resetState(batch);
    int[] in = new int[bptt * batch], tg = new int[bptt * batch];
    float[] scratch = new float[bptt * batch];
    long[] hits = new long[k];
    double nll = 0;
    long n = 0, topNanos = 0;
    int T;
    while ((T = b.next(bptt, in, tg)) > 0) {
      int rows = T * batch;
      float[] x = model.headInputs(in, T, batch);
      model.decoder.targetLogProb(x, rows, tg, scratch);
      double s = 0;
      for (int i = 0; i < rows; i++) s -= scratch[i];
      nll += s;
      if (k > 0) {
        long s0 = System.nanoTime();
        TopK top = model.decoder.topK(x, rows, k);
        topNanos += System.nanoTime() - s0;
        for (int r = 0; r < rows; r++) {
          for (int j = 0; j < k; j++) {
            if (top.id(r, j) == tg[r]) { hits[j]++; break; }
          }
        }
      }
      n += rows;
      if (progress != null) progress.step(rows, null);
    }
    Result res = new Result(nll, n, (System.nanoTime() - t0) / 1e9);
    return new TopKResult(res, k, hits, topNanos / 1e9);
  }

  /** Perplexity of a token stream (see {@link #definition(int)}), cut into {@code batch} columns. */
  public static Result evaluate(LanguageModel model, int[] stream, int batch, int bptt, Progress progress) {
    return run(model, stream, batch, bptt, 0, progress).result();
  }

}
