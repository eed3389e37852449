package dev.lmhead.head;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.tensor.Rng;
import java.util.Arrays;
import java.util.PriorityQueue;
import org.junit.jupiter.api.Test;

class BinaryTreeTest {

  /** Zipf-like counts, descending, with ties in the tail. */
  static long[] zipfCounts(int v) {
    long[] c = new long[v];
    for (int i = 0; i < v; i++) c[i] = Math.max(1, Math.round(10_000.0 / (i + 1)));
    return c;
  }

  /** Independent optimal cost: Σ count·codeLength of a Huffman code = Σ of all merge sums (PriorityQueue). */
  static long optimalCost(long[] counts) {
    PriorityQueue<Long> q = new PriorityQueue<>();
    for (long c : counts) q.add(c);
    long cost = 0;
    while (q.size() > 1) {
      long s = q.poll() + q.poll();
      cost += s;
      q.add(s);
    }
    return cost;
  }

  static long cost(BinaryTree t, long[] counts) {
    long s = 0;
    for (int w = 0; w < counts.length; w++) s += counts[w] * t.depth(w);
    return s;
  }

  /** Structure: following each word's code from the root through left/right children reaches the word. */
  static void checkStructure(BinaryTree t) {
    int v = t.leaves();
    boolean[] seen = new boolean[v];
    for (int w = 0; w < v; w++) {
      int node = t.root();
      int[] path = t.path(w);
      byte[] code = t.code(w);
      assertEquals(path.length, code.length);
      assertEquals(t.depth(w), path.length);
      for (int j = 0; j < path.length; j++) {
        assertEquals(node - v, path[j], "path of word " + w + " at step " + j);
        node = code[j] == 1 ? t.right(node - v) : t.left(node - v);
      }
      assertEquals(w, node, "code of word " + w + " does not lead to it");
      seen[w] = true;
    }
    for (boolean s : seen) assertTrue(s);
    // Kraft equality of a full binary tree, and prefix-freeness of the codes
    double kraft = 0;
    String[] codes = new String[v];
    for (int w = 0; w < v; w++) {
      kraft += Math.pow(2, -t.depth(w));
      StringBuilder sb = new StringBuilder();
      for (byte b : t.code(w)) sb.append(b);
      codes[w] = sb.toString();
    }
    assertEquals(1.0, kraft, 1e-12, "Kraft sum");
    Arrays.sort(codes);
    for (int i = 0; i + 1 < v; i++) {
      assertTrue(!codes[i + 1].startsWith(codes[i]), "code " + codes[i] + " is a prefix of " + codes[i + 1]);
    }
  }

  @Test
  void huffmanKnownExample() {
    // CLRS 16.3: f:5 e:9 c:12 b:13 d:16 a:45 -> code lengths 1,3,3,3,4,4, cost 224
    long[] counts = {45, 16, 13, 12, 9, 5};
    BinaryTree t = BinaryTree.huffman(counts);
    checkStructure(t);
    assertEquals(224, cost(t, counts));
    assertEquals(1, t.depth(0));
    assertEquals(4, t.depth(5));
    assertEquals(4, t.maxDepth());
  }

  @Test
  void huffmanIsOptimalAndMonotone() {
    Rng rng = new Rng(3);
    for (int v : new int[] {1, 2, 3, 7, 97, 1000}) {
      long[] counts = zipfCounts(v);
      // random descending counts too
      long[] rnd = new long[v];
      for (int i = 0; i < v; i++) rnd[i] = rng.nextInt(1000);
      Arrays.sort(rnd);
      for (int i = 0; i < v / 2; i++) { long x = rnd[i]; rnd[i] = rnd[v - 1 - i]; rnd[v - 1 - i] = x; }
      for (long[] c : new long[][] {counts, rnd}) {
        BinaryTree t = BinaryTree.huffman(c);
        assertEquals(v - 1, t.internalNodes());
        checkStructure(t);
        assertEquals(optimalCost(c), cost(t, c), "Huffman cost at V=" + v);
        for (int i = 0; i < v; i++) {
          for (int j = i + 1; j < v; j++) {
            if (c[i] > c[j]) assertTrue(t.depth(i) <= t.depth(j), "more frequent word " + i + " has a longer code than " + j);
          }
        }
      }
    }
  }

  @Test
  void huffmanUnsortedCountsStillOptimal() {
    Rng rng = new Rng(11);
    long[] c = new long[61];
    for (int i = 0; i < c.length; i++) c[i] = 1 + rng.nextInt(500);
    BinaryTree t = BinaryTree.huffman(c);
    checkStructure(t);
    assertEquals(optimalCost(c), cost(t, c));
    for (int i = 0; i < c.length; i++) {
      for (int j = 0; j < c.length; j++) if (c[i] > c[j]) assertTrue(t.depth(i) <= t.depth(j));
    }
  }

  @Test
  void huffmanAllEqualAndZeroCounts() {
    BinaryTree t = BinaryTree.huffman(new long[64]); // all zero: still a full tree, balanced here
    checkStructure(t);
    for (int w = 0; w < 64; w++) assertEquals(6, t.depth(w));
  }

  @Test
  void balancedDepth() {
    for (int v = 1; v <= 300; v++) {
      BinaryTree t = BinaryTree.balanced(v);
      checkStructure(t);
      int ceil = v == 1 ? 0 : 32 - Integer.numberOfLeadingZeros(v - 1);
      assertEquals(ceil, t.maxDepth(), "max depth at V=" + v);
      for (int w = 0; w < v; w++) assertTrue(t.depth(w) >= ceil - 1, "depth at V=" + v + " word " + w);
    }
  }

  @Test
  void vocabularyOfOne() {
    for (BinaryTree t : new BinaryTree[] {BinaryTree.huffman(new long[] {5}), BinaryTree.balanced(1)}) {
      assertEquals(0, t.internalNodes());
      assertEquals(0, t.depth(0));
      assertEquals(0, t.root());
    }
  }

  @Test
  void errors() {
    assertEquals("unknown --tree 'foo' (expected huffman or balanced)",
        assertThrows(IllegalArgumentException.class, () -> BinaryTree.of("foo", 3, null)).getMessage());
    assertThrows(IllegalArgumentException.class, () -> BinaryTree.of("huffman", 3, null));
    assertThrows(IllegalArgumentException.class, () -> BinaryTree.of("huffman", 3, new long[2]));
    assertThrows(IllegalArgumentException.class, () -> BinaryTree.huffman(new long[] {3, -1}));
    assertThrows(IllegalArgumentException.class, () -> BinaryTree.balanced(0));
  }

  /** A tree given by its children is the same tree; malformed child lists (a child used twice, or not below its parent) are refused. */
  @Test
  void fromChildrenRebuildsAndValidates() {
    BinaryTree h = BinaryTree.huffman(new long[] {45, 16, 13, 12, 9, 5});
    int[] l = new int[5], r = new int[5];
    for (int k = 0; k < 5; k++) { l[k] = h.left(k); r[k] = h.right(k); }
    BinaryTree t = BinaryTree.fromChildren(l, r);
    checkStructure(t);
    for (int w = 0; w < 6; w++) {
      assertArrayEquals(h.path(w), t.path(w));
      assertArrayEquals(h.code(w), t.code(w));
    }
    int[] twice = r.clone();
    twice[4] = l[4];
    assertThrows(IllegalStateException.class, () -> BinaryTree.fromChildren(l, twice));
    int[] upward = l.clone();
    upward[0] = 6 + 4; // internal node 0 pointing at the root
    assertThrows(IllegalStateException.class, () -> BinaryTree.fromChildren(upward, r));
    assertThrows(IllegalArgumentException.class, () -> BinaryTree.fromChildren(new int[2], new int[3]));
  }
}
