package dev.lmhead.nn;

import dev.lmhead.tensor.Rng;
import dev.lmhead.tensor.Vec;
import java.util.List;

/** A lookup table [V, d] (PyTorch's {@code nn.Embedding}; state name {@code weight}). */
public final class Embedding implements InputLayer {
  public final Parameter weight;
  private final int vocab, dim;

  /** Initialised uniform in [-initRange, initRange] (0.1 in the PyTorch word-LM example). */
  public Embedding(int vocab, int dim, float initRange, Rng rng) {
    if (vocab < 1 || dim < 1) throw new IllegalArgumentException("embedding needs vocab >= 1 and dim >= 1, got " + vocab + ", " + dim);
    this.vocab = vocab;
    this.dim = dim;
    this.weight = new Parameter("weight", vocab, dim);
    rng.fillUniform(weight.data, -initRange, initRange);
  }

  @Override public int vocabSize() { return vocab; }
  @Override public int dim() { return dim; }
  @Override public String type() { return "embedding"; }

  @Override
  public void forward(int[] ids, int n, float[] out) {
    for (int i = 0; i < n; i++) {
      int id = ids[i];
      if (id < 0 || id >= vocab) throw new IllegalArgumentException("token id " + id + " at position " + i + " is outside [0, " + vocab + ")");
      System.arraycopy(weight.data, id * dim, out, i * dim, dim);
    }
  }

  @Override
  public void backward(int[] ids, int n, float[] gradOut) {
    for (int i = 0; i < n; i++) Vec.add(gradOut, i * dim, weight.grad, ids[i] * dim, dim);
  }

  @Override public List<Parameter> parameters() { return List.of(weight); }
}
