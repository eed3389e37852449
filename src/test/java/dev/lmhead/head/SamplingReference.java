package dev.lmhead.head;

import dev.lmhead.TestData;
import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Rng;

/** Double-precision references of the sampled objectives and a small synthetic training problem. */
final class SamplingReference {
  private SamplingReference() {}

  /** Raw logit s(w) = h_r·W[w] + b[w] in double. */
  static double logit(float[] h, int r, float[] w, float[] b, int d, int id) {
    double s = b == null ? 0 : b[id];
    for (int q = 0; q < d; q++) s += (double) h[r * d + q] * w[id * d + q];
    return s;
  }

  /** The sampled-softmax objective of {@link SampledSoftmax}, recomputed in double from the arrays. */
  static double sampledLoss(float[] h, int n, int[] t, float[] w, float[] b, int d, int[] sample, CandidateSampler q,
                            boolean subtractLogQ, boolean removeHits, Loss loss, double[] rows) {
    int s = sample.length, count = 0;
    double total = 0;
    for (int r = 0; r < n; r++) {
      if (loss.ignored(t[r])) { if (rows != null) rows[r] = 0; continue; }
      count++;
      double ot = logit(h, r, w, b, d, t[r]) - (subtractLogQ ? Math.log(s) + q.logQ(t[r]) : 0);
      double[] o = new double[s + 1];
      o[0] = ot;
      double m = ot;
      for (int j = 0; j < s; j++) {
        o[j + 1] = removeHits && sample[j] == t[r] ? Double.NEGATIVE_INFINITY
            : logit(h, r, w, b, d, sample[j]) - (subtractLogQ ? Math.log(s) + q.logQ(sample[j]) : 0);
        m = Math.max(m, o[j + 1]);
      }
      double z = 0;
      for (double x : o) z += Math.exp(x - m);
      double l = m + Math.log(z) - ot;
      if (rows != null) rows[r] = l;
      total += l;
    }
    return loss.reduce(total, count);
  }

  static double softplus(double x) { return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))); }

  /** The NCE objective of {@link NceSoftmax}, recomputed in double from the arrays. */
  static double nceLoss(float[] h, int n, int[] t, float[] w, float[] b, int d, int[] sample, CandidateSampler q,
                        Loss loss, double[] rows) {
    int k = sample.length, count = 0;
    double total = 0;
    for (int r = 0; r < n; r++) {
      if (loss.ignored(t[r])) { if (rows != null) rows[r] = 0; continue; }
      count++;
      double l = softplus(-(logit(h, r, w, b, d, t[r]) - Math.log(k) - q.logQ(t[r])));
      for (int j = 0; j < k; j++) l += softplus(logit(h, r, w, b, d, sample[j]) - Math.log(k) - q.logQ(sample[j]));
      if (rows != null) rows[r] = l;
      total += l;
    }
    return loss.reduce(total, count);
  }

  /**
   * A synthetic next-word problem: hidden states are Gaussian, targets are drawn from a fixed teacher
   * softmax over V = 400 frequency-sorted words (Zipf-like bias, sharp weights).
   */
  record Problem(int v, int d, float[] trainH, int[] trainT, float[] evalH, int[] evalT, long[] counts) {}

  static Problem problem(long seed) {
    int v = 400, d = 16, nTrain = 4096, nEval = 1024;
    Rng rng = new Rng(seed);
    FullSoftmax teacher = new FullSoftmax(v, d, true, null, rng);
    for (int i = 0; i < teacher.weight.data.length; i++) teacher.weight.data[i] *= 6;
    for (int w = 0; w < v; w++) teacher.bias.data[w] = (float) -Math.log(w + 1.0);
    float[] th = TestData.gaussian(rng, nTrain * d, 1), eh = TestData.gaussian(rng, nEval * d, 1);
    int[] tt = drawTargets(teacher, th, nTrain, rng), et = drawTargets(teacher, eh, nEval, rng);
    long[] counts = new long[v];
    for (int x : tt) counts[x]++;
    return new Problem(v, d, th, tt, eh, et, counts);
  }

  private static int[] drawTargets(FullSoftmax teacher, float[] h, int n, Rng rng) {
    int v = teacher.vocabSize();
    float[] lp = new float[n * v];
    teacher.logProb(h, n, lp);
    int[] t = new int[n];
    for (int r = 0; r < n; r++) {
      double u = rng.nextDouble(), c = 0;
      int w = 0;
      for (; w < v - 1; w++) { c += Math.exp(lp[r * v + w]); if (c > u) break; }
      t[r] = w;
    }
    return t;
  }

  /** Mean exact NLL (nats) of the evaluation set, through targetLogProb. */
  static double exactNll(OutputLayer head, Problem p) {
    int n = p.evalT().length;
    float[] lp = new float[n];
    head.targetLogProb(p.evalH(), n, p.evalT(), lp);
    double s = 0;
    for (float x : lp) s -= x;
    return s / n;
  }

  /** Plain SGD on mean-reduced forwardBackward over minibatches of the training set. */
  static void sgd(OutputLayer head, Problem p, int steps, int batch, float lr) {
    int d = p.d();
    float[] h = new float[batch * d], g = new float[batch * d];
    int[] t = new int[batch];
    int nTrain = p.trainT().length;
    for (int step = 0; step < steps; step++) {
      int r0 = (step * batch) % nTrain;
      System.arraycopy(p.trainH(), r0 * d, h, 0, batch * d);
      System.arraycopy(p.trainT(), r0, t, 0, batch);
      for (Parameter q : head.parameters()) q.zeroGrad();
      head.forwardBackward(h, batch, t, g, Loss.MEAN, null);
      for (Parameter q : head.parameters()) {
        for (int i = 0; i < q.data.length; i++) q.data[i] -= lr * q.grad[i];
      }
    }
  }
}
