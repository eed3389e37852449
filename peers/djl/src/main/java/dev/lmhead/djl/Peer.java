package dev.lmhead.djl;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import com.google.gson.GsonBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * What the two DJL peer programs share: argument parsing in the style of the Python peers' argparse,
 * the libtorch engine (offline, threads set before it loads), the sgemm probe, the warm-up / repeat /
 * time-budget rule and the JSON line.
 */
final class Peer {
  private Peer() {}

  /** Parsed {@code --name value} / {@code --name=value} / {@code --flag} arguments, checked against the known names. */
  static final class Args {
    private final String prog;
    private final Map<String, String> values = new LinkedHashMap<>();

    Args(String prog, String[] argv, Map<String, String> defaults, List<String> flags) {
      this.prog = prog;
      values.putAll(defaults);
      for (String f : flags) values.put(f, "false");
      for (int i = 0; i < argv.length; i++) {
        String a = argv[i];
        if (!a.startsWith("--")) fail("unexpected argument '" + a + "'");
        String name = a.substring(2), value = null;
        int eq = name.indexOf('=');
        if (eq >= 0) {
          value = name.substring(eq + 1);
          name = name.substring(0, eq);
        }
        if (flags.contains(name)) {
          if (value != null) fail("--" + name + " takes no value");
          values.put(name, "true");
          continue;
        }
        if (!defaults.containsKey(name)) fail("unrecognized argument --" + name);
        if (value == null) {
          if (i + 1 >= argv.length) fail("--" + name + " expects a value");
          value = argv[++i];
        }
        values.put(name, value);
      }
      for (var e : values.entrySet()) if (e.getValue() == null) fail("--" + e.getKey() + " is required");
    }

    void fail(String msg) {
      System.err.println(prog + ": error: " + msg);
      System.exit(2);
    }

    String str(String k) { return values.get(k); }

    boolean flag(String k) { return Boolean.parseBoolean(values.get(k)); }

    int i(String k) { return parse(k, Integer::parseInt, "an integer"); }

    long l(String k) { return parse(k, Long::parseLong, "an integer"); }

    double d(String k) { return parse(k, Double::parseDouble, "a number"); }

    private <T> T parse(String k, java.util.function.Function<String, T> f, String what) {
      try {
        return f.apply(values.get(k));
      } catch (NumberFormatException e) {
        fail("--" + k + ": not " + what + ": " + values.get(k));
        return null;
      }
    }

    /** A comma list of names (empty items dropped). */
    List<String> list(String k) {
      return Arrays.stream(values.get(k).split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    int[] ints(String k) {
      return list(k).stream().mapToInt(Integer::parseInt).toArray();
    }
  }

  static String cpuCount() {
    return "" + Runtime.getRuntime().availableProcessors();
  }

  /**
   * Loads libtorch through DJL with {@code threads} intra-op threads (DJL reads the system property
   * {@code ai.djl.pytorch.num_threads} once, when the engine loads) and seeds its generator. Offline
   * unless told otherwise: DJL then takes libtorch from the pytorch-native-cpu jar on the class path.
   */
  static Engine engine(int threads, long seed) {
    if (System.getProperty("ai.djl.offline") == null) System.setProperty("ai.djl.offline", "true");
    System.setProperty("ai.djl.pytorch.num_threads", "" + threads);
    Engine e = Engine.getEngine("PyTorch");
    e.setRandomSeed((int) seed);
    return e;
  }

  /** The {@code torch} field: which libtorch, through which DJL. */
  static String version(Engine e) {
    return "libtorch " + e.getVersion() + " via DJL " + Engine.getDjlVersion();
  }

  /**
   * OMP_WAIT_POLICY as this process got it ("default" when unset). libtorch's bundled libgomp spins while
   * waiting by default; on a machine where other processes compete for the cores this multiplies the time
   * of small ops (seen: 4x on the 2x200 word LM, ~100x on 64-row head calls; none on N = 2048, V = 33,278),
   * so the JSON says which policy a figure was measured under.
   */
  static String ompWaitPolicy() {
    String p = System.getenv("OMP_WAIT_POLICY");
    return p == null || p.isBlank() ? "default" : p;
  }

  /** libtorch's intra-op threads (as torch.get_num_threads()). */
  static int threads() {
    return JniUtils.getNumThreads();
  }

  /** GFLOP/s of [2048, 512] x [512, 33278] (x · wᵀ, w [33278, 512]) through DJL's matMul: 2 untimed, 3 timed calls. */
  static double gemmGflops(NDManager m) {
    try (NDScope s = new NDScope()) {
      NDArray x = m.randomNormal(new Shape(2048, 512)), w = m.randomNormal(new Shape(33278, 512));
      NDArray wt = w.transpose();
      for (int i = 0; i < 2; i++) x.matMul(wt).close();
      int reps = 3;
      long t = System.nanoTime();
      for (int i = 0; i < reps; i++) x.matMul(wt).close();
      return 2.0 * 2048 * 512 * 33278 * reps / ((System.nanoTime() - t) / 1e9) / 1e9;
    }
  }

  /** Loaded native libraries whose path mentions blas, mkl, torch or gomp (/proc/self/maps). */
  static List<String> nativeLibraries(String... keys) {
    TreeSet<String> libs = new TreeSet<>();
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
        String[] f = line.trim().split("\\s+");
        String p = f[f.length - 1];
        if (!p.contains("/")) continue;
        String low = p.toLowerCase();
        for (String k : keys) if (low.contains(k)) libs.add(p);
      }
    } catch (IOException | RuntimeException e) {
      // not Linux: no list
    }
    return new ArrayList<>(libs);
  }

  /** Peak resident set (VmHWM), MB, as ru_maxrss in the Python peers; null when unknown. */
  static Double maxRssMb() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) return Math.round(Long.parseLong(line.replaceAll("\\D", "")) / 1024.0 * 10) / 10.0;
      }
    } catch (IOException | RuntimeException e) {
      // fall through
    }
    return null;
  }

  /** Zeroes the accumulated gradient of each array in place (torch's grad.zero_(), as zero_grad(set_to_none=False)). */
  static void zeroGrads(NDArray... arrays) {
    for (NDArray a : arrays) JniUtils.zeroGrad((PtNDArray) a);
  }

  /** Equal row blocks so that one [rows, V] float tensor stays within maxBytes (HeadBench.blockRows). */
  static int blockRows(int n, int v, long maxBytes) {
    long limit = Math.min(maxBytes / 4, (1L << 31) - 17);
    long maxRows = Math.max(1, limit / v);
    long blocks = (n + maxRows - 1) / maxRows;
    return (int) ((n + blocks - 1) / blocks);
  }

  /** Timed calls of one (head, op) cell and the note on how many ran. */
  record Timing(List<Double> times, String note) {}

  /**
   * lmhead's rule: the first call is a warm-up (or the only run when it alone exceeds the budget); more
   * warm-up calls until there are {@code warmup} of them and they took {@code warmupSeconds}, while they used
   * under half the budget; then timed calls until the budget is used.
   * Every call runs in its own {@link NDScope}, so the arrays it creates are freed when it returns.
   */
  static Timing timed(Runnable fn, int warmup, double warmupSeconds, int repeats, double maxSeconds) {
    double first = time(fn);
    if (first > maxSeconds) {
      return new Timing(List.of(first), String.format("1 run: the first call took %.1f s (> --max-seconds %.0f)", first, maxSeconds));
    }
    double warm = first;
    for (int w = 1; (w < warmup || warm < warmupSeconds) && warm < maxSeconds / 2; w++) warm += time(fn);
    List<Double> times = new ArrayList<>();
    double spent = 0;
    String note = "";
    for (int r = 0; r < repeats; r++) {
      if (r > 0 && spent >= maxSeconds) {
        note = times.size() + " of " + repeats + " runs (--max-seconds " + pyFloat(maxSeconds) + ")";
        break;
      }
      double dt = time(fn);
      times.add(dt);
      spent += dt;
    }
    return new Timing(times, note);
  }

  private static double time(Runnable fn) {
    try (NDScope s = new NDScope()) {
      long t = System.nanoTime();
      fn.run();
      return (System.nanoTime() - t) / 1e9;
    }
  }

  /** A double as Python's str() prints it (20.0, 2.5). */
  static String pyFloat(double x) {
    return x == Math.rint(x) && Math.abs(x) < 1e15 ? String.format("%.1f", x) : Double.toString(x);
  }

  static double median(List<Double> xs) {
    List<Double> s = new ArrayList<>(xs);
    s.sort(null);
    int n = s.size();
    return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
  }

  /** Prints one JSON line on stdout. */
  static void printJson(Map<String, Object> o) {
    System.out.println(new GsonBuilder().serializeNulls().create().toJson(o));
    System.out.flush();
  }

  static double round(double x, int digits) {
    double p = Math.pow(10, digits);
    return Math.round(x * p) / p;
  }
}
