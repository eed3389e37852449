package dev.lmhead.head;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.tensor.Rng;
import org.junit.jupiter.api.Test;

class CandidateSamplerTest {

  @Test
  void logUniformIsTensorFlowsFormula() {
    int v = 1000;
    CandidateSampler q = CandidateSampler.logUniform(v);
    double sum = 0;
    for (int k = 0; k < v; k++) {
      double expected = (Math.log(k + 2.0) - Math.log(k + 1.0)) / Math.log(v + 1.0);
      assertEquals(expected, q.q(k), 1e-15, "Q(" + k + ")");
      assertEquals(Math.log(expected), q.logQ(k), 1e-12, "log Q(" + k + ")");
      sum += q.q(k);
    }
    assertEquals(1.0, sum, 1e-12);
  }

  @Test
  void unigramIsCountsToTheAlpha() {
    long[] counts = {100, 10, 0, 1, 50};
    CandidateSampler q = CandidateSampler.unigram(counts, 0.75);
    double z = Math.pow(100, 0.75) + Math.pow(10, 0.75) + 1 + 1 + Math.pow(50, 0.75); // count 0 counts as 1
    assertEquals(Math.pow(100, 0.75) / z, q.q(0), 1e-15);
    assertEquals(1 / z, q.q(2), 1e-15);
    assertEquals(q.q(2), q.q(3), 0);
    CandidateSampler flat = CandidateSampler.unigram(counts, 0);
    for (int w = 0; w < 5; w++) assertEquals(0.2, flat.q(w), 1e-15);
    assertThrows(IllegalArgumentException.class, () -> CandidateSampler.unigram(counts, -1));
    assertThrows(IllegalArgumentException.class, () -> CandidateSampler.unigram(counts, Double.NaN));
  }

  @Test
  void sameSeedSameDraws() {
    CandidateSampler q = CandidateSampler.logUniform(500);
    int[] a = new int[100], b = new int[100];
    q.sample(new Rng(3), 100, a);
    q.sample(new Rng(3), 100, b);
    assertArrayEquals(a, b);
  }

  /**
   * Empirical frequencies of 2,000,000 draws against Q: Pearson's chi-square over V = 60 cells (59
   * degrees of freedom: mean 59, sd 10.9) must stay below 59 + 10·10.9, and every cell within 6 sd
   * of its expected count. The seeds are fixed, so the test is deterministic; the bounds are wide
   * enough that any seed would pass (P(chi2_59 > 168) < 1e-11), and a sampler off by 1% in one
   * frequent cell (or any systematic bias) fails.
   */
  @Test
  void empiricalFrequenciesMatchQ() {
    int v = 60;
    long[] counts = new long[v];
    for (int i = 0; i < v; i++) counts[i] = 5000 / (i + 1) + 3;
    for (CandidateSampler q : new CandidateSampler[] {CandidateSampler.logUniform(v), CandidateSampler.unigram(counts, 0.75)}) {
      int draws = 2_000_000;
      long[] seen = new long[v];
      Rng rng = new Rng(q.name().hashCode());
      int[] buf = new int[1000];
      for (int done = 0; done < draws; done += buf.length) {
        q.sample(rng, buf.length, buf);
        for (int id : buf) seen[id]++;
      }
      double chi2 = 0;
      for (int w = 0; w < v; w++) {
        double e = draws * q.q(w);
        double sd = Math.sqrt(draws * q.q(w) * (1 - q.q(w)));
        assertTrue(Math.abs(seen[w] - e) <= 6 * sd, q.name() + ": word " + w + " drawn " + seen[w] + " times, expected " + e + " ± " + sd);
        chi2 += (seen[w] - e) * (seen[w] - e) / e;
      }
      double dof = v - 1;
      assertTrue(chi2 < dof + 10 * Math.sqrt(2 * dof), q.name() + ": chi-square " + chi2 + " over " + dof + " dof");
    }
  }
}
