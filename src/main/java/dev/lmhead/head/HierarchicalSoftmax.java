package dev.lmhead.head;

import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Blas;
import dev.lmhead.tensor.Parallel;
import dev.lmhead.tensor.Rng;
import dev.lmhead.tensor.Vec;
import dev.lmhead.tensor.Workspace;
import java.util.List;
import jdk.incubator.vector.FloatVector;

/**
 * Hierarchical softmax (Morin &amp; Bengio 2005; word2vec / fastText style) over a {@link BinaryTree}
 * with V leaves and V-1 internal nodes. Internal node k has a vector u_k [d] and a bias b_k; at node k
 * the right branch has probability σ(s_k) and the left one σ(-s_k), with s_k = u_k·h + b_k, so
 * <pre>
 *   log P(w|h) = Σ_{(k, bit) on path(w)} log σ(±s_k)      (+ for bit 1 = right, - for bit 0 = left)
 * </pre>
 * which is normalised by construction (the two branches of every node sum to one).
 *
 * <p>Parameters: {@code nodes.weight} [V-1, d] and {@code nodes.bias} [V-1]. The bias is kept (with
 * {@code spec.bias()}, the default) because it lets a node encode the prior split of its subtree's
 * mass independently of h, at the cost of one float per node; word2vec and fastText have none. Both are
 * initialised like {@code nn.Linear} (uniform ±1/sqrt(d)), not word2vec's zeros, so that dHidden is
 * informative from the first step. Weight tying is not possible (nodes are not words).
 *
 * <p>Numerics: with {@code L = log1p(exp(-|s|))}, {@code log σ(s) = min(s,0) - L} and
 * {@code log σ(-s) = -max(s,0) - L}; both are exact to float rounding for any s, and every path in
 * this class sums them root first in float, so all methods agree to a few ulps.
 *
 * <p><b>Training</b> costs O(depth·d) per row: phase 1 walks each row's path (parallel over rows,
 * dot products and dHidden axpys), storing {@code g = scale·(σ(s) - bit)} per (row, node); phase 2
 * buckets those entries by node (counting sort) and accumulates {@code du_k += Σ g·h} with each node
 * owned by one worker, in row order, so gradients are bitwise deterministic for any thread count.
 *
 * <p><b>Full distribution</b>: one GEMM gives all node scores [n, V-1]; a top-down pass (internal
 * nodes in decreasing index) adds each node's branch log-probabilities to its children, sharing path
 * prefixes: O(V) per row after the GEMM. <b>Top-k</b>: depth-first search, more probable child first,
 * pruning a subtree when its path log-prob (an upper bound on its leaves) is below the k-th best.
 */
public final class HierarchicalSoftmax implements OutputLayer {
  /**
   * The default tree is balanced over the frequency-sorted ids: on WikiText-2 (2x200 LSTM, lr 20, 500k
   * training tokens) it reached valid ppl 462 where fastText's Huffman tree reached 1,121, and a tree of
   * random groups with Huffman's depths 1,058 (bench/HsmTreeProbe.java, docs/hsm.md): the groups Huffman
   * forms (words of similar count, merged in arbitrary pairs) are what the model cannot predict.
   */
  public static final HeadOption TREE = HeadOption.of("tree", HeadOption.Kind.STRING, "balanced",
      "hsm: balanced (halves of the frequency-sorted vocabulary: every subtree a frequency band) | huffman (fastText's, "
          + "frequent words on short paths; trains far worse, see docs/hsm.md) (default: balanced).");

  /** The binary tree over the vocabulary: Huffman from the unigram counts, or balanced. */
  public enum Tree { HUFFMAN, BALANCED }

  /**
   * {@code --head hsm}.
   *
   * @param bias node biases
   * @param tree tree shape
   */
  public record Spec(boolean bias, Tree tree) implements HeadSpec {
    public Spec {
      if (tree == null) tree = Tree.HUFFMAN; // config.json written before the field existed: those runs trained Huffman trees
    }
    @Override public String type() { return "hsm"; }
    @Override public OutputLayer create(int vocab, int dim, long[] counts, Parameter tiedWeight, Rng rng) {
      return HierarchicalSoftmax.create(this, vocab, dim, counts, tiedWeight, rng);
    }
    @Override public String describe() { return "hsm(" + HeadOptions.name(tree) + ")"; }
    @Override public boolean outputBias() { return bias; }
  }

  /** The registry entry ({@link Heads}). */
  public static final HeadType TYPE = new HeadType("hsm", "hierarchical softmax", Spec.class,
      List.of(FullSoftmax.BIAS, TREE), o -> new Spec(o.bool(FullSoftmax.BIAS), o.choice(TREE, Tree.class)), false);

  private final int vocab, dim;
  private final Spec spec;
  private final BinaryTree tree;
  private final int[] pathNodes;
  private final byte[] pathCodes;
  public final Parameter weight; // nodes.weight [V-1, d]
  public final Parameter bias;   // nodes.bias [V-1], null without bias
  private long blockFloats = Workspace.BLOCK_FLOATS; // upper bound on the node-score buffer of logProb

  // reusable buffers, grown lazily
  private double[] nll = new double[0];   // [n]
  private int[] entryStart = new int[0];  // [n+1] row r's (node, g) entries start here
  private float[] entryGrad = new float[0];
  private int[] nodeStart = new int[0];   // [V] node k's sorted entries are [nodeStart[k], nodeStart[k+1])
  private int[] sortedRow = new int[0];
  private float[] sortedGrad = new float[0];
  private float[] scores = new float[0];  // [block, V-1]

  public HierarchicalSoftmax(int dim, BinaryTree tree, Spec spec, Rng rng) {
    if (dim < 1) throw new IllegalArgumentException("input dimension must be >= 1, got " + dim);
    this.vocab = tree.leaves();
    this.dim = dim;
    this.spec = spec;
    this.tree = tree;
    this.pathNodes = tree.pathNodes();
    this.pathCodes = tree.pathCodes();
    int internal = vocab - 1;
    float r = (float) (1.0 / Math.sqrt(dim));
    weight = new Parameter("nodes.weight", internal, dim);
    rng.fillUniform(weight.data, -r, r);
    if (spec.bias()) {
      bias = new Parameter("nodes.bias", internal);
      rng.fillUniform(bias.data, -r, r);
    } else {
      bias = null;
    }
  }

  /** Builds the head from its spec: {@code spec.tree()} HUFFMAN (from counts) or BALANCED. */
  public static HierarchicalSoftmax create(Spec spec, int vocab, int dim, long[] counts, Parameter tiedWeight, Rng rng) {
    if (tiedWeight != null) throw new IllegalArgumentException("--head hsm cannot tie weights with the input embedding");
    if (vocab < 1) throw new IllegalArgumentException("vocabulary size must be >= 1, got " + vocab);
    return new HierarchicalSoftmax(dim, BinaryTree.of(HeadOptions.name(spec.tree()), vocab, counts), spec, rng);
  }

  @Override public int vocabSize() { return vocab; }
  @Override public int inputDim() { return dim; }
  @Override public String type() { return "hsm"; }
  @Override public Spec spec() { return spec; }

  public BinaryTree tree() { return tree; }

  /**
   * Sets the upper bound on the node-score buffer of {@link #logProb}, in floats (default
   * {@link Workspace#BLOCK_FLOATS}); results do not depend on it: tests shrink it to exercise blocking.
   */
  HierarchicalSoftmax withBlockFloats(long floats) {
    if (floats < 1) throw new IllegalArgumentException("block budget must be >= 1 float, got " + floats);
    this.blockFloats = floats;
    return this;
  }

  @Override
  public List<Parameter> parameters() {
    return bias == null ? List.of(weight) : List.of(weight, bias);
  }

  private float score(int k, float[] h, int ho) {
    return Vec.dot(weight.data, k * dim, h, ho, dim) + (bias == null ? 0f : bias.data[k]);
  }

  /** log σ(s) for bit 1 (right), log σ(-s) for bit 0 (left). */
  private static float logSigmoid(float s, int bit) {
    float l = Vec.softplusNeg(Math.abs(s));
    return bit == 1 ? Math.min(s, 0f) - l : -Math.max(s, 0f) - l;
  }

  /** σ(s), stable for any s. */
  private static float sigmoid(float s) {
    float e = Vec.exp(-Math.abs(s));
    return s >= 0 ? 1f / (1f + e) : e / (1f + e);
  }

  // ---------------------------------------------------------------- training and target log-probs

  @Override
  public double forwardBackward(float[] hidden, int n, int[] targets, float[] gradHidden, Loss loss, float[] rowLoss) {
    int count = loss.validate(targets, n, vocab);
    float scale = loss.gradScale(count);
    nll = Workspace.grow(nll, n);
    entryStart = Workspace.grow(entryStart, n + 1L);
    int[] es = entryStart;
    for (int r = 0; r < n; r++) es[r + 1] = es[r] + (loss.ignored(targets[r]) ? 0 : tree.depth(targets[r]));
    final int total = es[n];
    entryGrad = Workspace.grow(entryGrad, total);
    sortedRow = Workspace.grow(sortedRow, total);
    sortedGrad = Workspace.grow(sortedGrad, total);
    final float[] eg = entryGrad;
    final float[] w = weight.data;

    // phase 1: per row, walk the path: NLL, g = scale·(σ(s) - bit) per entry, dHidden = Σ g·u_k
    Parallel.forRange(n, 16, (a, b) -> {
      for (int r = a; r < b; r++) {
        int t = targets[r], ho = r * dim;
        if (gradHidden != null) java.util.Arrays.fill(gradHidden, ho, ho + dim, 0f);
        if (loss.ignored(t)) { nll[r] = 0; continue; }
        float lp = 0;
        for (int p = tree.pathStart(t), e = es[r], end = tree.pathStart(t + 1); p < end; p++, e++) {
          int k = pathNodes[p], bit = pathCodes[p];
          float s = score(k, hidden, ho);
          lp += logSigmoid(s, bit);
          float gk = scale * (sigmoid(s) - bit);
          eg[e] = gk;
          if (gradHidden != null) Vec.axpy(gk, w, k * dim, gradHidden, ho, dim);
        }
        nll[r] = -lp;
      }
    });

    // phase 2: bucket entries by node (stable counting sort: each node's entries in row order)
    int internal = vocab - 1;
    nodeStart = Workspace.grow(nodeStart, internal + 1L);
    int[] ns = nodeStart;
    java.util.Arrays.fill(ns, 0, internal + 1, 0);
    for (int r = 0; r < n; r++) {
      int t = targets[r];
      if (loss.ignored(t)) continue;
      for (int p = tree.pathStart(t), end = tree.pathStart(t + 1); p < end; p++) ns[pathNodes[p] + 1]++;
    }
    for (int k = 0; k < internal; k++) ns[k + 1] += ns[k];
    for (int r = 0; r < n; r++) {
      int t = targets[r];
      if (loss.ignored(t)) continue;
      for (int p = tree.pathStart(t), e = es[r], end = tree.pathStart(t + 1); p < end; p++, e++) {
        int pos = ns[pathNodes[p]]++;
        sortedRow[pos] = r;
        sortedGrad[pos] = eg[e];
      }
    }
    for (int k = internal; k > 0; k--) ns[k] = ns[k - 1]; // undo the shift done by the fill
    if (internal > 0) ns[0] = 0;

    // du_k += Σ g·h_row, db_k += Σ g; node k belongs to the chunk holding its first entry
    final int[] sr = sortedRow;
    final float[] sg = sortedGrad;
    final float[] wg = weight.grad;
    final float[] bg = bias == null ? null : bias.grad;
    Parallel.forRange(total, 256, (a, b) -> {
      for (int k = lowerBound(ns, internal, a); k < internal && ns[k] < b; k++) {
        float db = 0;
        for (int e = ns[k], end = ns[k + 1]; e < end; e++) {
          Vec.axpy(sg[e], hidden, sr[e] * dim, wg, k * dim, dim);
          db += sg[e];
        }
        if (bg != null) bg[k] += db;
      }
    });

    double sum = 0;
    for (int r = 0; r < n; r++) {
      sum += nll[r];
      if (rowLoss != null) rowLoss[r] = (float) nll[r];
    }
    return loss.reduce(sum, count);
  }

  /** First k in [0, size) with a[k] >= x (a ascending), or size. */
  private static int lowerBound(int[] a, int size, int x) {
    int lo = 0, hi = size;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (a[mid] < x) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  @Override
  public void targetLogProb(float[] hidden, int n, int[] targets, float[] out) {
    Loss.checkTargets(targets, n, vocab);
    Parallel.forRange(n, 16, (a, b) -> {
      for (int r = a; r < b; r++) {
        int t = targets[r];
        float lp = 0;
        for (int p = tree.pathStart(t), end = tree.pathStart(t + 1); p < end; p++) {
          lp += logSigmoid(score(pathNodes[p], hidden, r * dim), pathCodes[p]);
        }
        out[r] = lp;
      }
    });
  }

  // ---------------------------------------------------------------- full distribution and top-k

  @Override
  public void logProb(float[] hidden, int n, float[] out) {
    int internal = vocab - 1;
    if (internal == 0) {
      java.util.Arrays.fill(out, 0, n, 0f);
      return;
    }
    int block = Workspace.rowsPerBlock(blockFloats, internal, n);
    scores = Workspace.grow(scores, (long) block * internal);
    final float[] sc = scores;
    for (int r0 = 0; r0 < n; r0 += block) {
      final int rows = Math.min(block, n - r0), base = r0;
      // all node scores of the block with one GEMM
      Blas.get().sgemm(false, true, rows, internal, dim, 1f, hidden, r0 * dim, dim, weight.data, 0, dim, 0f, sc, 0, internal);
      Parallel.forRange(rows, 1, (a, b) -> {
        float[] lse = new float[internal]; // per chunk: log1p(exp(-|s|)) per node
        float[] lpNode = new float[internal]; // per chunk: path log-prob of each internal node
        for (int r = a; r < b; r++) {
          int so = r * internal, oo = (base + r) * vocab;
          if (bias != null) Vec.add(bias.data, 0, sc, so, internal);
          softplusTerm(sc, so, lse, internal);
          lpNode[internal - 1] = 0f; // root
          for (int k = internal - 1; k >= 0; k--) {
            float s = sc[so + k], l = lse[k], lp = lpNode[k];
            float right = lp + (Math.min(s, 0f) - l), left = lp + (-Math.max(s, 0f) - l);
            int cl = tree.left(k), cr = tree.right(k);
            if (cl < vocab) out[oo + cl] = left; else lpNode[cl - vocab] = left;
            if (cr < vocab) out[oo + cr] = right; else lpNode[cr - vocab] = right;
          }
        }
      });
    }
  }

  /** out[k] = log1p(exp(-|s[so+k]|)), vectorised. */
  private static void softplusTerm(float[] s, int so, float[] out, int n) {
    var sp = Vec.S;
    int i = 0;
    for (int ub = sp.loopBound(n); i < ub; i += sp.length()) {
      Vec.softplusNeg(FloatVector.fromArray(sp, s, so + i).abs()).intoArray(out, i);
    }
    for (; i < n; i++) out[i] = Vec.softplusNeg(Math.abs(s[so + i]));
  }

  @Override
  public TopK topK(float[] hidden, int n, int k) {
    TopK.checkK(k, vocab);
    int[] ids = new int[n * k];
    float[] vals = new float[n * k];
    int stackSize = tree.maxDepth() + 2;
    TopKHeap heap = new TopKHeap(ids, vals, k, n);
    Parallel.forRange(n, 4, (a, b) -> {
      // DFS stack of (node id, path log-prob); at most depth+1 entries are live
      int[] stackNode = new int[stackSize];
      float[] stackLp = new float[stackSize];
      for (int r = a; r < b; r++) {
        int ho = r * dim;
        int top = 0;
        stackNode[top] = tree.root();
        stackLp[top++] = 0f;
        while (top > 0) {
          int node = stackNode[--top];
          float lp = stackLp[top];
          if (!heap.reachable(r, lp)) continue; // every leaf below has log-prob <= lp
          if (node < vocab) { heap.offer(r, node, lp); continue; }
          int q = node - vocab;
          float s = score(q, hidden, ho);
          float right = lp + logSigmoid(s, 1), left = lp + logSigmoid(s, 0);
          // push the less probable child first so the more probable one is explored first
          boolean rightFirst = right >= left;
          stackNode[top] = rightFirst ? tree.left(q) : tree.right(q);
          stackLp[top++] = rightFirst ? left : right;
          stackNode[top] = rightFirst ? tree.right(q) : tree.left(q);
          stackLp[top++] = rightFirst ? right : left;
        }
        heap.finish(r);
      }
    });
    return new TopK(n, k, ids, vals);
  }
}
