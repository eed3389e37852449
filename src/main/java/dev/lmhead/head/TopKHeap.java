package dev.lmhead.head;

/**
 * The one bounded min-heap behind every exact top-k of the heads. A heap of capacity k lives in a
 * slot range {@code o .. o+k-1} of an (ids, values) pair of arrays — normally a row's own result
 * slots in a {@link TopK} — ordered on (value asc, id desc), so its root is the worst entry kept;
 * {@link TopK#sortDescending} then sorts the range best first with the same tie rule as
 * {@link TopK#better} (larger value, then smaller id).
 *
 * <p>The static {@link #offer(int[], float[], int, int, int, int, float)} serves a caller that scans
 * one row ({@link TopK#selectRow}); an instance keeps the fill level of n rows for heads that discover
 * candidates piece by piece (branch and bound over classes or tree nodes). Rows are independent:
 * different threads may work on different rows at the same time.
 */
final class TopKHeap {
  private final int[] ids;
  private final float[] vals;
  private final int k;
  private final int[] size; // [n] filled slots per row

  /** A heap per row r in slots {@code r*k .. r*k+k-1} of ids and vals. */
  TopKHeap(int[] ids, float[] vals, int k, int n) {
    this.ids = ids;
    this.vals = vals;
    this.k = k;
    this.size = new int[n];
  }

  /**
   * false when nothing with a value {@code <= bound} can enter row {@code row} any more: its heap is
   * full and the bound is below its k-th best. (An equal bound is kept: a smaller id could win the tie.)
   */
  boolean reachable(int row, float bound) {
    return size[row] < k || bound >= vals[row * k];
  }

  void offer(int row, int id, float v) {
    size[row] = offer(ids, vals, row * k, k, size[row], id, v);
  }

  /** Sorts row {@code row} best first. */
  void finish(int row) {
    TopK.sortDescending(ids, vals, row * k, size[row]);
  }

  /**
   * Offers (id, v) to the heap of {@code size} entries and capacity k in slots {@code o ..}: it is
   * added while the heap is not full, else it replaces the root when it ranks above it.
   * @return the new number of entries
   */
  static int offer(int[] ids, float[] vals, int o, int k, int size, int id, float v) {
    if (size < k) {
      ids[o + size] = id;
      vals[o + size] = v;
      siftUp(ids, vals, o, size);
      return size + 1;
    }
    if (TopK.better(v, id, vals[o], ids[o])) {
      ids[o] = id;
      vals[o] = v;
      siftDown(ids, vals, o, k);
    }
    return size;
  }

  private static void siftUp(int[] ids, float[] v, int o, int c) {
    while (c > 0) {
      int p = (c - 1) >>> 1;
      if (TopK.better(v[o + p], ids[o + p], v[o + c], ids[o + c])) { swap(ids, v, o + p, o + c); c = p; } else break;
    }
  }

  private static void siftDown(int[] ids, float[] v, int o, int size) {
    int p = 0;
    while (true) {
      int l = 2 * p + 1, r = l + 1, m = p;
      if (l < size && TopK.better(v[o + m], ids[o + m], v[o + l], ids[o + l])) m = l;
      if (r < size && TopK.better(v[o + m], ids[o + m], v[o + r], ids[o + r])) m = r;
      if (m == p) return;
      swap(ids, v, o + p, o + m);
      p = m;
    }
  }

  private static void swap(int[] ids, float[] v, int a, int b) {
    int ti = ids[a]; ids[a] = ids[b]; ids[b] = ti;
    float tv = v[a]; v[a] = v[b]; v[b] = tv;
  }
}
