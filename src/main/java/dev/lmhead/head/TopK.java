package dev.lmhead.head;

/**
 * Top-k result: for row r, {@code ids[r*k + j]} and {@code logProbs[r*k + j]} for j = 0..k-1, best
 * first (ties broken by the smaller id).
 */
public record TopK(int n, int k, int[] ids, float[] logProbs) {

  public int id(int row, int j) { return ids[row * k + j]; }

  public float logProb(int row, int j) { return logProbs[row * k + j]; }

  /**
   * Exact top-k of one row of scores; writes ids and scores (unshifted) into the result slots of
   * {@code row}. O(V log k) with a bounded min-heap; no allocation beyond the result.
   */
  public static void selectRow(float[] scores, int off, int v, int k, int[] outIds, float[] outVals, int outOff) {
    int size = 0;
    // min-heap on (value asc, id desc) kept in the output slots
    for (int i = 0; i < v; i++) {
      float s = scores[off + i];
      if (size < k) {
        outIds[outOff + size] = i;
        outVals[outOff + size] = s;
        siftUp(outIds, outVals, outOff, size++);
      } else if (better(s, i, outVals[outOff], outIds[outOff])) {
        outIds[outOff] = i;
        outVals[outOff] = s;
        siftDown(outIds, outVals, outOff, k);
      }
    }
    sortDescending(outIds, outVals, outOff, size);
  }

  /** true when (s, i) ranks above (t, j): larger score, or equal score and smaller id. */
  public static boolean better(float s, int i, float t, int j) {
    return s > t || (s == t && i < j);
  }

  private static void siftUp(int[] ids, float[] v, int o, int c) {
    while (c > 0) {
      int p = (c - 1) >>> 1;
      if (better(v[o + p], ids[o + p], v[o + c], ids[o + c])) { swap(ids, v, o + p, o + c); c = p; } else break;
    }
  }

  private static void siftDown(int[] ids, float[] v, int o, int size) {
    int p = 0;
    while (true) {
      int l = 2 * p + 1, r = l + 1, m = p;
      if (l < size && better(v[o + m], ids[o + m], v[o + l], ids[o + l])) m = l;
      if (r < size && better(v[o + m], ids[o + m], v[o + r], ids[o + r])) m = r;
      if (m == p) return;
      swap(ids, v, o + p, o + m);
      p = m;
    }
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

  private static void swap(int[] ids, float[] v, int a, int b) {
    int ti = ids[a]; ids[a] = ids[b]; ids[b] = ti;
    float tv = v[a]; v[a] = v[b]; v[b] = tv;
  }
}
