package dev.lmhead.head;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.TestData;
import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Rng;
import dev.lmhead.tensor.Vec;
import org.junit.jupiter.api.Test;

class AdaptiveSoftmaxTest {

  /** Configurations with 1, 2 and 3 cutoffs, head bias on and off, several div values. */
  static AdaptiveSoftmax[] heads() {
    return new AdaptiveSoftmax[] {
        new AdaptiveSoftmax(8, 47, new int[] {9}, 2.0, false, new Rng(1)),
        new AdaptiveSoftmax(8, 47, new int[] {9}, 4.0, true, new Rng(2)),
        new AdaptiveSoftmax(9, 61, new int[] {6, 23}, 1.5, true, new Rng(3)),
        new AdaptiveSoftmax(9, 61, new int[] {6, 23}, 2.0, false, new Rng(4)),
        new AdaptiveSoftmax(12, 73, new int[] {4, 11, 40}, 1.0, false, new Rng(5)),
        new AdaptiveSoftmax(12, 73, new int[] {4, 11, 40}, 2.0, true, new Rng(6)),
    };
  }

  @Test
  void normalisedConsistentAndMatchesNaiveMath() {
    for (AdaptiveSoftmax h : heads()) {
      HeadContract.normalisedAndConsistent(h, 11, 7);
      Rng rng = new Rng(8);
      int n = 5, v = h.vocabSize();
      float[] x = TestData.gaussian(rng, n * h.inputDim(), 1.0);
      float[] lp = new float[n * v];
      h.logProb(x, n, lp);
      double[] ref = naiveLogProb(h, x, n);
      for (int i = 0; i < n * v; i++) {
        assertEquals(ref[i], lp[i], 2e-5, h.spec() + " log-prob entry " + i + " (row " + i / v + ", word " + i % v + ")");
      }
    }
  }

  @Test
  void topKMatchesSortIncludingKBeyondShortlistAndKEqualsV() {
    for (AdaptiveSoftmax h : heads()) {
      HeadContract.topKMatchesSort(h, 9, 1, 10);
      HeadContract.topKMatchesSort(h, 9, 5, 11);
      HeadContract.topKMatchesSort(h, 6, h.shortlistSize() + 3, 12);
      HeadContract.topKMatchesSort(h, 3, h.vocabSize(), 13);
    }
  }

  @Test
  void topKIsExactWhenTailWordsWin() {
    // a head that strongly prefers cluster 1, so the best words sit deep in the tail
    AdaptiveSoftmax h = new AdaptiveSoftmax(6, 50, new int[] {5, 20}, 2.0, true, new Rng(3));
    h.headBias.data[5 + 1] = 6f;
    HeadContract.topKMatchesSort(h, 8, 4, 14);
    HeadContract.topKMatchesSort(h, 8, 1, 15);
  }

  @Test
  void topKSkipsAClusterWhoseFlatTailCannotWin() {
    // cluster 0 has the largest head probability, but its 40 words share it evenly (zero output
    // embeddings): each gets log P(cluster) - log 40, below the best shortlist word
    AdaptiveSoftmax h = new AdaptiveSoftmax(6, 50, new int[] {5, 45}, 2.0, true, new Rng(4));
    java.util.Arrays.fill(h.tailOut[0].data, 0f);
    java.util.Arrays.fill(h.headWeight.data, 0f);
    h.headBias.data[2] = 2f;
    h.headBias.data[5] = 2.5f;
    h.headBias.data[6] = -5f;
    int n = 7;
    HeadContract.topKMatchesSort(h, n, 1, 16);
    TopK top = h.topK(TestData.gaussian(new Rng(16), n * 6, 1.0), n, 1);
    for (int r = 0; r < n; r++) assertEquals(2, top.id(r, 0), "row " + r);
    assertEquals(0, h.lastTopKExpansions(), "the flat cluster and the unlikely one must both be skipped");
    // with k = 6 the five shortlist words are not enough: cluster 0 is expanded for every row, and
    // its words (log-prob ≈ -4.3) then rule out cluster 1 (head log-prob ≈ -8.2)
    HeadContract.topKMatchesSort(h, n, 6, 17);
    h.topK(TestData.gaussian(new Rng(17), n * 6, 1.0), n, 6);
    assertEquals(n, h.lastTopKExpansions());
  }

  /**
   * A cluster that its bound could not rule out is expanded, but a row whose top-k list is full first scans
   * the cluster's logits against the Jensen bound (lse ≥ log osz + mean) and skips the normaliser when no word
   * can enter: on random weights most expansions end there. The result must stay the exact top k, when
   * tail words do win too (a cluster made likely through the head bias), in training and evaluation mode.
   */
  @Test
  void topKScanRulesOutExpandedRowsAndStaysExact() {
    int v = 3000, d = 24, n = 64;
    for (boolean likelyTail : new boolean[] {false, true}) {
      for (boolean eval : new boolean[] {true, false}) {
        AdaptiveSoftmax h = new AdaptiveSoftmax(d, v, new int[] {200, 1000}, 2.0, true, new Rng(21));
        // sharper tails than the default initialisation: their spread R·‖z‖ exceeds log osz, so the cluster
        // bound cannot rule them out, while their many words still rarely beat the shortlist's best
        for (var t : h.tailOut) for (int i = 0; i < t.data.length; i++) t.data[i] *= 6;
        if (likelyTail) h.headBias.data[200] = 4f; // cluster 0 (words 200..999) often holds top words
        h.train(!eval);
        long expanded = 0, ruledOut = 0;
        int tailWins = 0;
        String what = "likelyTail " + likelyTail + ", eval " + eval;
        for (int k : new int[] {1, 10}) {
          float[] x = TestData.gaussian(new Rng(30 + k), n * d, 1.0);
          float[] lp = new float[n * v];
          h.logProb(x, n, lp);
          TopK top = h.topK(x, n, k);
          assertTrue(h.lastTopKScansRuledOut() <= h.lastTopKExpansions(), what + ", k " + k);
          expanded += h.lastTopKExpansions();
          ruledOut += h.lastTopKScansRuledOut();
          for (int r = 0; r < n; r++) {
            int[] ids = new int[k];
            float[] vals = new float[k];
            TopK.selectRow(lp, r * v, v, k, ids, vals, 0);
            for (int j = 0; j < k; j++) {
              assertEquals(ids[j], top.id(r, j), what + ", k " + k + ": row " + r + " rank " + j + " id");
              HeadContract.assertFiniteClose(vals[j], top.logProb(r, j), 2e-5, what + ", k " + k + ": row " + r + " rank " + j);
              if (ids[j] >= 200) tailWins++;
            }
          }
        }
        assertTrue(ruledOut > 0, what + ": the scan must rule out some of the " + expanded + " expanded rows");
        if (likelyTail) assertTrue(tailWins > 0 && ruledOut < expanded, what + ": tail words must win in some rows (" + tailWins + ", " + ruledOut + " of " + expanded + " ruled out)");
      }
    }
  }

  /**
   * A shortlist long enough for the selection floor (≥ 4·{@link Vec#GROUPS} words): the head's top-k takes the
   * row maximum from the group maxima it then reuses for the floor. Exact against sorting logProb's rows, with
   * and without a head bias, k below, at and above the floor's range.
   */
  @Test
  void topKWithAShortlistLongEnoughForTheFloorIsExact() {
    int shortlist = 4 * Vec.GROUPS + 37, v = shortlist + 900, d = 16, n = 40;
    for (boolean bias : new boolean[] {false, true}) {
      AdaptiveSoftmax h = new AdaptiveSoftmax(d, v, new int[] {shortlist, shortlist + 300}, 2.0, bias, new Rng(41));
      if (bias) new Rng(42).fillUniform(h.headBias.data, -1f, 1f);
      h.train(false);
      float[] x = TestData.gaussian(new Rng(43), n * d, 1.0);
      float[] lp = new float[n * v];
      h.logProb(x, n, lp);
      for (int k : new int[] {1, 2, 10, Vec.GROUPS / 4, Vec.GROUPS / 4 + 1}) {
        TopK top = h.topK(x, n, k);
        for (int r = 0; r < n; r++) {
          int[] ids = new int[k];
          float[] vals = new float[k];
          TopK.selectRow(lp, r * v, v, k, ids, vals, 0);
          for (int j = 0; j < k; j++) {
            String what = "bias " + bias + ", k " + k + ": row " + r + " rank " + j;
            assertEquals(ids[j], top.id(r, j), what + " id");
            if (ids[j] < shortlist) { // a shortlist word: logProb's rounding, bit for bit
              assertTrue(Float.isFinite(vals[j]), what);
              assertEquals(Float.floatToIntBits(vals[j]), Float.floatToIntBits(top.logProb(r, j)), what + " log-prob");
            } else {
              HeadContract.assertFiniteClose(vals[j], top.logProb(r, j), 2e-5, what);
            }
          }
        }
      }
    }
  }

  /**
   * Evaluation mode caches the bound's weight statistics; a mode change drops them. A flat cluster (zero
   * output embeddings, R = 0) is skipped; its embeddings are then made sharp, so that its words win: the
   * top-k must see them whether the weights changed in training mode between two evaluation-mode calls
   * (cache dropped by the mode change) or in training mode itself (nothing cached).
   */
  @Test
  void topKBoundStatisticsFollowWeightChangesAcrossModes() {
    for (boolean evalBefore : new boolean[] {true, false}) {
      AdaptiveSoftmax h = new AdaptiveSoftmax(6, 50, new int[] {5, 45}, 2.0, true, new Rng(4));
      java.util.Arrays.fill(h.tailOut[0].data, 0f);
      h.headBias.data[5] = 2.5f;
      int n = 7;
      float[] x = TestData.gaussian(new Rng(16), n * 6, 1.0);
      h.train(!evalBefore);
      h.topK(x, n, 1);
      assertEquals(0, h.lastTopKExpansions(), "the flat cluster is skipped");
      h.train(true);
      Rng rng = new Rng(5);
      for (int i = 0; i < h.tailOut[0].data.length; i++) h.tailOut[0].data[i] = (float) (40 * rng.gaussian());
      h.train(!evalBefore);
      TopK top = h.topK(x, n, 1);
      assertTrue(h.lastTopKExpansions() > 0, "eval before: " + evalBefore + ": the sharp cluster must be expanded");
      int tail = 0;
      for (int r = 0; r < n; r++) if (top.id(r, 0) >= 5 && top.id(r, 0) < 45) tail++;
      assertTrue(tail > 0, "eval before: " + evalBefore + ": a sharp cluster word must win some row");
      HeadContract.topKMatchesSort(h, n, 1, 16);
      HeadContract.topKMatchesSort(h, n, 4, 17);
    }
  }

  @Test
  void topKStaysExactWhetherTheBoundPrunesOrNot() {
    long[] top1 = new long[3];
    float[] scales = {0.01f, 1f, 30f};
    for (int s = 0; s < scales.length; s++) {
      AdaptiveSoftmax h = new AdaptiveSoftmax(8, 90, new int[] {6, 30, 60}, 2.0, true, new Rng(5));
      for (int c = 0; c < 3; c++) h.headBias.data[6 + c] = 1.5f; // clusters as likely as the best words
      for (Parameter w : h.tailOut) for (int i = 0; i < w.data.length; i++) w.data[i] *= scales[s];
      HeadContract.topKMatchesSort(h, 12, 4, 19);
      HeadContract.topKMatchesSort(h, 12, 8, 20);
      HeadContract.topKMatchesSort(h, 12, 1, 18); // (its last call is predict, a top-1)
      top1[s] = h.lastTopKExpansions();
      h.topK(TestData.gaussian(new Rng(20), 12 * 8, 1.0), 12, 8);
      assertTrue(h.lastTopKExpansions() >= 12, "k = 8 > shortlist 6 needs a tail for every row");
      for (int k : new int[] {1, 3, 8}) {
        int[] count = expansionBounds(h, TestData.gaussian(new Rng(21 + k), 12 * 8, 1.0), 12, k);
        assertTrue(count[0] <= count[2] && count[2] <= count[1], "scale " + scales[s] + " k " + k
            + ": expansions " + count[2] + " outside [" + count[0] + ", " + count[1] + "]");
      }
    }
    assertEquals(0, top1[0], "near-uniform tails (log-prob ≈ cluster - log 24) never beat the best shortlist word");
    assertTrue(top1[2] > 0, "sharp tails (scale 30) cannot all be ruled out");
  }

  /**
   * Brute force over the full distribution, for {@link #topK} of n rows: {lower, upper, actual} where
   * lower counts the (row, cluster) pairs that must be expanded because the cluster holds a word
   * that beats the row's k-th best among the ids before the cluster (any valid bound lets it through),
   * upper the pairs whose head log-prob (the loosest valid bound) beats that k-th best or whose list
   * is not yet full, and actual is {@link AdaptiveSoftmax#lastTopKExpansions}. The top-k is checked too.
   */
  static int[] expansionBounds(AdaptiveSoftmax h, float[] x, int n, int k) {
    int v = h.vocabSize(), c = h.nClusters(), s = h.shortlistSize(), hs = s + c;
    int[] cut = h.cutoffs();
    float[] lp = new float[n * v], head = new float[n * hs];
    h.logProb(x, n, lp);
    h.headLogProb(x, n, head);
    TopK top = h.topK(x, n, k);
    int actual = (int) h.lastTopKExpansions();
    int lower = 0, upper = 0;
    for (int r = 0; r < n; r++) {
      int[] all = topIds(lp, r * v, v, k);
      for (int j = 0; j < k; j++) assertEquals(all[j], top.id(r, j), "row " + r + " rank " + j);
      for (int i = 0; i < c; i++) {
        int lo = cut[i], hi = i + 1 < c ? cut[i + 1] : v;
        int[] before = topIds(lp, r * v, lo, k);
        if (before.length < k) { lower++; upper++; continue; }
        int kth = before[k - 1];
        float kv = lp[r * v + kth];
        boolean wordBeats = false;
        for (int w = lo; w < hi; w++) wordBeats |= TopK.better(lp[r * v + w], w, kv, kth);
        if (wordBeats) lower++;
        if (TopK.better(head[r * hs + s + i], lo, kv, kth)) upper++;
      }
    }
    return new int[] {lower, upper, actual};
  }

  /** The ids of the best min(k, limit) entries of row[off .. off+limit), best first, ties to the smaller id. */
  static int[] topIds(float[] a, int off, int limit, int k) {
    return java.util.stream.IntStream.range(0, limit).boxed()
        .sorted((p, q) -> TopK.better(a[off + p], p, a[off + q], q) ? -1 : TopK.better(a[off + q], q, a[off + p], p) ? 1 : 0)
        .limit(k).mapToInt(Integer::intValue).toArray();
  }

  /**
   * The pruning of the class javadoc, checked against brute force: cluster i is expanded for a row
   * exactly when its bound, the cluster's head log-prob + min(0, R_i·‖P_i h‖ − log osz_i), beats the
   * row's k-th best among the ids before the cluster (or that list is not full). Pairs whose bound is
   * within 1e-3 of the k-th best are left open (the implementation adds a small slack for rounding).
   * On a head-dominated case most pairs are pruned, so the count is strictly below rows × clusters.
   */
  @Test
  void topKExpandsExactlyTheClustersWhoseBoundBeatsTheKthBest() {
    long pruned = 0;
    for (float tailScale : new float[] {0f, 0.3f, 1f, 5f}) {
      AdaptiveSoftmax h = new AdaptiveSoftmax(8, 60, new int[] {5, 20, 40}, 2.0, true, new Rng(31));
      for (Parameter w : h.tailOut) for (int i = 0; i < w.data.length; i++) w.data[i] *= tailScale;
      // the head dominates: shortlist words likely, clusters less so but not hopeless
      for (int j = 0; j < 5; j++) h.headBias.data[j] = 2f;
      h.headBias.data[5] = 2.5f;
      h.headBias.data[6] = 5f; // flat: each word 5 - log 20 ≈ 2.0, level with the shortlist
      h.headBias.data[7] = 0f;
      int n = 40, v = h.vocabSize(), d = h.inputDim(), c = h.nClusters(), hs = h.headSize();
      int[] cut = h.cutoffs();
      float[] x = TestData.gaussian(new Rng(32), n * d, 1.0);
      float[] lp = new float[n * v], head = new float[n * hs];
      h.logProb(x, n, lp);
      h.headLogProb(x, n, head);
      for (int k : new int[] {1, 3, 6}) {
        TopK top = h.topK(x, n, k);
        long actual = h.lastTopKExpansions();
        int must = 0, open = 0;
        for (int r = 0; r < n; r++) {
          int[] all = topIds(lp, r * v, v, k);
          for (int j = 0; j < k; j++) assertEquals(all[j], top.id(r, j), "row " + r + " rank " + j);
          for (int i = 0; i < c; i++) {
            int lo = cut[i], hi = i + 1 < c ? cut[i + 1] : v;
            int[] before = topIds(lp, r * v, lo, k);
            if (before.length < k) { must++; continue; }
            double bound = head[r * hs + 5 + i] + Math.min(0, spread(h, i) * projectionNorm(h, i, x, r) - Math.log(hi - lo));
            double kth = lp[r * v + before[k - 1]];
            if (Math.abs(bound - kth) <= 1e-3) open++;
            else if (bound > kth) must++;
          }
        }
        String what = "tail scale " + tailScale + ", k " + k;
        assertTrue(must <= actual && actual <= must + open, what + ": " + actual + " expansions, bound says " + must + " (+" + open + " open)");
        assertTrue(actual < (long) n * c, what + ": nothing was pruned (" + actual + " expansions)");
        assertTrue(open <= 3, what + ": the bracket is tight, " + open + " of " + n * c + " pairs open");
        assertTrue(actual > 0, what + ": the case must also expand some clusters");
        pruned += (long) n * c - actual;
      }
    }
    assertTrue(pruned > 0);
  }

  /** R_i = max_j ‖o_j − ō‖ over the output embeddings of cluster i, in double. */
  private static double spread(AdaptiveSoftmax h, int i) {
    int hs = h.projectionSize(i);
    float[] w = h.tailOut[i].data;
    int o = w.length / hs;
    double[] mean = new double[hs];
    for (int j = 0; j < o; j++) for (int q = 0; q < hs; q++) mean[q] += w[j * hs + q] / (double) o;
    double best = 0;
    for (int j = 0; j < o; j++) {
      double s = 0;
      for (int q = 0; q < hs; q++) s += (w[j * hs + q] - mean[q]) * (w[j * hs + q] - mean[q]);
      best = Math.max(best, Math.sqrt(s));
    }
    return best;
  }

  /** ‖P_i h_r‖ in double. */
  private static double projectionNorm(AdaptiveSoftmax h, int i, float[] x, int r) {
    int d = h.inputDim(), hs = h.projectionSize(i);
    double s = 0;
    for (int j = 0; j < hs; j++) {
      double z = 0;
      for (int q = 0; q < d; q++) z += (double) h.tailProj[i].data[j * d + q] * x[r * d + q];
      s += z * z;
    }
    return Math.sqrt(s);
  }

  @Test
  void gradientsEveryReductionWithIgnoreIndex() {
    Loss[] losses = {Loss.MEAN, Loss.SUM, Loss.NONE,
        new Loss(Loss.Reduction.MEAN, 7), new Loss(Loss.Reduction.SUM, -1), new Loss(Loss.Reduction.NONE, 30)};
    for (AdaptiveSoftmax h : heads()) {
      for (Loss loss : losses) HeadContract.gradients(h, 14, loss, 21);
    }
  }

  @Test
  void rowLossAndGradHiddenOfIgnoredRows() {
    AdaptiveSoftmax h = new AdaptiveSoftmax(5, 30, new int[] {4, 12}, 2.0, true, new Rng(1));
    float[] x = TestData.gaussian(new Rng(2), 4 * 5, 1.0);
    int[] t = {3, -100, 20, 8};
    float[] g = new float[4 * 5];
    java.util.Arrays.fill(g, 9f);
    float[] rl = new float[4];
    double l = h.forwardBackward(x, 4, t, g, Loss.NONE, rl);
    float[] lp = new float[4];
    h.targetLogProb(x, 4, new int[] {3, 0, 20, 8}, lp);
    assertEquals(-lp[0], rl[0], 1e-6);
    assertEquals(0f, rl[1]);
    assertEquals(-lp[2], rl[2], 1e-6);
    assertEquals(-(lp[0] + lp[2] + lp[3]), l, 1e-5);
    for (int j = 5; j < 10; j++) assertEquals(0f, g[j], "ignored row has zero gradient");
  }

  @Test
  void rowBlockingOfLargeTailGivesSameResultAsSeparateCalls() {
    // osz = 69,990: the 64 MiB bound allows 239 rows per tail block, so 300 tail rows take 2 blocks
    int v = 70_000, d = 4, n = 300;
    AdaptiveSoftmax one = new AdaptiveSoftmax(d, v, new int[] {10}, 1.0, true, new Rng(8));
    AdaptiveSoftmax two = new AdaptiveSoftmax(d, v, new int[] {10}, 1.0, true, new Rng(8));
    Rng rng = new Rng(9);
    float[] x = TestData.gaussian(rng, n * d, 1);
    int[] t = new int[n];
    for (int i = 0; i < n; i++) t[i] = 10 + rng.nextInt(v - 10);
    float[] g1 = new float[n * d], g2 = new float[n * d];
    double l1 = one.forwardBackward(x, n, t, g1, Loss.SUM, null);
    int half = 150;
    double l2 = two.forwardBackward(x, half, t, g2, Loss.SUM, null);
    float[] xb = java.util.Arrays.copyOfRange(x, half * d, n * d), gb = new float[(n - half) * d];
    l2 += two.forwardBackward(xb, n - half, java.util.Arrays.copyOfRange(t, half, n), gb, Loss.SUM, null);
    System.arraycopy(gb, 0, g2, half * d, gb.length);
    assertEquals(l2, l1, 1e-3);
    dev.lmhead.TestData.assertClose(g2, g1, 1e-5, "grad hidden");
    for (int i = 0; i < one.parameters().size(); i++) {
      dev.lmhead.TestData.assertClose(two.parameters().get(i).grad, one.parameters().get(i).grad, 1e-4, one.parameters().get(i).name());
    }
    HeadContract.topKMatchesSort(one, 3, 3, 5);
  }

  @Test
  void stateNamesAndShapesFollowPyTorch() {
    AdaptiveSoftmax h = new AdaptiveSoftmax(16, 1000, new int[] {100, 400}, 2.0, true, new Rng(1));
    assertEquals("[head.weight[102, 16], head.bias[102], tail.0.0.weight[8, 16], tail.0.1.weight[300, 8], "
        + "tail.1.0.weight[4, 16], tail.1.1.weight[600, 4]]", h.parameters().toString());
    AdaptiveSoftmax nb = new AdaptiveSoftmax(16, 1000, new int[] {200}, 4.0, false, new Rng(1));
    assertNull(nb.headBias);
    assertEquals(4, nb.projectionSize(0));
    // Python: 16 // 1.5 = 10.0, 16 // 1.5**2 = 7.0, 16 // 1.5**3 = 4.0
    AdaptiveSoftmax f = new AdaptiveSoftmax(16, 1000, new int[] {10, 50, 300}, 1.5, false, new Rng(1));
    assertArrayEquals(new int[] {10, 7, 4}, new int[] {f.projectionSize(0), f.projectionSize(1), f.projectionSize(2)});
  }

  @Test
  void initialisationIsNnLinearDefault() {
    AdaptiveSoftmax h = new AdaptiveSoftmax(64, 5000, new int[] {100, 1000}, 4.0, true, new Rng(1));
    for (Parameter p : h.parameters()) {
      double bound = 1.0 / Math.sqrt(p.shape.length == 2 ? p.shape[1] : 64);
      float max = 0;
      for (float v : p.data) max = Math.max(max, Math.abs(v));
      assertTrue(max <= bound && max > 0.9 * bound, p + " max |w| " + max + " vs bound " + bound);
    }
  }

  @Test
  void fromParametersSharesTheSameObjects() {
    AdaptiveSoftmax a = new AdaptiveSoftmax(8, 40, new int[] {5, 15}, 2.0, true, new Rng(1));
    AdaptiveSoftmax b = AdaptiveSoftmax.fromParameters(8, 40, new int[] {5, 15}, 2.0, a.headWeight, a.headBias, a.tailProj, a.tailOut);
    for (int i = 0; i < a.parameters().size(); i++) assertSame(a.parameters().get(i), b.parameters().get(i));
    var e = assertThrows(IllegalArgumentException.class,
        () -> AdaptiveSoftmax.fromParameters(8, 40, new int[] {5, 15}, 1.0, a.headWeight, a.headBias, a.tailProj, a.tailOut));
    assertEquals("tail.0.0.weight must have shape [8, 8], got [4, 8]", e.getMessage());
  }

  @Test
  void argumentValidationLikePyTorchWithFlagNames() {
    assertMsg("--cutoffs must list at least one cutoff (cluster boundary) in [1, 99]", 16, 100, new int[0], 4);
    assertMsg("--cutoffs [10,5] must be sorted in increasing order and unique (10 then 5)", 16, 100, new int[] {10, 5}, 4);
    assertMsg("--cutoffs [10,10] must be sorted in increasing order and unique (10 then 10)", 16, 100, new int[] {10, 10}, 4);
    assertMsg("--cutoffs [0,10]: 0 is outside [1, 99] (each cutoff must be a positive id below the vocabulary size 100)", 16, 100, new int[] {0, 10}, 4);
    assertMsg("--cutoffs [10,100]: 100 is outside [1, 99] (each cutoff must be a positive id below the vocabulary size 100)", 16, 100, new int[] {10, 100}, 4);
    assertMsg("--div-value must be a finite number > 0, got 0.0", 16, 100, new int[] {10}, 0);
    assertMsg("--div-value must be a finite number > 0, got -2.0", 16, 100, new int[] {10}, -2);
    assertMsg("--div-value must be a finite number > 0, got NaN", 16, 100, new int[] {10}, Double.NaN);
    assertMsg("--div-value 4.0 gives tail cluster 1 a projection size of floor(8 / 4.0^2) = 0; use a smaller --div-value, fewer --cutoffs or a larger hidden size",
        8, 100, new int[] {10, 20}, 4);
    assertMsg("adaptive softmax needs a vocabulary of at least 2 words, got 1", 16, 1, new int[] {1}, 4);
    // PyTorch allows div_value 1.0 (every tail full size) and < 1 (tails wider than d)
    assertEquals(16, new AdaptiveSoftmax(16, 100, new int[] {10, 20}, 1.0, false, new Rng(1)).projectionSize(1));
    assertEquals(64, new AdaptiveSoftmax(16, 100, new int[] {10}, 0.25, false, new Rng(1)).projectionSize(0));
    var e = assertThrows(IllegalArgumentException.class,
        () -> new AdaptiveSoftmax(4, 10, new int[] {3}, 2, false, new Rng(1)).forwardBackward(new float[8], 2, new int[] {1, 10}, new float[8]));
    assertEquals("target 10 at row 1 is outside [0, 10)", e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> new AdaptiveSoftmax(4, 10, new int[] {3}, 2, false, new Rng(1)).targetLogProb(new float[8], 2, new int[] {1, -100}, new float[2]));
    assertEquals("target -100 at row 1 is outside [0, 10)", e.getMessage());
  }

  private static void assertMsg(String msg, int d, int v, int[] cutoffs, double div) {
    var e = assertThrows(IllegalArgumentException.class, () -> new AdaptiveSoftmax(d, v, cutoffs, div, false, new Rng(1)));
    assertEquals(msg, e.getMessage());
  }

  /** The rule of {@link AdaptiveSoftmax#defaultCutoffs}'s javadoc, written independently: nearest of 1, 2, 5, 10, ... in log scale. */
  static int[] documentedDefaultCutoffs(int v) {
    java.util.TreeSet<Integer> set = new java.util.TreeSet<>();
    for (double x : new double[] {v / 16.0, v / 4.0}) {
      double best = 0.5; // stands for "below sqrt(0.5)": rounds to 0
      for (double decade = 1; decade <= 1e9; decade *= 10) {
        for (double m : new double[] {1, 2, 5}) {
          if (Math.abs(Math.log(m * decade / x)) < Math.abs(Math.log(best / x))) best = m * decade;
        }
      }
      int c = best < 1 ? 0 : (int) best;
      if (c >= 1 && c <= v - 1) set.add(c);
    }
    return set.isEmpty() ? new int[] {1} : set.stream().mapToInt(Integer::intValue).toArray();
  }

  @Test
  void defaultCutoffsFollowTheDocumentedRuleAndAreAlwaysValid() {
    // the examples of the javadoc (WikiText-2, WikiText-103, ...)
    assertArrayEquals(new int[] {2000, 10000}, AdaptiveSoftmax.defaultCutoffs(33278));
    assertArrayEquals(new int[] {20000, 50000}, AdaptiveSoftmax.defaultCutoffs(267735));
    assertArrayEquals(new int[] {500, 2000}, AdaptiveSoftmax.defaultCutoffs(10000));
    assertArrayEquals(new int[] {50, 200}, AdaptiveSoftmax.defaultCutoffs(1000));
    assertArrayEquals(new int[] {1}, AdaptiveSoftmax.defaultCutoffs(2));
    assertArrayEquals(new int[] {1}, AdaptiveSoftmax.defaultCutoffs(3));
    assertArrayEquals(new int[] {5000, 20000}, AdaptiveSoftmax.defaultCutoffs(100000));
    for (int v = 2; v < 3000; v++) AdaptiveSoftmax.validate(64, v, AdaptiveSoftmax.defaultCutoffs(v), 4.0);
    for (int v = 2; v <= 300_000; v += v < 5000 ? 1 : 97) {
      assertArrayEquals(documentedDefaultCutoffs(v), AdaptiveSoftmax.defaultCutoffs(v), "V = " + v);
    }
  }

  @Test
  void headsFactoryBuildsAdaptiveWithDefaultCutoffs() {
    HeadSpec spec = new AdaptiveSoftmax.Spec(new int[0], 4.0, true);
    OutputLayer h = Heads.create(spec, 33278, 64, null, null, new Rng(1));
    assertEquals("adaptive", h.type());
    assertArrayEquals(new int[] {2000, 10000}, ((AdaptiveSoftmax.Spec) h.spec()).cutoffs());
    assertTrue(((AdaptiveSoftmax.Spec) h.spec()).headBias());
    var e = assertThrows(IllegalArgumentException.class, () -> Heads.create(spec, 100, 8, null, new Parameter("w", 100, 8), new Rng(1)));
    assertTrue(e.getMessage().startsWith("--head adaptive cannot share"));
  }

  /** The adaptive softmax written out in double from the parameters, one word at a time. */
  static double[] naiveLogProb(AdaptiveSoftmax h, float[] x, int n) {
    int d = h.inputDim(), v = h.vocabSize(), s = h.shortlistSize(), c = h.nClusters();
    int[] cut = h.cutoffs();
    double[] out = new double[n * v];
    for (int r = 0; r < n; r++) {
      double[] z = new double[s + c];
      for (int j = 0; j < s + c; j++) {
        double a = h.headBias == null ? 0 : h.headBias.data[j];
        for (int q = 0; q < d; q++) a += (double) x[r * d + q] * h.headWeight.data[j * d + q];
        z[j] = a;
      }
      double[] headLp = logSoftmax(z);
      for (int w = 0; w < s; w++) out[r * v + w] = headLp[w];
      for (int i = 0; i < c; i++) {
        int lo = cut[i], hi = i + 1 < c ? cut[i + 1] : v, hs = h.projectionSize(i);
        double[] pr = new double[hs];
        for (int j = 0; j < hs; j++) for (int q = 0; q < d; q++) pr[j] += (double) x[r * d + q] * h.tailProj[i].data[j * d + q];
        double[] u = new double[hi - lo];
        for (int w = 0; w < hi - lo; w++) for (int j = 0; j < hs; j++) u[w] += pr[j] * h.tailOut[i].data[w * hs + j];
        double[] tl = logSoftmax(u);
        for (int w = lo; w < hi; w++) out[r * v + w] = headLp[s + i] + tl[w - lo];
      }
    }
    return out;
  }

  static double[] logSoftmax(double[] z) {
    double m = Double.NEGATIVE_INFINITY, sum = 0;
    for (double a : z) m = Math.max(m, a);
    for (double a : z) sum += Math.exp(a - m);
    double lse = m + Math.log(sum);
    double[] r = new double[z.length];
    for (int i = 0; i < z.length; i++) r[i] = z[i] - lse;
    return r;
  }
}
