package dev.lmhead.nn;

import java.util.List;

/** Maps token ids to vectors: a plain {@link Embedding} or adaptive input embeddings. */
public interface InputLayer {
  int vocabSize();

  /** Output dimension d. */
  int dim();

  /** "embedding" or "adaptive". */
  String type();

  /** out[i*d .. (i+1)*d) = vector of ids[i], for i < n. */
  void forward(int[] ids, int n, float[] out);

  /** Accumulates parameter gradients from gradOut [n, d] (the ids of the matching forward). */
  void backward(int[] ids, int n, float[] gradOut);

  List<Parameter> parameters();
}
