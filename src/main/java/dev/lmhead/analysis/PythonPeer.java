package dev.lmhead.analysis;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a PyTorch peer script from {@code bench/} with Debian's python3 and returns the JSON object it
 * prints last. PyTorch is a comparison tool, not a dependency: when it is missing, {@link #available()}
 * says why in plain words.
 */
public final class PythonPeer {
  public static final String PYTHON = System.getProperty("lmhead.python", "/usr/bin/python3");

  private PythonPeer() {}

  /** null when PyTorch can be run, else a one-line reason and how to install it. */
  public static String unavailableReason() {
    if (!Files.isExecutable(Path.of(PYTHON))) {
      return PYTHON + " not found; install Debian's python3-torch and libopenblas0-pthread (apt-get install python3-torch libopenblas0-pthread)";
    }
    try {
      Process p = new ProcessBuilder(PYTHON, "-c", "import torch").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        return "PyTorch is not installed for " + PYTHON + " (apt-get install python3-torch libopenblas0-pthread)";
      }
    } catch (Exception e) {
      return "cannot run " + PYTHON + ": " + e.getMessage();
    }
    return null;
  }

  /** The bench/ folder of the lmhead installation. */
  public static Path benchDir() {
    return Path.of(System.getProperty("lmhead.home", ".")).resolve("bench");
  }

  /** Runs {@code bench/<script> args...}; returns the last JSON line printed. */
  public static JsonObject run(String script, List<String> args, double timeoutS) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(PYTHON);
    cmd.add(benchDir().resolve(script).toString());
    cmd.addAll(args);
    return lastJson(new ProcessBuilder(cmd), script, timeoutS);
  }

  /**
   * Starts a peer process (stderr passed through) and returns the last line it printed that starts with
   * '{', parsed; fails when it times out, exits non-zero or prints no JSON. Shared by the PyTorch and DJL peers.
   */
  static JsonObject lastJson(ProcessBuilder pb, String what, double timeoutS) throws Exception {
    Process p = pb.redirectError(ProcessBuilder.Redirect.INHERIT).start();
    String last = null;
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = r.readLine()) != null; ) if (line.startsWith("{")) last = line;
    }
    if (!p.waitFor((long) timeoutS, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException(what + " timed out after " + timeoutS + " s");
    }
    if (p.exitValue() != 0 || last == null) throw new IllegalStateException(what + " failed (exit " + p.exitValue() + ")");
    return JsonParser.parseString(last).getAsJsonObject();
  }
}
