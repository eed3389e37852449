package dev.lmhead.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.TestData;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * {@link Cpu#hardwareFma}: a JVM told to use no AVX ({@code -XX:UseAVX=0}, as on a CPU without FMA) reports no
 * hardware FMA and warns; this JVM reports what HotSpot's flag says. On a host without FMA the suite says so in
 * one visible line, because everything is correct there but many times slower.
 */
class CpuTest {
  /** Runs {@code Probe} in a child JVM with the given flags; returns its stdout. */
  private static String child(String... flags) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    var cmd = new java.util.ArrayList<>(List.of(java));
    cmd.addAll(List.of(flags));
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Probe.class.getName()));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "probe finished");
    assertEquals(0, p.exitValue(), out);
    return out;
  }

  /** Prints hardwareFma() and the warning. */
  public static final class Probe {
    public static void main(String[] args) {
      System.out.println(Cpu.hardwareFma() + "|" + Cpu.fmaWarning());
    }
  }

  private static boolean x86() {
    String arch = System.getProperty("os.arch");
    return arch.equals("amd64") || arch.equals("x86_64");
  }

  @Test void aJvmWithoutAvxHasNoHardwareFmaAndWarns() throws Exception {
    Assumptions.assumeTrue(x86(), "-XX:UseAVX is an x86 flag");
    String out = child("-XX:UseAVX=0");
    assertTrue(out.startsWith("false|lmhead: warning: no FMA instructions"), out);
    assertFalse(out.contains("\n"), "one line: " + out);
  }

  @Test void thisJvmAgreesWithHotSpotsFlag() throws Exception {
    var hs = java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
    boolean flag = !"false".equals(hs.getVMOption("UseFMA").getValue());
    assertEquals(flag, Cpu.hardwareFma());
    if (flag) {
      assertNull(Cpu.fmaWarning());
      assertEquals("true|null", child());
    } else {
      assertNotNull(Cpu.fmaWarning());
      TestData.visible("note: this CPU has no FMA instructions: the suite is correct here but runs many times slower");
    }
  }
}
