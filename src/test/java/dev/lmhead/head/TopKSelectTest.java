package dev.lmhead.head;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.tensor.Rng;
import dev.lmhead.tensor.Vec;
import java.util.Arrays;
import java.util.Comparator;
import org.junit.jupiter.api.Test;

/**
 * {@link TopK#selectRow} (a heap fed by a vectorised skip-scan) against sorting the whole row by
 * {@link TopK#better}: rows with many ties (small integer scores, so the id rule decides), -inf and
 * NaN entries, lengths around the vector width, k from 1 to the whole row.
 */
class TopKSelectTest {
  private static final int[] LENGTHS = {1, 5, 16, 17, 33, 100, 4 * Vec.GROUPS - 1, 4 * Vec.GROUPS, 4 * Vec.GROUPS + 7, 1000, 2002, 33278};

  private static void check(float[] row, int off, int v, int k, String what) {
    Integer[] order = new Integer[v];
    for (int i = 0; i < v; i++) order[i] = i;
    // NaN never ranks above anything under better(); a NaN-free row is what the heads give, NaN rows only must not crash
    Arrays.sort(order, Comparator.comparing((Integer i) -> -row[off + i]).thenComparing(i -> i));
    int[] ids = new int[k + 2];
    float[] vals = new float[k + 2];
    TopK.selectRow(row, off, v, k, ids, vals, 1);
    int[] want = new int[k];
    for (int j = 0; j < k; j++) want[j] = order[j];
    assertArrayEquals(want, Arrays.copyOfRange(ids, 1, k + 1), what);
    for (int j = 0; j < k; j++) assertEquals(row[off + want[j]], vals[1 + j], 0.0, what);
    if (v >= Vec.GROUPS) { // the same from group maxima taken beforehand (as the adaptive head's top-k does)
      float[] g = new float[Vec.GROUPS];
      Vec.groupMaxima(row, off, v, g);
      int[] ids2 = new int[k + 2];
      float[] vals2 = new float[k + 2];
      TopK.selectRowGivenGroups(row, off, v, k, ids2, vals2, 1, g);
      assertArrayEquals(want, Arrays.copyOfRange(ids2, 1, k + 1), "given groups: " + what);
      for (int j = 0; j < k; j++) assertEquals(row[off + want[j]], vals2[1 + j], 0.0, "given groups: " + what);
    }
  }

  @Test
  void equalsSortingTheRowWithTiesAndInfinities() {
    Rng rng = new Rng(11);
    for (int v : LENGTHS) {
      for (int k : new int[] {1, 2, 10, Vec.GROUPS / 4, Vec.GROUPS / 4 + 1, v}) {
        if (k > v || (k == v && v > 1000)) continue;
        float[] ties = new float[v + 3], spread = new float[v + 3];
        for (int i = 0; i < ties.length; i++) ties[i] = rng.nextInt(7) - 3;      // many equal scores
        rng.fillUniform(spread, -20f, 20f);
        for (int i = 0; i < spread.length; i += 13) spread[i] = Float.NEGATIVE_INFINITY;
        float[] rising = new float[v + 3];                                        // every entry enters the heap
        for (int i = 0; i < rising.length; i++) rising[i] = i;
        float[] masked = new float[v + 3];                                        // all but a few -inf, some +inf
        Arrays.fill(masked, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < masked.length; i += 97) masked[i] = rng.nextInt(5);
        for (int i = 50; i < masked.length; i += 1001) masked[i] = Float.POSITIVE_INFINITY;
        check(masked, 3, v, k, "masked v " + v + " k " + k);
        check(ties, 3, v, k, "ties v " + v + " k " + k);
        check(spread, 3, v, k, "spread v " + v + " k " + k);
        check(rising, 3, v, k, "rising v " + v + " k " + k);
      }
    }
  }

  /** Every group maximum is the maximum of the elements the javadoc assigns to its group; each element is in one group. */
  @Test
  void groupMaximaFollowTheirDefinition() {
    Rng rng = new Rng(9);
    int g = Vec.GROUPS, lanes = g / 8;
    for (int n : new int[] {g, g + 1, 2 * g - 1, 2 * g, 5 * g + 13, 2002}) {
      float[] a = new float[n + 2];
      rng.fillUniform(a, -5f, 5f);
      float[] out = new float[g], want = new float[g];
      Arrays.fill(want, Float.NEGATIVE_INFINITY);
      int fullRounds = n / g * g;
      for (int i = 0; i < n; i++) {
        int group = i < fullRounds ? (i / lanes) % 8 * lanes + i % lanes : i - fullRounds;
        want[group] = Math.max(want[group], a[2 + i]);
      }
      Vec.groupMaxima(a, 2, n, out);
      assertArrayEquals(want, out, "n " + n);
    }
    assertThrows(IllegalArgumentException.class, () -> Vec.groupMaxima(new float[g], 1, g - 1, new float[g]));
  }

  /**
   * The floor that starts the heap is a lower bound of the k-th best score (so skipping what lies under it is exact),
   * is used on an ordinary row, and is not used (NaN) where it cannot be: a NaN in the row, too few finite scores.
   */
  @Test
  void groupFloorIsALowerBoundOfTheKthBest() {
    Rng rng = new Rng(21);
    int[] ids = new int[40];
    float[] vals = new float[40];
    for (int v : new int[] {4 * Vec.GROUPS, 2002, 33278}) {
      for (int k : new int[] {2, Math.min(10, Vec.GROUPS / 4), Vec.GROUPS / 4}) { // 10 needs GROUPS >= 40 (8 lanes or more)
        float[] row = new float[v];
        for (int i = 0; i < v; i++) row[i] = (float) rng.gaussian();
        float floor = TopK.groupFloor(row, 0, v, k, ids, vals, 0);
        float[] sorted = row.clone();
        Arrays.sort(sorted);
        float kth = sorted[v - k];
        assertTrue(floor <= kth, "v " + v + " k " + k + ": floor " + floor + " above the k-th best " + kth);
        int above = 0;
        for (float x : row) if (x >= floor) above++;
        assertTrue(above >= k && above < v / 4, "v " + v + " k " + k + ": " + above + " scores at or above the floor");
      }
    }
    float[] row = new float[2002];
    rng.fillUniform(row, -1f, 1f);
    assertTrue(Float.isNaN(TopK.groupFloor(row, 0, 2002, 1, ids, vals, 0)), "k = 1 needs no floor");
    assertTrue(Float.isNaN(TopK.groupFloor(row, 0, 2002, Vec.GROUPS / 4 + 1, ids, vals, 0)), "k above GROUPS/4");
    assertTrue(Float.isNaN(TopK.groupFloor(row, 0, 4 * Vec.GROUPS - 1, 10, ids, vals, 0)), "row too short");
    row[700] = Float.NaN;
    assertTrue(Float.isNaN(TopK.groupFloor(row, 0, 2002, 10, ids, vals, 0)), "NaN in the row");
    Arrays.fill(row, Float.NEGATIVE_INFINITY);
    for (int i = 0; i < 5; i++) row[i * 300] = i;
    assertTrue(Float.isNaN(TopK.groupFloor(row, 0, 2002, 10, ids, vals, 0)), "fewer than k finite scores");
  }

  @Test
  void nextAboveIsTheFirstStrictlyGreaterEntry() {
    Rng rng = new Rng(5);
    for (int n : LENGTHS) {
      float[] a = new float[n + 4];
      for (int i = 0; i < a.length; i++) a[i] = rng.nextInt(9);
      if (n > 3) a[4 + n / 2] = Float.NaN;
      for (int from = 0; from <= n; from += Math.max(1, n / 7)) {
        for (float t : new float[] {-1f, 3f, 7.5f, 8f, Float.NaN}) {
          int want = n;
          for (int i = from; i < n; i++) if (a[4 + i] > t) { want = i; break; }
          assertEquals(want, Vec.nextAbove(a, 4, from, n, t), "n " + n + " from " + from + " t " + t);
        }
      }
    }
  }
}
