package dev.lmhead.analysis;

import com.google.gson.JsonObject;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Runs a program of the DJL peer ({@code peers/djl}: libtorch 2.7.1 through DJL 0.36.0, a separate Maven
 * project so that lmhead does not carry its ~110 MB of native code) and returns the JSON object it prints
 * last. The peer runs offline: {@code -Dai.djl.offline=true} and {@code PYTORCH_FLAVOR=cpu} make DJL load
 * libtorch from the pytorch-native-cpu jar in {@code peers/djl/target/lib} (unpacked once into
 * {@code peers/djl/target/djl-cache}), never from the network. When it is not built,
 * {@link #unavailableReason()} says how to build it.
 */
public final class DjlPeer {
  /** The build command, as printed in the reason. */
  public static final String BUILD = "mvn -f peers/djl/pom.xml package";
  /** The jar the build writes (its dependencies go to target/lib). */
  public static final String JAR = "target/lmhead-djl-peer.jar";

  private DjlPeer() {}

  /** peers/djl of the lmhead installation ({@code -Dlmhead.djl.home} overrides it). */
  public static Path home() {
    String p = System.getProperty("lmhead.djl.home");
    return p != null ? Path.of(p) : Path.of(System.getProperty("lmhead.home", ".")).resolve("peers").resolve("djl");
  }

  /** The java that runs the peer: this JVM's own ({@code -Dlmhead.djl.java} overrides it). */
  public static Path java() {
    String p = System.getProperty("lmhead.djl.java");
    return p != null ? Path.of(p) : Path.of(System.getProperty("java.home"), "bin", "java");
  }

  /** null when the peer can be run, else a one-line reason and what to do. */
  public static String unavailableReason() {
    return unavailableReason(home(), java());
  }

  static String unavailableReason(Path home, Path javaBin) {
    Path jar = home.resolve(JAR), lib = home.resolve("target").resolve("lib");
    if (!Files.isRegularFile(home.resolve("pom.xml"))) return "no DJL peer project at " + home + " (expected peers/djl/pom.xml)";
    if (!Files.isRegularFile(jar) || !Files.isDirectory(lib)) return "peers/djl not built: run `" + BUILD + "`";
    try (var s = Files.list(lib)) {
      if (s.noneMatch(p -> p.getFileName().toString().startsWith("pytorch-native-cpu"))) {
        return "peers/djl/target/lib has no pytorch-native-cpu jar (libtorch): run `" + BUILD + "` again";
      }
    } catch (IOException e) {
      return "cannot read " + lib + ": " + e.getMessage();
    }
    if (!Files.isExecutable(javaBin)) return "java not found at " + javaBin + " (set -Dlmhead.djl.java)";
    return null;
  }

  /** The command line that runs {@code dev.lmhead.djl.<program> args...}. */
  static List<String> command(Path home, Path javaBin, String program, List<String> args) {
    Path target = home.resolve("target");
    List<String> cmd = new ArrayList<>(List.of(javaBin.toString(), "--enable-native-access=ALL-UNNAMED", "-Dai.djl.offline=true",
        "-DENGINE_CACHE_DIR=" + target.resolve("djl-cache"), "-cp",
        home.resolve(JAR) + File.pathSeparator + target.resolve("lib") + File.separator + "*",
        "dev.lmhead.djl." + program));
    cmd.addAll(args);
    return cmd;
  }

  /**
   * Runs {@code dev.lmhead.djl.<program> args...} (DjlHeads, DjlWordLm) with {@code threads} OpenMP threads;
   * returns the last JSON line printed.
   */
  public static JsonObject run(String program, List<String> args, int threads, double timeoutS) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(command(home(), java(), program, args));
    Map<String, String> env = pb.environment();
    env.put("PYTORCH_FLAVOR", "cpu");
    env.put("DJL_OFFLINE", "true");
    for (String v : List.of("OMP_NUM_THREADS", "MKL_NUM_THREADS")) env.put(v, "" + threads);
    return PythonPeer.lastJson(pb, program, timeoutS);
  }
}
