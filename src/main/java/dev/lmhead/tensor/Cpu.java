package dev.lmhead.tensor;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;

/**
 * What the JVM found on this CPU that lmhead's kernels depend on. The vector kernels ({@link Vec}, the LSTM's
 * small products, the pure-Java GEMM) are written with fused multiply-adds (one rounding each, so their bits do not
 * depend on the JIT), an instruction of every x86 CPU since Intel Haswell and AMD Piledriver. On a CPU without FMA (or a JVM started with
 * {@code -XX:UseAVX=0}) HotSpot computes {@code Math.fma} and the Vector API's {@code fma} exactly in software,
 * through {@code BigDecimal}: correctly rounded still, but 1.8 µs per {@code Math.fma} against 3 ns with the
 * instruction (measured on this project's AMD EPYC with {@code -XX:UseAVX=0}); the test suite took about 22x longer
 * there (its first 27 classes, 2026-12-03; part of that is the 128-bit vectors {@code UseAVX=0} also implies). The
 * CLI's computing commands say so in one line.
 */
public final class Cpu {
  private Cpu() {}

  private static volatile Boolean fma;

  /** True when HotSpot uses the CPU's FMA instructions ({@code -XX:+UseFMA}); true too when it cannot tell. */
  public static boolean hardwareFma() {
    Boolean f = fma;
    if (f == null) {
      try {
        HotSpotDiagnosticMXBean hs = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
        f = hs == null || !"false".equals(hs.getVMOption("UseFMA").getValue());
      } catch (RuntimeException | LinkageError e) {   // not HotSpot, or the option is unknown (not x86)
        f = true;
      }
      fma = f;
    }
    return f;
  }

  /** The one-line warning for a JVM without hardware FMA, or null when it has it. */
  public static String fmaWarning() {
    return hardwareFma() ? null
        : "lmhead: warning: no FMA instructions on this CPU (HotSpot's UseFMA is off): lmhead's kernels compute "
          + "their fused multiply-adds in software here, correctly but many times slower (the test suite: about 20x)";
  }
}
