package dev.lmhead.model;

import dev.lmhead.head.AdaptiveSoftmax;
import dev.lmhead.head.HeadSpec;
import dev.lmhead.head.Heads;
import dev.lmhead.head.Loss;
import dev.lmhead.head.OutputLayer;
import dev.lmhead.nn.AdaptiveInput;
import dev.lmhead.nn.Dropout;
import dev.lmhead.nn.Embedding;
import dev.lmhead.nn.InputLayer;
import dev.lmhead.nn.Lstm;
import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Rng;
import dev.lmhead.tensor.Workspace;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An LSTM language model: input layer → dropout → multi-layer LSTM → dropout → output layer (any
 * head). Parameter names follow PyTorch's word_language_model example: {@code encoder.*}, {@code rnn.*},
 * {@code decoder.*}. Works time-major on [T, B] token windows; the recurrent state is carried from one
 * call to the next (truncated BPTT) until {@link #resetState(int)}.
 */
public final class LanguageModel {
  public final ModelConfig config;
  public final InputLayer encoder;
  public final Lstm rnn;
  public final OutputLayer decoder;
  private final Dropout inDrop, outDrop;
  private final List<Parameter> params = new ArrayList<>();
  private final Map<String, Parameter> byName = new LinkedHashMap<>();

  private int batch = -1;
  private float[] h = new float[0], c = new float[0];
  // activations, grown lazily
  private float[] emb = new float[0], embDrop = new float[0], rnnOut = new float[0], headIn = new float[0];
  private int[] ids = new int[0];
  // layer 0's input gates per word, for packedHeadInputs once cacheInputGates was called (null: not cached)
  private float[] gateTable, gates0 = new float[0], newEmb = new float[0], newGates = new float[0];
  private int[] gateSlot, newIds = new int[0];
  private int gateRows;
  private float[] gRnnOut = new float[0], gHeadIn = new float[0], gEmb = new float[0], gEmbDrop = new float[0];

  /**
   * Builds a freshly initialised model. {@code counts} are the training unigram counts by id (for class
   * binning and Huffman trees).
   */
  public LanguageModel(ModelConfig cfg, long[] counts, Rng rng) {
    this(cfg, rng, (vocab, hidden, tiedWeight, r) -> Heads.create(cfg.head(), vocab, hidden, counts, tiedWeight, r));
  }

  /** Builds the output layer of a model: {@code tiedWeight} is the input embedding to share, or null. */
  @FunctionalInterface
  public interface HeadBuilder {
    OutputLayer build(int vocab, int hidden, Parameter tiedWeight, Rng rng);
  }

  /**
   * A model whose output layer comes from {@code head} instead of the registry: any {@link OutputLayer}
   * (a head of your own, or a built-in one with a structure the spec cannot express, such as a
   * hierarchical softmax over a tree of your own) trains and evaluates in the same LSTM. {@code cfg.head()}
   * still names the head for tying rules and descriptions.
   */
  public LanguageModel(ModelConfig cfg, Rng rng, HeadBuilder head) {
    this.config = cfg.validate();
    if (cfg.input().equals("adaptive")) {
      // adaptive input embeddings (Baevski & Auli 2019): bands by the same cutoffs as the softmax
      int[] cut = cfg.inputCutoffs() != null && cfg.inputCutoffs().length > 0 ? cfg.inputCutoffs() : null;
      if (cfg.tied()) {
        OutputLayer out = head.build(cfg.vocab(), cfg.hidden(), null, rng);
        if (!(out instanceof AdaptiveSoftmax softmax)) {
          throw new IllegalArgumentException("--input adaptive with --tied needs --head adaptive (or add --no-tied)");
        }
        decoder = out;
        encoder = AdaptiveTying.tiedTo(softmax, cut != null ? cut : softmax.cutoffs(),
            cfg.inputFactor() != null ? cfg.inputFactor() : softmax.divValue(), true, rng);
      } else {
        encoder = new AdaptiveInput(cfg.vocab(), cfg.emb(), cut != null ? cut : AdaptiveSoftmax.defaultCutoffs(cfg.vocab()),
            cfg.inputFactor() != null ? cfg.inputFactor() : 4.0, rng);
        decoder = head.build(cfg.vocab(), cfg.hidden(), null, rng);
      }
    } else {
      Embedding e = new Embedding(cfg.vocab(), cfg.emb(), cfg.initRange(), rng);
      encoder = e;
      decoder = head.build(cfg.vocab(), cfg.hidden(), cfg.tied() ? e.weight : null, rng);
      decoder.initLikeWordLanguageModel(cfg.initRange(), cfg.tied(), rng);
    }
    inDrop = new Dropout(cfg.dropout());
    rnn = new Lstm(cfg.emb(), cfg.hidden(), cfg.layers(), cfg.dropout(), cfg.lstmRange(), rng);
    outDrop = new Dropout(cfg.dropout());
    Map<Parameter, Boolean> seen = new IdentityHashMap<>();
    for (Parameter p : encoder.parameters()) add("encoder." + p.name(), p, seen);
    for (Parameter p : rnn.parameters()) add("rnn." + p.name(), p, seen);
    for (Parameter p : decoder.parameters()) add("decoder." + p.name(), p, seen);
  }

  private void add(String name, Parameter p, Map<Parameter, Boolean> seen) {
    if (seen.put(p, Boolean.TRUE) != null) return; // tied: registered under its first name
    byName.put(name, p);
    params.add(p);
  }

  /** Unique trainable parameters (tied tensors once). */
  public List<Parameter> parameters() { return params; }

  /** Parameters by their state-dict name (tied tensors under their first name). */
  public Map<String, Parameter> namedParameters() { return byName; }

  public long parameterCount() {
    long n = 0;
    for (Parameter p : params) n += p.size();
    return n;
  }

  public int vocabSize() { return config.vocab(); }

  /** Zeroes the recurrent state for a new batch size. */
  public void resetState(int batchSize) {
    batch = batchSize;
    int n = config.layers() * batchSize * config.hidden();
    if (h.length != n) { h = new float[n]; c = new float[n]; }
    else { java.util.Arrays.fill(h, 0f); java.util.Arrays.fill(c, 0f); }
  }

  /** The recurrent state [layers, B, H] (h then c), for checkpoints. */
  public float[] stateH() { return h; }
  public float[] stateC() { return c; }

  private void ensure(int rows) {
    int e = rows * config.emb(), o = rows * config.hidden();
    if (emb.length < e) { emb = new float[e]; embDrop = new float[e]; gEmb = new float[e]; gEmbDrop = new float[e]; }
    if (rnnOut.length < o) { rnnOut = new float[o]; headIn = new float[o]; gRnnOut = new float[o]; gHeadIn = new float[o]; }
  }

  private void checkBatch(int B) {
    if (B != batch) resetState(B);
  }

  /** Runs input → LSTM → dropout; returns the head input [T*B, H] (an internal buffer). */
  private float[] hidden(int[] inputs, int T, int B, boolean training, Rng rng) {
    checkBatch(B);
    int rows = T * B;
    ensure(rows);
    encoder.forward(inputs, rows, emb);
    inDrop.forward(emb, rows * config.emb(), embDrop, training, rng);
    rnn.forward(embDrop, T, B, h, c, rnnOut, training, rng);
    outDrop.forward(rnnOut, rows * config.hidden(), headIn, training, rng);
    return headIn;
  }

  /**
   * One training window: forward, mean NLL over the T*B targets, backward. Gradients accumulate into
   * the parameters; returns the mean loss in nats.
   */
  public double trainStep(int[] inputs, int[] targets, int T, int B, Rng rng) {
    decoder.train(true);
    int rows = T * B;
    float[] x = hidden(inputs, T, B, true, rng);
    double loss = decoder.forwardBackward(x, rows, targets, gHeadIn, Loss.MEAN, null);
    outDrop.backward(gHeadIn, rows * config.hidden(), gRnnOut);
    rnn.backward(gRnnOut, gEmbDrop);
    inDrop.backward(gEmbDrop, rows * config.emb(), gEmb);
    encoder.backward(inputs, rows, gEmb);
    return loss;
  }

  /** Sum of NLL (nats) over the T*B targets, no gradient, state carried. */
  public double evalSum(int[] inputs, int[] targets, int T, int B, float[] scratch) {
    int rows = T * B;
    float[] x = headInputs(inputs, T, B);
    decoder.targetLogProb(x, rows, targets, scratch);
    double s = 0;
    for (int i = 0; i < rows; i++) s -= scratch[i];
    return s;
  }

  /**
   * Feeds T*B inputs in evaluation mode, state carried, and returns the head inputs [T*B, H] (an
   * internal buffer, valid until the next call): what {@link #decoder} scores, e.g. for top-k.
   */
  public float[] headInputs(int[] inputs, int T, int B) {
    decoder.train(false);
    return hidden(inputs, T, B, false, null);
  }

  /**
   * Runs token sequences of different lengths in evaluation mode, each from a fresh state and only over its
   * own tokens (no padding; PyTorch's {@code PackedSequence}). The sequences must be sorted longest first;
   * {@code batchSizes} is {@link Lstm#batchSizes} of their lengths. Returns the packed head inputs
   * [Σ lengths, H] (an internal buffer, valid until the next call): step t of sequence b is row
   * batchSizes[0] + ... + batchSizes[t-1] + b. The recurrent state is left at each sequence's last step.
   */
  public float[] packedHeadInputs(int[][] seqsLongestFirst, int[] batchSizes) {
    return packedHeadInputs(seqsLongestFirst, batchSizes, null, null);
  }

  /**
   * {@link #packedHeadInputs(int[][], int[])} continuing from given states instead of a fresh one: sequence b
   * starts from h0/c0 [layers, B, H] at row b (e.g. a server's kept state after the sequence's prefix); null
   * starts every sequence from zeros. Afterwards {@link #stateH()}/{@link #stateC()} hold each sequence's state
   * after its last step, in the same layout.
   */
  public float[] packedHeadInputs(int[][] seqsLongestFirst, int[] batchSizes, float[] h0, float[] c0) {
    decoder.train(false);
    int B = batchSizes[0], rows = 0;
    if (seqsLongestFirst.length != B) throw new IllegalArgumentException("batchSizes[0] = " + B + " but " + seqsLongestFirst.length + " sequences");
    for (int n : batchSizes) rows += n;
    ensure(rows);
    if (ids.length < rows) ids = new int[rows];
    for (int t = 0, off = 0; t < batchSizes.length; off += batchSizes[t], t++)
      for (int b = 0; b < batchSizes[t]; b++) ids[off + b] = seqsLongestFirst[b][t];
    resetState(B);
    if ((h0 == null) != (c0 == null)) throw new IllegalArgumentException("h0 and c0 must both be given or both be null");
    if (h0 != null) {
      if (h0.length != h.length || c0.length != c.length)
        throw new IllegalArgumentException("initial state must be [layers, B, hidden] = " + h.length + " floats, got " + h0.length + " and " + c0.length);
      System.arraycopy(h0, 0, h, 0, h.length);
      System.arraycopy(c0, 0, c, 0, c.length);
    }
    if (cachedGates(rows)) {
      rnn.forwardPackedFromGates(gates0, batchSizes, h, c, rnnOut);
    } else {
      encoder.forward(ids, rows, emb);
      inDrop.forward(emb, rows * config.emb(), embDrop, false, null);
      rnn.forwardPacked(embDrop, batchSizes, h, c, rnnOut);
    }
    outDrop.forward(rnnOut, rows * config.hidden(), headIn, false, null);
    return headIn;
  }

  /**
   * For serving: from now on {@link #packedHeadInputs} keeps layer 0's input gates (b_ih + b_hh + W_ih·e_w, what
   * the LSTM computes first for every input word) per word, up to {@code maxBytes} of them, and reuses them
   * instead of multiplying each input again: about half of the LSTM's input-side products, which are a quarter
   * of a server's work at V = 267,735 with the adaptive softmax. The results equal the uncached ones up to float
   * rounding (the table's rows are computed in smaller products). Only for weights that no longer change: call
   * it again (which empties the table) after changing them. 0 turns it off.
   */
  public void cacheInputGates(long maxBytes) {
    if (maxBytes < 0) throw new IllegalArgumentException("maxBytes must be >= 0, got " + maxBytes);
    long rowBytes = 16L * config.hidden();
    int cap = (int) Math.min(config.vocab(), maxBytes / rowBytes);
    gateTable = cap > 0 ? new float[cap * 4 * config.hidden()] : null;
    gateSlot = cap > 0 ? new int[config.vocab()] : null;
    if (gateSlot != null) java.util.Arrays.fill(gateSlot, -1);
    gateRows = 0;
  }

  /** Words whose input gates {@link #cacheInputGates} holds now. */
  public int cachedInputGateWords() { return gateRows; }

  /**
   * Fills gates0 [rows, 4H] with the cached input gates of ids[0 .. rows), adding the words not cached yet while
   * the table has room; false (nothing filled) when caching is off or a word does not fit.
   */
  private boolean cachedGates(int rows) {
    if (gateTable == null) return false;
    int G = 4 * config.hidden(), cap = gateTable.length / G, fresh = 0;
    if (newIds.length < rows) newIds = new int[rows];
    for (int r = 0; r < rows; r++) {
      int id = ids[r];
      if (gateSlot[id] >= 0) continue;
      if (gateRows + fresh >= cap) {
        for (int q = 0; q < fresh; q++) gateSlot[newIds[q]] = -1; // the batch does not fit: leave the table as it was
        return false;
      }
      gateSlot[id] = gateRows + fresh; // claimed, so a repeated new word is computed once
      newIds[fresh++] = id;
    }
    if (fresh > 0) {
      int e = config.emb();
      newEmb = Workspace.grow(newEmb, (long) fresh * e);
      newGates = Workspace.grow(newGates, (long) fresh * G);
      encoder.forward(newIds, fresh, newEmb);
      rnn.inputGateRows(newEmb, fresh, newGates);
      System.arraycopy(newGates, 0, gateTable, gateRows * G, fresh * G);
      gateRows += fresh;
    }
    gates0 = Workspace.grow(gates0, (long) rows * G);
    for (int r = 0; r < rows; r++) System.arraycopy(gateTable, gateSlot[ids[r]] * G, gates0, r * G, G);
    return true;
  }

  /**
   * The head inputs (LSTM outputs, evaluation mode) at the first n positions of a token stream, fed as one
   * sequence with the state carried: out is [n, hidden]. Position i is the context that predicts stream[i+1].
   */
  public float[] contexts(int[] stream, int n, int bptt) {
    if (n < 1 || n > stream.length - 1) throw new IllegalArgumentException("need 1 <= contexts <= " + (stream.length - 1) + ", got " + n);
    int H = config.hidden();
    float[] out = new float[n * H];
    resetState(1);
    int[] win = new int[bptt];
    for (int pos = 0; pos < n; pos += bptt) {
      int T = Math.min(bptt, n - pos);
      System.arraycopy(stream, pos, win, 0, T);
      float[] x = hidden(win, T, 1, false, null);
      System.arraycopy(x, 0, out, pos * H, T * H);
    }
    return out;
  }

  /** Feeds T*B inputs and writes the full next-word log-distribution of the last step for each column. */
  public void nextLogProb(int[] inputs, int T, int B, float[] out /* [B, V] */) {
    decoder.train(false);
    float[] x = hidden(inputs, T, B, false, null);
    int H = config.hidden();
    float[] last = new float[B * H];
    System.arraycopy(x, (T - 1) * B * H, last, 0, B * H);
    decoder.logProb(last, B, out);
  }
}
