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
    int size = 0, i = 0;
    for (; i < v && size < k; i++) size = TopKHeap.offer(outIds, outVals, outOff, k, size, i, scores[off + i]);
    while ((i = Vec.nextAbove(scores, off, i, v, outVals[outOff])) < v) {
      size = TopKHeap.offer(outIds, outVals, outOff, k, size, i, scores[off + i]);
      i++;
    }
    sortDescending(outIds, outVals, outOff, size);
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
