package dev.lmhead.analysis;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Singular-value spectra as a PNG (XChart): x = singular value index (1-based), y = singular value on
 * a log scale; one line per series, so e.g. softmax and MoS spectra can be overlaid. Values that are
 * not positive (exact zeros of a rank-deficient matrix) cannot be shown on a log axis and are left
 * out of their series.
 */
public final class SpectrumPlot {
  private SpectrumPlot() {}

  /** Writes the plot to {@code png} (written to a temporary file, then moved into place). */
  public static void save(Path png, String title, Map<String, double[]> series) throws IOException {
    save(png, title, series, Map.of());
  }

  /**
   * @param levels horizontal reference lines (e.g. "default tolerance" → 3.2e-4), drawn dashed
   */
  public static void save(Path png, String title, Map<String, double[]> series, Map<String, Double> levels) throws IOException {
    if (series.isEmpty()) throw new IllegalArgumentException("nothing to plot: no series given");
    if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    XYChart chart = new XYChartBuilder().width(900).height(600).title(title)
        .xAxisTitle("singular value index").yAxisTitle("singular value (log scale)").build();
    chart.getStyler().setYAxisLogarithmic(true);
    chart.getStyler().setLegendVisible(true);
    chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideS); // keeps the plot wide
    int maxLen = 1;
    double minPos = Double.POSITIVE_INFINITY;
    for (Map.Entry<String, double[]> e : series.entrySet()) {
      double[] s = e.getValue();
      int pos = 0;
      for (double v : s) if (v > 0 && Double.isFinite(v)) pos++;
      if (pos == 0) throw new IllegalArgumentException("series '" + e.getKey() + "' has no positive singular value to plot");
      double[] x = new double[pos], y = new double[pos];
      for (int i = 0, j = 0; i < s.length; i++) {
        if (s[i] > 0 && Double.isFinite(s[i])) { x[j] = i + 1; y[j++] = s[i]; minPos = Math.min(minPos, s[i]); }
      }
      maxLen = Math.max(maxLen, s.length);
      XYSeries xy = chart.addSeries(e.getKey(), x, y);
      xy.setMarker(SeriesMarkers.NONE);
    }
    for (Map.Entry<String, Double> e : levels.entrySet()) {
      double v = e.getValue();
      if (!(v > 0)) continue;
      XYSeries xy = chart.addSeries(e.getKey(), new double[] {1, maxLen}, new double[] {v, v});
      xy.setMarker(SeriesMarkers.NONE);
      xy.setLineStyle(new java.awt.BasicStroke(1.5f, java.awt.BasicStroke.CAP_BUTT, java.awt.BasicStroke.JOIN_MITER,
          10f, new float[] {6f, 4f}, 0f));
    }
    Path dir = png.toAbsolutePath().getParent();
    if (dir != null) Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, ".spectrum", ".png.tmp");
    try {
      try (OutputStream out = Files.newOutputStream(tmp)) {
        BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
      }
      Files.move(tmp, png, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
