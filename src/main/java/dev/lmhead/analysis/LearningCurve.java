package dev.lmhead.analysis;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** Draws a run's learning curve (training and validation perplexity against training tokens) as a PNG. */
public final class LearningCurve {
  private LearningCurve() {}

  public static void save(Path metrics, Path png, String title) throws IOException {
    System.setProperty("java.awt.headless", "true");
    List<Double> tx = new ArrayList<>(), ty = new ArrayList<>(), vx = new ArrayList<>(), vy = new ArrayList<>();
    for (String line : Files.readAllLines(metrics)) {
      if (line.isBlank()) continue;
      JsonObject o = JsonParser.parseString(line).getAsJsonObject();
      String ev = o.get("event").getAsString();
      if (ev.equals("train") && o.has("ppl") && o.get("ppl").isJsonPrimitive()) {
        double p = o.get("ppl").getAsDouble();
        if (Double.isFinite(p)) { tx.add(o.get("tokens").getAsDouble() / 1e6); ty.add(p); }
      } else if (ev.equals("epoch") || ev.equals("valid")) {
        double p = o.get("valid_ppl").getAsDouble();
        if (Double.isFinite(p)) { vx.add(o.get("tokens").getAsDouble() / 1e6); vy.add(p); }
      }
    }
    XYChart chart = new XYChartBuilder().width(900).height(560).title(title)
        .xAxisTitle("training tokens (millions)").yAxisTitle("perplexity (log scale)").build();
    chart.getStyler().setYAxisLogarithmic(true);
    chart.getStyler().setYAxisLogarithmicDecadeOnly(false); // labels within a decade (e.g. 200-800) too
    chart.getStyler().setYAxisDecimalPattern("#,##0");
    chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNE);
    if (!tx.isEmpty()) {
      XYSeries s = chart.addSeries("train (running mean over log interval)", tx, ty);
      s.setMarker(SeriesMarkers.NONE);
    }
    if (!vx.isEmpty()) {
      XYSeries s = chart.addSeries("validation", vx, vy);
      s.setMarker(SeriesMarkers.CIRCLE);
    }
    if (tx.isEmpty() && vx.isEmpty()) throw new IOException("no finite perplexities in " + metrics);
    BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
  }

  /**
   * One curve per run: validation perplexity against training wall time (minutes), from each run's
   * metrics.jsonl ("valid" and "epoch" events).
   */
  public static void saveComparison(java.util.Map<String, Path> metricsByRun, Path png, String title) throws IOException {
    System.setProperty("java.awt.headless", "true");
    XYChart chart = new XYChartBuilder().width(900).height(560).title(title)
        .xAxisTitle("training time (minutes)").yAxisTitle("validation perplexity (log scale)").build();
    chart.getStyler().setYAxisLogarithmic(true);
    chart.getStyler().setYAxisLogarithmicDecadeOnly(false); // labels within a decade (e.g. 200-800) too
    chart.getStyler().setYAxisDecimalPattern("#,##0"); // perplexities as read in tables, not 139.734
    chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNE);
    int series = 0;
    for (var e : metricsByRun.entrySet()) {
      List<Double> x = new ArrayList<>(), y = new ArrayList<>();
      for (String line : Files.readAllLines(e.getValue())) {
        if (line.isBlank()) continue;
        JsonObject o = JsonParser.parseString(line).getAsJsonObject();
        String ev = o.get("event").getAsString();
        if ((ev.equals("valid") || ev.equals("epoch")) && o.has("train_seconds")) {
          double p = o.get("valid_ppl").getAsDouble();
          if (Double.isFinite(p)) { x.add(o.get("train_seconds").getAsDouble() / 60); y.add(p); }
        }
      }
      if (x.isEmpty()) continue;
      XYSeries s = chart.addSeries(e.getKey(), x, y);
      s.setMarker(SeriesMarkers.CIRCLE);
      series++;
    }
    if (series == 0) throw new IOException("no validation points to plot");
    BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
  }
}
