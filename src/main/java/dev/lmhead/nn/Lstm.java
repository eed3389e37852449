package dev.lmhead.nn;

import dev.lmhead.tensor.Blas;
import dev.lmhead.tensor.Rng;
import dev.lmhead.tensor.Vec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A multi-layer LSTM with PyTorch's {@code nn.LSTM} semantics, parameter layout and names, and explicit
 * forward/backward over preallocated buffers.
 *
 * <p>Layer k (input size {@code in_k}: {@code inputSize} for k = 0, else H) maps its input sequence
 * x_t to h_t with
 * <pre>
 *   z_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh         [4H], split into blocks (i, f, g, o)
 *   i = sigmoid(z_i)  f = sigmoid(z_f)  g = tanh(z_g)  o = sigmoid(z_o)
 *   c_t = f * c_{t-1} + i * g
 *   h_t = o * tanh(c_t)
 * </pre>
 * with {@code weight_ih_l{k}} = W_ih [4H, in_k], {@code weight_hh_l{k}} = W_hh [4H, H],
 * {@code bias_ih_l{k}}, {@code bias_hh_l{k}} [4H]. Between layers (not after the last) inverted dropout
 * is applied to the outputs in training, as PyTorch's {@code dropout} argument does.
 *
 * <p>Computation per layer: the input projection of all T steps is one GEMM
 * [T*B, in_k] x [in_k, 4H] on top of the summed biases; each step adds one recurrent product
 * [B, H] x [H, 4H] and then a fused, vectorised pass does the gate nonlinearities and the cell update.
 * The per-step products (few rows) go through {@link SmallGemm} against a weight packed once per call,
 * which is 1.3-1.8x faster than a BLAS call that repacks W_hh at every step; the big GEMMs go through
 * {@link Blas}.
 * Backward runs the time loop once per layer, computing dz_t (fused) and dh_{t-1} = dz_t W_hh (GEMM),
 * and then forms all weight gradients with big GEMMs over the T*B rows:
 * dW_hh += dZᵀ H_prev, dW_ih += dZᵀ X, db += Σ rows dZ, dX = dZ W_ih.
 *
 * <p>Truncated BPTT: the initial state (h, c) is an input without gradient, and the final state written
 * back receives none either. Buffers are sized for the largest T*B seen and then reused: no allocation
 * per call after warm-up. Results are deterministic for a fixed thread count.
 *
 * <p>Not thread-safe: one instance runs one forward/backward at a time.
 */
public final class Lstm {
  private static final VectorSpecies<Float> S = Vec.S;
  private static final int VL = S.length();
  private static final FloatVector ONE = FloatVector.broadcast(S, 1f);

  private final int inputSize, hiddenSize, layers;
  private final float dropout;
  private final Parameter[] wIh, wHh, bIh, bHh;
  private final List<Parameter> params;
  /** Inter-layer dropout: drops[k] sits between layer k and layer k+1. */
  private final Dropout[] drops;

  // ---- caches, sized for capRows = T*B rows (and capB batch rows) ----
  private int capRows = 0, capB = 0;
  /** Per layer: activated gates (i, f, g, o) per row, [T*B, 4H]. */
  private float[][] gates;
  /** Per layer: hidden states [T+1, B, H]; slot 0 is the initial state, slots 1..T the outputs. */
  private float[][] hs;
  /** Per layer: cell states [T+1, B, H]; slot 0 is the initial state. */
  private float[][] cs;
  /** Per layer: tanh(c_t), [T, B, H]. */
  private float[][] tanhC;
  /** Per layer: the layer's input [T*B, in_k]: a copy of x for layer 0, the dropped outputs below otherwise. */
  private float[][] xs;
  /** W_hhᵀ [H, 4H] of the layer being run forward: the per-step product reads it row by row. */
  private final float[] whhT;
  /**
   * Batches of at most this many rows run the recurrent product as dot products with W_hh's rows
   * ({@link SmallGemm#mulTransposed}) instead of transposing W_hh first (-Dlmhead.lstm.fewRows, default 1:
   * a one-row forward of 13 steps, 2x200, took 0.51 ms instead of 0.79; at two rows it was no faster).
   */
  static final int FEW_ROWS = Integer.getInteger("lmhead.lstm.fewRows", 1);
  /** Summed biases b_ih + b_hh of one layer, [4H]. */
  private final float[] biasSum;
  // backward scratch
  private float[] dZ = new float[0];       // [T*B, 4H]
  private float[] dH = new float[0];       // [T*B, H]: gradient w.r.t. the outputs of the current layer
  private float[] dhRec = new float[0];    // [B, H]: dh_{t-1} from the recurrence
  private float[] dcRec = new float[0];    // [B, H]: dc_{t-1} from the recurrence
  private final float[] dbTmp;             // [4H]

  /** T and B of the last training forward, or -1 when backward is not possible. */
  private int lastT = -1, lastB = -1;
  private boolean lastDropped;

  /**
   * Weights in PyTorch {@code nn.LSTM} layout and names; every parameter is initialised
   * uniform(-initRange, initRange) in PyTorch order (PyTorch's default is 1/sqrt(H); the Zaremba recipe
   * uses 0.1). {@code dropout} is PyTorch's inter-layer dropout probability.
   */
  public Lstm(int inputSize, int hiddenSize, int layers, float dropout, float initRange, Rng rng) {
    if (inputSize < 1) throw new IllegalArgumentException("LSTM input size must be >= 1, got " + inputSize);
    if (hiddenSize < 1) throw new IllegalArgumentException("LSTM hidden size must be >= 1, got " + hiddenSize);
    if (layers < 1) throw new IllegalArgumentException("LSTM layers must be >= 1, got " + layers);
    if (!(dropout >= 0f && dropout < 1f)) throw new IllegalArgumentException("LSTM dropout must be in [0, 1), got " + dropout);
    if (!(initRange >= 0f) || Float.isInfinite(initRange)) throw new IllegalArgumentException("LSTM init range must be finite and >= 0, got " + initRange);
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.layers = layers;
    this.dropout = dropout;
    int g = 4 * hiddenSize;
    wIh = new Parameter[layers];
    wHh = new Parameter[layers];
    bIh = new Parameter[layers];
    bHh = new Parameter[layers];
    List<Parameter> ps = new ArrayList<>();
    for (int k = 0; k < layers; k++) {
      int in = k == 0 ? inputSize : hiddenSize;
      ps.add(wIh[k] = new Parameter("weight_ih_l" + k, g, in));
      ps.add(wHh[k] = new Parameter("weight_hh_l" + k, g, hiddenSize));
      ps.add(bIh[k] = new Parameter("bias_ih_l" + k, g));
      ps.add(bHh[k] = new Parameter("bias_hh_l" + k, g));
    }
    for (Parameter p : ps) rng.fillUniform(p.data, -initRange, initRange);
    params = List.copyOf(ps);
    drops = new Dropout[layers - 1];
    for (int k = 0; k < layers - 1; k++) drops[k] = new Dropout(dropout);
    gates = new float[layers][0];
    hs = new float[layers][0];
    cs = new float[layers][0];
    tanhC = new float[layers][0];
    xs = new float[layers][0];
    biasSum = new float[g];
    whhT = new float[g * hiddenSize];
    dbTmp = new float[g];
  }

  public int inputSize() { return inputSize; }
  public int hiddenSize() { return hiddenSize; }
  public int layers() { return layers; }
  public float dropout() { return dropout; }

  /** In PyTorch order: l0 (weight_ih, weight_hh, bias_ih, bias_hh), l1, ... */
  public List<Parameter> parameters() { return params; }

  private void ensureCapacity(int T, int B) {
    int rows = T * B, H = hiddenSize;
    if (rows > capRows) {
      capRows = rows;
      for (int k = 0; k < layers; k++) {
        int in = k == 0 ? inputSize : H;
        gates[k] = new float[rows * 4 * H];
        tanhC[k] = new float[rows * H];
        xs[k] = new float[rows * in];
        hs[k] = new float[(rows + B) * H];
        cs[k] = new float[(rows + B) * H];
      }
      dZ = new float[rows * 4 * H];
      dH = new float[rows * H];
    }
    if (B > capB) {
      capB = B;
      dhRec = new float[B * H];
      dcRec = new float[B * H];
    }
    for (int k = 0; k < layers; k++) {
      // hs/cs hold T+1 slots; a larger B with the same T*B capacity needs more room
      if (hs[k].length < (rows + B) * H) {
        hs[k] = new float[(rows + B) * H];
        cs[k] = new float[(rows + B) * H];
      }
    }
  }

  /**
   * Runs the LSTM over a sequence.
   *
   * @param x time-major input [T, B, inputSize]
   * @param h hidden state [layers, B, H]: read as the initial state, overwritten with the final state
   * @param c cell state [layers, B, H]: likewise
   * @param out top-layer outputs [T, B, H]
   * @param training applies inter-layer dropout (masks drawn from {@code rng}) and enables {@link #backward}
   * @param rng the source of dropout masks; unused when not training or dropout is 0 (may then be null)
   */
  public void forward(float[] x, int T, int B, float[] h, float[] c, float[] out, boolean training, Rng rng) {
    int H = hiddenSize, G = 4 * H;
    if (T < 1 || B < 1) throw new IllegalArgumentException("LSTM needs T >= 1 and B >= 1, got T=" + T + ", B=" + B);
    checkLength("x", x, (long) T * B * inputSize);
    checkLength("h", h, (long) layers * B * H);
    checkLength("c", c, (long) layers * B * H);
    checkLength("out", out, (long) T * B * H);
    if (training && dropout > 0f && layers > 1 && rng == null) throw new IllegalArgumentException("LSTM training forward with dropout needs an Rng");
    ensureCapacity(T, B);
    lastT = -1;
    int rows = T * B, bh = B * H;
    boolean dropped = training && dropout > 0f && layers > 1;
    for (int k = 0; k < layers; k++) {
      int in = k == 0 ? inputSize : H;
      // the layer's input: x itself (copied when training, so backward does not depend on the caller's buffer),
      // the outputs of layer k-1 (slots 1..T of hs[k-1]) or their dropped copy
      float[] xin;
      int xinOff;
      if (k == 0) {
        if (training) {
          System.arraycopy(x, 0, xs[0], 0, rows * in);
          xin = xs[0];
        } else {
          xin = x;
        }
        xinOff = 0;
      } else if (dropped) {
        drops[k - 1].forward(hs[k - 1], bh, rows * H, xs[k], 0, true, rng);
        xin = xs[k];
        xinOff = 0;
      } else {
        xin = hs[k - 1];
        xinOff = bh;
      }
      float[] gk = gates[k], hk = hs[k], ck = cs[k], tk = tanhC[k];
      inputGates(k, xin, xinOff, in, rows, h, c, bh);
      // the recurrent product per step, h_{t-1} [B, H] x W_hhᵀ [H, 4H]: against W_hhᵀ packed once per call,
      // or, for one row (a request served alone, a line scored alone), as dot products with W_hh's rows
      boolean few = B <= FEW_ROWS;
      if (!few) SmallGemm.transpose(wHh[k].data, G, H, whhT);
      for (int t = 0; t < T; t++) {
        int zOff = t * B * G;
        if (few) SmallGemm.mulTransposed(B, G, H, hk, t * bh, H, wHh[k].data, 0, H, gk, zOff, G);
        else SmallGemm.mul(B, G, H, hk, t * bh, H, whhT, 0, G, true, gk, zOff, G);
        for (int b = 0; b < B; b++) {
          cellForward(gk, zOff + b * G, ck, t * bh + b * H, ck, (t + 1) * bh + b * H,
              hk, (t + 1) * bh + b * H, tk, t * bh + b * H, H);
        }
      }
      System.arraycopy(hk, rows * H, h, k * bh, bh);
      System.arraycopy(ck, rows * H, c, k * bh, bh);
    }
    System.arraycopy(hs[layers - 1], bh, out, 0, rows * H);
    if (training) {
      lastT = T;
      lastB = B;
      lastDropped = dropped;
    }
  }

  /**
   * Runs sequences of different lengths, each only over its own steps (PyTorch's {@code PackedSequence}),
   * in evaluation mode: no padded row is ever computed. Sequences are sorted by length, longest first;
   * {@code batchSizes[t]} is the number of sequences longer than t (non-increasing, batchSizes[0] = B), and
   * step t of sequence b (b &lt; batchSizes[t]) is row {@code offset(t) + b} of the packed tensors, with
   * offset(t) = batchSizes[0] + ... + batchSizes[t-1].
   *
   * @param x packed input [rows, inputSize], rows = Σ batchSizes
   * @param h hidden state [layers, B, H]: read as the initial state, overwritten with each sequence's state
   *     after its own last step (PyTorch's h_n for a packed input)
   * @param c cell state [layers, B, H]: likewise
   * @param out packed top-layer outputs [rows, H]
   */
  public void forwardPacked(float[] x, int[] batchSizes, float[] h, float[] c, float[] out) {
    forwardPacked(x, null, batchSizes, h, c, out);
  }

  /**
   * {@link #forwardPacked} with layer 0's input half given instead of its input: {@code gates0} holds, for each
   * packed row, b_ih + b_hh + W_ih·x ([rows, 4H], e.g. rows of {@link #inputGateRows} kept per word by a server).
   */
  public void forwardPackedFromGates(float[] gates0, int[] batchSizes, float[] h, float[] c, float[] out) {
    forwardPacked(null, gates0, batchSizes, h, c, out);
  }

  /** Layer 0's input half b_ih + b_hh + W_ih·x for n input rows x [n, inputSize], into out [n, 4H]. */
  public void inputGateRows(float[] x, int n, float[] out) {
    checkLength("x", x, (long) n * inputSize);
    checkLength("out", out, (long) n * 4 * hiddenSize);
    inputHalf(0, x, 0, inputSize, n, out);
  }

  private void forwardPacked(float[] x, float[] gates0, int[] batchSizes, float[] h, float[] c, float[] out) {
    int H = hiddenSize, G = 4 * H, T = batchSizes.length;
    if (T < 1 || batchSizes[0] < 1) throw new IllegalArgumentException("packed LSTM input needs at least one step of one sequence");
    int B = batchSizes[0], rows = 0;
    for (int t = 0; t < T; t++) {
      if (batchSizes[t] < 1 || batchSizes[t] > (t == 0 ? B : batchSizes[t - 1]))
        throw new IllegalArgumentException("packed batch sizes must be positive and non-increasing, got " + Arrays.toString(batchSizes));
      rows += batchSizes[t];
    }
    if (gates0 == null) checkLength("x", x, (long) rows * inputSize);
    else checkLength("gates0", gates0, (long) rows * G);
    checkLength("h", h, (long) layers * B * H);
    checkLength("c", c, (long) layers * B * H);
    checkLength("out", out, (long) rows * H);
    ensureCapacity(T, B);
    lastT = -1;
    int bh = B * H;
    for (int k = 0; k < layers; k++) {
      int in = k == 0 ? inputSize : H;
      float[] xin = k == 0 ? x : hs[k - 1];
      int xinOff = k == 0 ? 0 : bh;
      // hs[k] / cs[k]: the initial state in the first B rows, then the packed rows
      float[] gk = gates[k], hk = hs[k], ck = cs[k], tk = tanhC[k];
      if (k == 0 && gates0 != null) {
        System.arraycopy(gates0, 0, gk, 0, rows * G);
        initialState(k, h, c, bh);
      } else {
        inputGates(k, xin, xinOff, in, rows, h, c, bh);
      }
      if (B > FEW_ROWS) SmallGemm.transpose(wHh[k].data, G, H, whhT);
      int prev = 0; // row of step t-1's first sequence in hk/ck (the initial state for t = 0)
      int off = B;  // row of step t's first sequence in hk/ck; its gates are at row off - B
      for (int t = 0; t < T; t++) {
        int n = batchSizes[t];
        int zOff = (off - B) * G;
        if (n <= FEW_ROWS) SmallGemm.mulTransposed(n, G, H, hk, prev * H, H, wHh[k].data, 0, H, gk, zOff, G);
        else SmallGemm.mul(n, G, H, hk, prev * H, H, whhT, 0, G, true, gk, zOff, G);
        for (int b = 0; b < n; b++) {
          cellForward(gk, zOff + b * G, ck, (prev + b) * H, ck, (off + b) * H, hk, (off + b) * H, tk, (off - B + b) * H, H);
        }
        // sequences that end here (longer than t, not longer than t + 1) hand over their final state
        int next = t + 1 < T ? batchSizes[t + 1] : 0;
        for (int b = next; b < n; b++) {
          System.arraycopy(hk, (off + b) * H, h, k * bh + b * H, H);
          System.arraycopy(ck, (off + b) * H, c, k * bh + b * H, H);
        }
        prev = off;
        off += n;
      }
    }
    System.arraycopy(hs[layers - 1], bh, out, 0, rows * H);
  }

  /**
   * Layer k's input half of every step at once, Z = b_ih + b_hh + X W_ihᵀ over all rows into gates[k], and its
   * initial state (h, c of layer k) into the first B rows of hs[k] / cs[k].
   */
  private void inputGates(int k, float[] xin, int xinOff, int in, int rows, float[] h, float[] c, int bh) {
    inputHalf(k, xin, xinOff, in, rows, gates[k]);
    initialState(k, h, c, bh);
  }

  /** out[r] = b_ih + b_hh + W_ih·x_r of layer k for rows input rows of width in, [rows, 4H]. */
  private void inputHalf(int k, float[] xin, int xinOff, int in, int rows, float[] out) {
    int G = 4 * hiddenSize;
    float[] bi = bIh[k].data, bhh = bHh[k].data;
    for (int j = 0; j < G; j++) biasSum[j] = bi[j] + bhh[j];
    for (int r = 0; r < rows; r++) System.arraycopy(biasSum, 0, out, r * G, G);
    Blas.get().sgemm(false, true, rows, G, in, 1f, xin, xinOff, in, wIh[k].data, 0, in, 1f, out, 0, G);
  }

  /** Layer k's initial state (h, c) into the first B rows of hs[k] / cs[k]. */
  private void initialState(int k, float[] h, float[] c, int bh) {
    System.arraycopy(h, k * bh, hs[k], 0, bh);
    System.arraycopy(c, k * bh, cs[k], 0, bh);
  }

  /** The packed batch sizes of sequences with these lengths, sorted longest first (see {@link #forwardPacked}). */
  public static int[] batchSizes(int[] lengthsDescending) {
    int B = lengthsDescending.length;
    if (B < 1) throw new IllegalArgumentException("no sequences");
    int T = lengthsDescending[0];
    int[] bs = new int[T];
    for (int b = 0; b < B; b++) {
      int len = lengthsDescending[b];
      if (len < 1 || (b > 0 && len > lengthsDescending[b - 1]))
        throw new IllegalArgumentException("sequence lengths must be >= 1 and sorted longest first, got " + Arrays.toString(lengthsDescending));
      for (int t = 0; t < len; t++) bs[t]++;
    }
    return bs;
  }

  /**
   * Backpropagates through the last training {@link #forward}.
   *
   * @param gradOut d loss / d out, [T, B, H]
   * @param gradX receives d loss / d x, [T, B, inputSize]; may be null when not needed
   */
  public void backward(float[] gradOut, float[] gradX) {
    if (lastT < 0) throw new IllegalStateException("LSTM backward needs a preceding training forward");
    int T = lastT, B = lastB, H = hiddenSize, G = 4 * H, rows = T * B, bh = B * H;
    checkLength("gradOut", gradOut, (long) rows * H);
    if (gradX != null) checkLength("gradX", gradX, (long) rows * inputSize);
    Blas blas = Blas.get();
    float[] dOut = gradOut;
    for (int k = layers - 1; k >= 0; k--) {
      int in = k == 0 ? inputSize : H;
      float[] gk = gates[k], ck = cs[k], tk = tanhC[k], whh = wHh[k].data;
      Arrays.fill(dhRec, 0, bh, 0f);
      Arrays.fill(dcRec, 0, bh, 0f);
      for (int t = T - 1; t >= 0; t--) {
        int zOff = t * B * G;
        for (int b = 0; b < B; b++) {
          int r = t * bh + b * H;
          cellBackward(dOut, r, dhRec, b * H, dcRec, b * H, gk, zOff + b * G, ck, r, tk, r, dZ, zOff + b * G, H);
        }
        // dh_{t-1} = dz_t W_hh; no gradient flows into the initial state
        if (t > 0) SmallGemm.mul(B, H, G, dZ, zOff, G, whh, 0, H, false, dhRec, 0, H);
      }
      // weight gradients over all T*B rows
      blas.sgemm(true, false, G, H, rows, 1f, dZ, 0, G, hs[k], 0, H, 1f, wHh[k].grad, 0, H);
      float[] xin = xs[k];
      int xinOff = 0;
      if (k > 0 && !lastDropped) { xin = hs[k - 1]; xinOff = bh; }
      blas.sgemm(true, false, G, in, rows, 1f, dZ, 0, G, xin, xinOff, in, 1f, wIh[k].grad, 0, in);
      Arrays.fill(dbTmp, 0f);
      for (int r = 0; r < rows; r++) Vec.add(dZ, r * G, dbTmp, 0, G);
      Vec.add(dbTmp, 0, bIh[k].grad, 0, G);
      Vec.add(dbTmp, 0, bHh[k].grad, 0, G);
      // gradient w.r.t. the layer input
      if (k > 0) {
        blas.sgemm(false, false, rows, H, G, 1f, dZ, 0, G, wIh[k].data, 0, in, 0f, dH, 0, H);
        if (lastDropped) drops[k - 1].backward(dH, rows * H, dH);
        dOut = dH;
      } else if (gradX != null) {
        blas.sgemm(false, false, rows, in, G, 1f, dZ, 0, G, wIh[0].data, 0, in, 0f, gradX, 0, in);
      }
    }
  }

  /**
   * One batch row of one step: z (4H pre-activations at zOff) becomes the activated gates in place;
   * c_t = f c_{t-1} + i g, tanh(c_t) and h_t = o tanh(c_t) are written at their offsets.
   *
   * <p>As passes over arrays, one function each, rather than one loop calling sigmoid and tanh on vectors:
   * C2 inlines within a budget of nodes per compiled method, and a vector-valued call it does not inline
   * boxes every vector it passes (the whole cell then ran several times slower, in some JVM runs and not in
   * others, depending on what got compiled first). A pass that is not inlined costs one call.
   */
  private static void cellForward(float[] z, int zOff, float[] cPrev, int cpOff, float[] cNew, int cnOff,
                                  float[] h, int hOff, float[] tc, int tOff, int H) {
    Vec.sigmoidInPlace(z, zOff, 2 * H);     // i, f
    Vec.tanhInPlace(z, zOff + 2 * H, H);    // g
    Vec.sigmoidInPlace(z, zOff + 3 * H, H); // o
    cellState(z, zOff, cPrev, cpOff, cNew, cnOff, tc, tOff, H);
    Vec.tanhInPlace(tc, tOff, H);
    gated(z, zOff + 3 * H, tc, tOff, h, hOff, H);
  }

  /** c_t = f c_{t-1} + i g from the activated gates, into cNew and (to be tanh'ed in place) tc. */
  private static void cellState(float[] z, int zOff, float[] cPrev, int cpOff, float[] cNew, int cnOff,
                                float[] tc, int tOff, int H) {
    int iO = zOff, fO = zOff + H, gO = zOff + 2 * H;
    int j = 0;
    for (int ub = S.loopBound(H); j < ub; j += VL) {
      FloatVector i = FloatVector.fromArray(S, z, iO + j), f = FloatVector.fromArray(S, z, fO + j);
      FloatVector cv = f.mul(FloatVector.fromArray(S, cPrev, cpOff + j)).add(i.mul(FloatVector.fromArray(S, z, gO + j)));
      cv.intoArray(cNew, cnOff + j);
      cv.intoArray(tc, tOff + j);
    }
    for (; j < H; j++) {
      float cv = z[fO + j] * cPrev[cpOff + j] + z[iO + j] * z[gO + j];
      cNew[cnOff + j] = cv;
      tc[tOff + j] = cv;
    }
  }

  /** h = o ⊙ tanh(c_t). */
  private static void gated(float[] o, int oOff, float[] tc, int tOff, float[] h, int hOff, int H) {
    int j = 0;
    for (int ub = S.loopBound(H); j < ub; j += VL) {
      FloatVector.fromArray(S, o, oOff + j).mul(FloatVector.fromArray(S, tc, tOff + j)).intoArray(h, hOff + j);
    }
    for (; j < H; j++) h[hOff + j] = o[oOff + j] * tc[tOff + j];
  }

  /**
   * One batch row of one backward step. dh = dOut + dhRec; with the cached gates a = (i, f, g, o),
   * c_{t-1} and tanh(c_t):
   * <pre>
   *   dc  = dcRec + dh o (1 - tanh²c_t)       do = dh tanh(c_t) o (1 - o)
   *   di  = dc g i (1 - i)    df = dc c_{t-1} f (1 - f)    dg = dc i (1 - g²)
   *   dcRec ← dc f
   * </pre>
   * writes dz = (di, df, dg, do) at dzOff. c_{t-1} is read from cs at the same row offset (slot t).
   */
  private static void cellBackward(float[] dOut, int dOff, float[] dhRec, int rOff, float[] dcRec, int cOff,
                                   float[] a, int aOff, float[] cs, int cpOff, float[] tc, int tOff,
                                   float[] dz, int dzOff, int H) {
    int iO = aOff, fO = aOff + H, gO = aOff + 2 * H, oO = aOff + 3 * H;
    int j = 0;
    for (int ub = S.loopBound(H); j < ub; j += VL) {
      FloatVector dh = FloatVector.fromArray(S, dOut, dOff + j).add(FloatVector.fromArray(S, dhRec, rOff + j));
      FloatVector i = FloatVector.fromArray(S, a, iO + j);
      FloatVector f = FloatVector.fromArray(S, a, fO + j);
      FloatVector g = FloatVector.fromArray(S, a, gO + j);
      FloatVector o = FloatVector.fromArray(S, a, oO + j);
      FloatVector tcv = FloatVector.fromArray(S, tc, tOff + j);
      FloatVector cp = FloatVector.fromArray(S, cs, cpOff + j);
      FloatVector dc = dh.mul(o).mul(ONE.sub(tcv.mul(tcv))).add(FloatVector.fromArray(S, dcRec, cOff + j));
      FloatVector dO = dh.mul(tcv).mul(o).mul(o.neg().add(1f));
      FloatVector dI = dc.mul(g).mul(i).mul(i.neg().add(1f));
      FloatVector dF = dc.mul(cp).mul(f).mul(f.neg().add(1f));
      FloatVector dG = dc.mul(i).mul(ONE.sub(g.mul(g)));
      dc.mul(f).intoArray(dcRec, cOff + j);
      dI.intoArray(dz, dzOff + j);
      dF.intoArray(dz, dzOff + H + j);
      dG.intoArray(dz, dzOff + 2 * H + j);
      dO.intoArray(dz, dzOff + 3 * H + j);
    }
    for (; j < H; j++) {
      float dh = dOut[dOff + j] + dhRec[rOff + j];
      float i = a[iO + j], f = a[fO + j], g = a[gO + j], o = a[oO + j], tcv = tc[tOff + j], cp = cs[cpOff + j];
      float dc = dh * o * (1f - tcv * tcv) + dcRec[cOff + j];
      dz[dzOff + 3 * H + j] = dh * tcv * o * (1f - o);
      dz[dzOff + j] = dc * g * i * (1f - i);
      dz[dzOff + H + j] = dc * cp * f * (1f - f);
      dz[dzOff + 2 * H + j] = dc * i * (1f - g * g);
      dcRec[cOff + j] = dc * f;
    }
  }

  private static void checkLength(String what, float[] a, long need) {
    if (a == null || a.length < need) {
      throw new IllegalArgumentException("LSTM " + what + " needs " + need + " floats, got " + (a == null ? "null" : a.length));
    }
  }
}
