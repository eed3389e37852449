package dev.lmhead.cli;

import dev.lmhead.model.LanguageModel;
import dev.lmhead.tensor.Blas;
import dev.lmhead.tensor.Cpu;
import dev.lmhead.tensor.Parallel;

/** Small helpers shared by the commands: threads/BLAS choice, durations, descriptions. */
final class Setup {
  private Setup() {}

  static void threadsAndBlas(Integer threads, String blas) {
    if (threads != null && threads < 1) throw new IllegalArgumentException("--threads must be >= 1, got " + threads);
    if (!blas.equals("auto") && !blas.equals("openblas") && !blas.equals("java")) {
      throw new IllegalArgumentException("--blas must be auto, openblas or java, got '" + blas + "'");
    }
    if (threads != null) Parallel.setThreads(threads);
    Blas.use(blas);
    warnOnce(Cpu.fmaWarning());
  }

  private static boolean warned;

  /** Prints a warning on stderr once per process (null: nothing to say). */
  private static synchronized void warnOnce(String warning) {
    if (warning == null || warned) return;
    warned = true;
    System.err.println(warning);
  }

  /** Parses 90, 90s, 15m, 2h, 1h30m into seconds; 0 means none. */
  static double parseDuration(String flag, String s) {
    String t = s.trim().toLowerCase();
    if (t.matches("\\d+(\\.\\d+)?")) return Double.parseDouble(t);
    var m = java.util.regex.Pattern.compile("(\\d+(?:\\.\\d+)?)([hms])").matcher(t);
    double total = 0;
    int end = 0;
    while (m.find()) {
      if (m.start() != end) break;
      double v = Double.parseDouble(m.group(1));
      total += switch (m.group(2)) { case "h" -> v * 3600; case "m" -> v * 60; default -> v; };
      end = m.end();
    }
    if (end != t.length() || t.isEmpty()) {
      throw new IllegalArgumentException(flag + " must be a duration like 90s, 15m, 2h or 1h30m, got '" + s + "'");
    }
    return total;
  }

  static String hms(double seconds) {
    long x = (long) seconds;
    return String.format("%d:%02d:%02d", x / 3600, x / 60 % 60, x % 60);
  }

  static String describeHead(LanguageModel m) {
    return m.decoder.spec().describe();
  }

  /**
   * The token stream of {@code --split}: {@code valid} or {@code test} of the corpus the model was trained
   * on (its config.json names it), or any text file, encoded with the model's vocabulary.
   */
  static int[] splitStream(java.nio.file.Path model, String split, dev.lmhead.data.Vocabulary vocab) {
    if (split.equals("valid") || split.equals("test")) {
      String data = dev.lmhead.model.Checkpoint.readField(model, "data");
      if (data == null) {
        throw new dev.lmhead.UserError(model.resolve(dev.lmhead.model.Checkpoint.CONFIG) + ": no 'data' field; pass --split FILE");
      }
      return dev.lmhead.data.Corpus.encode(dev.lmhead.data.Corpus.splitFile(data, split), vocab);
    }
    java.nio.file.Path f = java.nio.file.Path.of(split);
    if (!java.nio.file.Files.exists(f)) throw new dev.lmhead.UserError("--split: " + f + ": no such file (expected valid, test or a text file)");
    return dev.lmhead.data.Corpus.encode(f, vocab);
  }
}
