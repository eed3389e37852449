package dev.lmhead.head;

import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Blas;
import dev.lmhead.tensor.Parallel;
import dev.lmhead.tensor.Vec;
import jdk.incubator.vector.FloatVector;

/**
 * The mixture arithmetic shared by {@link MixtureOfSoftmaxes} and {@link AdaptiveMixture}, all in log
 * space: the prior {@code log π = log_softmax(W_π h)}, the posterior over the K components given the
 * target (responsibilities) with the prior-logit gradient, and the running log-space sum of the
 * components' distributions.
 */
final class Mixture {
  private Mixture() {}

  /** logPrior [rows, K] = log_softmax(W_π h) for hidden rows r0 .. r0+rows ([n, dim] row-major). */
  static void logPrior(float[] hidden, int r0, int rows, int dim, Parameter prior, int experts, float[] logPrior) {
    Blas.get().sgemm(false, true, rows, experts, dim, 1f, hidden, r0 * dim, dim, prior.data, 0, dim, 0f, logPrior, 0, experts);
    Parallel.forRange(rows, 4, (a, b) -> {
      for (int r = a; r < b; r++) Vec.logSoftmaxInPlace(logPrior, r * experts, experts);
    });
  }

  /**
   * log P(y) = log Σ_k exp(joint[k]) of one row, in double, where {@code joint[k] = log π_k + log p_k(y)};
   * with one component, joint[0] itself.
   */
  static double logLikelihood(double[] joint, int experts) {
    double m = Double.NEGATIVE_INFINITY;
    for (int k = 0; k < experts; k++) m = Math.max(m, joint[k]);
    if (experts == 1) return m;
    double s = 0;
    for (int k = 0; k < experts; k++) s += Math.exp(joint[k] - m);
    return m + Math.log(s);
  }

  /**
   * The posterior of one row with a target y, from {@code joint[k] = log π_k + log p_k(y)}: the
   * responsibilities {@code γ_k = exp(joint[k] − log P(y))} go, times scale, to
   * {@code resp[ro + k·stride]}, and the gradient of {@code −scale·log P(y)} with respect to the prior
   * logits, {@code scale·(π_k − γ_k)}, to {@code dPrior[po + k]} (π_k from {@code logPrior[po + k]}).
   * @return log P(y), in double
   */
  static double posterior(double[] joint, int experts, float[] logPrior, int po, float scale,
                          float[] resp, int ro, int stride, float[] dPrior) {
    double lp = logLikelihood(joint, experts);
    for (int k = 0; k < experts; k++) {
      double g = Math.exp(joint[k] - lp);
      resp[ro + k * stride] = (float) (scale * g);
      dPrior[po + k] = (float) (scale * (Math.exp((double) logPrior[po + k]) - g));
    }
    return lp;
  }

  /** The joint log-probabilities {@code log π_k + log p_k(y)} of one row of a block, written into {@code buf}. */
  interface Joint {
    double[] of(int row, double[] buf);
  }

  /**
   * The posterior step of a training block of {@code rows} rows (hidden rows base .. base+rows): per row
   * the NLL −log P(y) (into {@code rowLoss[base + r]} when given), the responsibilities times scale into
   * {@code resp} (row r, component k at {@code r·rowStride + k·compStride}), and the prior-logit gradient
   * into {@code dPrior[r·K + k]}; ignored rows get zeros. Rows run in parallel.
   * @return the block's summed NLL, in double, added in row order
   */
  static double posteriorBlock(int rows, int experts, int[] targets, int base, Loss loss, float scale, float[] logPrior,
                               Joint joint, float[] resp, int rowStride, int compStride, float[] dPrior, float[] rowLoss) {
    double[] partial = new double[rows];
    Parallel.forRange(rows, 16, (a, b) -> {
      double[] buf = new double[experts];
      for (int r = a; r < b; r++) {
        int o = r * experts;
        if (loss.ignored(targets[base + r])) {
          partial[r] = 0;
          for (int k = 0; k < experts; k++) { resp[r * rowStride + k * compStride] = 0f; dPrior[o + k] = 0f; }
          continue;
        }
        partial[r] = -posterior(joint.of(r, buf), experts, logPrior, o, scale, resp, r * rowStride, compStride, dPrior);
      }
    });
    double total = 0;
    for (int r = 0; r < rows; r++) {
      total += partial[r];
      if (rowLoss != null) rowLoss[base + r] = (float) partial[r];
    }
    return total;
  }

  /**
   * Adds one component, already in log space, into a running mixture row:
   * {@code acc = x + shift} for the first component, else {@code acc = logaddexp(acc, x + shift)}
   * (shift is the component's log π_k, plus any log-prob common to the row).
   */
  static void accumulate(float[] acc, int ao, float[] x, int xo, float shift, int n, boolean first) {
    if (first) {
      System.arraycopy(x, xo, acc, ao, n);
      Vec.addScalar(acc, ao, n, shift);
    } else {
      logAddExpInto(acc, ao, x, xo, shift, n);
    }
  }

  /** acc[i] = log(exp(acc[i]) + exp(x[i] + shift)), stable for finite inputs. */
  private static void logAddExpInto(float[] acc, int ao, float[] x, int xo, float shift, int n) {
    int i = 0;
    var S = Vec.S;
    for (int ub = S.loopBound(n); i < ub; i += S.length()) {
      FloatVector p = FloatVector.fromArray(S, acc, ao + i);
      FloatVector q = FloatVector.fromArray(S, x, xo + i).add(shift);
      FloatVector hi = p.max(q);
      FloatVector d = Vec.softplusNeg(p.sub(q).abs());
      hi.add(d).intoArray(acc, ao + i);
    }
    for (; i < n; i++) {
      float p = acc[ao + i], q = x[xo + i] + shift;
      acc[ao + i] = Math.max(p, q) + Vec.softplusNeg(Math.abs(p - q));
    }
  }
}
