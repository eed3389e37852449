package dev.lmhead.data;

/**
 * Truncated-BPTT batches over one token stream, the standard recipe of PyTorch's
 * {@code word_language_model} ({@code batchify} + {@code get_batch}).
 *
 * <p>The stream of N tokens is trimmed to {@code B * nb} tokens, {@code nb = N / B} (the tail is
 * dropped), and cut into B contiguous columns: column b holds tokens {@code [b*nb, (b+1)*nb)}, so
 * each column is a continuous stretch of text whose recurrent state can be carried from one window
 * to the next. Windows then walk down the columns: at position p a window of
 * {@code T = min(bptt, nb - 1 - p)} steps has
 * <pre>
 *   inputs [t*B + b] = stream[b*nb + p + t]
 *   targets[t*B + b] = stream[b*nb + p + t + 1]      (t in [0, T), b in [0, B))
 * </pre>
 * i.e. time-major {@code [T, B]} arrays, targets shifted one step ahead. Positions go
 * {@code 0, bptt, 2*bptt, ...} while {@code p < nb - 1}, so an epoch has
 * {@code ceil((nb - 1) / bptt)} windows and the last may be shorter; every token of a column except
 * its first is a target exactly once. {@code bptt} may change from call to call (variable-length
 * BPTT); {@link #position()} and {@link #seek(int)} make resuming mid-epoch exact.
 */
public final class BpttBatcher {
  private final int[] stream;
  private final int batch;
  private final int nb;
  private int pos;

  /**
   * @param stream token ids (not copied; must not change while the batcher is used)
   * @param batch  number of columns B; the stream must hold at least 2 tokens per column
   */
  public BpttBatcher(int[] stream, int batch) {
    if (batch < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batch);
    if (stream.length / batch < 2) {
      throw new IllegalArgumentException("token stream of " + stream.length + " tokens is too short for batch size "
          + batch + " (need at least 2 tokens per column, " + 2L * batch + " tokens; lower the batch size)");
    }
    this.stream = stream;
    this.batch = batch;
    this.nb = stream.length / batch;
  }

  /** B, the number of columns. */
  public int batch() { return batch; }

  /** nb, the tokens per column ({@code stream.length / B}). */
  public int columnLength() { return nb; }

  /** Windows in one epoch with a fixed {@code bptt}: {@code ceil((nb - 1) / bptt)}. */
  public int numWindows(int bptt) {
    checkBptt(bptt);
    return (int) (((long) nb - 1 + bptt - 1) / bptt);
  }

  /**
   * Writes the next window into {@code inputs} and {@code targets} (each at least {@code T * B} long,
   * time-major, index {@code t*B + b}) and advances the position by T.
   *
   * @return T, the window length ({@code <= bptt}); 0 when the epoch is done (arrays untouched)
   */
  public int next(int bptt, int[] inputs, int[] targets) {
    checkBptt(bptt);
    int steps = Math.min(bptt, nb - 1 - pos);
    if (steps <= 0) return 0;
    long need = (long) steps * batch;
    if (inputs.length < need || targets.length < need) {
      throw new IllegalArgumentException("batch arrays too small: need " + need + " ints (" + steps + " x " + batch
          + "), got inputs " + inputs.length + ", targets " + targets.length);
    }
    for (int b = 0; b < batch; b++) {
      int src = b * nb + pos;
      for (int t = 0; t < steps; t++) {
        inputs[t * batch + b] = stream[src + t];
        targets[t * batch + b] = stream[src + t + 1];
      }
    }
    pos += steps;
    return steps;
  }

  /** Current position within the columns (the time step the next window starts at). */
  public int position() { return pos; }

  /** Continues from a {@link #position()} saved earlier; {@code 0 <= position <= nb - 1}. */
  public void seek(int position) {
    if (position < 0 || position > nb - 1) {
      throw new IllegalArgumentException("batch position " + position + " outside [0, " + (nb - 1) + "]");
    }
    pos = position;
  }

  /** Back to the start of the epoch. */
  public void reset() { pos = 0; }

  private static void checkBptt(int bptt) {
    if (bptt < 1) throw new IllegalArgumentException("bptt must be >= 1, got " + bptt);
  }
}
