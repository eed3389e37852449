package dev.lmhead.train;

import static dev.lmhead.train.FaultPolicy.Action.OK;
import static dev.lmhead.train.FaultPolicy.Action.ROLL_BACK;
import static dev.lmhead.train.FaultPolicy.Action.SKIP;
import static dev.lmhead.train.FaultPolicy.Action.STOP;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.train.FaultPolicy.Action;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The divergence rule on synthetic loss sequences: finite-but-exploding, +Inf and NaN losses are the
 * same fault, whatever CPU kernel produced them, and lead to the same actions.
 */
class FaultPolicyTest {
  static final int V = 33_278;
  static final double LN_V = Math.log(V);

  static List<Action> steps(FaultPolicy p, double... losses) {
    List<Action> a = new ArrayList<>();
    for (double l : losses) a.add(p.onStep(l, 1.0));
    return a;
  }

  @Test
  void theLimitIsFarAboveTheUniformModel() {
    double lim = FaultPolicy.lossLimit(V);
    assertEquals(3 * LN_V + 10, lim, 1e-12);
    FaultPolicy p = new FaultPolicy(V);
    assertFalse(p.isFault(LN_V), "the uniform model's loss is no fault");
    assertFalse(p.isFault(2 * LN_V), "a bad but sane loss is no fault");
    assertFalse(p.isFault(0));
    assertTrue(p.isFault(lim * 1.0001));
    assertTrue(p.isFault(2.5e29), "finite but exploded (what AVX-512 kernels give with lr 1e30)");
    assertTrue(p.isFault(Double.POSITIVE_INFINITY));
    assertTrue(p.isFault(Double.NaN));
    assertTrue(FaultPolicy.lossLimit(2) > Math.log(2) + 10, "tiny vocabularies keep a margin");
  }

  @Test
  void finiteHugeInfAndNanLossesGiveTheSameActions() {
    for (double bad : new double[] {2.5e29, 1e6, Double.POSITIVE_INFINITY, Double.NaN}) {
      FaultPolicy p = new FaultPolicy(V);
      assertEquals(List.of(OK, SKIP, SKIP, ROLL_BACK, OK), steps(p, 9.0, bad, bad, bad, 8.0), "loss " + bad);
      assertEquals(3, p.faults());
      assertEquals(1, p.rollbacks());
    }
  }

  @Test
  void aNonFiniteGradientNormIsAFaultEvenWithAFiniteLoss() {
    FaultPolicy p = new FaultPolicy(V);
    assertEquals(SKIP, p.onStep(5.0, Double.NaN));
    assertEquals(SKIP, p.onStep(5.0, Double.POSITIVE_INFINITY));
    assertEquals(OK, p.onStep(5.0, 1e30), "a huge but finite norm is what clipping is for");
  }

  @Test
  void isolatedFaultsOnlySkipAndAGoodStepResetsTheStreak() {
    FaultPolicy p = new FaultPolicy(V);
    assertEquals(List.of(SKIP, SKIP, OK, SKIP, SKIP, OK), steps(p, Double.NaN, 1e9, 7, Double.POSITIVE_INFINITY, 1e9, 7));
    assertEquals(0, p.rollbacks());
  }

  @Test
  void persistentDivergenceStopsAfterTheLastRollBack() {
    FaultPolicy p = new FaultPolicy(V);
    List<Action> seen = new ArrayList<>();
    Action a;
    int n = 0;
    do {
      a = p.onStep(n % 2 == 0 ? 1e29 : Double.NaN, 1);
      seen.add(a);
      n++;
    } while (a != STOP && n < 1000);
    assertEquals(STOP, a);
    assertEquals(FaultPolicy.MAX_ROLLBACKS, seen.stream().filter(x -> x == ROLL_BACK).count());
    assertEquals((FaultPolicy.MAX_ROLLBACKS + 1) * FaultPolicy.ROLLBACK_AFTER, n);
    assertTrue(p.stopReason().contains("roll-backs"), p.stopReason());
  }

  @Test
  void scatteredFaultsStopAtTheFaultLimit() {
    FaultPolicy p = new FaultPolicy(V);
    Action a = OK;
    int faults = 0;
    for (int i = 0; i < 10_000 && a != STOP; i++) {
      a = p.onStep(i % 2 == 0 ? Double.NaN : 6.0, 1);
      if (i % 2 == 0) faults++;
    }
    assertEquals(STOP, a);
    assertEquals(FaultPolicy.MAX_FAULTS, faults);
  }

  @Test
  void aFaultyValidationRollsBack() {
    FaultPolicy p = new FaultPolicy(V);
    assertEquals(OK, p.onValidation(5.2));
    assertEquals(ROLL_BACK, p.onValidation(Double.POSITIVE_INFINITY));
    assertEquals(ROLL_BACK, p.onValidation(Double.NaN));
    assertEquals(ROLL_BACK, p.onValidation(2.5e29));
    assertEquals(3, p.rollbacks());
  }

  @Test
  void aHeadWhoseObjectiveIsNotTheNllHasItsOwnStepLimitButTheSameValidationRule() {
    // NCE with k = 256 sums 257 logistic terms: ~740 nats per row at initialisation, not an explosion
    double stepLimit = 257 * FaultPolicy.lossLimit(V);
    FaultPolicy p = new FaultPolicy(V, stepLimit);
    assertEquals(OK, p.onStep(737.0, 16.2));
    assertEquals(SKIP, p.onStep(stepLimit * 1.01, 1));
    assertEquals(SKIP, p.onStep(Double.NaN, 1));
    assertEquals(ROLL_BACK, p.onValidation(737.0), "a validation NLL of 737 nats has exploded whatever the head");
    assertEquals(OK, p.onValidation(6.0));
  }

  @Test
  void describeNamesTheKindOfFault() {
    FaultPolicy p = new FaultPolicy(V);
    assertEquals("loss NaN", p.describe(Double.NaN));
    assertEquals("loss +inf", p.describe(Double.POSITIVE_INFINITY));
    assertTrue(p.describe(2.5e29).contains("above the limit"), p.describe(2.5e29));
    assertFalse(p.describe(5).contains("above"));
  }
}
