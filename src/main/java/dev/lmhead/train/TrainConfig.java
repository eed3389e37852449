package dev.lmhead.train;

/**
 * Training hyper-parameters (everything but the architecture).
 *
 * @param schedule    "plateau": multiply lr by {@code lrDecay} when validation perplexity does not improve
 *                    (PyTorch word-LM example: 0.25, i.e. lr / 4); "epoch": multiply lr by {@code lrDecay}
 *                    after each epoch from {@code decayStart} on (Zaremba et al., 0.5 after epoch 4); "none"
 * @param lrDecay     the factor both schedules multiply the lr by, in (0, 1]; {@link #defaultLrDecay} per schedule
 * @param timeBudgetS stop training after this many seconds (0 = no limit); validation and test still run
 * @param maxTokens   stop after this many training tokens (0 = no limit)
 * @param evalBatch   batch size for validation and test perplexity (1 = one stream, state carried over the split)
 * @param saveEveryS  also write the resume checkpoint every this many seconds inside an epoch (0 = epoch ends only)
 * @param valEveryS   also measure validation perplexity every this many seconds of training (0 = epoch ends only)
 * @param lossScale   "token": the loss is the mean NLL over all T*B targets of a window (PyTorch's
 *                    cross_entropy, the word_language_model example); "sequence": the NLL summed over the
 *                    T time steps and averaged over the batch (Zaremba et al. 2014, TensorFlow's PTB tutorial),
 *                    i.e. gradients T times larger, so their "lr 1, clip 5" equals "lr 20, clip 0.25" per token
 */
public record TrainConfig(int epochs, int bptt, int batch, double lr, double clip, String optimizer, float weightDecay,
                          String schedule, double lrDecay, int decayStart, double timeBudgetS, long maxTokens,
                          long seed, int evalBatch, int logInterval, double saveEveryS, double valEveryS, String lossScale) {

  /** Without intermediate validation. */
  public TrainConfig(int epochs, int bptt, int batch, double lr, double clip, String optimizer, float weightDecay,
                     String schedule, double lrDecay, int decayStart, double timeBudgetS, long maxTokens,
                     long seed, int evalBatch, int logInterval, double saveEveryS) {
    this(epochs, bptt, batch, lr, clip, optimizer, weightDecay, schedule, lrDecay, decayStart, timeBudgetS, maxTokens,
        seed, evalBatch, logInterval, saveEveryS, 0, "token");
  }

  /** Token-mean loss. */
  public TrainConfig(int epochs, int bptt, int batch, double lr, double clip, String optimizer, float weightDecay,
                     String schedule, double lrDecay, int decayStart, double timeBudgetS, long maxTokens,
                     long seed, int evalBatch, int logInterval, double saveEveryS, double valEveryS) {
    this(epochs, bptt, batch, lr, clip, optimizer, weightDecay, schedule, lrDecay, decayStart, timeBudgetS, maxTokens,
        seed, evalBatch, logInterval, saveEveryS, valEveryS, "token");
  }

  /** The --lr-decay of a schedule when none is given: 0.25 on a plateau (the PyTorch example's lr / 4), 0.5 per epoch (Zaremba et al.). */
  public static double defaultLrDecay(String schedule) {
    return "epoch".equals(schedule) ? 0.5 : 0.25;
  }

  public TrainConfig validate() {
    if (epochs < 1) throw new IllegalArgumentException("--epochs must be >= 1, got " + epochs);
    if (bptt < 1) throw new IllegalArgumentException("--bptt must be >= 1, got " + bptt);
    if (batch < 1) throw new IllegalArgumentException("--batch must be >= 1, got " + batch);
    if (!(lr > 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("--lr must be > 0, got " + lr);
    if (!(clip >= 0)) throw new IllegalArgumentException("--clip must be >= 0 (0 disables clipping), got " + clip);
    if (!(weightDecay >= 0)) throw new IllegalArgumentException("--weight-decay must be >= 0, got " + weightDecay);
    if (!schedule.equals("plateau") && !schedule.equals("epoch") && !schedule.equals("none")) {
      throw new IllegalArgumentException("--lr-schedule must be plateau, epoch or none, got '" + schedule + "'");
    }
    if (!(lrDecay > 0 && lrDecay <= 1)) {
      throw new IllegalArgumentException("--lr-decay must be in (0, 1]: the schedule multiplies the lr by it, got " + lrDecay
          + (lrDecay > 1 ? " (to divide the lr by " + lrDecay + ", write --lr-decay " + (float) (1 / lrDecay) + ")" : ""));
    }
    if (!(timeBudgetS >= 0)) throw new IllegalArgumentException("--time-budget must be >= 0, got " + timeBudgetS);
    if (maxTokens < 0) throw new IllegalArgumentException("--max-tokens must be >= 0, got " + maxTokens);
    if (!"token".equals(lossScale) && !"sequence".equals(lossScale)) {
      throw new IllegalArgumentException("--loss-scale must be token or sequence, got '" + lossScale + "'");
    }
    if (!(valEveryS >= 0)) throw new IllegalArgumentException("--val-every must be >= 0, got " + valEveryS);
    if (evalBatch < 1) throw new IllegalArgumentException("--eval-batch must be >= 1, got " + evalBatch);
    return this;
  }
}
