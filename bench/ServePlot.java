// Draws bench/serve_load.sh's standard load test as one PNG: requests/s (left) and p99 latency (right) against
// the number of concurrent clients, one line per model and mode (solid: batched, dashed: one request at a
// time), each point the median of the level's measured windows, as in the README's table. Source-file program:
//
//   ./lmhead build
//   java -cp "target/lmhead.jar:target/lib/*" bench/ServePlot.java runs/serve-load/results.jsonl runs/serve-load/load.png
//
// Input: ServeLoad.java's JSON lines ({"label": "serve-full/batch", "clients": 64, "rps": ..., "p99_ms": ...}).
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import javax.imageio.ImageIO;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

public class ServePlot {
  // one colour per model, in the README's order
  static final Map<String, Color> MODELS = new LinkedHashMap<>();
  static {
    MODELS.put("serve-full", new Color(0x1f77b4));
    MODELS.put("serve-adaptive", new Color(0xff7f0e));
    MODELS.put("serve-full-267k", new Color(0x2ca02c));
    MODELS.put("serve-adaptive-267k", new Color(0xd62728));
  }
  static final Map<String, String> NAMES = Map.of(
      "serve-full", "full, V = 33,278", "serve-adaptive", "adaptive, V = 33,278",
      "serve-full-267k", "full, V = 267,735", "serve-adaptive-267k", "adaptive, V = 267,735");

  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: ServePlot RESULTS.jsonl OUT.png");
      System.exit(2);
    }
    System.setProperty("java.awt.headless", "true");
    // label -> clients -> windows' values
    Map<String, TreeMap<Integer, List<double[]>>> byLabel = new LinkedHashMap<>();
    int lineNo = 0;
    for (String line : Files.readAllLines(Path.of(args[0]))) {
      lineNo++;
      if (line.isBlank()) continue;
      JsonObject o;
      try {
        o = JsonParser.parseString(line).getAsJsonObject();
      } catch (RuntimeException e) {
        System.err.println("ServePlot: error: " + args[0] + ":" + lineNo + ": not a JSON object");
        System.exit(2);
        return;
      }
      if (!o.has("label") || !o.has("clients") || !o.has("rps") || !o.has("p99_ms")) continue;
      byLabel.computeIfAbsent(o.get("label").getAsString(), k -> new TreeMap<>())
          .computeIfAbsent(o.get("clients").getAsInt(), k -> new ArrayList<>())
          .add(new double[] {o.get("rps").getAsDouble(), o.get("p99_ms").getAsDouble()});
    }
    if (byLabel.isEmpty()) {
      System.err.println("ServePlot: error: " + args[0] + ": no load-test windows (label, clients, rps, p99_ms)");
      System.exit(2);
    }
    XYChart rps = chart(620, "requests/s (median window)", "requests/s (log scale)");
    XYChart p99 = chart(900, "p99 latency (median window)", "p99 latency, ms (log scale)");
    for (var e : byLabel.entrySet()) {
      String label = e.getKey();
      String model = label.contains("/") ? label.substring(0, label.indexOf('/')) : label;
      boolean batched = label.endsWith("/batch");
      String name = NAMES.getOrDefault(model, model) + (batched ? ", batched" : ", one at a time");
      List<Double> x = new ArrayList<>(), r = new ArrayList<>(), p = new ArrayList<>();
      // the median window by requests/s, as the table picks it; its p99 beside it
      for (var level : e.getValue().entrySet()) {
        List<double[]> w = new ArrayList<>(level.getValue());
        w.sort((a, b) -> Double.compare(a[0], b[0]));
        double[] med = w.get(w.size() / 2);
        x.add(Math.log(level.getKey()) / Math.log(2)); // a log axis on which 1, 8 and 64 are labelled
        r.add(med[0]);
        p.add(med[1]);
      }
      Color c = MODELS.getOrDefault(model, Color.GRAY);
      BasicStroke stroke = batched ? new BasicStroke(2.2f)
          : new BasicStroke(2.2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {7f, 5f}, 0f);
      for (var pair : List.of(Map.entry(rps, r), Map.entry(p99, p))) {
        XYSeries s = pair.getKey().addSeries(name, x, pair.getValue());
        s.setLineColor(c);
        s.setMarkerColor(c);
        s.setLineStyle(stroke);
        s.setMarker(batched ? SeriesMarkers.CIRCLE : SeriesMarkers.SQUARE);
      }
    }
    rps.getStyler().setLegendVisible(false);
    p99.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideE);
    BufferedImage left = BitmapEncoder.getBufferedImage(rps), right = BitmapEncoder.getBufferedImage(p99);
    BufferedImage out = new BufferedImage(left.getWidth() + right.getWidth(), left.getHeight(), BufferedImage.TYPE_INT_RGB);
    Graphics2D g = out.createGraphics();
    g.drawImage(left, 0, 0, null);
    g.drawImage(right, left.getWidth(), 0, null);
    g.dispose();
    ImageIO.write(out, "png", new File(args[1]));
    System.out.println("wrote " + args[1]);
  }

  static XYChart chart(int width, String title, String yTitle) {
    XYChart c = new XYChartBuilder().width(width).height(520).title(title)
        .xAxisTitle("concurrent clients (log scale)").yAxisTitle(yTitle).build();
    c.getStyler().setYAxisLogarithmic(true);
    c.getStyler().setYAxisLogarithmicDecadeOnly(false);
    c.getStyler().setYAxisDecimalPattern("#,##0");
    c.getStyler().setXAxisMin(0.0).setXAxisMax(6.0);
    // x is log2(clients), from 1 to 64 clients; the axis then ticks at the measured levels, labelled as client counts
    c.setCustomXAxisTickLabelsFormatter(v -> Math.abs(v - Math.rint(v)) < 1e-6
        ? String.valueOf(Math.round(Math.pow(2, Math.rint(v)))) : "");
    return c;
  }
}
