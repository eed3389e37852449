package dev.lmhead;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringWriter;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The java block of README.md's "Library API" section compiles against today's API and runs. */
class ReadmeExampleTest {
  @TempDir Path tmp;

  static String libraryExample() throws Exception {
    String readme = Files.readString(TestData.root().resolve("README.md"));
    int section = readme.indexOf("## Library API");
    assertTrue(section >= 0, "README.md has no '## Library API' section");
    int start = readme.indexOf("```java\n", section) + "```java\n".length();
    int end = readme.indexOf("```", start);
    return readme.substring(start, end);
  }

  @Test
  void libraryApiExampleCompilesAndRuns() throws Exception {
    String block = libraryExample();
    StringBuilder imports = new StringBuilder(), body = new StringBuilder();
    for (String line : block.lines().toList()) (line.startsWith("import ") ? imports : body).append(line).append('\n');
    String src = imports + "public class ReadmeExample {\n  public static void run() throws Exception {\n" + body + "  }\n}\n";
    Path file = tmp.resolve("ReadmeExample.java");
    Files.writeString(file, src);
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    StringWriter err = new StringWriter();
    boolean ok = javac.getTask(err, null, null, List.of("-d", tmp.toString(), "-cp", System.getProperty("java.class.path"),
        "--add-modules", "jdk.incubator.vector", "-proc:none"), null, javac.getStandardFileManager(null, null, null).getJavaFileObjects(file)).call();
    assertTrue(ok, "README example does not compile:\n" + src + "\n" + err);
    try (URLClassLoader cl = new URLClassLoader(new java.net.URL[] {tmp.toUri().toURL()}, getClass().getClassLoader())) {
      cl.loadClass("ReadmeExample").getMethod("run").invoke(null);
    }
    assertEquals(true, ok);
  }
}
