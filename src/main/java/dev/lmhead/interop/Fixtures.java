package dev.lmhead.interop;

import com.google.gson.JsonArray;
import com.google.gson.JsonParser;
import dev.lmhead.UserError;
import dev.lmhead.head.AdaptiveSoftmax;
import dev.lmhead.head.FullSoftmax;
import dev.lmhead.head.Loss;
import dev.lmhead.head.OutputLayer;
import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Rng;
import dev.lmhead.tensor.Safetensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * PyTorch parity fixtures (format: {@code shared/fixtures/README.md}): a safetensors file holding one
 * output layer's state_dict under PyTorch names, an input batch, and what PyTorch computed from them.
 *
 * <p>{@link #importHead} builds the lmhead head from the file's metadata and tensors — this is also
 * how a head trained in PyTorch ({@code nn.AdaptiveLogSoftmaxWithLoss}, or {@code nn.Linear} +
 * {@code log_softmax} for "full") is imported. {@link #check} runs forward ({@code output}), the mean
 * loss, the full log-prob, predict and backward, and compares each against PyTorch: log-probs and
 * loss within {@value #LOG_PROB_TOL}, gradients within {@value #GRAD_TOL} (absolute), predictions
 * identical. Unreadable or malformed files and unknown heads give a one-line {@link UserError}.
 */
public final class Fixtures {
  public static final double LOG_PROB_TOL = 1e-5;
  public static final double GRAD_TOL = 1e-4;

  private Fixtures() {}

  /**
   * One compared quantity: worst absolute error (for predict: the number of differing rows); NaN when
   * either side holds a non-finite value that the other does not match, which never passes.
   */
  public record Check(String quantity, double maxAbsError, double tolerance, boolean pass) {}

  /** The outcome for one file. */
  public record Report(String file, String head, String description, List<Check> checks) {
    public boolean pass() { return checks.stream().allMatch(Check::pass); }
  }

  /** Reads a fixture, turning I/O and format errors into one-line user errors. */
  public static Safetensors.Contents read(Path file) {
    try {
      return Safetensors.read(file);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new UserError(file + ": no such file");
    } catch (Safetensors.FormatException e) {
      throw new UserError(e.getMessage());
    } catch (IOException e) {
      throw new UserError(file + ": cannot read (" + e.getMessage() + ")");
    }
  }

  /**
   * Builds the head described by the metadata ({@code head}, {@code in_features}, {@code n_classes},
   * {@code cutoffs}, {@code div_value}, {@code head_bias}) and copies the state_dict tensors into its
   * parameters, checking every name and shape.
   *
   * @param where file name for messages
   */
  public static OutputLayer importHead(Safetensors.Contents c, String where) {
    Map<String, String> meta = c.metadata();
    String type = meta.get("head");
    if (type == null) throw new UserError(where + ": metadata has no 'head' entry");
    int in = intMeta(meta, "in_features", where), v = intMeta(meta, "n_classes", where);
    boolean bias = Boolean.parseBoolean(meta.getOrDefault("head_bias", "false"));
    OutputLayer head;
    try {
      head = switch (type) {
        case "adaptive" -> new AdaptiveSoftmax(in, v, cutoffsMeta(meta, where), doubleMeta(meta, "div_value", where), bias, new Rng(0));
        case "full" -> new FullSoftmax(v, in, c.get("bias") != null, null, new Rng(0));
        default -> throw new UserError(where + ": unknown head '" + type + "' (expected adaptive or full)");
      };
    } catch (IllegalArgumentException e) {
      throw new UserError(where + ": metadata describes an invalid head: " + e.getMessage());
    }
    for (Parameter p : head.parameters()) {
      Safetensors.Tensor t = c.get(p.name());
      if (t == null) throw new UserError(where + ": missing tensor '" + p.name() + "' for a " + describe(head));
      if (!Arrays.equals(t.shape(), p.shape) || t.f32() == null) {
        throw new UserError(where + ": tensor '" + p.name() + "' is " + t.dtype() + Arrays.toString(t.shape())
            + " but the head built from the metadata needs F32" + Arrays.toString(p.shape));
      }
      System.arraycopy(t.f32(), 0, p.data, 0, p.size());
    }
    return head;
  }

  /** Checks one fixture file against the Java head; never throws on a numeric mismatch. */
  public static Report check(Path file) {
    String where = file.toString();
    Safetensors.Contents c = read(file);
    OutputLayer head = importHead(c, where);
    int d = head.inputDim(), v = head.vocabSize();
    float[] x = tensor(c, "input", where, -1, d).f32();
    int n = x.length / d;
    int[] t;
    try {
      t = tensor(c, "target", where, n).ints();
    } catch (IllegalStateException | ArithmeticException e) {
      throw new UserError(where + ": tensor 'target' must hold I64 ids");
    }
    List<Check> checks = new ArrayList<>();
    try {
      float[] out = new float[n];
      head.targetLogProb(x, n, t, out);
      checks.add(compare("output", tensor(c, "expected.output", where, n).f32(), out, LOG_PROB_TOL));
      float[] lp = new float[n * v];
      head.logProb(x, n, lp);
      checks.add(compare("log_prob", tensor(c, "expected.log_prob", where, n, v).f32(), lp, LOG_PROB_TOL));
      int[] pred = head.predict(x, n);
      long[] ep = tensor(c, "expected.predict", where, n).i64();
      if (ep == null) throw new UserError(where + ": tensor 'expected.predict' must be I64");
      int wrong = 0;
      for (int i = 0; i < n; i++) if (ep[i] != pred[i]) wrong++;
      checks.add(new Check("predict", wrong, 0, wrong == 0));
      for (Parameter p : head.parameters()) p.zeroGrad();
      float[] gx = new float[n * d];
      double loss = head.forwardBackward(x, n, t, gx, Loss.MEAN, null);
      float[] el = tensor(c, "expected.loss", where).f32();
      double lossErr = Double.isFinite(el[0]) && Double.isFinite(loss) ? Math.abs(el[0] - loss) : Double.NaN;
      checks.add(new Check("loss", lossErr, LOG_PROB_TOL, lossErr <= LOG_PROB_TOL));
      checks.add(compare("grad.input", tensor(c, "expected.grad.input", where, n, d).f32(), gx, GRAD_TOL));
      for (Parameter p : head.parameters()) {
        checks.add(compare("grad." + p.name(), tensor(c, "expected.grad." + p.name(), where, p.shape).f32(), p.grad, GRAD_TOL));
      }
    } catch (IllegalArgumentException e) {
      throw new UserError(where + ": " + e.getMessage());
    }
    return new Report(file.getFileName().toString(), head.type(), describe(head) + ", N=" + n, checks);
  }

  /** e.g. "adaptive V=1000 in=16 cutoffs [100, 400] div_value 2.0 head_bias false". */
  public static String describe(OutputLayer head) {
    String base = head.type() + " V=" + head.vocabSize() + " in=" + head.inputDim();
    if (head instanceof AdaptiveSoftmax a) {
      return base + " cutoffs " + Arrays.toString(a.cutoffs()) + " div_value " + a.divValue() + " head_bias " + (a.headBias != null);
    }
    return base + " bias " + (head.parameters().size() > 1);
  }

  /**
   * Worst absolute error; a NaN in either array, or an infinity facing anything but the same
   * infinity, makes the error NaN and fails the check (a later finite error cannot hide it).
   */
  static Check compare(String what, float[] expected, float[] actual, double tol) {
    if (expected.length != actual.length) return new Check(what, Double.NaN, tol, false);
    double worst = 0;
    for (int i = 0; i < expected.length; i++) {
      float x = expected[i], y = actual[i];
      if (x == y) continue; // equal infinities count as equal; NaN != NaN
      if (!Float.isFinite(x) || !Float.isFinite(y)) return new Check(what, Double.NaN, tol, false);
      worst = Math.max(worst, Math.abs((double) x - y));
    }
    return new Check(what, worst, tol, worst <= tol);
  }

  /** The named F32/I64 tensor, which must exist and have the given shape (-1: any size). */
  private static Safetensors.Tensor tensor(Safetensors.Contents c, String name, String where, int... shape) {
    Safetensors.Tensor t = c.get(name);
    if (t == null) throw new UserError(where + ": missing tensor '" + name + "'");
    boolean ok = t.shape().length == shape.length;
    for (int i = 0; ok && i < shape.length; i++) ok = shape[i] < 0 ? t.shape()[i] > 0 : t.shape()[i] == shape[i];
    if (!ok) {
      throw new UserError(where + ": tensor '" + name + "' has shape " + Arrays.toString(t.shape()) + ", expected "
          + Arrays.toString(shape).replace("-1", "N"));
    }
    if (t.f32() == null && t.i64() == null) throw new UserError(where + ": tensor '" + name + "' has no data");
    if (t.f32() == null && !name.equals("target") && !name.equals("expected.predict")) {
      throw new UserError(where + ": tensor '" + name + "' must be F32, got " + t.dtype());
    }
    return t;
  }

  private static int intMeta(Map<String, String> meta, String key, String where) {
    String s = meta.get(key);
    if (s == null) throw new UserError(where + ": metadata has no '" + key + "' entry");
    try {
      return Integer.parseInt(s.trim());
    } catch (NumberFormatException e) {
      throw new UserError(where + ": metadata '" + key + "' is not an integer: " + s);
    }
  }

  private static double doubleMeta(Map<String, String> meta, String key, String where) {
    String s = meta.get(key);
    if (s == null) throw new UserError(where + ": metadata has no '" + key + "' entry");
    try {
      return Double.parseDouble(s.trim());
    } catch (NumberFormatException e) {
      throw new UserError(where + ": metadata '" + key + "' is not a number: " + s);
    }
  }

  private static int[] cutoffsMeta(Map<String, String> meta, String where) {
    String s = meta.get("cutoffs");
    if (s == null) throw new UserError(where + ": metadata has no 'cutoffs' entry");
    try {
      JsonArray a = JsonParser.parseString(s).getAsJsonArray();
      int[] r = new int[a.size()];
      for (int i = 0; i < r.length; i++) {
        r[i] = a.get(i).getAsInt();
        if (a.get(i).getAsDouble() != r[i]) throw new NumberFormatException();
      }
      return r;
    } catch (RuntimeException e) {
      throw new UserError(where + ": metadata 'cutoffs' is not a JSON list of integers: " + s);
    }
  }

  /** Insertion-ordered map of check name to error, for JSON output. */
  public static Map<String, Object> toJson(Report r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("file", r.file());
    m.put("head", r.head());
    m.put("description", r.description());
    m.put("pass", r.pass());
    List<Map<String, Object>> cs = new ArrayList<>();
    for (Check ch : r.checks()) {
      Map<String, Object> cm = new LinkedHashMap<>();
      cm.put("quantity", ch.quantity());
      // JSON has no NaN: a non-finite error (a NaN or infinity in the output) is written as a string
      cm.put("max_abs_error", Double.isFinite(ch.maxAbsError()) ? (Object) ch.maxAbsError() : String.valueOf(ch.maxAbsError()));
      cm.put("tolerance", ch.tolerance());
      cm.put("pass", ch.pass());
      cs.add(cm);
    }
    m.put("checks", cs);
    return m;
  }
}
