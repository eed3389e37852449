package dev.lmhead.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.tensor.Rng;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class BpttBatcherTest {
  private static int[] range(int n) {
    int[] a = new int[n];
    for (int i = 0; i < n; i++) a[i] = i;
    return a;
  }

  @Test void handComputedLayout() {
    // 14 tokens, B = 2: nb = 7, columns [0..6] and [7..13]. bptt 4: windows at p = 0 (T = 4), p = 4 (T = 2).
    BpttBatcher bb = new BpttBatcher(range(14), 2);
    assertEquals(7, bb.columnLength());
    assertEquals(2, bb.numWindows(4));
    int[] x = new int[8], y = new int[8];
    assertEquals(4, bb.next(4, x, y));
    assertArrayEquals(new int[] {0, 7, 1, 8, 2, 9, 3, 10}, x);
    assertArrayEquals(new int[] {1, 8, 2, 9, 3, 10, 4, 11}, y);
    assertEquals(4, bb.position());
    Arrays.fill(x, -1);
    Arrays.fill(y, -1);
    assertEquals(2, bb.next(4, x, y));
    assertArrayEquals(new int[] {4, 11, 5, 12, -1, -1, -1, -1}, x);
    assertArrayEquals(new int[] {5, 12, 6, 13, -1, -1, -1, -1}, y);
    assertEquals(0, bb.next(4, x, y));
    bb.reset();
    assertEquals(0, bb.position());
    assertEquals(4, bb.next(4, x, y));
  }

  @Test void tailIsDropped() {
    // 10 tokens, B = 3: nb = 3, token 9 dropped; columns [0,1,2] [3,4,5] [6,7,8]; one window of T = 2.
    BpttBatcher bb = new BpttBatcher(range(10), 3);
    int[] x = new int[6], y = new int[6];
    assertEquals(2, bb.next(5, x, y));
    assertArrayEquals(new int[] {0, 3, 6, 1, 4, 7}, x);
    assertArrayEquals(new int[] {1, 4, 7, 2, 5, 8}, y);
    assertEquals(0, bb.next(5, x, y));
    assertEquals(2, new BpttBatcher(range(10), 3).numWindows(1));
  }

  /** PyTorch's batchify/get_batch, written independently: data[i][b] = stream[b*nb + i]. */
  private static List<int[][]> reference(int[] stream, int batch, int bptt) {
    int nb = stream.length / batch;
    int[][] data = new int[nb][batch];
    for (int b = 0; b < batch; b++) for (int i = 0; i < nb; i++) data[i][b] = stream[b * nb + i];
    List<int[][]> out = new ArrayList<>();
    for (int i = 0; i < nb - 1; i += bptt) {
      int seq = Math.min(bptt, nb - 1 - i);
      int[] x = new int[seq * batch], y = new int[seq * batch];
      for (int t = 0; t < seq; t++) {
        for (int b = 0; b < batch; b++) {
          x[t * batch + b] = data[i + t][b];
          y[t * batch + b] = data[i + t + 1][b];
        }
      }
      out.add(new int[][] {x, y});
    }
    return out;
  }

  @Test void matchesReferenceOnRandomShapes() {
    Rng rng = new Rng(5);
    for (int trial = 0; trial < 50; trial++) {
      int batch = 1 + rng.nextInt(9);
      int len = 2 * batch + rng.nextInt(300);
      int bptt = 1 + rng.nextInt(40);
      int[] s = new int[len];
      for (int i = 0; i < len; i++) s[i] = rng.nextInt(1000);
      List<int[][]> ref = reference(s, batch, bptt);
      BpttBatcher bb = new BpttBatcher(s, batch);
      assertEquals(ref.size(), bb.numWindows(bptt));
      int[] x = new int[bptt * batch], y = new int[bptt * batch];
      for (int[][] w : ref) {
        int t = bb.next(bptt, x, y);
        assertEquals(w[0].length / batch, t);
        assertArrayEquals(w[0], Arrays.copyOf(x, t * batch));
        assertArrayEquals(w[1], Arrays.copyOf(y, t * batch));
      }
      assertEquals(0, bb.next(bptt, x, y));
    }
  }

  @Test void seekResumesExactlyWithVariableBptt() {
    Rng rng = new Rng(9);
    int[] s = new int[997];
    for (int i = 0; i < s.length; i++) s[i] = rng.nextInt(50);
    int batch = 4;
    int[] bptts = {7, 3, 12, 5, 9, 1, 20, 8, 35, 35, 35, 35};
    List<int[]> full = new ArrayList<>();
    BpttBatcher a = new BpttBatcher(s, batch);
    int[] x = new int[35 * batch], y = new int[35 * batch];
    for (int bptt : bptts) {
      int t = a.next(bptt, x, y);
      full.add(Arrays.copyOf(x, t * batch));
      full.add(Arrays.copyOf(y, t * batch));
    }
    for (int stop = 0; stop <= bptts.length; stop++) {
      BpttBatcher first = new BpttBatcher(s, batch);
      for (int k = 0; k < stop; k++) first.next(bptts[k], x, y);
      BpttBatcher resumed = new BpttBatcher(s, batch);
      resumed.seek(first.position());
      for (int k = stop; k < bptts.length; k++) {
        int t = resumed.next(bptts[k], x, y);
        assertArrayEquals(full.get(2 * k), Arrays.copyOf(x, t * batch), "resume after " + stop + ", window " + k);
        assertArrayEquals(full.get(2 * k + 1), Arrays.copyOf(y, t * batch));
      }
    }
  }

  @Test void rejectsBadArguments() {
    String m = assertThrows(IllegalArgumentException.class, () -> new BpttBatcher(range(5), 3)).getMessage();
    assertTrue(m.contains("too short") && m.contains("batch size 3"), m);
    assertThrows(IllegalArgumentException.class, () -> new BpttBatcher(range(5), 0));
    BpttBatcher bb = new BpttBatcher(range(20), 2);
    assertThrows(IllegalArgumentException.class, () -> bb.next(0, new int[8], new int[8]));
    assertThrows(IllegalArgumentException.class, () -> bb.next(5, new int[8], new int[10]));
    assertThrows(IllegalArgumentException.class, () -> bb.seek(10));
    assertThrows(IllegalArgumentException.class, () -> bb.seek(-1));
    bb.seek(9);
    assertEquals(0, bb.next(5, new int[10], new int[10]));
  }
}
