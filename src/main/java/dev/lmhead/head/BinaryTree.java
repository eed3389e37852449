package dev.lmhead.head;

import java.util.Arrays;

/**
 * A full binary tree over the vocabulary, as used by the hierarchical softmax: V leaves (the words)
 * and V-1 internal nodes, each internal node with exactly two children.
 *
 * <p><b>Numbering</b> (as fastText's {@code tree_}): node ids {@code 0..V-1} are the leaves (node id =
 * word id) and {@code V..2V-2} the internal nodes; internal node {@code k = id - V} is row k of the
 * head's node parameters. Every internal node has a larger index than its internal children, so the
 * root is internal node {@code V-2} and visiting internal nodes in <em>decreasing</em> index order is a
 * top-down (parents before children) traversal. With V = 1 there are no internal nodes and the single
 * word has the empty path.
 *
 * <p><b>Paths and codes</b>: for each word, the internal nodes from the root down to (excluding) the
 * leaf, and the branch taken at each: code bit 0 = left child, 1 = right child. Stored flattened:
 * word w's path is {@code pathNodes[pathStart[w] .. pathStart[w+1])}, root first.
 *
 * <p>Factories: {@link #huffman(long[])} (fastText's O(V) two-queue Huffman construction, frequent
 * words get short codes) and {@link #balanced(int)} (depth {@code ceil(log2 V)} for every word, up to
 * one level less for some).
 */
public final class BinaryTree {
  private final int leaves;
  private final int[] left, right;  // [V-1] child node ids of internal node k
  private final int[] pathStart;    // [V+1]
  private final int[] pathNodes;    // internal node indices, root first
  private final byte[] pathCodes;   // 0 = left, 1 = right
  private final int maxDepth;

  private BinaryTree(int leaves, int[] left, int[] right) {
    this.leaves = leaves;
    this.left = left;
    this.right = right;
    int v = leaves, internal = v - 1;
    // depths top-down, then paths by walking each leaf up to the root
    int[] parent = new int[2 * v - 1];
    int[] depth = new int[2 * v - 1];
    Arrays.fill(parent, -1);
    for (int k = internal - 1; k >= 0; k--) {
      link(v + k, left[k], parent, depth);
      link(v + k, right[k], parent, depth);
    }
    pathStart = new int[v + 1];
    long total = 0;
    int md = 0;
    for (int w = 0; w < v; w++) {
      if (v > 1 && parent[w] == -1) throw new IllegalStateException("leaf " + w + " is not in the tree");
      total += depth[w];
      md = Math.max(md, depth[w]);
      if (total > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("tree paths too long (total " + total + ")");
      pathStart[w + 1] = (int) total;
    }
    maxDepth = md;
    pathNodes = new int[(int) total];
    pathCodes = new byte[(int) total];
    for (int w = 0; w < v; w++) {
      int pos = pathStart[w + 1];
      for (int c = w; parent[c] != -1; c = parent[c]) {
        int p = parent[c];
        pos--;
        pathNodes[pos] = p - v;
        pathCodes[pos] = (byte) (right[p - v] == c ? 1 : 0);
      }
    }
  }

  private static void link(int id, int c, int[] parent, int[] depth) {
    if (c < 0 || c >= id || parent[c] != -1) {
      throw new IllegalStateException("malformed tree at node " + id + " (child " + c + ")");
    }
    parent[c] = id;
    depth[c] = depth[id] + 1;
  }

  /** Builds the tree of the given kind: "huffman" (needs counts) or "balanced". */
  public static BinaryTree of(String kind, int vocab, long[] counts) {
    return switch (kind) {
      case "huffman" -> {
        if (counts == null) throw new IllegalArgumentException("--tree huffman needs unigram counts of the vocabulary");
        if (counts.length != vocab) {
          throw new IllegalArgumentException("counts has " + counts.length + " entries, vocabulary has " + vocab);
        }
        yield huffman(counts);
      }
      case "balanced" -> balanced(vocab);
      default -> throw new IllegalArgumentException("unknown --tree '" + kind + "' (expected huffman or balanced)");
    };
  }

  /**
   * Huffman tree over the word counts, built in O(V) with two queues as fastText's
   * {@code buildTree}: leaves sorted by descending count are consumed from the rarest end, and
   * internal nodes are created in non-decreasing count order, so the two smallest of both queues are
   * always at their fronts. Counts that are not already sorted (descending) are sorted first (stable,
   * O(V log V)). On equal counts the leaf is taken before the internal node (fastText takes the
   * node): the code stays optimal and this is the minimum-variance Huffman code, so equal or zero
   * counts (e.g. words unseen in training) give a balanced subtree instead of a chain of depth ~V.
   *
   * @param counts [V] non-negative counts by word id
   */
  public static BinaryTree huffman(long[] counts) {
    int v = counts.length;
    if (v < 1) throw new IllegalArgumentException("vocabulary size must be >= 1, got " + v);
    boolean sorted = true;
    for (int i = 0; i < v; i++) {
      if (counts[i] < 0) throw new IllegalArgumentException("count of word " + i + " is negative: " + counts[i]);
      if (i > 0 && counts[i] > counts[i - 1]) sorted = false;
    }
    int[] order = null; // sorted position -> word id
    if (!sorted) {
      order = java.util.stream.IntStream.range(0, v).boxed()
          .sorted((a, b) -> Long.compare(counts[b], counts[a])).mapToInt(Integer::intValue).toArray();
    }
    // positions 0..V-1 are leaves in descending count order, V..2V-2 internal nodes
    long[] count = new long[2 * v - 1];
    for (int p = 0; p < v; p++) count[p] = counts[order == null ? p : order[p]];
    Arrays.fill(count, v, 2 * v - 1, Long.MAX_VALUE);
    int[] left = new int[v - 1], right = new int[v - 1];
    int leaf = v - 1, node = v;
    for (int i = v; i < 2 * v - 1; i++) {
      int a = (leaf >= 0 && count[leaf] <= count[node]) ? leaf-- : node++;
      int b = (leaf >= 0 && count[leaf] <= count[node]) ? leaf-- : node++;
      left[i - v] = a;
      right[i - v] = b;
      count[i] = count[a] + count[b];
    }
    if (order != null) {
      for (int k = 0; k < v - 1; k++) {
        if (left[k] < v) left[k] = order[left[k]];
        if (right[k] < v) right[k] = order[right[k]];
      }
    }
    return new BinaryTree(v, left, right);
  }

  /**
   * Balanced tree: the id range is split recursively into halves (the left half gets the extra word),
   * so every word has depth {@code floor(log2 V)} or {@code ceil(log2 V)} and every subtree covers a
   * contiguous id range. Internal nodes are numbered in post-order (children before parent).
   */
  public static BinaryTree balanced(int v) {
    if (v < 1) throw new IllegalArgumentException("vocabulary size must be >= 1, got " + v);
    int[] left = new int[v - 1], right = new int[v - 1];
    int[] next = {0};
    if (v > 1) buildBalanced(0, v, v, left, right, next);
    return new BinaryTree(v, left, right);
  }

  private static int buildBalanced(int lo, int hi, int v, int[] left, int[] right, int[] next) {
    if (hi - lo == 1) return lo;
    int mid = lo + (hi - lo + 1) / 2;
    int l = buildBalanced(lo, mid, v, left, right, next);
    int r = buildBalanced(mid, hi, v, left, right, next);
    int k = next[0]++;
    left[k] = l;
    right[k] = r;
    return v + k;
  }

  /**
   * A tree given by its internal nodes' children, numbered as described above (leaves 0..V-1 are the
   * words, internal node k is node id V + k, every child's id smaller than its parent's, root V-2):
   * for trees built elsewhere, e.g. by clustering word vectors. A malformed tree is refused.
   */
  public static BinaryTree fromChildren(int[] left, int[] right) {
    if (left.length != right.length) throw new IllegalArgumentException("left and right must have one entry per internal node");
    return new BinaryTree(left.length + 1, left.clone(), right.clone());
  }

  /** Number of leaves (= vocabulary size). */
  public int leaves() { return leaves; }

  /** Number of internal nodes, V-1. */
  public int internalNodes() { return leaves - 1; }

  /** Node id of the root: {@code 2V-2} (the leaf 0 when V = 1). */
  public int root() { return 2 * leaves - 2; }

  /** Left child node id of internal node k. */
  public int left(int k) { return left[k]; }

  /** Right child node id of internal node k. */
  public int right(int k) { return right[k]; }

  /** Path length (code length) of word w. */
  public int depth(int w) { return pathStart[w + 1] - pathStart[w]; }

  public int maxDepth() { return maxDepth; }

  /** Start of word w's path in {@link #pathNodes()} / {@link #pathCodes()}; ends at pathStart(w + 1). */
  public int pathStart(int w) { return pathStart[w]; }

  /** All paths, flattened (shared array: do not modify). */
  int[] pathNodes() { return pathNodes; }

  /** All codes, flattened (shared array: do not modify). */
  byte[] pathCodes() { return pathCodes; }

  /** Word w's internal nodes, root first (a copy). */
  public int[] path(int w) { return Arrays.copyOfRange(pathNodes, pathStart[w], pathStart[w + 1]); }

  /** Word w's code bits, root first (a copy). */
  public byte[] code(int w) { return Arrays.copyOfRange(pathCodes, pathStart[w], pathStart[w + 1]); }
}
