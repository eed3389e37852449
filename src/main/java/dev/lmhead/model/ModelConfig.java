package dev.lmhead.model;

import dev.lmhead.head.HeadSpec;

/**
 * Architecture of an LSTM language model (what a checkpoint needs to rebuild it, with the vocabulary).
 *
 * @param vocab     vocabulary size V
 * @param emb       embedding size (input to the LSTM)
 * @param hidden    LSTM hidden size (input to the head)
 * @param layers    LSTM layers
 * @param dropout   dropout on the embeddings, between LSTM layers and on the LSTM output (PyTorch word-LM example)
 * @param tied      share the input embedding with the output weights (Press & Wolf 2017; Inan et al. 2017)
 * @param input     "embedding" or "adaptive" (adaptive input embeddings, Baevski & Auli 2019)
 * @param initRange uniform init range of the embedding and the head (see {@link dev.lmhead.head.OutputLayer#initLikeWordLanguageModel})
 * @param head      the output layer
 * @param lstmInitRange uniform init range of the LSTM weights and biases; 0 = PyTorch's nn.LSTM default
 *                  ±1/sqrt(hidden); null (not given, or a config.json from before this field) = initRange
 * @param inputCutoffs adaptive input: band boundaries ({@code --cutoffs}); null = the tied adaptive softmax's,
 *                  else scaled to V. config.json files from before this field kept them in the head object.
 * @param inputFactor adaptive input: band dimension divisor ({@code --div-value}); null = the tied adaptive
 *                  softmax's div_value, else 4
 */
public record ModelConfig(int vocab, int emb, int hidden, int layers, float dropout, boolean tied,
                          String input, float initRange, HeadSpec head, Float lstmInitRange,
                          int[] inputCutoffs, Double inputFactor) {

  /** The LSTM initialised like the rest, uniform ±initRange (Zaremba et al.). */
  public ModelConfig(int vocab, int emb, int hidden, int layers, float dropout, boolean tied,
                     String input, float initRange, HeadSpec head) {
    this(vocab, emb, hidden, layers, dropout, tied, input, initRange, head, null);
  }

  /** Adaptive input bands, if any, from the tied softmax or scaled to V. */
  public ModelConfig(int vocab, int emb, int hidden, int layers, float dropout, boolean tied,
                     String input, float initRange, HeadSpec head, Float lstmInitRange) {
    this(vocab, emb, hidden, layers, dropout, tied, input, initRange, head, lstmInitRange, null, null);
  }

  /** The LSTM's resolved uniform init range: lstmInitRange, 1/sqrt(hidden) for 0, initRange when absent. */
  public float lstmRange() {
    if (lstmInitRange == null) return initRange;
    return lstmInitRange == 0f ? (float) (1.0 / Math.sqrt(hidden)) : lstmInitRange;
  }

  /** Checks sizes; throws IllegalArgumentException naming the flag. */
  public ModelConfig validate() {
    if (vocab < 1) throw new IllegalArgumentException("vocabulary is empty");
    if (emb < 1) throw new IllegalArgumentException("--emb must be >= 1, got " + emb);
    if (hidden < 1) throw new IllegalArgumentException("--hidden must be >= 1, got " + hidden);
    if (layers < 1) throw new IllegalArgumentException("--layers must be >= 1, got " + layers);
    if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("--dropout must be in [0, 1), got " + dropout);
    if (!(initRange > 0)) throw new IllegalArgumentException("--init-range must be > 0, got " + initRange);
    if (lstmInitRange != null && !(lstmInitRange >= 0 && lstmInitRange < Float.POSITIVE_INFINITY)) {
      throw new IllegalArgumentException("--lstm-init-range must be >= 0 (0 = PyTorch's 1/sqrt(hidden)), got " + lstmInitRange);
    }
    if (!input.equals("embedding") && !input.equals("adaptive")) {
      throw new IllegalArgumentException("--input must be embedding or adaptive, got '" + input + "'");
    }
    if (tied && emb != hidden) {
      throw new IllegalArgumentException("--tied needs --emb equal to --hidden (got " + emb + " and " + hidden + ")");
    }
    // every weight matrix must fit one Java array: check before anything is allocated
    fits("--emb " + emb + " x vocabulary " + vocab + " (input embedding)", (long) vocab * emb);
    fits("--hidden " + hidden + " x vocabulary " + vocab + " (output weight)", (long) vocab * hidden);
    fits("--hidden " + hidden + " with --emb " + emb + " (LSTM weight 4*hidden x emb)", 4L * hidden * emb);
    fits("--hidden " + hidden + " (LSTM weight 4*hidden x hidden)", 4L * hidden * hidden);
    if (head != null) head.checkSizes(vocab, hidden);
    return this;
  }

  /** The largest tensor lmhead can hold: a Java array of floats. */
  public static final long MAX_TENSOR = HeadSpec.MAX_TENSOR;

  private static void fits(String what, long elements) {
    HeadSpec.checkFits(what, elements);
  }

  /**
   * A lower bound on the number of parameters of this model, computed without building it: the LSTM
   * weights (4H x (in + H) per layer), at least one input weight per word (V x emb for an embedding),
   * and the output layer's own bound ({@link HeadSpec#minParameters}); tied weights count once. A checkpoint
   * file holding fewer floats cannot belong to this config, so loaders check it before allocating.
   */
  public long minParameters() {
    long n = 0;
    for (int l = 0; l < layers; l++) n += 4L * hidden * ((l == 0 ? emb : hidden) + hidden);
    // tied weights are counted once: with the input (embedding) or with the head (adaptive input)
    n += input.equals("adaptive") ? (tied ? 0 : vocab) : (long) vocab * emb;
    boolean sharesEmbedding = tied && !input.equals("adaptive");
    n += head == null ? (sharesEmbedding ? 0 : vocab) : head.minParameters(vocab, hidden, sharesEmbedding);
    return n;
  }
}
