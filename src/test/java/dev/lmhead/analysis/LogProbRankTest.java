package dev.lmhead.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.TestData;
import dev.lmhead.head.FullSoftmax;
import dev.lmhead.head.MixtureOfSoftmaxes;
import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Rng;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LogProbRankTest {

  /** [rows, r] · [r, cols] in double: rank exactly r (generically). */
  static double[] lowRank(Rng rng, int rows, int cols, int r) {
    double[] u = new double[rows * r], v = new double[r * cols], a = new double[rows * cols];
    for (int i = 0; i < u.length; i++) u[i] = rng.gaussian();
    for (int i = 0; i < v.length; i++) v[i] = rng.gaussian();
    for (int i = 0; i < rows; i++) for (int k = 0; k < r; k++) for (int j = 0; j < cols; j++) a[i * cols + j] += u[i * r + k] * v[k * cols + j];
    return a;
  }

  @Test
  void knownRankBothMethodsWideAndTall() {
    Rng rng = new Rng(1);
    for (int[] shape : new int[][] {{120, 200}, {200, 90}}) {
      int rows = shape[0], cols = shape[1], r = 7;
      double[] a = lowRank(rng, rows, cols, r);
      double fro = 0;
      for (double x : a) fro += x * x;
      double[] svd = LogProbRank.singularValues(a, rows, cols, LogProbRank.Method.SVD);
      double[] gram = LogProbRank.singularValues(a, rows, cols, LogProbRank.Method.GRAM);
      assertEquals(Math.min(rows, cols), svd.length);
      assertEquals(Math.min(rows, cols), gram.length);
      for (double[] s : new double[][] {svd, gram}) {
        assertEquals(r, LogProbRank.rank(s, LogProbRank.defaultTolerance(s, rows, cols)), "rank of a product of rank " + r);
        double ss = 0;
        for (double x : s) ss += x * x;
        assertEquals(fro, ss, 1e-9 * fro, "sum of squared singular values = squared Frobenius norm");
        for (int i = 1; i < s.length; i++) assertTrue(s[i] <= s[i - 1], "descending");
      }
      for (int i = 0; i < r; i++) assertEquals(svd[i], gram[i], 1e-9 * svd[0], "singular value " + i);
    }
    // a generic full matrix is full rank; and with a tolerance just above the 3rd value, rank 2
    double[] full = lowRank(rng, 40, 60, 40);
    double[] s = LogProbRank.singularValues(full, 40, 60, LogProbRank.Method.AUTO);
    assertEquals(40, LogProbRank.rank(s, LogProbRank.defaultTolerance(s, 40, 60)));
    assertEquals(2, LogProbRank.rank(s, s[2]), "rank counts values strictly above the tolerance");
  }

  @Test
  void defaultToleranceIsNumpyWithFloat32Eps() {
    double[] s = {10, 1, 0};
    assertEquals(10 * 300 * Math.ulp(1.0f), LogProbRank.defaultTolerance(s, 200, 300), 0);
  }

  /** A softmax head with d = 8 and no output bias: rank ≤ d + 1 = 9 on any contexts; with a bias ≤ 10. */
  @Test
  void softmaxHeadRankBoundedByDPlusOne() {
    int d = 8, v = 300, n = 200;
    float[] ctx = TestData.gaussian(new Rng(2), n * d, 2.0);
    FullSoftmax noBias = new FullSoftmax(v, d, false, null, new Rng(3));
    scaleUp(noBias.weight, 3f); // sharper distributions: more spread in log-probs
    LogProbRank.Result r = LogProbRank.compute(noBias, ctx, n, Double.NaN, true, LogProbRank.Method.AUTO);
    assertEquals(9, r.bound());
    assertEquals(9, r.rank(), r.summary());
    assertTrue(Math.abs(r.centredRank() - r.rank()) <= 1, "row shift changes rank by at most 1");
    // with float64 eps the float32 rounding noise of the log-probs would be counted as rank
    double tol64 = r.singularValues()[0] * Math.max(n, v) * LogProbRank.EPS_F64;
    LogProbRank.Result r64 = LogProbRank.compute(noBias, ctx, n, tol64);
    assertTrue(r64.userRank() > 50, "float64-eps tolerance counts noise: " + r64.userRank());

    FullSoftmax withBias = new FullSoftmax(v, d, true, null, new Rng(4));
    scaleUp(withBias.weight, 3f);
    scaleUp(withBias.bias, 20f);
    LogProbRank.Result rb = LogProbRank.compute(withBias, ctx, n, Double.NaN);
    assertEquals(10, rb.bound());
    assertTrue(rb.rank() <= 10, rb.summary());
    assertTrue(rb.rank() >= 9, rb.summary());
  }

  /** A mixture of 4 softmaxes with D = 8 breaks the bottleneck: rank > 9 on generic contexts. */
  @Test
  void mixtureOfSoftmaxesExceedsTheBound() {
    int d = 8, v = 300, n = 200;
    float[] ctx = TestData.gaussian(new Rng(5), n * d, 2.0);
    MixtureOfSoftmaxes mos = new MixtureOfSoftmaxes(v, d, 4, 8, false, null, new Rng(6));
    scaleUp(mos.decoderW, 3f);
    scaleUp(mos.prior, 3f);
    LogProbRank.Result r = LogProbRank.compute(mos, ctx, n, 1e-3, true, LogProbRank.Method.AUTO);
    assertTrue(r.rank() > 9, r.summary());
    assertTrue(r.userRank() >= r.rank(), "smaller tolerance, no smaller rank");
    assertTrue(Math.abs(r.centredRank() - r.rank()) <= 1, r.summary());
    // the same head with K = 1 is a softmax over D = 8 contexts: back to <= 9
    MixtureOfSoftmaxes one = new MixtureOfSoftmaxes(v, d, 1, 8, false, null, new Rng(6));
    scaleUp(one.decoderW, 3f);
    assertTrue(LogProbRank.compute(one, ctx, n, Double.NaN).rank() <= 9);
  }

  @Test
  void spectrumPlotWritesPng(@TempDir Path dir) throws Exception {
    Map<String, double[]> series = new LinkedHashMap<>();
    series.put("softmax", new double[] {100, 10, 1, 1e-3, 0});
    series.put("mos", new double[] {100, 30, 9, 4, 2});
    Path png = dir.resolve("sub/spectrum.png");
    SpectrumPlot.save(png, "test spectrum", series, Map.of("tolerance", 0.05));
    BufferedImage img = ImageIO.read(png.toFile());
    assertEquals(900, img.getWidth());
    assertEquals(600, img.getHeight());
    try (var files = Files.list(png.getParent())) {
      assertEquals(1, files.count(), "no temporary file left behind");
    }
  }

  private static void scaleUp(Parameter p, float s) {
    for (int i = 0; i < p.data.length; i++) p.data[i] *= s;
  }
}
