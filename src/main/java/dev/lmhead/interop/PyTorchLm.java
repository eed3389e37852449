package dev.lmhead.interop;

import dev.lmhead.UserError;
import dev.lmhead.data.Vocabulary;
import dev.lmhead.head.AdaptiveSoftmax;
import dev.lmhead.head.FullSoftmax;
import dev.lmhead.head.HeadSpec;
import dev.lmhead.model.Checkpoint;
import dev.lmhead.model.LanguageModel;
import dev.lmhead.model.ModelConfig;
import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Rng;
import dev.lmhead.tensor.Safetensors.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Whole-model interop with PyTorch's {@code word_language_model} example: its {@code RNNModel} with an LSTM
 * ({@code RNNModel('LSTM', ntoken, ninp, nhid, nlayers, dropout, tie_weights)}) and the same model with an
 * {@code nn.AdaptiveLogSoftmaxWithLoss} decoder.
 *
 * <p>State-dict names, PyTorch's and lmhead's alike: {@code encoder.weight} [V, ninp];
 * {@code rnn.weight_ih_l{k}} [4H, in_k], {@code rnn.weight_hh_l{k}} [4H, H], {@code rnn.bias_ih_l{k}},
 * {@code rnn.bias_hh_l{k}} [4H] with the gates in PyTorch's order (i, f, g, o), which is lmhead's;
 * then either {@code decoder.weight} [V, H] and {@code decoder.bias} [V] (a tied model stores the embedding
 * under both names; lmhead keeps it once, as {@code encoder.weight}), or the adaptive decoder
 * {@code decoder.head.weight} [c0 + C, H], optional {@code decoder.head.bias}, {@code decoder.tail.{i}.0.weight}
 * [hsz_i, H], {@code decoder.tail.{i}.1.weight} [osz_i, hsz_i]. The adaptive cutoffs follow from the shapes
 * (c0 = head rows − C, c_{i+1} = c_i + osz_i, ending at V), div_value from the projection sizes
 * (hsz_i = floor(H / div^(i+1)); the simplest value in the interval they allow, PyTorch's default 4 first).
 */
public final class PyTorchLm {
  private PyTorchLm() {}

  /** An imported model: lmhead model, vocabulary, and a one-line description. */
  public record Imported(LanguageModel model, Vocabulary vocab, String description) {}

  /**
   * Reads the example's vocabulary file ({@code corpus.dictionary.idx2word}, one word per line, ids as
   * given). It must hold {@code <eos>} and {@code <unk>}, with no empty, duplicate or whitespace-holding word.
   */
  public static Vocabulary readVocab(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new UserError(file + ": vocabulary file not found");
    } catch (IOException e) {
      throw new UserError(file + ": cannot read vocabulary (" + e.getMessage() + ")");
    }
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      throw new UserError(file + ": vocabulary is not valid UTF-8");
    }
    if (text.startsWith("\uFEFF")) text = text.substring(1);
    String[] lines = text.split("\n", -1);
    int n = lines.length;
    if (n > 0 && lines[n - 1].isEmpty()) n--; // final newline
    if (n == 0) throw new UserError(file + ": empty vocabulary file");
    String[] words = new String[n];
    Map<String, Integer> seen = new java.util.HashMap<>();
    for (int i = 0; i < n; i++) {
      String w = lines[i].endsWith("\r") ? lines[i].substring(0, lines[i].length() - 1) : lines[i];
      String where = file + ":" + (i + 1) + ": ";
      if (w.isEmpty()) throw new UserError(where + "empty word (expected one word per line)");
      for (int j = 0; j < w.length(); j++) {
        if (Character.isWhitespace(w.charAt(j)) || w.charAt(j) == 0) {
          throw new UserError(where + "word '" + abbreviate(w) + "' contains whitespace (expected one word per line)");
        }
      }
      Integer prev = seen.putIfAbsent(w, i + 1);
      if (prev != null) throw new UserError(where + "duplicate word '" + abbreviate(w) + "' (first at line " + prev + ")");
      words[i] = w;
    }
    for (String need : new String[] {Vocabulary.EOS, Vocabulary.UNK}) {
      if (!seen.containsKey(need)) {
        throw new UserError(file + ": vocabulary has no " + need + " entry (lmhead ends every line with " + Vocabulary.EOS
            + " and maps unknown words to " + Vocabulary.UNK + ")");
      }
    }
    return Vocabulary.of(words, new long[n]);
  }

  private static String abbreviate(String s) { return s.length() > 40 ? s.substring(0, 40) + "..." : s; }

  /**
   * Builds the lmhead model a state dict describes.
   *
   * @param where    file name for messages
   * @param head     "auto", "full" or "adaptive": what the file must hold
   * @param divValue adaptive div_value to use (NaN: inferred from the projection sizes)
   * @param dropout  recorded in the config (training only; PyTorch does not store it)
   */
  public static Imported fromStateDict(Map<String, Tensor> sd, String where, Vocabulary vocab, String head,
                                       double divValue, float dropout) {
    Set<String> used = new HashSet<>();
    Sd s = new Sd(sd, where, used);
    int layers = 0;
    while (sd.containsKey("rnn.weight_ih_l" + layers)) layers++;
    if (layers == 0) throw new UserError(where + ": missing tensor 'rnn.weight_ih_l0' (not an RNNModel state dict?)");
    Tensor hh0 = s.need("rnn.weight_hh_l0", 2);
    int H = hh0.shape()[1];
    if (hh0.shape()[0] != 4 * H) {
      String kind = hh0.shape()[0] == 3 * H ? "a GRU" : hh0.shape()[0] == H ? "a plain RNN" : "not an LSTM";
      throw new UserError(where + ": tensor 'rnn.weight_hh_l0' has shape " + Arrays.toString(hh0.shape()) + ": " + kind
          + "; only LSTM models (4*nhid gate rows) can be imported");
    }
    int ninp = s.need("rnn.weight_ih_l0", 2).shape()[1];
    boolean adaptive = sd.containsKey("decoder.head.weight");
    if (head.equals("full") && adaptive) throw new UserError(where + ": --head full, but the file holds an adaptive decoder (decoder.head.weight)");
    if (head.equals("adaptive") && !adaptive) throw new UserError(where + ": --head adaptive, but the file has no 'decoder.head.weight' (an nn.AdaptiveLogSoftmaxWithLoss decoder)");
    if (!head.equals("auto") && !head.equals("full") && !head.equals("adaptive")) {
      throw new IllegalArgumentException("--head must be full or adaptive (the heads PyTorch has), got '" + head + "'");
    }
    Tensor enc = sd.get("encoder.weight"), dec = adaptive ? null : sd.get("decoder.weight");
    if (enc == null && dec == null) throw new UserError(where + ": missing tensor 'encoder.weight'");
    int V = enc != null ? s.need("encoder.weight", 2).shape()[0] : s.need("decoder.weight", 2).shape()[0];
    if (V != vocab.size()) {
      throw new UserError(where + ": the model has " + V + " words (encoder.weight " + Arrays.toString((enc != null ? enc : dec).shape())
          + ") but the vocabulary file has " + vocab.size());
    }
    if (enc != null) s.expect("encoder.weight", V, ninp);
    for (int k = 0; k < layers; k++) {
      s.expect("rnn.weight_ih_l" + k, 4 * H, k == 0 ? ninp : H);
      s.expect("rnn.weight_hh_l" + k, 4 * H, H);
      s.expect("rnn.bias_ih_l" + k, 4 * H);
      s.expect("rnn.bias_hh_l" + k, 4 * H);
    }
    HeadSpec spec;
    boolean tied = false;
    String desc;
    if (adaptive) {
      if (enc == null) throw new UserError(where + ": missing tensor 'encoder.weight'");
      int C = 0;
      while (sd.containsKey("decoder.tail." + C + ".0.weight")) C++;
      if (C == 0) throw new UserError(where + ": missing tensor 'decoder.tail.0.0.weight' (an adaptive decoder has at least one tail cluster)");
      Tensor hw = s.need("decoder.head.weight", 2);
      int c0 = hw.shape()[0] - C;
      s.expect("decoder.head.weight", hw.shape()[0], H);
      if (c0 < 1) throw new UserError(where + ": tensor 'decoder.head.weight' has " + hw.shape()[0] + " rows, too few for " + C + " tail clusters");
      boolean headBias = sd.containsKey("decoder.head.bias");
      if (headBias) s.expect("decoder.head.bias", c0 + C);
      int[] cut = new int[C], hsz = new int[C];
      int bound = c0;
      for (int i = 0; i < C; i++) {
        cut[i] = bound;
        Tensor p = s.need("decoder.tail." + i + ".0.weight", 2);
        hsz[i] = p.shape()[0];
        s.expect("decoder.tail." + i + ".0.weight", hsz[i], H);
        Tensor o = s.need("decoder.tail." + i + ".1.weight", 2);
        s.expect("decoder.tail." + i + ".1.weight", o.shape()[0], hsz[i]);
        bound += o.shape()[0];
      }
      if (bound != V) {
        throw new UserError(where + ": the adaptive decoder covers " + bound + " words (shortlist " + c0 + " + tail clusters) but encoder.weight has " + V);
      }
      double div = Double.isNaN(divValue) ? inferDivValue(H, hsz, where) : divValue;
      for (int i = 0; i < C; i++) {
        if (AdaptiveSoftmax.projectionSize(H, div, i + 1) != hsz[i]) {
          throw new UserError(where + ": --div-value " + div + " gives tail " + i + " a projection of " + AdaptiveSoftmax.projectionSize(H, div, i + 1)
              + " but 'decoder.tail." + i + ".0.weight' has " + hsz[i] + " rows");
        }
      }
      spec = new AdaptiveSoftmax.Spec(cut, div, headBias);
      desc = String.format(Locale.ROOT, "adaptive decoder: cutoffs %s, div_value %s, head_bias %s", Arrays.toString(cut), fmt(div), headBias);
    } else {
      boolean bias = sd.containsKey("decoder.bias");
      if (!bias && !sd.containsKey("decoder.weight")) throw new UserError(where + ": missing tensor 'decoder.weight' (and no adaptive 'decoder.head.weight')");
      if (dec != null) s.expect("decoder.weight", V, H);
      if (bias) s.expect("decoder.bias", V);
      // tied: decoder.weight is encoder.weight (torch.save stores it twice over one storage; safetensors'
      // save_model keeps only one of the two names)
      tied = enc == null || dec == null || Arrays.equals(enc.f32(), dec.f32());
      if (tied && ninp != H) {
        throw new UserError(where + ": " + (enc == null ? "no encoder.weight" : dec == null ? "no decoder.weight" : "decoder.weight equals encoder.weight")
            + " (tied weights) but ninp " + ninp + " != nhid " + H);
      }
      spec = new FullSoftmax.Spec(bias);
      desc = "full softmax decoder" + (bias ? "" : " without bias") + (tied ? ", tied to the embedding" : "");
    }
    for (String name : sd.keySet()) {
      if (!used.contains(name)) {
        throw new UserError(where + ": unexpected tensor '" + name + "' (not part of an LSTM RNNModel with a "
            + (adaptive ? "adaptive" : "full") + " decoder)");
      }
    }
    ModelConfig cfg;
    LanguageModel m;
    try {
      cfg = new ModelConfig(V, ninp, H, layers, dropout, tied, "embedding", 0.1f, spec, 0f).validate();
      m = new LanguageModel(cfg, vocab.counts(), new Rng(0));
    } catch (IllegalArgumentException e) {
      throw new UserError(where + ": " + e.getMessage());
    }
    for (var e : m.namedParameters().entrySet()) {
      String name = e.getKey();
      Tensor t = sd.get(name);
      if (t == null && name.equals("encoder.weight")) t = dec; // tied, stored under the decoder's name only
      Parameter p = e.getValue();
      if (t == null) throw new UserError(where + ": missing tensor '" + name + "'");
      if (!Arrays.equals(t.shape(), p.shape)) {
        throw new UserError(where + ": tensor '" + name + "' has shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(p.shape));
      }
      System.arraycopy(t.f32(), 0, p.data, 0, p.size());
    }
    String d = String.format(Locale.ROOT, "LSTM LM: V=%d, ninp=%d, nhid=%d, nlayers=%d, %s", V, ninp, H, layers, desc);
    return new Imported(m, vocab, d);
  }

  /** Tensor lookup with shape checks; records every name it is asked for. */
  private record Sd(Map<String, Tensor> sd, String where, Set<String> used) {
    Tensor need(String name, int rank) {
      Tensor t = sd.get(name);
      if (t == null) throw new UserError(where + ": missing tensor '" + name + "'");
      if (t.f32() == null) throw new UserError(where + ": tensor '" + name + "' is " + t.dtype() + ", expected a float tensor");
      if (t.shape().length != rank) throw new UserError(where + ": tensor '" + name + "' has shape " + Arrays.toString(t.shape()) + ", expected " + rank + " dimensions");
      used.add(name);
      return t;
    }

    void expect(String name, int... shape) {
      Tensor t = need(name, shape.length);
      if (!Arrays.equals(t.shape(), shape)) {
        throw new UserError(where + ": tensor '" + name + "' has shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(shape));
      }
    }
  }

  /**
   * A div_value reproducing the tail projection sizes hsz_i = floor(in / div^(i+1)): PyTorch's default 4,
   * else 2, 1, 3, 8, else the value with the fewest decimals in the interval the sizes allow.
   */
  public static double inferDivValue(int in, int[] hsz, String where) {
    double lo = 0, hi = Double.POSITIVE_INFINITY;
    for (int i = 0; i < hsz.length; i++) {
      double p = i + 1;
      lo = Math.max(lo, Math.pow((double) in / (hsz[i] + 1), 1 / p));
      hi = Math.min(hi, Math.pow((double) in / hsz[i], 1 / p));
    }
    List<Double> cand = new ArrayList<>(List.of(4.0, 2.0, 1.0, 3.0, 8.0, 1.5, 2.5, 16.0));
    for (double step : new double[] {1, 0.5, 0.25, 0.1, 0.05, 0.01, 1e-3, 1e-4, 1e-5, 1e-6}) {
      cand.add((Math.floor(lo / step) + 1) * step);
      cand.add(Math.floor(hi / step) * step);
    }
    cand.add(hi);
    for (double d : cand) {
      if (!(d > 0) || Double.isInfinite(d)) continue;
      d = Double.parseDouble(String.format(Locale.ROOT, "%.6g", d));
      boolean ok = true;
      for (int i = 0; i < hsz.length && ok; i++) ok = AdaptiveSoftmax.projectionSize(in, d, i + 1) == hsz[i];
      if (ok) return d;
    }
    throw new UserError(where + ": tail projection sizes " + Arrays.toString(hsz) + " of a " + in
        + "-dimensional decoder match no div_value (floor(" + in + " / div^(i+1)) for tail i)");
  }

  static String fmt(double d) {
    return d == Math.rint(d) ? String.format(Locale.ROOT, "%.1f", d) : Double.toString(d);
  }

  /** Writes an lmhead model directory (config.json, vocab.txt, model.safetensors) for an imported model. */
  public static void writeModelDir(Imported imp, Path dir, Map<String, Object> extra) throws IOException {
    Files.createDirectories(dir);
    Checkpoint.saveSetup(dir, imp.model().config, imp.vocab(), extra);
    Checkpoint.saveTensors(dir.resolve(Checkpoint.MODEL), Checkpoint.tensors(imp.model()), Map.of("lmhead.source", "pytorch"));
  }

  /**
   * The model's state dict under the PyTorch example's names, ready for {@code load_state_dict(strict=True)}:
   * a tied model stores the embedding as {@code decoder.weight} too, and a full head without bias gets a
   * zero {@code decoder.bias} (nn.Linear always has one). Only full and adaptive heads over a plain
   * embedding exist in PyTorch; anything else is a {@link UserError} naming {@code where}.
   */
  public static Map<String, Tensor> toStateDict(LanguageModel m, String where) {
    ModelConfig c = m.config;
    String type = c.head().type();
    boolean full = c.head() instanceof FullSoftmax.Spec;
    if (!full && !(c.head() instanceof AdaptiveSoftmax.Spec)) {
      throw new UserError(where + ": the " + type + " head has no PyTorch equivalent; only full and adaptive heads can be exported");
    }
    if (!c.input().equals("embedding")) {
      throw new UserError(where + ": adaptive input embeddings have no equivalent in PyTorch's RNNModel; only models with a plain embedding can be exported");
    }
    Map<String, Tensor> out = new LinkedHashMap<>();
    boolean decoderDone = false;
    for (var e : m.namedParameters().entrySet()) {
      String name = e.getKey();
      Parameter p = e.getValue();
      if (name.startsWith("decoder.") && !decoderDone) {
        decoderDone = true;
        addDecoderExtras(m, out);
      }
      out.put(name, Tensor.of(p.data.clone(), p.shape));
    }
    if (!decoderDone) addDecoderExtras(m, out);
    if (full && !out.containsKey("decoder.bias")) out.put("decoder.bias", Tensor.of(new float[c.vocab()], c.vocab()));
    return out;
  }

  private static void addDecoderExtras(LanguageModel m, Map<String, Tensor> out) {
    if (m.config.tied() && m.config.head() instanceof FullSoftmax.Spec) {
      Parameter w = m.namedParameters().get("encoder.weight");
      out.put("decoder.weight", Tensor.of(w.data.clone(), w.shape));
    }
  }

  /** The Python that builds a PyTorch model this state dict loads into. */
  public static String constructor(LanguageModel m) {
    ModelConfig c = m.config;
    String s = String.format(Locale.ROOT, "model = RNNModel('LSTM', %d, %d, %d, %d, %s, %s)", c.vocab(), c.emb(), c.hidden(), c.layers(),
        Float.toString(c.dropout()), c.tied() ? "True" : "False");
    if (m.decoder instanceof AdaptiveSoftmax a) {
      s += String.format(Locale.ROOT, "%nmodel.decoder = nn.AdaptiveLogSoftmaxWithLoss(%d, %d, cutoffs=%s, div_value=%s, head_bias=%s)",
          c.hidden(), c.vocab(), Arrays.toString(a.cutoffs()), fmt(a.divValue()), a.spec().headBias() ? "True" : "False");
    }
    return s;
  }

  /** Writes the vocabulary, one word per line in id order (the example's idx2word). */
  public static void writeVocab(Vocabulary v, Path file) throws IOException {
    Checkpoint.writeAtomically(file, out -> {
      for (int i = 0; i < v.size(); i++) out.write((v.word(i) + "\n").getBytes(StandardCharsets.UTF_8));
    });
  }
}
