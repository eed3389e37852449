package dev.lmhead.djl;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Correctness of the DJL peer's heads: runs the exact code {@link DjlHeads} times ({@link FullHead},
 * {@link AdaptiveHead}) on parity fixtures (safetensors: a head's weights, an input batch, targets and
 * the expected target log-probs, loss, full log-probs, argmax and gradients of the mean loss; see
 * src/test/resources/fixtures/README.md) and compares number for number, within the fixtures'
 * tolerances (log-probs and loss 1e-5, gradients 1e-4, argmax exact). Fixtures come from PyTorch
 * (bench/make_adaptive_fixture.py, ../shared/fixtures) or from lmhead's own heads
 * (bench/DjlFixture.java). The full head is also checked in row blocks (train gradients accumulated
 * over blocks, as when [rows, V] exceeds --max-block-bytes) and its top-10 against the log-probs.
 *
 * <p>Usage: DjlCheck FILE_OR_DIR... ; prints one line per fixture, exits 1 if any check fails.
 */
public final class DjlCheck {
  private DjlCheck() {}

  static final double TOL_LP = 1e-5, TOL_GRAD = 1e-4;

  record Tensor(String dtype, long[] shape, ByteBuffer data) {
    float[] floats() {
      float[] f = new float[data.remaining() / 4];
      data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
      return f;
    }

    long[] longs() {
      long[] l = new long[data.remaining() / 8];
      data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(l);
      return l;
    }
  }

  record Fixture(Map<String, Tensor> tensors, JsonObject meta) {}

  static Fixture read(Path p) throws IOException {
    ByteBuffer all = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
    int len = (int) all.getLong(0);
    JsonObject header = JsonParser.parseString(new String(all.array(), 8, len, StandardCharsets.UTF_8)).getAsJsonObject();
    Map<String, Tensor> ts = new LinkedHashMap<>();
    JsonObject meta = new JsonObject();
    for (var e : header.entrySet()) {
      if (e.getKey().equals("__metadata__")) {
        meta = e.getValue().getAsJsonObject();
        continue;
      }
      JsonObject t = e.getValue().getAsJsonObject();
      long[] shape = new long[t.getAsJsonArray("shape").size()];
      for (int i = 0; i < shape.length; i++) shape[i] = t.getAsJsonArray("shape").get(i).getAsLong();
      int b = t.getAsJsonArray("data_offsets").get(0).getAsInt(), end = t.getAsJsonArray("data_offsets").get(1).getAsInt();
      ts.put(e.getKey(), new Tensor(t.get("dtype").getAsString(), shape, all.slice(8 + len + b, end - b)));
    }
    return new Fixture(ts, meta);
  }

  public static void main(String[] args) throws IOException {
    if (args.length == 0) {
      System.err.println("usage: DjlCheck FIXTURE.safetensors|DIR ...");
      System.exit(2);
    }
    List<Path> files = new ArrayList<>();
    for (String a : args) {
      Path p = Path.of(a);
      if (Files.isDirectory(p)) {
        try (Stream<Path> s = Files.list(p)) {
          s.filter(f -> f.toString().endsWith(".safetensors")).sorted().forEach(files::add);
        }
      } else {
        files.add(p);
      }
    }
    Engine engine = Peer.engine(1, 1);
    System.out.println(Peer.version(engine));
    int failed = 0;
    for (Path f : files) {
      Fixture fx = read(f);
      List<String> bad = new ArrayList<>();
      Map<String, Double> worst = new LinkedHashMap<>();
      try (NDManager m = NDManager.newBaseManager()) {
        check(engine, m, fx, bad, worst);
      } catch (RuntimeException e) {
        bad.add("exception: " + e);
      }
      String w = worst.entrySet().stream().map(e -> String.format("%s %.1e", e.getKey(), e.getValue())).reduce((x, y) -> x + ", " + y).orElse("");
      System.out.printf("%-4s %s (%s)%s%n", bad.isEmpty() ? "ok" : "FAIL", f.getFileName(), w, bad.isEmpty() ? "" : ": " + String.join("; ", bad));
      if (!bad.isEmpty()) failed++;
    }
    System.out.printf("%d of %d fixtures match%n", files.size() - failed, files.size());
    System.exit(failed == 0 ? 0 : 1);
  }

  static NDArray nd(NDManager m, Tensor t) {
    Shape s = new Shape(t.shape());
    return t.dtype().equals("I64") ? m.create(t.longs(), s) : m.create(t.floats(), s);
  }

  static void check(Engine engine, NDManager m, Fixture fx, List<String> bad, Map<String, Double> worst) {
    Map<String, Tensor> t = fx.tensors();
    String kind = fx.meta().get("head").getAsString();
    int v = Integer.parseInt(fx.meta().get("n_classes").getAsString());
    NDArray input = nd(m, t.get("input")), target = nd(m, t.get("target"));
    int n = (int) input.getShape().get(0), d = (int) input.getShape().get(1);
    Map<String, NDArray> params = new LinkedHashMap<>();
    for (var e : t.entrySet()) {
      if (!e.getKey().equals("input") && !e.getKey().equals("target") && !e.getKey().startsWith("expected.")) params.put(e.getKey(), nd(m, e.getValue()));
    }
    NDArray hg = input.duplicate();
    hg.setRequiresGradient(true);
    if (kind.equals("full")) {
      FullHead head = new FullHead(params.get("weight"), params.get("bias"));
      List<int[]> one = List.of(new int[] {0, n});
      NDArray lp = head.logProb(input);
      compare("log_prob", lp, t.get("expected.log_prob"), TOL_LP, bad, worst);
      NDArray out = head.targetLogProb(input, target, one).get(0);
      compare("output", out, t.get("expected.output"), TOL_LP, bad, worst);
      compare("loss", out.neg().mean(), t.get("expected.loss"), TOL_LP, bad, worst);
      NDList top1 = head.topK(input, 1);
      compareIds("top1", top1.get(1).squeeze(1), t.get("expected.predict"), bad);
      NDList top10 = head.topK(input, Math.min(10, v));
      NDArray expect10 = lp.topK(Math.min(10, v), 1).get(0);
      double e10 = maxAbs(top10.get(0).sub(expect10));
      worst.put("top10", e10);
      if (e10 > TOL_LP) bad.add("top10 values differ by " + e10);
      // train, whole batch and in 3 row blocks (gradients accumulated over the blocks)
      int rb = (n + 2) / 3;
      List<int[]> three = new ArrayList<>();
      for (int r0 = 0; r0 < n; r0 += rb) three.add(new int[] {r0, Math.min(n, r0 + rb)});
      for (List<int[]> blocks : List.of(one, three)) {
        String tag = blocks.size() == 1 ? "" : " (blocked)";
        try (GradientCollector gc = engine.newGradientCollector()) {
          head.train(gc, hg, target, blocks, n);
        }
        compare("grad.input" + tag, hg.getGradient(), t.get("expected.grad.input"), TOL_GRAD, bad, worst);
        for (var e : params.entrySet()) compare("grad." + e.getKey() + tag, e.getValue().getGradient(), t.get("expected.grad." + e.getKey()), TOL_GRAD, bad, worst);
        Peer.zeroGrads(head.parameters());
        Peer.zeroGrads(hg);
      }
    } else {
      int[] cutoffs = JsonParser.parseString(fx.meta().get("cutoffs").getAsString()).getAsJsonArray().asList().stream().mapToInt(x -> x.getAsInt()).toArray();
      double div = Double.parseDouble(fx.meta().get("div_value").getAsString());
      int clusters = cutoffs.length;
      NDArray[] proj = new NDArray[clusters], out = new NDArray[clusters];
      for (int i = 0; i < clusters; i++) {
        proj[i] = params.get("tail." + i + ".0.weight");
        out[i] = params.get("tail." + i + ".1.weight");
        long hsz = (long) Math.floor(d / Math.pow(div, i + 1));
        if (proj[i].getShape().get(0) != hsz) bad.add("tail " + i + ": projection size " + proj[i].getShape().get(0) + ", rule gives " + hsz);
      }
      AdaptiveHead head = new AdaptiveHead(v, d, cutoffs, div, params.get("head.weight"), params.get("head.bias"), proj, out);
      NDArray output = head.output(input, target);
      compare("output", output, t.get("expected.output"), TOL_LP, bad, worst);
      compare("loss", output.neg().mean(), t.get("expected.loss"), TOL_LP, bad, worst);
      compare("log_prob", head.logProb(input), t.get("expected.log_prob"), TOL_LP, bad, worst);
      compareIds("predict", head.predict(input), t.get("expected.predict"), bad);
      NDArray lp = head.logProb(input);
      compareIds("predict (rows 0..n/2)", head.predict(input.get("0:{}", n / 2)), new Tensor("I64", new long[] {n / 2},
          bytesOf(lp.get("0:{}", n / 2).argMax(1).toLongArray())), bad);
      try (GradientCollector gc = engine.newGradientCollector()) {
        gc.backward(head.output(hg, target).neg().mean());
      }
      compare("grad.input", hg.getGradient(), t.get("expected.grad.input"), TOL_GRAD, bad, worst);
      for (var e : params.entrySet()) compare("grad." + e.getKey(), e.getValue().getGradient(), t.get("expected.grad." + e.getKey()), TOL_GRAD, bad, worst);
    }
  }

  static ByteBuffer bytesOf(long[] l) {
    ByteBuffer b = ByteBuffer.allocate(8 * l.length).order(ByteOrder.LITTLE_ENDIAN);
    for (long x : l) b.putLong(x);
    return b.flip();
  }

  static double maxAbs(NDArray a) {
    return a.abs().max().toType(ai.djl.ndarray.types.DataType.FLOAT64, false).getDouble();
  }

  static void compare(String what, NDArray got, Tensor want, double tol, List<String> bad, Map<String, Double> worst) {
    if (want == null) {
      bad.add(what + ": not in the fixture");
      return;
    }
    float[] g = got.toFloatArray(), w = want.floats();
    if (g.length != w.length) {
      bad.add(what + ": " + g.length + " values, fixture has " + w.length);
      return;
    }
    double e = 0;
    for (int i = 0; i < g.length; i++) e = Math.max(e, Math.abs(g[i] - w[i]));
    String key = what.startsWith("grad") ? "grad" : what;
    worst.merge(key, e, Math::max);
    if (!(e <= tol)) bad.add(String.format("%s differs by %.2e (> %.0e)", what, e, tol));
  }

  static void compareIds(String what, NDArray got, Tensor want, List<String> bad) {
    long[] g = got.toType(ai.djl.ndarray.types.DataType.INT64, false).toLongArray(), w = want.longs();
    if (!Arrays.equals(g, w)) {
      int diff = 0;
      for (int i = 0; i < Math.min(g.length, w.length); i++) if (g[i] != w[i]) diff++;
      bad.add(what + ": " + diff + " of " + w.length + " ids differ");
    }
  }
}
