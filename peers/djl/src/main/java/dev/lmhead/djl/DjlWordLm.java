package dev.lmhead.djl;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.GradientCollector;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.zip.GZIPInputStream;

/**
 * DJL peer for {@code lmhead bench train}: bench/pytorch_word_lm.py's model and measurement, same
 * arguments and JSON, on libtorch 2.7.1 through DJL 0.36.0. The pytorch/examples word_language_model:
 * Embedding → dropout → LSTM (libtorch's lstm op, the one DJL's LSTM block calls, with dropout
 * between layers) → dropout → Linear (optionally tied to the embedding) + cross-entropy, or
 * {@link AdaptiveHead} (AdaptiveLogSoftmaxWithLoss); trained with zero_grad + backward + clipping of
 * the global gradient norm (clip_grad_norm_) + SGD (p -= lr · grad), state carried (detached) between
 * bptt windows of the batchified train split. Times --steps windows after --warmup windows and prints
 * one JSON line with tokens/s.
 */
public final class DjlWordLm {
  private DjlWordLm() {}

  public static void main(String[] argv) throws IOException {
    Map<String, String> def = new LinkedHashMap<>();
    def.put("data", "data/wikitext-2");
    def.put("emb", "200");
    def.put("hidden", "200");
    def.put("layers", "2");
    def.put("dropout", "0.2");
    def.put("head", "full");
    def.put("cutoffs", "2000,10000");
    def.put("div-value", "4.0");
    def.put("bptt", "35");
    def.put("batch", "20");
    def.put("lr", "20.0");
    def.put("clip", "0.25");
    def.put("steps", "60");
    def.put("warmup", "5");
    def.put("threads", Peer.cpuCount());
    def.put("seed", "1111");
    Peer.Args a = new Peer.Args("DjlWordLm", argv, def, List.of("tied"));
    String head = a.str("head");
    if (!head.equals("full") && !head.equals("adaptive")) a.fail("argument --head: invalid choice: '" + head + "' (choose from 'full', 'adaptive')");
    int emb = a.i("emb"), hid = a.i("hidden"), layers = a.i("layers"), bptt = a.i("bptt"), batch = a.i("batch");
    int steps = a.i("steps"), warmup = a.i("warmup");
    float dropout = (float) a.d("dropout");
    double lr = a.d("lr"), clip = a.d("clip");
    boolean tied = a.flag("tied");
    if (tied && head.equals("full") && emb != hid) a.fail("--tied needs --emb equal to --hidden");
    Path folder = Path.of(a.str("data"));

    // vocabulary: train-split words by decreasing count, ties by first occurrence (as the Python peer)
    Map<String, int[]> counts = new HashMap<>(); // word -> {count, first}
    List<String> order = new ArrayList<>();
    Path train = find(folder, "train", a);
    readTokens(train, w -> {
      int[] c = counts.get(w);
      if (c == null) {
        counts.put(w, new int[] {1, order.size()});
        order.add(w);
      } else {
        c[0]++;
      }
    });
    List<String> vocab = new ArrayList<>(order);
    vocab.sort((x, y) -> {
      int[] cx = counts.get(x), cy = counts.get(y);
      return cx[0] != cy[0] ? Integer.compare(cy[0], cx[0]) : Integer.compare(cx[1], cy[1]);
    });
    Map<String, Integer> ids = new HashMap<>();
    for (int i = 0; i < vocab.size(); i++) ids.put(vocab.get(i), i);
    int v = vocab.size();
    int needed = (steps + warmup + 2) * bptt * batch;
    long[] stream = new long[needed];
    int[] len = {0};
    try {
      readTokens(train, w -> {
        if (len[0] >= needed) throw new StopReading();
        stream[len[0]++] = ids.get(w);
      });
    } catch (StopReading stop) {
      // read enough
    }
    int nb = len[0] / batch;
    long[] cols = new long[nb * batch]; // batchify: column b holds stream[b·nb, (b+1)·nb); stored [nb, batch]
    for (int t = 0; t < nb; t++) for (int b = 0; b < batch; b++) cols[t * batch + b] = stream[b * nb + t];

    Engine engine = Peer.engine(a.i("threads"), a.l("seed"));
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray data = m.create(cols, new Shape(nb, batch));
      // model, initialised as the example: encoder and untied decoder uniform ±0.1, decoder bias 0, LSTM ±1/sqrt(H)
      NDArray encoder = m.randomUniform(-0.1f, 0.1f, new Shape(v, emb));
      List<NDArray> params = new ArrayList<>();
      params.add(encoder);
      NDList lstm = new NDList();
      float r = (float) (1 / Math.sqrt(hid));
      for (int l = 0; l < layers; l++) {
        int in = l == 0 ? emb : hid;
        lstm.add(m.randomUniform(-r, r, new Shape(4L * hid, in))); // weight_ih_l
        lstm.add(m.randomUniform(-r, r, new Shape(4L * hid, hid))); // weight_hh_l
        lstm.add(m.randomUniform(-r, r, new Shape(4L * hid))); // bias_ih_l
        lstm.add(m.randomUniform(-r, r, new Shape(4L * hid))); // bias_hh_l
      }
      params.addAll(lstm);
      NDArray decW = null, decB = null;
      AdaptiveHead asm = null;
      if (head.equals("adaptive")) {
        asm = new AdaptiveHead(m, v, hid, a.ints("cutoffs"), a.d("div-value"), false);
        params.addAll(List.of(asm.parameters()));
      } else {
        decW = tied ? encoder : m.randomUniform(-0.1f, 0.1f, new Shape(v, hid));
        decB = m.zeros(new Shape(v));
        if (!tied) params.add(decW);
        params.add(decB);
      }
      for (NDArray p : params) p.setRequiresGradient(true);
      NDArray[] ps = params.toArray(new NDArray[0]);

      NDArray h = m.zeros(new Shape(layers, batch, hid)), c = m.zeros(new Shape(layers, batch, hid));
      NDArray lastLoss = null;
      boolean backwardDone = false;
      int pos = 0;
      long tokens = 0, t0 = 0;
      for (int step = 0; step < warmup + steps; step++) {
        if (step == warmup) t0 = System.nanoTime();
        int seq = Math.min(bptt, nb - 1 - pos);
        try (NDScope scope = new NDScope()) {
          NDArray x = data.get("{}:{}", pos, pos + seq), y = data.get("{}:{}", pos + 1, pos + 1 + seq);
          pos += bptt;
          NDArray h0 = h.stopGradient(), c0 = c.stopGradient(); // detached state
          if (backwardDone) Peer.zeroGrads(ps);
          NDArray loss;
          try (GradientCollector gc = engine.newGradientCollector()) {
            NDArray e = Dropout.dropout(Embedding.embedding(x, encoder, SparseFormat.DENSE).head(), dropout, true).head();
            NDList out = e.getNDArrayInternal().lstm(e, new NDList(h0, c0), lstm, true, layers, dropout, true, false, false);
            NDArray o = Dropout.dropout(out.get(0), dropout, true).head().reshape(-1, hid);
            NDArray target = y.reshape(-1);
            if (asm != null) {
              loss = asm.output(o, target).neg().mean();
            } else {
              loss = Linear.linear(o, decW, decB).head().logSoftmax(1).gather(target.expandDims(1), 1).mean().neg();
            }
            gc.backward(loss);
            NDArray oldH = h, oldC = c;
            h = out.get(1);
            c = out.get(2);
            NDScope.unregister(h, c);
            oldH.close();
            oldC.close();
          }
          backwardDone = true;
          // clip_grad_norm_(params, clip): total 2-norm of all gradients, scaled by min(1, clip / (norm + 1e-6))
          NDList grads = new NDList();
          for (NDArray p : ps) grads.add(p.getGradient());
          NDList norms = new NDList();
          for (NDArray g : grads) norms.add(g.norm());
          NDArray coef = NDArrays.stack(norms).norm().add(1e-6f).getNDArrayInternal().rdiv((float) clip).minimum(1f);
          for (NDArray g : grads) g.muli(coef);
          // SGD: p += -lr · grad
          for (int i = 0; i < ps.length; i++) ps[i].addi(grads.get(i).muli((float) -lr));
          if (step >= warmup) tokens += (long) seq * batch;
          if (step == warmup + steps - 1) {
            NDScope.unregister(loss);
            lastLoss = loss;
          }
        }
      }
      double dt = (System.nanoTime() - t0) / 1e9;
      Map<String, Object> o = new LinkedHashMap<>();
      o.put("peer", "djl");
      o.put("torch", Peer.version(engine));
      o.put("threads", Peer.threads());
      o.put("gemm_gflops", Peer.round(Peer.gemmGflops(m), 1));
      o.put("omp_wait_policy", Peer.ompWaitPolicy());
      o.put("vocab", v);
      o.put("head", head);
      o.put("tied", tied);
      o.put("emb", emb);
      o.put("hidden", hid);
      o.put("layers", layers);
      o.put("batch", batch);
      o.put("bptt", bptt);
      o.put("steps", steps);
      o.put("tokens", tokens);
      o.put("seconds", Peer.round(dt, 3));
      o.put("tokens_per_s", Peer.round(tokens / dt, 1));
      o.put("last_loss", Peer.round(lastLoss.getFloat(), 4));
      Peer.printJson(o);
    }
  }

  private static final class StopReading extends RuntimeException {
    StopReading() { super(null, null, false, false); }
  }

  static Path find(Path folder, String split, Peer.Args a) {
    for (String name : List.of(split + ".txt.gz", split + ".txt")) {
      Path p = folder.resolve(name);
      if (Files.exists(p)) return p;
    }
    a.fail("no " + split + ".txt[.gz] in " + folder);
    return null;
  }

  /** Whitespace-separated words of every line, then {@code <eos>} (Python's str.split(): Unicode whitespace). */
  static void readTokens(Path p, Consumer<String> sink) throws IOException {
    try (InputStream raw = Files.newInputStream(p);
         InputStream in = p.toString().endsWith(".gz") ? new GZIPInputStream(raw, 1 << 16) : raw;
         BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16)) {
      for (String line; (line = r.readLine()) != null; ) {
        int i = 0, n = line.length();
        while (i < n) {
          while (i < n && isSpace(line.charAt(i))) i++;
          int s = i;
          while (i < n && !isSpace(line.charAt(i))) i++;
          if (i > s) sink.accept(line.substring(s, i));
        }
        sink.accept("<eos>");
      }
    }
  }

  /** Python's str.isspace() for one char: Unicode whitespace (Zs, Zl, Zp) and the control separators. */
  static boolean isSpace(char ch) {
    return Character.isWhitespace(ch) || Character.isSpaceChar(ch) || ch == '\u0085';
  }
}
