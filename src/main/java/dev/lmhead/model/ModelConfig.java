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
 * @param initRange uniform init range of embeddings and LSTM weights
 * @param head      the output layer
 */
public record ModelConfig(int vocab, int emb, int hidden, int layers, float dropout, boolean tied,
                          String input, float initRange, HeadSpec head) {

  /** Checks sizes; throws IllegalArgumentException naming the flag. */
  public ModelConfig validate() {
    if (vocab < 1) throw new IllegalArgumentException("vocabulary is empty");
    if (emb < 1) throw new IllegalArgumentException("--emb must be >= 1, got " + emb);
    if (hidden < 1) throw new IllegalArgumentException("--hidden must be >= 1, got " + hidden);
    if (layers < 1) throw new IllegalArgumentException("--layers must be >= 1, got " + layers);
    if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("--dropout must be in [0, 1), got " + dropout);
    if (!(initRange > 0)) throw new IllegalArgumentException("--init-range must be > 0, got " + initRange);
    if (!input.equals("embedding") && !input.equals("adaptive")) {
      throw new IllegalArgumentException("--input must be embedding or adaptive, got '" + input + "'");
    }
    if (tied && emb != hidden) {
      throw new IllegalArgumentException("--tied needs --emb equal to --hidden (got " + emb + " and " + hidden + ")");
    }
    return this;
  }
}
