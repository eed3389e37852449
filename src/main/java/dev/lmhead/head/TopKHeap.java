package dev.lmhead.head;

/**
 * Incremental exact top-k for heads that discover candidates piece by piece (branch and bound over
 * classes or tree nodes). Row r keeps a bounded min-heap on (value asc, id desc) directly in its
 * {@link TopK} result slots {@code r*k .. r*k+k-1}; {@link #finish(int)} sorts them best first with the
 * same tie rule as {@link TopK#better} (larger value, then smaller id).
 *
 * <p>Rows are independent: different threads may work on different rows at the same time.
 */
final class TopKHeap {
  private final int[] ids;
  private final float[] vals;
  private final int k;
  private final int[] size; // [n] filled slots per row

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
    int off = row * k;
    if (size[row] < k) {
      ids[off + size[row]] = id;
      vals[off + size[row]] = v;
      int c = size[row]++;
      while (c > 0) {
        int p = (c - 1) >>> 1;
        if (TopK.better(vals[off + p], ids[off + p], vals[off + c], ids[off + c])) { swap(off + p, off + c); c = p; } else break;
      }
    } else if (TopK.better(v, id, vals[off], ids[off])) {
      ids[off] = id;
      vals[off] = v;
      int p = 0;
      while (true) {
        int l = 2 * p + 1, r = l + 1, m = p;
        if (l < k && TopK.better(vals[off + m], ids[off + m], vals[off + l], ids[off + l])) m = l;
        if (r < k && TopK.better(vals[off + m], ids[off + m], vals[off + r], ids[off + r])) m = r;
        if (m == p) break;
        swap(off + p, off + m);
        p = m;
      }
    }
  }

  /** Sorts row {@code row} best first. */
  void finish(int row) {
    TopK.sortDescending(ids, vals, row * k, size[row]);
  }

  private void swap(int a, int b) {
    int ti = ids[a]; ids[a] = ids[b]; ids[b] = ti;
    float tv = vals[a]; vals[a] = vals[b]; vals[b] = tv;
  }
}
