package dev.lmhead.head;

import dev.lmhead.tensor.Vec;

/**
 * Top-k result: for row r, {@code ids[r*k + j]} and {@code logProbs[r*k + j]} for j = 0..k-1, best
 * first (ties broken by the smaller id).
 */
public record TopK(int n, int k, int[] ids, float[] logProbs) {

  public int id(int row, int j) { return ids[row * k + j]; }

  public float logProb(int row, int j) { return logProbs[row * k + j]; }

  /**
   * Exact top-k of one row of scores; writes ids and scores (unshifted) into the result slots of
   * {@code row}. O(V log k) with a bounded min-heap ({@link TopKHeap}) kept in the output slots; no
   * allocation beyond the result. Once the heap is full, ids only grow, so only a score strictly above
   * the root's (the k-th best so far) can enter: a vectorised scan ({@link Vec#nextAbove}) skips to the
   * next such score instead of offering every entry.
   */
  public static void selectRow(float[] scores, int off, int v, int k, int[] outIds, float[] outVals, int outOff) {
    select(scores, off, v, k, outIds, outVals, outOff, groupFloor(scores, off, v, k, outIds, outVals, outOff));
  }

  /**
   * {@link #selectRow} of a row whose group maxima are already known: {@code groupMaxima} holds
   * {@link Vec#groupMaxima} of the same slice (a caller that takes the row's maximum anyway gets it from them,
   * saving a pass). Used where {@link #floorApplies}; otherwise the same as selectRow.
   */
  public static void selectRowGivenGroups(float[] scores, int off, int v, int k, int[] outIds, float[] outVals, int outOff,
                                          float[] groupMaxima) {
    select(scores, off, v, k, outIds, outVals, outOff, floorApplies(k, v) ? floorOfGroups(groupMaxima, k, outVals, outOff) : Float.NaN);
  }

  private static void select(float[] scores, int off, int v, int k, int[] outIds, float[] outVals, int outOff, float floor) {
    int size = 0, i = 0;
    if (floor == floor) {
      // at least k scores are >= floor, and every score of the top k is: fill the heap from those alone
      float below = Math.nextDown(floor);
      while (size < k && (i = Vec.nextAbove(scores, off, i, v, below)) < v) {
        size = TopKHeap.offer(outIds, outVals, outOff, k, size, i, scores[off + i]);
        i++;
      }
    } else {
      for (; i < v && size < k; i++) size = TopKHeap.offer(outIds, outVals, outOff, k, size, i, scores[off + i]);
    }
    while ((i = Vec.nextAbove(scores, off, i, v, outVals[outOff])) < v) {
      size = TopKHeap.offer(outIds, outVals, outOff, k, size, i, scores[off + i]);
      i++;
    }
    sortDescending(outIds, outVals, outOff, size);
  }

  private static final ThreadLocal<float[]> GROUP_MAXIMA = ThreadLocal.withInitial(() -> new float[Vec.GROUPS]);

  /**
   * A lower bound of the row's k-th best score, or NaN where none is used: the k-th largest of the maxima of
   * {@link Vec#GROUPS} disjoint groups of the row ({@link Vec#groupMaxima}; k groups reach it, each through a score
   * of its own). Without it, the heap is filled from the row's first k scores and its root then rises through
   * about k·ln(v/k) replacements, each a restart of the scan (top-10 over 2,002 scores: 1.17 ns per score); from
   * this floor it starts near its final value. Used for 1 &lt; k ≤ GROUPS/4 and v ≥ 4·GROUPS; NaN also when a group
   * maximum is NaN or the floor is infinite. Uses the result values' slots as scratch.
   */
  static float groupFloor(float[] scores, int off, int v, int k, int[] ids, float[] vals, int o) {
    if (!floorApplies(k, v)) return Float.NaN;
    float[] g = GROUP_MAXIMA.get();
    Vec.groupMaxima(scores, off, v, g);
    return floorOfGroups(g, k, vals, o);
  }

  /** Whether a top-k of a row of v scores starts from the group floor ({@link #groupFloor}). */
  public static boolean floorApplies(int k, int v) {
    return k >= 2 && k <= Vec.GROUPS / 4 && v >= 4 * Vec.GROUPS;
  }

  /** {@link #groupFloor} from the row's group maxima g; uses vals[o .. o+k) as scratch. */
  private static float floorOfGroups(float[] g, int k, float[] vals, int o) {
    // the k largest group maxima, descending, by insertion into vals[o .. o+k) (values only: ties do not matter)
    float top = Vec.max(g, 0, g.length);
    if (top != top) return Float.NaN;
    for (int j = 0; j < k; j++) insertDescending(vals, o, j, g[j]);
    for (int j = k; (j = Vec.nextAbove(g, 0, j, g.length, vals[o + k - 1])) < g.length; j++) {
      insertDescending(vals, o, k - 1, g[j]);
    }
    float floor = vals[o + k - 1];
    return Float.isInfinite(floor) ? Float.NaN : floor;
  }

  /** Writes x into the descending values v[o .. o+q] at its place, shifting the smaller ones (the last drops out). */
  private static void insertDescending(float[] v, int o, int q, float x) {
    while (q > 0 && v[o + q - 1] < x) { v[o + q] = v[o + q - 1]; q--; }
    v[o + q] = x;
  }

  /** The check every head's {@code topK} makes first: k in [1, vocab]. */
  static void checkK(int k, int vocab) {
    if (k < 1 || k > vocab) throw new IllegalArgumentException("k must be in [1, " + vocab + "], got " + k);
  }

  /** true when (s, i) ranks above (t, j): larger score, or equal score and smaller id. */
  public static boolean better(float s, int i, float t, int j) {
    return s > t || (s == t && i < j);
  }

  /**
   * Merges the best-first list of {@code kc} candidates {@code candIds/candVals[co ..]} into the
   * best-first list of {@code have} entries at {@code ids/vals[o ..]}, keeping the best k there (same
   * ranking as {@link #better}). {@code scratchIds/scratchVals} hold at least k entries.
   * @return the new length of the list, min(k, have + kc)
   */
  static int merge(int[] ids, float[] vals, int o, int have, int k, int[] candIds, float[] candVals, int co, int kc,
                   int[] scratchIds, float[] scratchVals) {
    int x1 = 0, x2 = 0, total = Math.min(k, have + kc);
    for (int q = 0; q < total; q++) {
      boolean takeOld = x2 >= kc || (x1 < have && better(vals[o + x1], ids[o + x1], candVals[co + x2], candIds[co + x2]));
      if (takeOld) { scratchIds[q] = ids[o + x1]; scratchVals[q] = vals[o + x1]; x1++; }
      else { scratchIds[q] = candIds[co + x2]; scratchVals[q] = candVals[co + x2]; x2++; }
    }
    System.arraycopy(scratchIds, 0, ids, o, total);
    System.arraycopy(scratchVals, 0, vals, o, total);
    return total;
  }

  /** Insertion sort of a small slot range, best first. */
  public static void sortDescending(int[] ids, float[] v, int o, int size) {
    for (int a = 1; a < size; a++) {
      int id = ids[o + a];
      float x = v[o + a];
      int b = a - 1;
      while (b >= 0 && better(x, id, v[o + b], ids[o + b])) { ids[o + b + 1] = ids[o + b]; v[o + b + 1] = v[o + b]; b--; }
      ids[o + b + 1] = id;
      v[o + b + 1] = x;
    }
  }
}
