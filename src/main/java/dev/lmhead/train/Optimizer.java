package dev.lmhead.train;

import dev.lmhead.nn.Parameter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A first-order optimiser over a fixed list of parameters. State (moments, accumulators, step count) is
 * exposed as named float arrays so checkpoints can save it and a resumed run continues exactly; an
 * integer that a float cannot hold exactly (Adam's step count) is stored as base-2^16 digits.
 */
public abstract class Optimizer {
  protected final List<Parameter> params;
  protected final float weightDecay;

  protected Optimizer(List<Parameter> params, float weightDecay) {
    this.params = params;
    this.weightDecay = weightDecay;
  }

  /** Applies one update with learning rate lr using the accumulated gradients (not zeroed here). */
  public abstract void step(double lr);

  public abstract String name();

  /** Named state arrays ("<slot>.<param index>"), live views. */
  public Map<String, float[]> state() { return new LinkedHashMap<>(); }

  /** Restores state saved by {@link #state()}; throws IllegalArgumentException on a mismatch. */
  public void loadState(Map<String, float[]> saved) {
    for (var e : state().entrySet()) copyState(saved, e.getKey(), e.getValue());
  }

  /** Copies {@code saved[key]} into {@code dst}; throws IllegalArgumentException when it is missing or of another size. */
  protected static void copyState(Map<String, float[]> saved, String key, float[] dst) {
    float[] src = saved.get(key);
    if (src == null || src.length != dst.length) {
      throw new IllegalArgumentException("optimizer state '" + key + "' missing or of the wrong size");
    }
    System.arraycopy(src, 0, dst, 0, src.length);
  }

  public void zeroGrad() { for (Parameter p : params) p.zeroGrad(); }

  /**
   * Scales gradients so their global L2 norm is at most maxNorm (PyTorch's clip_grad_norm_);
   * returns the norm before clipping. maxNorm <= 0 disables clipping.
   */
  public double clipGradNorm(double maxNorm) {
    double sq = 0;
    for (Parameter p : params) sq += dev.lmhead.tensor.Vec.sumSquares(p.grad, 0, p.grad.length);
    double norm = Math.sqrt(sq);
    if (maxNorm > 0 && norm > maxNorm) {
      float s = (float) (maxNorm / (norm + 1e-6));
      for (Parameter p : params) dev.lmhead.tensor.Vec.scale(p.grad, 0, p.grad.length, s);
    }
    return norm;
  }

  public static Optimizer create(String name, List<Parameter> params, float weightDecay) {
    return switch (name) {
      case "sgd" -> new Sgd(params, weightDecay);
      case "adagrad" -> new Adagrad(params, weightDecay);
      case "adam" -> new Adam(params, weightDecay);
      default -> throw new IllegalArgumentException("--optimizer must be sgd, adagrad or adam, got '" + name + "'");
    };
  }

  /** Plain SGD: p -= lr * (g + wd * p). */
  public static final class Sgd extends Optimizer {
    public Sgd(List<Parameter> params, float weightDecay) { super(params, weightDecay); }

    @Override public String name() { return "sgd"; }

    @Override
    public void step(double lr) {
      float a = (float) -lr;
      for (Parameter p : params) {
        if (weightDecay != 0f) dev.lmhead.tensor.Vec.axpy(weightDecay, p.data, 0, p.grad, 0, p.size());
        dev.lmhead.tensor.Vec.axpy(a, p.grad, 0, p.data, 0, p.size());
      }
    }
  }

  /** Adagrad (Duchi et al. 2011), PyTorch defaults: eps 1e-10, initial accumulator 0. */
  public static final class Adagrad extends Optimizer {
    private final float[][] sum;

    public Adagrad(List<Parameter> params, float weightDecay) {
      super(params, weightDecay);
      sum = new float[params.size()][];
      for (int i = 0; i < sum.length; i++) sum[i] = new float[params.get(i).size()];
    }

    @Override public String name() { return "adagrad"; }

    @Override
    public void step(double lr) {
      for (int i = 0; i < params.size(); i++) {
        Parameter p = params.get(i);
        float[] s = sum[i], d = p.data, g = p.grad;
        for (int j = 0; j < d.length; j++) {
          float gj = g[j] + weightDecay * d[j];
          s[j] += gj * gj;
          d[j] -= (float) (lr * gj / (Math.sqrt(s[j]) + 1e-10));
        }
      }
    }

    @Override
    public Map<String, float[]> state() {
      Map<String, float[]> m = new LinkedHashMap<>();
      for (int i = 0; i < sum.length; i++) m.put("sum." + i, sum[i]);
      return m;
    }
  }

  /**
   * Adam (Kingma & Ba 2015), PyTorch defaults: betas (0.9, 0.999), eps 1e-8, L2 weight decay. The step
   * count is a long (a float stops counting at 2^24); its state entry {@code step} holds it as
   * {@link #STEP_DIGITS} base-2^16 digits, least significant first, each exact in a float. A one-element
   * {@code step} (the float count of older checkpoints) is read as that count.
   */
  public static final class Adam extends Optimizer {
    /** Digits of the saved step count: 4 x 16 bits hold any non-negative long. */
    public static final int STEP_DIGITS = 4;
    private final float[][] m, v;
    private long t;
    private final float[] tDigits = new float[STEP_DIGITS]; // t, kept in sync: the live view of the state

    public Adam(List<Parameter> params, float weightDecay) {
      super(params, weightDecay);
      m = new float[params.size()][];
      v = new float[params.size()][];
      for (int i = 0; i < m.length; i++) { m[i] = new float[params.get(i).size()]; v[i] = new float[params.get(i).size()]; }
    }

    @Override public String name() { return "adam"; }

    /** Updates taken so far (the t of the bias corrections). */
    public long steps() { return t; }

    private void setSteps(long steps) {
      t = steps;
      for (int i = 0; i < STEP_DIGITS; i++) tDigits[i] = (float) ((steps >>> (16 * i)) & 0xFFFF);
    }

    /** The step count held by a saved {@code step} entry (digits, or one float from an older checkpoint). */
    static long decodeSteps(float[] saved) {
      if (saved == null || (saved.length != 1 && saved.length != STEP_DIGITS)) {
        throw new IllegalArgumentException("optimizer state 'step' missing or of the wrong size");
      }
      if (saved.length == 1) { // older checkpoints: the count as a float
        float f = saved[0];
        if (!(f >= 0) || f != Math.rint(f) || f >= 0x1p63f) {
          throw new IllegalArgumentException("optimizer state 'step' is not a step count (" + f + ")");
        }
        return (long) f;
      }
      long steps = 0;
      for (int i = 0; i < STEP_DIGITS; i++) {
        float d = saved[i];
        if (!(d >= 0 && d < 65536) || d != Math.rint(d) || (i == STEP_DIGITS - 1 && d >= 32768)) {
          throw new IllegalArgumentException("optimizer state 'step' is not a step count (digit " + i + " is " + d + ")");
        }
        steps |= (long) d << (16 * i);
      }
      return steps;
    }

    @Override
    public void step(double lr) {
      setSteps(t + 1);
      double b1 = 0.9, b2 = 0.999, c1 = 1 - Math.pow(b1, (double) t), c2 = 1 - Math.pow(b2, (double) t);
      double stepSize = lr / c1, sc2 = Math.sqrt(c2);
      for (int i = 0; i < params.size(); i++) {
        Parameter p = params.get(i);
        float[] mi = m[i], vi = v[i], d = p.data, g = p.grad;
        for (int j = 0; j < d.length; j++) {
          float gj = g[j] + weightDecay * d[j];
          mi[j] = (float) (b1 * mi[j] + (1 - b1) * gj);
          vi[j] = (float) (b2 * vi[j] + (1 - b2) * gj * gj);
          d[j] -= (float) (stepSize * mi[j] / (Math.sqrt(vi[j]) / sc2 + 1e-8));
        }
      }
    }

    @Override
    public Map<String, float[]> state() {
      Map<String, float[]> s = new LinkedHashMap<>();
      s.put("step", tDigits);
      for (int i = 0; i < m.length; i++) { s.put("exp_avg." + i, m[i]); s.put("exp_avg_sq." + i, v[i]); }
      return s;
    }

    @Override
    public void loadState(Map<String, float[]> saved) {
      long steps = decodeSteps(saved.get("step"));
      for (var e : state().entrySet()) if (!e.getKey().equals("step")) copyState(saved, e.getKey(), e.getValue());
      setSteps(steps);
    }
  }
}
