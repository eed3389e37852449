package dev.lmhead.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code lmhead} launcher script and its stderr filter: the JVM's startup notice about the incubator
 * module never reaches the user, every other byte of stderr does, and the exit code and stdin are the
 * JVM's. The launcher runs against a stand-in JDK (a script printing what a JVM would), so no jar is built.
 */
class LauncherTest {
  @TempDir Path tmp;

  static final String NOTICE = "WARNING: Using incubator modules: jdk.incubator.vector";
  static final Path ROOT = Path.of(System.getProperty("lmhead.root", "."));

  record Result(int code, String out, String err) {}

  static Result run(List<String> cmd, Path dir, String stdin, java.util.Map<String, String> env) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
    pb.environment().putAll(env);
    Path out = dir.resolve("out.txt"), err = dir.resolve("err.txt"), in = dir.resolve("in.txt");
    Files.writeString(in, stdin);
    Process p = pb.redirectInput(in.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), "did not finish: " + cmd);
    // read right after the exit: the launcher returns only once the filter has written everything
    return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
  }

  static void script(Path f, String body) throws IOException {
    Files.createDirectories(f.getParent());
    Files.writeString(f, "#!/usr/bin/env bash\n" + body);
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  @Test
  void theFilterDropsOnlyALeadingNotice() throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/bin/bash")));
    Path filter = ROOT.resolve("bin/lmhead-stderr-filter").toAbsolutePath();
    String[][] cases = {
        {NOTICE + "\nlmhead: error: x.txt:3: invalid UTF-8\n", "lmhead: error: x.txt:3: invalid UTF-8\n"},
        {NOTICE + "\n", ""},
        {"", ""},
        {"lmhead: error: one\n" + NOTICE + "\n", "lmhead: error: one\n" + NOTICE + "\n"}, // only a first-line notice goes
        {NOTICE + "\n" + NOTICE + "\n", NOTICE + "\n"},
        {"WARNING: Using incubator modules: jdk.incubator.vector, jdk.incubator.foo\n", "WARNING: Using incubator modules: jdk.incubator.vector, jdk.incubator.foo\n"},
        {"WARNING: Using", "WARNING: Using"}, // input ends inside the notice's text
        {NOTICE + "\nbar 1%\rbar 2%\rno newline at the end", "bar 1%\rbar 2%\rno newline at the end"},
        {"W\0X\n", "W\0X\n"},
    };
    for (String[] c : cases) {
      Result r = run(List.of("/bin/bash", filter.toString()), tmp, c[0], java.util.Map.of());
      assertEquals(0, r.code(), c[0]);
      assertEquals(c[1], r.out(), "input: " + c[0]);
    }
  }

  @Test
  void theLauncherHidesTheNoticeAndKeepsEverythingElse() throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/bin/bash")));
    // a copy of the launcher in a fresh root holding a "built" jar (no sources, so never stale)
    Path root = tmp.resolve("root");
    Files.createDirectories(root.resolve("target/lib"));
    Files.writeString(root.resolve("target/lmhead.jar"), "not a jar");
    Files.createDirectories(root.resolve("bin"));
    Files.copy(ROOT.resolve("lmhead"), root.resolve("lmhead"));
    Files.copy(ROOT.resolve("bin/lmhead-stderr-filter"), root.resolve("bin/lmhead-stderr-filter"));
    // a stand-in JDK 25: the version probe, then what the JVM prints for a failing lmhead command
    Path jdk = tmp.resolve("jdk");
    script(jdk.resolve("bin/javac"), "exit 0\n");
    script(jdk.resolve("bin/java"), """
        for a in "$@"; do [[ "$a" == -XshowSettings:properties ]] && { echo '    java.specification.version = 25' >&2; exit 0; }; done
        echo 'WARNING: Using incubator modules: jdk.incubator.vector' >&2
        echo "args: $*"
        for a in "$@"; do [[ "$a" == *.jar ]] && echo "jar holds: $(cat "$a")"; done
        IFS= read -r line; echo "stdin: $line"
        echo 'lmhead: error: runs/x/last.safetensors: cannot write (No space left on device)' >&2
        printf 'partial line' >&2
        exit 3
        """);
    script(tmp.resolve("path/mvn"), "exit 0\n");
    Path leftover = root.resolve("target/run/999999999"); // the copy of a run that was killed (no such process)
    Files.createDirectories(leftover);
    Files.writeString(leftover.resolve("lmhead.jar"), "old");
    Result r = run(List.of("/bin/bash", root.resolve("lmhead").toString(), "train", "--help"), tmp, "hello\n",
        java.util.Map.of("JAVA_HOME", jdk.toString(), "PATH", tmp.resolve("path") + ":/usr/bin:/bin"));
    assertEquals(3, r.code(), r.err());
    assertEquals("lmhead: error: runs/x/last.safetensors: cannot write (No space left on device)\npartial line", r.err());
    assertTrue(r.out().contains("stdin: hello"), r.out());
    // the JVM ran its own copy of the jar (a rebuild beside it cannot change the classes it loads), removed at the end
    assertTrue(r.out().matches("(?s).*-jar " + java.util.regex.Pattern.quote(root.resolve("target/run").toString())
        + "/\\d+/lmhead\\.jar train --help.*"), r.out());
    assertTrue(r.out().contains("jar holds: not a jar"), r.out());
    try (var left = Files.list(root.resolve("target/run"))) {
      assertEquals(List.of(), left.toList(), "copies left behind");
    }
    assertTrue(!r.out().contains(NOTICE) && !r.err().contains(NOTICE));
  }
}
