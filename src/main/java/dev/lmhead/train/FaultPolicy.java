package dev.lmhead.train;

/**
 * Decides when training has a numeric fault and what to do about it, by a rule that does not depend on
 * how a CPU's kernels round.
 *
 * <p>A training step is a fault when its loss is not finite, its gradient norm is not finite, or its
 * mean loss per token <em>explodes</em>: exceeds {@link #lossLimit(int)} = 3·ln V + 10 nats, far above
 * ln V, the loss of the uniform model that training starts near. The last rule matters: with a huge
 * learning rate one CPU's kernels turn the weights into NaN while another's keep them finite and huge
 * (losses of 1e29 nats); both are the same divergence and must be handled the same way. A validation
 * is a fault by the same rule on its mean NLL (so a non-finite perplexity is one).
 *
 * <p>The policy: a faulty step is skipped ({@link Action#SKIP}); {@link #ROLLBACK_AFTER} consecutive
 * faulty steps, or one faulty validation, roll the parameters back to the last good state
 * ({@link Action#ROLL_BACK}); more than {@link #MAX_ROLLBACKS} roll-backs or {@link #MAX_FAULTS} faults
 * in all end the run ({@link Action#STOP}). The trainer halves the learning rate at every fault.
 */
public final class FaultPolicy {
  /** What the trainer does after a step or a validation. */
  public enum Action { OK, SKIP, ROLL_BACK, STOP }

  /** Consecutive faulty steps that trigger a roll-back to the last good parameters. */
  public static final int ROLLBACK_AFTER = 3;
  /** Roll-backs, and faults in all, after which the run is declared diverged. */
  public static final int MAX_ROLLBACKS = 5, MAX_FAULTS = 30;

  private final double limit, stepLimit;
  private int faults, streak, rollbacks;
  private String stopReason = "";

  /** @param vocab the vocabulary size V that sets the explosion threshold (training loss = NLL) */
  public FaultPolicy(int vocab) {
    this(vocab, lossLimit(vocab));
  }

  /**
   * @param vocab     V, for the validation NLL's limit
   * @param stepLimit the limit on the training loss, for heads whose objective is not the NLL
   *                  ({@link dev.lmhead.head.OutputLayer#explodedLoss})
   */
  public FaultPolicy(int vocab, double stepLimit) {
    this.limit = lossLimit(vocab);
    this.stepLimit = stepLimit;
  }

  /** The mean NLL per token (nats) above which a step or validation has exploded: 3·ln V + 10. */
  public static double lossLimit(int vocab) {
    return dev.lmhead.head.OutputLayer.nllLimit(vocab);
  }

  public double limit() { return limit; }

  /** True when a mean NLL (nats per token) is NaN, infinite, or above the explosion limit. */
  public boolean isFault(double meanLoss) {
    return !(meanLoss <= limit); // false for NaN and +Inf too
  }

  /** {@link #isFault} for a training loss, against the head's own limit. */
  public boolean isStepFault(double loss) {
    return !(loss <= stepLimit);
  }

  /** A training step with mean loss {@code loss} and gradient norm {@code gradNorm} (before clipping). */
  public Action onStep(double loss, double gradNorm) {
    if (!isStepFault(loss) && Double.isFinite(gradNorm)) {
      streak = 0;
      return Action.OK;
    }
    faults++;
    streak++;
    if (faults >= MAX_FAULTS) return stop("too many faulty steps (non-finite or exploding loss)");
    if (streak >= ROLLBACK_AFTER) {
      streak = 0;
      return rollBack();
    }
    return Action.SKIP;
  }

  /** A validation with mean NLL {@code meanNll} nats per token. */
  public Action onValidation(double meanNll) {
    if (!isFault(meanNll)) return Action.OK;
    faults++;
    streak = 0;
    if (faults >= MAX_FAULTS) return stop("too many faults (non-finite or exploding losses)");
    return rollBack();
  }

  private Action rollBack() {
    rollbacks++;
    if (rollbacks > MAX_ROLLBACKS) return stop("still failing after " + MAX_ROLLBACKS + " roll-backs");
    return Action.ROLL_BACK;
  }

  private Action stop(String why) {
    stopReason = why;
    return Action.STOP;
  }

  /** Why the last {@link Action#STOP} was returned. */
  public String stopReason() { return stopReason; }

  public int faults() { return faults; }

  public int rollbacks() { return rollbacks; }

  /** "loss 1.2e29 nats/token (limit 41.2)": how a faulty loss is reported. */
  public String describe(double loss) {
    if (Double.isNaN(loss)) return "loss NaN";
    if (Double.isInfinite(loss)) return "loss " + (loss > 0 ? "+inf" : "-inf");
    double lim = Math.max(limit, stepLimit);
    return String.format("loss %.4g nats/token%s", loss, loss > lim ? String.format(" (above the limit %.1f)", lim) : "");
  }
}
