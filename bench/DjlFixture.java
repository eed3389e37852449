// Parity fixtures computed by lmhead's own heads, for the DJL peer's check (peers/djl DjlCheck): lmhead's
// FullSoftmax (with bias, as `lmhead bench heads` builds it) and AdaptiveSoftmax (head_bias=False, as
// bench/pytorch_heads.py), random weights, gaussian inputs, targets hitting every cluster; each file holds
// the weights, the input batch, the targets and what lmhead computes from them: target log-probs, mean
// loss, the full log-prob matrix, the argmax and the gradients of the mean loss (same format as
// src/test/resources/fixtures/README.md). bench/djl_check.sh runs it, then DjlCheck on its output.
//   java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "target/lmhead.jar:target/lib/*" \
//     bench/DjlFixture.java OUT_DIR
import dev.lmhead.head.AdaptiveSoftmax;
import dev.lmhead.head.FullSoftmax;
import dev.lmhead.head.OutputLayer;
import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Rng;
import dev.lmhead.tensor.Safetensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

public class DjlFixture {
  public static void main(String[] a) throws Exception {
    Path out = Path.of(a.length > 0 ? a[0] : "target/djl-fixtures");
    Files.createDirectories(out);
    int v = 2000, d = 32, n = 48;
    write(out.resolve("lmhead_full_v2000_d32.safetensors"), new FullSoftmax(v, d, true, null, new Rng(11)), v, d, n,
        Map.of("head", "full", "head_bias", "true"));
    int[] cutoffs = {100, 700};
    write(out.resolve("lmhead_adaptive_v2000_c100-700_div4.safetensors"), new AdaptiveSoftmax(d, v, cutoffs, 4.0, false, new Rng(12)), v, d, n,
        Map.of("head", "adaptive", "head_bias", "false", "cutoffs", "[100, 700]", "div_value", "4.0"));
  }

  static void write(Path file, OutputLayer head, int v, int d, int n, Map<String, String> extra) throws Exception {
    Rng rng = new Rng(5);
    float[] h = new float[n * d];
    for (int i = 0; i < h.length; i++) h[i] = (float) rng.gaussian();
    int[] y = new int[n];
    for (int i = 0; i < n; i++) y[i] = switch (i % 4) { case 0 -> rng.nextInt(100); case 1 -> 100 + rng.nextInt(600); case 2 -> 700 + rng.nextInt(v - 700); default -> rng.nextInt(v); };
    Map<String, Safetensors.Tensor> t = new LinkedHashMap<>();
    for (Parameter p : head.parameters()) t.put(p.name(), Safetensors.Tensor.of(p.data.clone(), p.shape));
    t.put("input", Safetensors.Tensor.of(h, n, d));
    long[] yl = new long[n];
    for (int i = 0; i < n; i++) yl[i] = y[i];
    t.put("target", Safetensors.Tensor.ofLong(yl, n));
    float[] lp = new float[n];
    head.targetLogProb(h, n, y, lp);
    t.put("expected.output", Safetensors.Tensor.of(lp, n));
    double loss = 0;
    for (float x : lp) loss -= x;
    t.put("expected.loss", Safetensors.Tensor.of(new float[] {(float) (loss / n)}));
    float[] all = new float[n * v];
    head.logProb(h, n, all);
    t.put("expected.log_prob", Safetensors.Tensor.of(all, n, v));
    int[] pred = head.predict(h, n);
    long[] pl = new long[n];
    for (int i = 0; i < n; i++) pl[i] = pred[i];
    t.put("expected.predict", Safetensors.Tensor.ofLong(pl, n));
    for (Parameter p : head.parameters()) p.zeroGrad();
    float[] gh = new float[n * d];
    head.forwardBackward(h, n, y, gh);
    t.put("expected.grad.input", Safetensors.Tensor.of(gh, n, d));
    for (Parameter p : head.parameters()) t.put("expected.grad." + p.name(), Safetensors.Tensor.of(p.grad.clone(), p.shape));
    Map<String, String> meta = new LinkedHashMap<>(extra);
    meta.put("in_features", "" + d);
    meta.put("n_classes", "" + v);
    meta.put("source", "lmhead bench/DjlFixture.java");
    Safetensors.write(file, t, meta);
    System.out.println("wrote " + file + " (" + head.type() + ", V " + v + ", d " + d + ", N " + n + ")");
  }
}
