package dev.lmhead.nn;

import java.util.Arrays;

/**
 * A trainable tensor: value and gradient, row-major, with a PyTorch-style name ("weight_ih_l0",
 * "head.weight", ...). Gradients accumulate (+=) until {@link #zeroGrad()}.
 */
public final class Parameter {
  private String name;
  public final int[] shape;
  public final float[] data;
  public final float[] grad;

  public Parameter(String name, int... shape) {
    this.name = name;
    this.shape = shape.clone();
    long size = 1;
    for (int s : shape) {
      if (s < 0) throw new IllegalArgumentException("negative dimension in " + name + Arrays.toString(shape));
      size *= s;
    }
    if (size > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("parameter " + name + " too large: " + Arrays.toString(shape));
    this.data = new float[(int) size];
    this.grad = new float[(int) size];
  }

  public String name() { return name; }

  /** Renames, e.g. to prefix it with the owning module ("decoder." + name). */
  public Parameter rename(String newName) { this.name = newName; return this; }

  public int size() { return data.length; }

  public void zeroGrad() { Arrays.fill(grad, 0f); }

  @Override public String toString() { return name + Arrays.toString(shape); }
}
