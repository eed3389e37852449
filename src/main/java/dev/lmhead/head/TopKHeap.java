package dev.lmhead.head;

/**
 * Incremental exact top-k of one row, for heads that discover candidates piece by piece
 * (branch-and-bound over classes or tree nodes). A bounded min-heap on (value asc, id desc) kept
 * directly in the {@link TopK} result slots of the current row; {@link #finish()} sorts them best
 * first with the same tie rule as {@link TopK#better} (larger value, then smaller id).
 *
 * <p>One instance per worker thread, reused across rows with {@link #reset(int)}: no allocation per row.
 */
final class TopKHeap {
  private final int[] ids;
  private final float[] vals;
  private final int k;
  private int off, size;

  TopKHeap(int[] ids, float[] vals, int k) {
    this.ids = ids;
    this.vals = vals;
    this.k = k;
  }

  /** Starts collecting row {@code row} (slots {@code row*k .. row*k+k-1}). */
  void reset(int row) {
    off = row * k;
    size = 0;
  }

  /**
   * false when nothing with a value {@code <= bound} can enter any more: the heap is full and the
   * bound is below the current k-th best. (An equal bound is kept: a smaller id could still win the tie.)
   */
  boolean reachable(float bound) {
    return size < k || bound >= vals[off];
  }

  void offer(int id, float v) {
    if (size < k) {
      ids[off + size] = id;
      vals[off + size] = v;
      int c = size++;
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

  /** Sorts the row best first. */
  void finish() {
    TopK.sortDescending(ids, vals, off, size);
  }

  private void swap(int a, int b) {
    int ti = ids[a]; ids[a] = ids[b]; ids[b] = ti;
    float tv = vals[a]; vals[a] = vals[b]; vals[b] = tv;
  }
}
