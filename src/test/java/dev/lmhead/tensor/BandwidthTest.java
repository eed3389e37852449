package dev.lmhead.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BandwidthTest {
  /** A rate per MiB-rounded working-set size, measured once and kept (no timing assertion: speed is for benchmarks). */
  @Test
  void measuresOncePerSize() {
    Bandwidth b = new Bandwidth(0.01);
    double r = b.readGBps(3_000_000);
    assertTrue(Double.isFinite(r) && r > 0, "rate " + r);
    assertEquals(r, b.readGBps(3 * (1 << 20)), 0.0, "3,000,000 bytes round up to 3 MiB: the same measurement");
    double small = b.readGBps(1);
    assertTrue(Double.isFinite(small) && small > 0, "rate " + small);
  }
}
