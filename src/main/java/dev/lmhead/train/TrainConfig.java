package dev.lmhead.train;

/**
 * Training hyper-parameters (everything but the architecture).
 *
 * @param schedule    "plateau": divide lr by {@code lrDecay} when validation perplexity does not improve
 *                    (PyTorch word-LM example, factor 4); "epoch": multiply lr by {@code lrDecay} after each
 *                    epoch from {@code decayStart} on (Zaremba et al., 0.5 after epoch 4); "none"
 * @param timeBudgetS stop training after this many seconds (0 = no limit); validation and test still run
 * @param maxTokens   stop after this many training tokens (0 = no limit)
 * @param evalBatch   batch size for validation and test perplexity (1 = one stream, state carried over the split)
 * @param saveEveryS  also write the resume checkpoint every this many seconds inside an epoch (0 = epoch ends only)
 * @param valEveryS   also measure validation perplexity every this many seconds of training (0 = epoch ends only)
 */
public record TrainConfig(int epochs, int bptt, int batch, double lr, double clip, String optimizer, float weightDecay,
                          String schedule, double lrDecay, int decayStart, double timeBudgetS, long maxTokens,
                          long seed, int evalBatch, int logInterval, double saveEveryS, double valEveryS) {

  /** Without intermediate validation. */
  public TrainConfig(int epochs, int bptt, int batch, double lr, double clip, String optimizer, float weightDecay,
                     String schedule, double lrDecay, int decayStart, double timeBudgetS, long maxTokens,
                     long seed, int evalBatch, int logInterval, double saveEveryS) {
    this(epochs, bptt, batch, lr, clip, optimizer, weightDecay, schedule, lrDecay, decayStart, timeBudgetS, maxTokens,
        seed, evalBatch, logInterval, saveEveryS, 0);
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
    if (!(lrDecay > 0)) throw new IllegalArgumentException("--lr-decay must be > 0, got " + lrDecay);
    if (!(timeBudgetS >= 0)) throw new IllegalArgumentException("--time-budget must be >= 0, got " + timeBudgetS);
    if (maxTokens < 0) throw new IllegalArgumentException("--max-tokens must be >= 0, got " + maxTokens);
    if (!(valEveryS >= 0)) throw new IllegalArgumentException("--val-every must be >= 0, got " + valEveryS);
    if (evalBatch < 1) throw new IllegalArgumentException("--eval-batch must be >= 1, got " + evalBatch);
    return this;
  }
}
