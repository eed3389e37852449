package dev.lmhead;

import static org.junit.jupiter.api.Assertions.fail;

import dev.lmhead.tensor.Rng;
import java.util.function.DoubleSupplier;

/**
 * Central finite differences against an analytic gradient. The loss supplier must recompute the loss
 * from the current contents of {@code x} (double accumulation recommended). Checks {@code samples}
 * random coordinates (all when samples >= x.length) and fails naming the worst one.
 */
public final class GradCheck {
  private GradCheck() {}

  public static double eps = 1e-2;

  public static void check(String what, float[] x, float[] analytic, DoubleSupplier loss, int samples, long seed,
                           double atol, double rtol) {
    Rng rng = new Rng(seed);
    int n = x.length;
    int m = Math.min(samples, n);
    double worst = 0;
    String worstMsg = null;
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
      double err = Math.abs(a - numeric);
      double tol = atol + rtol * Math.max(Math.abs(a), Math.abs(numeric));
      if (err / tol > worst) {
        worst = err / tol;
        worstMsg = what + "[" + i + "]: analytic " + a + " numeric " + numeric + " |diff| " + err + " tol " + tol;
      }
    }
    if (worst > 1) fail("gradient check failed for " + worstMsg);
  }

  public static void check(String what, float[] x, float[] analytic, DoubleSupplier loss, int samples, long seed) {
    check(what, x, analytic, loss, samples, seed, 2e-3, 2e-2);
  }
}
