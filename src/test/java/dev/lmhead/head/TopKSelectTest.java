package dev.lmhead.head;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

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
  private static final int[] LENGTHS = {1, 5, 16, 17, 33, 100, 1000, 33278};

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
  }

  @Test
  void equalsSortingTheRowWithTiesAndInfinities() {
    Rng rng = new Rng(11);
    for (int v : LENGTHS) {
      for (int k : new int[] {1, 2, 10, v}) {
        if (k > v || (k == v && v > 1000)) continue;
        float[] ties = new float[v + 3], spread = new float[v + 3];
        for (int i = 0; i < ties.length; i++) ties[i] = rng.nextInt(7) - 3;      // many equal scores
        rng.fillUniform(spread, -20f, 20f);
        for (int i = 0; i < spread.length; i += 13) spread[i] = Float.NEGATIVE_INFINITY;
        float[] rising = new float[v + 3];                                        // every entry enters the heap
        for (int i = 0; i < rising.length; i++) rising[i] = i;
        check(ties, 3, v, k, "ties v " + v + " k " + k);
        check(spread, 3, v, k, "spread v " + v + " k " + k);
        check(rising, 3, v, k, "rising v " + v + " k " + k);
      }
    }
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
