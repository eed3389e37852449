package dev.lmhead.head;

import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Blas;
import dev.lmhead.tensor.Parallel;
import dev.lmhead.tensor.Rng;
import dev.lmhead.tensor.Vec;
import dev.lmhead.tensor.Workspace;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Class-based softmax (Goodman 2001; Mikolov et al. 2011, the RNNLM toolkit): every word belongs to
 * exactly one class c(w) and
 * <pre>
 *   log P(w|h) = log P(c(w)|h) + log P(w | c(w), h)
 *   log P(c|h)    = u_c - logsumexp_{c'} u_{c'},        u = h·Wcᵀ + bc      (class layer, C outputs)
 *   log P(w|c,h)  = z_w - logsumexp_{v in c} z_v,       z = h·Wwᵀ + bw      (word layer, V outputs)
 * </pre>
 * The word softmax runs only over the words of the class. Word ids are sorted by descending frequency
 * and classes are contiguous id ranges {@code [classStart[c], classStart[c+1])}, so the word layer of a
 * class is a contiguous slice of rows of Ww. The distribution is exact and normalised.
 *
 * <p>Parameters (state_dict names): {@code class.weight} [C, d], {@code class.bias} [C],
 * {@code word.weight} [V, d], {@code word.bias} [V] (the biases only with {@code spec.bias()}).
 * C here is the number of non-empty classes, which can be smaller than requested (see
 * {@link #frequencyBins}).
 *
 * <p><b>Training</b> touches only the target's class: rows are bucketed by target class (counting
 * sort), gathered into one [n, d] buffer in class order, and each class does three GEMMs on its
 * [size, d] weight slice (logits, dHidden, dWeight). Cost O(n·C·d + Σ_rows |c(t)|·d) instead of O(n·V·d).
 *
 * <p><b>Top-k</b> is exact by branch and bound: a class is scored for a row only while
 * log P(c|h) (an upper bound of every word in c) can still beat the row's k-th best so far; rows are
 * batched so each class slice is one GEMM (see {@link #topK}).
 */
public final class ClassSoftmax implements OutputLayer {
  public static final HeadOption CLASSES = HeadOption.of("classes", HeadOption.Kind.INT, "0",
      "class: number of classes (default: round(sqrt(V))).");
  public static final HeadOption CLASS_MODE = HeadOption.of("class-mode", HeadOption.Kind.STRING, "freq",
      "class: freq (unigram-mass binning, Mikolov) | equal (equal-size bins) (default: freq).");

  /** How words are binned into classes: Mikolov's unigram-mass bins ({@link #frequencyBins}) or equal sizes ({@link #equalBins}). */
  public enum ClassMode { FREQ, EQUAL }

  /**
   * {@code --head class}.
   *
   * @param bias      class and word layers have biases
   * @param classes   number of classes (0 = round(sqrt(V)))
   * @param classMode binning
   */
  public record Spec(boolean bias, int classes, ClassMode classMode) implements HeadSpec {
    public Spec {
      if (classMode == null) classMode = ClassMode.FREQ;
    }
    @Override public String type() { return "class"; }
    @Override public OutputLayer create(int vocab, int dim, long[] counts, Parameter tiedWeight, Rng rng) {
      return ClassSoftmax.create(this, vocab, dim, counts, tiedWeight, rng);
    }
    @Override public String describe() {
      return "class(" + (classes == 0 ? "sqrt V" : classes) + ", " + HeadOptions.name(classMode) + ")";
    }
    @Override public boolean outputBias() { return bias; }
  }

  /** The registry entry ({@link Heads}). */
  public static final HeadType TYPE = new HeadType("class", "class-based softmax", Spec.class,
      List.of(FullSoftmax.BIAS, CLASSES, CLASS_MODE),
      o -> new Spec(o.bool(FullSoftmax.BIAS), o.integer(CLASSES), o.choice(CLASS_MODE, ClassMode.class)), false);


  private final int vocab, dim, numClasses;
  private final Spec spec;
  private final int[] classStart; // [C+1]
  private final int[] classOf;    // [V]
  private long blockFloats = Workspace.BLOCK_FLOATS; // upper bound on any logits buffer, in floats
  public final Parameter classWeight, classBias, wordWeight, wordBias; // biases null without bias

  // reusable buffers, grown lazily
  private float[] classBuf = new float[0];   // [block, C] class logits / gradients
  private float[] wordBuf = new float[0];    // [rows, |c|] word logits / gradients of one class
  private float[] gathered = new float[0];   // [n, d] hidden rows in class order
  private float[] gatheredGrad = new float[0];
  private int[] order = new int[0];          // gathered row i is hidden row order[i]
  private int[] rowStart = new int[0];       // [C+1] class c owns gathered rows [rowStart[c], rowStart[c+1])
  private double[] nll = new double[0];      // [n] per-row NLL

  /**
   * @param classStart [C+1] ascending class boundaries, classStart[0] = 0, classStart[C] = V, each
   *                   class non-empty
   * @param tiedWeight an existing [V, d] parameter to use as {@code word.weight}, or null
   */
  public ClassSoftmax(int vocab, int dim, int[] classStart, Spec spec, Parameter tiedWeight, Rng rng) {
    if (vocab < 1) throw new IllegalArgumentException("vocabulary size must be >= 1, got " + vocab);
    if (dim < 1) throw new IllegalArgumentException("input dimension must be >= 1, got " + dim);
    int c = classStart.length - 1;
    if (c < 1 || classStart[0] != 0 || classStart[c] != vocab) {
      throw new IllegalArgumentException("class boundaries must run from 0 to " + vocab + ": " + Arrays.toString(classStart));
    }
    this.vocab = vocab;
    this.dim = dim;
    this.spec = spec;
    this.numClasses = c;
    this.classStart = classStart.clone();
    this.classOf = new int[vocab];
    for (int k = 0; k < c; k++) {
      if (classStart[k + 1] <= classStart[k]) {
        throw new IllegalArgumentException("class " + k + " is empty or boundaries not ascending: " + Arrays.toString(classStart));
      }
      Arrays.fill(classOf, classStart[k], classStart[k + 1], k);
    }
    float r = (float) (1.0 / Math.sqrt(dim)); // nn.Linear's default bound
    classWeight = new Parameter("class.weight", c, dim);
    rng.fillUniform(classWeight.data, -r, r);
    if (tiedWeight != null) {
      if (tiedWeight.size() != vocab * dim) {
        throw new IllegalArgumentException("tied weight " + tiedWeight + " does not match [" + vocab + ", " + dim + "]");
      }
      wordWeight = tiedWeight;
    } else {
      wordWeight = new Parameter("word.weight", vocab, dim);
      rng.fillUniform(wordWeight.data, -r, r);
    }
    if (spec.bias()) {
      classBias = new Parameter("class.bias", c);
      rng.fillUniform(classBias.data, -r, r);
      wordBias = new Parameter("word.bias", vocab);
      rng.fillUniform(wordBias.data, -r, r);
    } else {
      classBias = null;
      wordBias = null;
    }
  }

  /**
   * Builds the head from its spec: {@code spec.classes()} classes (0 = round(sqrt(V)); more than V is
   * clamped to V) binned by {@code spec.classMode()}: FREQ ({@link #frequencyBins}, needs counts) or
   * EQUAL ({@link #equalBins}).
   */
  public static ClassSoftmax create(Spec spec, int vocab, int dim, long[] counts, Parameter tiedWeight, Rng rng) {
    if (vocab < 1) throw new IllegalArgumentException("vocabulary size must be >= 1, got " + vocab);
    if (spec.classes() < 0) throw new IllegalArgumentException("--classes must be >= 0 (0 = sqrt(V)), got " + spec.classes());
    int c = spec.classes() == 0 ? defaultClasses(vocab) : spec.classes();
    int[] bins = switch (spec.classMode()) {
      case FREQ -> {
        if (counts == null) throw new IllegalArgumentException("--class-mode freq needs unigram counts of the vocabulary");
        if (counts.length != vocab) {
          throw new IllegalArgumentException("counts has " + counts.length + " entries, vocabulary has " + vocab);
        }
        yield frequencyBins(counts, c);
      }
      case EQUAL -> equalBins(vocab, c);
    };
    return new ClassSoftmax(vocab, dim, bins, spec, tiedWeight, rng);
  }

  /** round(sqrt(V)), at least 1. */
  public static int defaultClasses(int vocab) {
    return (int) Math.max(1, Math.round(Math.sqrt(vocab)));
  }

  /**
   * Mikolov's frequency binning (rnnlm {@code learnVocabFromTrainFile}): walking words in id order
   * with cumulative unigram mass {@code m}, a word goes to the current class a, and a moves on to the
   * next class once {@code m > (a+1)/C}. Each class thus holds about 1/C of the mass; frequent words
   * get small classes. Since a advances at most once per word, trailing classes can stay empty; only
   * the non-empty ones are returned (so fewer than C classes is possible, and C > V gives at most V).
   * All-zero counts are treated as uniform.
   *
   * @return [C'+1] class boundaries, C' <= min(C, V) non-empty classes
   */
  public static int[] frequencyBins(long[] counts, int classes) {
    int v = counts.length;
    if (v < 1) throw new IllegalArgumentException("vocabulary size must be >= 1, got " + v);
    if (classes < 1) throw new IllegalArgumentException("number of classes must be >= 1, got " + classes);
    double total = 0;
    for (int i = 0; i < v; i++) {
      if (counts[i] < 0) throw new IllegalArgumentException("count of word " + i + " is negative: " + counts[i]);
      total += counts[i];
    }
    int[] start = new int[Math.min(classes, v) + 1];
    int a = 0;
    double mass = 0;
    for (int i = 0; i < v; i++) {
      mass += total > 0 ? counts[i] / total : 1.0 / v;
      if (mass > 1) mass = 1;
      // word i is in class a; the next word starts a new class when the threshold is crossed
      if (mass > (a + 1) / (double) classes && a < classes - 1 && i + 1 < v) {
        a++;
        start[a] = i + 1;
      }
    }
    int used = a + 1;
    int[] out = Arrays.copyOf(start, used + 1);
    out[used] = v;
    return out;
  }

  /** C equal-size contiguous bins (sizes differ by at most one; C is clamped to V). */
  public static int[] equalBins(int vocab, int classes) {
    if (classes < 1) throw new IllegalArgumentException("number of classes must be >= 1, got " + classes);
    int c = Math.min(classes, vocab);
    int[] start = new int[c + 1];
    for (int k = 0; k <= c; k++) start[k] = (int) ((long) vocab * k / c);
    return start;
  }

  @Override public int vocabSize() { return vocab; }
  @Override public int inputDim() { return dim; }
  @Override public String type() { return "class"; }
  @Override public Spec spec() { return spec; }

  /** Number of (non-empty) classes C. */
  public int numClasses() { return numClasses; }

  /** Class boundaries [C+1] (a copy). */
  public int[] classStart() { return classStart.clone(); }

  /** Class of word w. */
  public int classOf(int w) { return classOf[w]; }

  @Override
  public List<Parameter> parameters() {
    List<Parameter> ps = new ArrayList<>();
    ps.add(classWeight);
    if (classBias != null) ps.add(classBias);
    ps.add(wordWeight);
    if (wordBias != null) ps.add(wordBias);
    return ps;
  }

  // ---------------------------------------------------------------- buffers

  /**
   * Sets the upper bound on any logits buffer, in floats (default {@link Workspace#BLOCK_FLOATS});
   * rows are processed in blocks that keep to it. Results do not depend on it: tests shrink it to
   * exercise the blocking.
   */
  ClassSoftmax withBlockFloats(long floats) {
    if (floats < 1) throw new IllegalArgumentException("block budget must be >= 1 float, got " + floats);
    this.blockFloats = floats;
    return this;
  }

  private int classBlockRows(int n) {
    return Workspace.rowsPerBlock(blockFloats, numClasses, n);
  }

  private void ensure(int n) {
    if (nll.length < n) {
      nll = new double[n];
      order = new int[n];
    }
    rowStart = Workspace.grow(rowStart, numClasses + 1);
    classBuf = Workspace.grow(classBuf, (long) classBlockRows(n) * numClasses);
  }

  private void ensureGathered(int rows, boolean grad) {
    gathered = Workspace.grow(gathered, (long) rows * dim);
    if (grad) gatheredGrad = Workspace.grow(gatheredGrad, (long) rows * dim);
  }

  private float[] wordBuffer(long floats) {
    return wordBuf = Workspace.grow(wordBuf, floats);
  }

  /** out[0..rows) = hidden[r0..r0+rows) · W[w0..w0+cols)ᵀ + b[w0..w0+cols) */
  private static void linear(float[] x, int r0, int rows, int dim, Parameter w, Parameter b, int w0, int cols, float[] out) {
    Blas.get().sgemm(false, true, rows, cols, dim, 1f, x, r0 * dim, dim, w.data, w0 * dim, dim, 0f, out, 0, cols);
    if (b != null) {
      Parallel.forRange(rows, Math.max(1, 16384 / cols), (a, e) -> {
        for (int r = a; r < e; r++) Vec.add(b.data, w0, out, r * cols, cols);
      });
    }
  }

  /** Backward of {@link #linear}: dX (overwritten, may be skipped with null), dW and db accumulated. */
  private static void linearBackward(float[] g, float[] x, int r0, int rows, int dim, Parameter w, Parameter b, int w0,
                                     int cols, float[] dx, int dx0) {
    if (dx != null) {
      Blas.get().sgemm(false, false, rows, dim, cols, 1f, g, 0, cols, w.data, w0 * dim, dim, 0f, dx, dx0 * dim, dim);
    }
    Blas.get().sgemm(true, false, cols, dim, rows, 1f, g, 0, cols, x, r0 * dim, dim, 1f, w.grad, w0 * dim, dim);
    if (b != null) {
      for (int r = 0; r < rows; r++) Vec.add(g, r * cols, b.grad, w0, cols);
    }
  }

  // ---------------------------------------------------------------- training and target log-probs

  /**
   * The shared forward (and, with {@code train}, backward) pass over the n rows. Fills {@code nll[r]}
   * (0 for ignored rows) and returns their sum. With {@code train}, gradients are scaled by
   * {@code scale} per counted row, written to gradHidden (if not null) and accumulated into the parameters.
   */
  private double pass(float[] hidden, int n, int[] targets, Loss loss, float scale, boolean train, float[] gradHidden) {
    ensure(n);
    final int cN = numClasses;
    int block = classBlockRows(n);
    float[] cl = classBuf;
    // 1) class layer, in row blocks: nll = logsumexp(u) - u[c(t)]; gradient scale·(softmax(u) - onehot)
    for (int r0 = 0; r0 < n; r0 += block) {
      final int rows = Math.min(block, n - r0), base = r0;
      linear(hidden, r0, rows, dim, classWeight, classBias, 0, cN, cl);
      Parallel.forRange(rows, Math.max(1, 4096 / cN), (a, b) -> {
        for (int r = a; r < b; r++) {
          int off = r * cN, t = targets[base + r];
          if (loss.ignored(t)) {
            nll[base + r] = 0;
            if (train) Arrays.fill(cl, off, off + cN, 0f);
            continue;
          }
          int c = classOf[t];
          float target = cl[off + c];
          nll[base + r] = (train ? Vec.softmaxGradInPlace(cl, off, cN, c, scale) : Vec.logNormaliser(cl, off, cN)) - target;
        }
      });
      if (train) linearBackward(cl, hidden, r0, rows, dim, classWeight, classBias, 0, cN, gradHidden, r0);
    }

    // 2) bucket counted rows by target class (counting sort, stable) and gather them
    int[] rs = rowStart;
    Arrays.fill(rs, 0, cN + 1, 0);
    for (int r = 0; r < n; r++) if (!loss.ignored(targets[r])) rs[classOf[targets[r]] + 1]++;
    for (int c = 0; c < cN; c++) rs[c + 1] += rs[c];
    final int m = rs[cN];
    int[] fill = new int[cN]; // O(C) per call, not per row
    System.arraycopy(rs, 0, fill, 0, cN);
    for (int r = 0; r < n; r++) if (!loss.ignored(targets[r])) order[fill[classOf[targets[r]]]++] = r;
    boolean needDx = train && gradHidden != null;
    ensureGathered(m, needDx);
    final float[] g = gathered;
    Parallel.forRange(m, 64, (a, b) -> {
      for (int i = a; i < b; i++) System.arraycopy(hidden, order[i] * dim, g, i * dim, dim);
    });

    // 3) word layer, class by class on the class's weight slice
    for (int c = 0; c < cN; c++) {
      int a0 = rs[c], a1 = rs[c + 1];
      if (a0 == a1) continue;
      final int w0 = classStart[c], size = classStart[c + 1] - w0;
      int sub = Workspace.rowsPerBlock(blockFloats, size, a1 - a0);
      float[] wl = wordBuffer((long) sub * size);
      for (int i0 = a0; i0 < a1; i0 += sub) {
        final int rows = Math.min(sub, a1 - i0), base = i0;
        linear(g, i0, rows, dim, wordWeight, wordBias, w0, size, wl);
        Parallel.forRange(rows, Math.max(1, 16384 / size), (a, b) -> {
          for (int i = a; i < b; i++) {
            int off = i * size, row = order[base + i], j = targets[row] - w0;
            float target = wl[off + j];
            nll[row] += (train ? Vec.softmaxGradInPlace(wl, off, size, j, scale) : Vec.logNormaliser(wl, off, size)) - target;
          }
        });
        if (train) linearBackward(wl, g, i0, rows, dim, wordWeight, wordBias, w0, size, needDx ? gatheredGrad : null, i0);
      }
    }

    // 4) scatter the word-layer dHidden back onto the rows
    if (needDx) {
      final float[] gg = gatheredGrad;
      Parallel.forRange(m, 64, (a, b) -> {
        for (int i = a; i < b; i++) Vec.add(gg, i * dim, gradHidden, order[i] * dim, dim);
      });
    }
    double total = 0;
    for (int r = 0; r < n; r++) total += nll[r];
    return total;
  }

  @Override
  public double forwardBackward(float[] hidden, int n, int[] targets, float[] gradHidden, Loss loss, float[] rowLoss) {
    int count = loss.validate(targets, n, vocab);
    double total = pass(hidden, n, targets, loss, loss.gradScale(count), true, gradHidden);
    if (rowLoss != null) for (int r = 0; r < n; r++) rowLoss[r] = (float) nll[r];
    return loss.reduce(total, count);
  }

  @Override
  public void targetLogProb(float[] hidden, int n, int[] targets, float[] out) {
    Loss.checkTargets(targets, n, vocab);
    pass(hidden, n, targets, Loss.STRICT, 0f, false, null);
    for (int r = 0; r < n; r++) out[r] = (float) -nll[r];
  }

  // ---------------------------------------------------------------- full distribution and top-k

  /** cl[0..rows) = log P(c | hidden row) for rows [r0, r0+rows). */
  private void classLogProbs(float[] hidden, int r0, int rows, float[] cl) {
    linear(hidden, r0, rows, dim, classWeight, classBias, 0, numClasses, cl);
    Parallel.forRange(rows, Math.max(1, 4096 / numClasses), (a, b) -> {
      for (int r = a; r < b; r++) Vec.logSoftmaxInPlace(cl, r * numClasses, numClasses);
    });
  }

  @Override
  public void logProb(float[] hidden, int n, float[] out) {
    ensure(n);
    // all word logits at once (out is [n, V] anyway), then per row and class: z - lse_c + log P(c)
    linear(hidden, 0, n, dim, wordWeight, wordBias, 0, vocab, out);
    int block = classBlockRows(n);
    float[] cl = classBuf;
    for (int r0 = 0; r0 < n; r0 += block) {
      final int rows = Math.min(block, n - r0), base = r0;
      classLogProbs(hidden, r0, rows, cl);
      Parallel.forRange(rows, 1, (a, b) -> {
        for (int r = a; r < b; r++) {
          int off = (base + r) * vocab;
          for (int c = 0; c < numClasses; c++) {
            int w0 = classStart[c], size = classStart[c + 1] - w0;
            float lse = Vec.logSumExp(out, off + w0, size);
            Vec.addScalar(out, off + w0, size, cl[r * numClasses + c] - lse);
          }
        }
      });
    }
  }

  /**
   * Exact top-k by branch and bound, batched so that each class's weight slice is read once per row
   * block: (A) every row first visits its most probable class (rows grouped by that class, one GEMM
   * per class); (B) then the classes are taken in order of decreasing batch mass {@code Σ_r P(c|h_r)},
   * and class c is scored only for the rows that have not visited it and for which it can still
   * matter, {@code log P(c|h) >= k-th best so far} (every word of c has {@code log P(w|h) <= log P(c|h)}).
   * For a single row this is exactly the per-row search in order of decreasing log P(c|h), with the
   * remaining classes skipped once the bound fails. Cost is at most one pass over Ww per row block.
   */
  @Override
  public TopK topK(float[] hidden, int n, int k) {
    TopK.checkK(k, vocab);
    ensure(n);
    int[] ids = new int[n * k];
    float[] vals = new float[n * k];
    TopKHeap heap = new TopKHeap(ids, vals, k, n);
    final int cN = numClasses;
    int block = classBlockRows(n);
    float[] cl = classBuf;
    boolean[] visited = new boolean[block * cN];
    int[] rows = new int[block];      // rows (within the block) to score for one class
    int[] best = new int[block];
    long[] keys = new long[cN];
    double[] mass = new double[cN];
    for (int r0 = 0; r0 < n; r0 += block) {
      final int nr = Math.min(block, n - r0);
      classLogProbs(hidden, r0, nr, cl);
      Arrays.fill(visited, false);
      // (A) each row's most probable class
      for (int r = 0; r < nr; r++) {
        int b = 0;
        for (int c = 1; c < cN; c++) if (cl[r * cN + c] > cl[r * cN + b]) b = c;
        best[r] = b;
      }
      int[] rs = rowStart;
      Arrays.fill(rs, 0, cN + 1, 0);
      for (int r = 0; r < nr; r++) rs[best[r] + 1]++;
      for (int c = 0; c < cN; c++) rs[c + 1] += rs[c];
      for (int r = 0; r < nr; r++) rows[rs[best[r]]++] = r; // rs[c] now ends class c's group
      for (int c = 0, from = 0; c < cN; c++) {
        int to = rs[c];
        if (to > from) {
          System.arraycopy(rows, from, order, 0, to - from);
          scoreClass(c, order, to - from, hidden, r0, cl, visited, heap);
        }
        from = to;
      }
      // (B) the other classes, by decreasing batch mass, for the rows they can still improve
      Arrays.fill(mass, 0);
      for (int r = 0; r < nr; r++) for (int c = 0; c < cN; c++) mass[c] += Math.exp(cl[r * cN + c]);
      for (int c = 0; c < cN; c++) keys[c] = descendingKey((float) mass[c], c);
      Arrays.sort(keys);
      for (int q = 0; q < cN; q++) {
        int c = (int) keys[q], m = 0;
        for (int r = 0; r < nr; r++) {
          if (!visited[r * cN + c] && heap.reachable(r0 + r, cl[r * cN + c])) rows[m++] = r;
        }
        if (m > 0) scoreClass(c, rows, m, hidden, r0, cl, visited, heap);
      }
    }
    Parallel.forRange(n, 64, (a, b) -> {
      for (int r = a; r < b; r++) heap.finish(r);
    });
    return new TopK(n, k, ids, vals);
  }

  /**
   * Offers every word of class c to the heaps of the m block rows {@code rows[0..m)} (hidden rows
   * {@code r0 + rows[i]}): gathers them, one GEMM against the class's weight slice (sub-blocked), then
   * {@code log P(w|h) = log P(c|h) + z_w - logsumexp_c(z)} per row.
   */
  private void scoreClass(int c, int[] rows, int m, float[] hidden, int r0, float[] cl, boolean[] visited, TopKHeap heap) {
    final int cN = numClasses, w0 = classStart[c], size = classStart[c + 1] - w0;
    ensureGathered(m, false);
    final float[] g = gathered;
    Parallel.forRange(m, 64, (a, b) -> {
      for (int i = a; i < b; i++) System.arraycopy(hidden, (r0 + rows[i]) * dim, g, i * dim, dim);
    });
    int sub = Workspace.rowsPerBlock(blockFloats, size, m);
    float[] wl = wordBuffer((long) sub * size);
    for (int i0 = 0; i0 < m; i0 += sub) {
      final int nn = Math.min(sub, m - i0), base = i0;
      linear(g, i0, nn, dim, wordWeight, wordBias, w0, size, wl);
      Parallel.forRange(nn, Math.max(1, 16384 / size), (a, b) -> {
        for (int i = a; i < b; i++) {
          int r = rows[base + i], off = i * size;
          float lpc = cl[r * cN + c], lse = Vec.logSumExp(wl, off, size);
          visited[r * cN + c] = true;
          for (int j = 0; j < size; j++) heap.offer(r0 + r, w0 + j, lpc + (wl[off + j] - lse));
        }
      });
    }
  }

  /** A long whose ascending order is descending {@code value}, then ascending {@code c}. */
  private static long descendingKey(float value, int c) {
    int bits = Float.floatToIntBits(-value);
    bits ^= (bits >> 31) & 0x7fffffff; // IEEE order -> signed int order
    return ((long) bits << 32) | c;
  }
}
