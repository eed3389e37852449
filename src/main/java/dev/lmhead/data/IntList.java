package dev.lmhead.data;

import java.util.Arrays;

/** A growable int array (amortised O(1) append, no boxing), for token-id streams of unknown length. */
final class IntList {
  private int[] a;
  private int n;

  IntList(long expected) {
    a = new int[(int) Math.max(16, Math.min(expected, Integer.MAX_VALUE - 16))];
  }

  void add(int v) {
    if (n == a.length) {
      if (n >= Integer.MAX_VALUE - 16) throw new IllegalStateException("token stream longer than 2^31 tokens");
      a = Arrays.copyOf(a, (int) Math.min(Integer.MAX_VALUE - 16L, n + (n >> 1) + 16L));
    }
    a[n++] = v;
  }

  int size() { return n; }

  int[] toArray() { return n == a.length ? a : Arrays.copyOf(a, n); }
}
