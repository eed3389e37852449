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
 * @param initRange uniform init range of the embedding and the untied full-softmax decoder
 * @param head      the output layer
 * @param lstmInitRange uniform init range of the LSTM weights and biases; 0 = PyTorch's nn.LSTM default
 *                  ±1/sqrt(hidden); null (not given, or a config.json from before this field) = initRange
 */
public record ModelConfig(int vocab, int emb, int hidden, int layers, float dropout, boolean tied,
                          String input, float initRange, HeadSpec head, Float lstmInitRange) {

  /** The LSTM initialised like the rest, uniform ±initRange (Zaremba et al.). */
  public ModelConfig(int vocab, int emb, int hidden, int layers, float dropout, boolean tied,
                     String input, float initRange, HeadSpec head) {
    this(vocab, emb, hidden, layers, dropout, tied, input, initRange, head, null);
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
    if (head != null && head.type() != null && head.type().equals("mos")) {
      long d = head.mosDim() > 0 ? head.mosDim() : hidden; // D = 0: the head's input size (= emb when tied)
      fits("--experts " + head.experts() + " x --mos-dim " + d + " x --hidden " + hidden + " (MoS latent weight)",
          Math.max(0, (long) head.experts()) * d * hidden);
    }
    return this;
  }

  /** The largest tensor lmhead can hold: a Java array of floats. */
  public static final long MAX_TENSOR = Integer.MAX_VALUE - 8;

  private static void fits(String what, long elements) {
    if (elements > MAX_TENSOR) {
      throw new IllegalArgumentException(what + " needs a tensor of " + elements + " elements; at most "
          + MAX_TENSOR + " fit: use smaller sizes");
    }
  }

  /**
   * A lower bound on the number of parameters of this model, computed without building it: the LSTM
   * weights (4H x (in + H) per layer), at least one input weight per word (V x emb for an embedding),
   * and for the output layer V x H (full, untied), K x D x H (MoS latent projection) or V; tied
   * weights count once. A checkpoint
   * file holding fewer floats cannot belong to this config, so loaders check it before allocating.
   */
  public long minParameters() {
    long n = 0;
    for (int l = 0; l < layers; l++) n += 4L * hidden * ((l == 0 ? emb : hidden) + hidden);
    // tied weights are counted once: with the input (embedding) or with the head (adaptive input)
    n += input.equals("adaptive") ? (tied ? 0 : vocab) : (long) vocab * emb;
    String type = head == null || head.type() == null ? "" : head.type();
    n += switch (type) {
      case "full" -> tied ? 0 : (long) vocab * hidden;
      case "mos" -> (long) Math.max(1, head.experts()) * (head.mosDim() > 0 ? head.mosDim() : hidden) * hidden;
      default -> tied && !input.equals("adaptive") ? 0 : vocab;
    };
    return n;
  }
}
