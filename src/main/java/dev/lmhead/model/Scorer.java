package dev.lmhead.model;

import dev.lmhead.data.Vocabulary;
import dev.lmhead.nn.Lstm;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Scores sentences independently: the log-probability of each line under the model, KenLM style.
 *
 * <p>Convention (the PyTorch word-LM example has no beginning-of-sentence token): every line starts from
 * the zero recurrent state with {@code <eos>} fed as the start-of-sentence context, as if the line
 * followed an earlier line's end; then every word and the final {@code <eos>} are scored. A line of n
 * words therefore has n + 1 scored tokens, and its log-prob equals the negative NLL that
 * {@code lmhead eval} (batch 1) reports on a two-line file whose first line is empty and whose second
 * line is this one. Tokens are the line's whitespace-separated words, as in training; a word outside
 * the vocabulary is scored as {@code <unk>} and counted as OOV (so is a literal {@code <unk>} in the
 * text: both are "mapped to &lt;unk&gt;").
 *
 * <p>Lines are sorted by length and scored {@link #batchLines} at a time in one packed forward pass
 * ({@link LanguageModel#packedHeadInputs}, PyTorch's {@code PackedSequence}): each line runs over its own
 * tokens only, no padding is computed, and the head scores exactly the lines' positions. An LSTM's columns
 * are independent, so batched scores equal one-at-a-time scores up to float rounding (GEMMs over more rows may round differently with some
 * BLAS kernels; a test checks 1e-5 per token under every kernel).
 *
 * <p>Not thread-safe (it drives the model's recurrent state and buffers).
 */
public final class Scorer {
  /** One scored line. {@code tokenLogProbs[i]} is log P(token i | context), natural log; the last token is {@code <eos>}. */
  public record Result(double logProb, int tokens, int oov, float[] tokenLogProbs, int[] ids) {
    /** log10 of the probability, as KenLM reports it. */
    public double log10() { return logProb / Math.log(10); }
    /** exp(−logProb / tokens). */
    public double ppl() { return Math.exp(-logProb / tokens); }

    /**
     * The fields of one scored line, in the order {@code lmhead score --json} and {@code POST /v1/score}
     * both print them: logprob, log10, tokens, oov, ppl, and with {@code perToken} each token's word
     * ({@code words} of the line, then {@code <eos>}), log-prob and an oov flag where the word was
     * {@code unkId}.
     */
    public java.util.Map<String, Object> fields(List<String> words, boolean perToken, int unkId) {
      java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
      m.put("logprob", logProb);
      m.put("log10", log10());
      m.put("tokens", tokens);
      m.put("oov", oov);
      m.put("ppl", ppl());
      if (perToken) {
        List<Object> toks = new java.util.ArrayList<>();
        for (int t = 0; t < tokens; t++) {
          java.util.Map<String, Object> tm = new java.util.LinkedHashMap<>();
          tm.put("word", t < words.size() ? words.get(t) : Vocabulary.EOS);
          tm.put("logprob", tokenLogProbs[t]);
          if (t < words.size() && ids[t] == unkId) tm.put("oov", true);
          toks.add(tm);
        }
        m.put("per_token", toks);
      }
      return m;
    }
  }

  private final LanguageModel model;
  private final Vocabulary vocab;
  private int batchLines = 64;

  public Scorer(LanguageModel model, Vocabulary vocab) {
    if (model.vocabSize() != vocab.size()) {
      throw new IllegalArgumentException("model has " + model.vocabSize() + " words, vocabulary " + vocab.size());
    }
    this.model = model;
    this.vocab = vocab;
  }

  /** Lines per forward pass (default 64); 1 scores one line at a time. */
  public Scorer batchLines(int n) {
    if (n < 1) throw new IllegalArgumentException("--batch must be >= 1, got " + n);
    batchLines = n;
    return this;
  }

  public int batchLines() { return batchLines; }

  /** Token ids of a line: its whitespace-separated words (unknown → {@code <unk>}) then {@code <eos>}. */
  public int[] encode(String line) {
    List<String> words = split(line);
    int[] ids = new int[words.size() + 1];
    for (int i = 0; i < words.size(); i++) ids[i] = vocab.id(words.get(i));
    ids[words.size()] = vocab.eosId();
    return ids;
  }

  /** Whitespace-separated words, with {@link Character#isWhitespace} as the corpus reader uses. */
  public static List<String> split(String line) {
    List<String> out = new ArrayList<>();
    int n = line.length(), i = 0;
    while (i < n) {
      while (i < n && Character.isWhitespace(line.charAt(i))) i++;
      int s = i;
      while (i < n && !Character.isWhitespace(line.charAt(i))) i++;
      if (i > s) out.add(line.substring(s, i));
    }
    return out;
  }

  /** Scores every line independently; results in input order. */
  public List<Result> score(List<String> lines) {
    int[][] seqs = new int[lines.size()][];
    for (int i = 0; i < seqs.length; i++) seqs[i] = encode(lines.get(i));
    return scoreIds(seqs);
  }

  /** Scores token-id sequences (each ending with its {@code <eos>}), each from a fresh state with {@code <eos>} as context. */
  public List<Result> scoreIds(int[][] seqs) {
    int n = seqs.length;
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) order[i] = i;
    Arrays.sort(order, (a, b) -> Integer.compare(seqs[a].length, seqs[b].length));
    Result[] out = new Result[n];
    int eos = vocab.eosId(), unk = vocab.unkId();
    int[] targets = new int[0];
    float[] lp = new float[0];
    for (int s = 0; s < n; s += batchLines) {
      int B = Math.min(batchLines, n - s), rows = 0;
      int[][] inputs = new int[B][], lines = new int[B][];
      int[] lensDesc = new int[B];
      for (int b = 0; b < B; b++) {
        int[] q = lines[b] = seqs[order[s + B - 1 - b]]; // longest first
        if (q.length < 1) throw new IllegalArgumentException("empty token sequence (every line ends with <eos>)");
        int[] in = inputs[b] = new int[q.length];
        in[0] = eos; // the start-of-sentence context
        System.arraycopy(q, 0, in, 1, q.length - 1);
        lensDesc[b] = q.length;
        rows += q.length;
      }
      int[] bs = Lstm.batchSizes(lensDesc);
      float[] x = model.packedHeadInputs(inputs, bs);
      if (targets.length < rows) { targets = new int[rows]; lp = new float[rows]; }
      for (int t = 0, off = 0; t < bs.length; off += bs[t], t++)
        for (int b = 0; b < bs[t]; b++) targets[off + b] = lines[b][t];
      model.decoder.targetLogProb(x, rows, targets, lp);
      for (int b = 0; b < B; b++) {
        int[] q = lines[b];
        float[] tok = new float[q.length];
        double sum = 0;
        int oov = 0;
        for (int t = 0, off = 0; t < q.length; off += bs[t], t++) {
          tok[t] = lp[off + b];
          sum += tok[t];
          if (q[t] == unk) oov++;
        }
        out[order[s + B - 1 - b]] = new Result(sum, q.length, oov, tok, q);
      }
    }
    return Arrays.asList(out);
  }
}
