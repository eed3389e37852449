package dev.lmhead.train;

import dev.lmhead.nn.Parameter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A first-order optimiser over a fixed list of parameters. State (moments, accumulators, step count) is
 * exposed as named float arrays so checkpoints can save it and a resumed run continues exactly.
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
    Map<String, float[]> mine = state();
    for (var e : mine.entrySet()) {
      float[] src = saved.get(e.getKey());
      if (src == null || src.length != e.getValue().length) {
        throw new IllegalArgumentException("optimizer state '" + e.getKey() + "' missing or of the wrong size");
      }
      System.arraycopy(src, 0, e.getValue(), 0, src.length);
    }
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

  /** Adam (Kingma & Ba 2015), PyTorch defaults: betas (0.9, 0.999), eps 1e-8, L2 weight decay. */
  public static final class Adam extends Optimizer {
    private final float[][] m, v;
    private final float[] t = new float[1];

    public Adam(List<Parameter> params, float weightDecay) {
      super(params, weightDecay);
      m = new float[params.size()][];
      v = new float[params.size()][];
      for (int i = 0; i < m.length; i++) { m[i] = new float[params.get(i).size()]; v[i] = new float[params.get(i).size()]; }
    }

    @Override public String name() { return "adam"; }

    @Override
    public void step(double lr) {
      t[0] += 1;
      double b1 = 0.9, b2 = 0.999, c1 = 1 - Math.pow(b1, t[0]), c2 = 1 - Math.pow(b2, t[0]);
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
      s.put("step", t);
      for (int i = 0; i < m.length; i++) { s.put("exp_avg." + i, m[i]); s.put("exp_avg_sq." + i, v[i]); }
      return s;
    }
  }
}
