package dev.lmhead;

import static org.junit.jupiter.api.Assertions.fail;

import dev.lmhead.tensor.Rng;
import java.util.function.DoubleSupplier;

/**
 * Central finite differences against an analytic gradient. The loss supplier must recompute the loss
 * from the current contents of {@code x} (double accumulation recommended). Checks {@code samples}
 * random coordinates (all when samples >= x.length) and fails naming the worst one.
 *
 * <p>The tolerance is relative to the gradient being checked, so that it means the same for a
 * mean-reduced loss (small gradients) as for a summed one:
 * <ul>
 *   <li>a non-finite analytic or numeric coordinate (or loss) fails at once;</li>
 *   <li>each coordinate: {@code |a − n| <= noise + SCALE_TOL·max|n| + RTOL·|n|};</li>
 *   <li>all checked coordinates together: {@code ‖a − n‖ <= NORM_TOL·‖n‖ + noise·√m}, so an analytic
 *       gradient that is off by a few percent overall (a scaled or missing term) fails.</li>
 * </ul>
 * {@code noise} is the float32 rounding noise of the numeric derivative: the loss is recomputed from
 * float intermediates whose rounding is a few ulps of the loss, i.e. about
 * {@code NOISE_REL·max(1, |loss|) / (2 eps)}; it does not depend on which BLAS kernel rounds.
 * Truncation error of the central difference (eps = 1e-2) is O(eps²) relative, far below the tolerances.
 */
public final class GradCheck {
  private GradCheck() {}

  public static double eps = 1e-2;
  /** Per-coordinate tolerance relative to the coordinate's numeric derivative. */
  public static final double RTOL = 2e-2;
  /** Per-coordinate tolerance as a fraction of the largest |numeric derivative| checked. */
  public static final double SCALE_TOL = 1e-2;
  /** Tolerance on ‖analytic − numeric‖ / ‖numeric‖ over the checked coordinates. */
  public static final double NORM_TOL = 3e-2;
  /** Relative rounding of the recomputed loss assumed for the noise floor (about 16 float ulps). */
  public static final double NOISE_REL = 1e-6;

  /**
   * The outcome of one check: the worst per-coordinate error/tolerance ratio and the norm error
   * ratio (both must be <= 1), for tests of this class and for calibration
   * ({@code -Dlmhead.gradcheck.report=true} prints them).
   */
  public record Result(double worstRatio, double normRatio, double maxAbsNumeric, double noise) {}

  public static Result check(String what, float[] x, float[] analytic, DoubleSupplier loss, int samples, long seed) {
    if (analytic.length != x.length) fail(what + ": analytic gradient has " + analytic.length + " entries, x has " + x.length);
    double l0 = loss.getAsDouble();
    if (!Double.isFinite(l0)) fail("gradient check " + what + ": the loss itself is " + l0);
    Rng rng = new Rng(seed);
    int n = x.length;
    int m = Math.min(samples, n);
    int[] at = new int[m];
    double[] num = new double[m], an = new double[m];
    for (int s = 0; s < m; s++) {
      int i = m == n ? s : rng.nextInt(n);
      float orig = x[i];
      x[i] = (float) (orig + eps);
      double plus = loss.getAsDouble();
      x[i] = (float) (orig - eps);
      double minus = loss.getAsDouble();
      x[i] = orig;
      double h = ((double) (float) (orig + eps) - (double) (float) (orig - eps));
      double numeric = (plus - minus) / h;
      double a = analytic[i];
      if (!Double.isFinite(a)) fail("gradient check " + what + "[" + i + "]: analytic gradient is " + a + " (numeric " + numeric + ")");
      if (!Double.isFinite(numeric)) {
        fail("gradient check " + what + "[" + i + "]: numeric gradient is " + numeric + " (loss " + plus + " at +eps, "
            + minus + " at -eps; analytic " + a + ")");
      }
      at[s] = i;
      num[s] = numeric;
      an[s] = a;
    }
    double noise = NOISE_REL * Math.max(1, Math.abs(l0)) / (2 * eps);
    double maxAbs = 0, sqErr = 0, sqNum = 0;
    for (int s = 0; s < m; s++) {
      maxAbs = Math.max(maxAbs, Math.abs(num[s]));
      sqErr += (an[s] - num[s]) * (an[s] - num[s]);
      sqNum += num[s] * num[s];
    }
    double worst = 0;
    String worstMsg = null;
    for (int s = 0; s < m; s++) {
      double err = Math.abs(an[s] - num[s]);
      double tol = noise + SCALE_TOL * maxAbs + RTOL * Math.abs(num[s]);
      if (err / tol > worst) {
        worst = err / tol;
        worstMsg = what + "[" + at[s] + "]: analytic " + an[s] + " numeric " + num[s] + " |diff| " + err + " tol " + tol
            + " (max |numeric| " + maxAbs + ", noise floor " + noise + ")";
      }
    }
    double normErr = Math.sqrt(sqErr), normTol = NORM_TOL * Math.sqrt(sqNum) + noise * Math.sqrt(m);
    Result r = new Result(worst, normErr / normTol, maxAbs, noise);
    if (Boolean.getBoolean("lmhead.gradcheck.report")) {
      System.err.printf("gradcheck %-50s worst %.3f norm %.3f max|n| %.3g noise %.2g%n", what, r.worstRatio(), r.normRatio(), maxAbs, noise);
    }
    if (worst > 1) fail("gradient check failed for " + worstMsg);
    if (normErr > normTol) {
      fail("gradient check failed for " + what + ": ‖analytic − numeric‖ = " + normErr + " > " + normTol + " = "
          + NORM_TOL + "·‖numeric‖ (" + Math.sqrt(sqNum) + ") + noise over " + m + " coordinates");
    }
    return r;
  }
}
