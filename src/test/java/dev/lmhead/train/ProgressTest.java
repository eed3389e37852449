package dev.lmhead.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The ETA shows whichever stop comes first: the end of the work, the token budget or the time budget. */
class ProgressTest {
  @Test
  void etaIsTheTimeToTheFirstStop() {
    // 1000 units in 10 s (100/s), 60,000 units left: 600 s to the end
    assertEquals(600, Progress.etaSeconds(1000, 10, 60_000, Double.POSITIVE_INFINITY), 1e-9);
    // a 7-minute time budget left comes first
    assertEquals(420, Progress.etaSeconds(1000, 10, 60_000, 420), 1e-9);
    // a token budget of 5,000 units left comes first (the caller passes min(units to end, units to budget))
    assertEquals(50, Progress.etaSeconds(1000, 10, 5_000, 420), 1e-9);
    // a budget already spent
    assertEquals(0, Progress.etaSeconds(1000, 10, 60_000, -3), 1e-9);
    // nothing done yet: only the time budget is known
    assertEquals(420, Progress.etaSeconds(0, 0, 60_000, 420), 1e-9);
    assertTrue(Double.isNaN(Progress.etaSeconds(0, 0, 60_000, Double.POSITIVE_INFINITY)));
  }
}
