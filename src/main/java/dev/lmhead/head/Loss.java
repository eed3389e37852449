package dev.lmhead.head;

/**
 * How a training loss is reduced, as in PyTorch's {@code cross_entropy}: reduction and ignore index.
 * The mean is taken over non-ignored rows; with no such rows the loss is 0 and no gradient flows.
 */
public record Loss(Reduction reduction, int ignoreIndex) {
  public enum Reduction { MEAN, SUM, NONE }

  /** PyTorch's default ignore index. */
  public static final int NO_IGNORE = -100;
  public static final Loss MEAN = new Loss(Reduction.MEAN, NO_IGNORE);
  public static final Loss SUM = new Loss(Reduction.SUM, NO_IGNORE);
  public static final Loss NONE = new Loss(Reduction.NONE, NO_IGNORE);
  /**
   * For a head's internal passes after {@link #checkTargets}: an ignore index no checked target can
   * equal, so every row counts (the reduction is not used).
   */
  static final Loss STRICT = new Loss(Reduction.NONE, Integer.MIN_VALUE);

  public static Loss of(String reduction, int ignoreIndex) {
    Reduction r = switch (reduction) {
      case "mean" -> Reduction.MEAN;
      case "sum" -> Reduction.SUM;
      case "none" -> Reduction.NONE;
      default -> throw new IllegalArgumentException("unknown reduction '" + reduction + "' (expected mean, sum or none)");
    };
    return new Loss(r, ignoreIndex);
  }

  public boolean ignored(int target) { return target == ignoreIndex; }

  /**
   * Checks every target is in [0, vocab) or the ignore index, and returns the number of counted rows.
   * Any other target (negative, or vocab and above) is an error, whatever the ignore index.
   * @throws IllegalArgumentException naming the first bad row and its value
   */
  public int validate(int[] targets, int n, int vocab) {
    return check(targets, n, vocab, true, ignoreIndex);
  }

  /**
   * The check for calls that have no ignore index ({@code targetLogProb}, weighted losses): every
   * target must be a word id in [0, vocab); -100 and any other negative value are errors.
   * @throws IllegalArgumentException naming the first bad row and its value
   */
  public static void checkTargets(int[] targets, int n, int vocab) {
    check(targets, n, vocab, false, 0);
  }

  private static int check(int[] targets, int n, int vocab, boolean hasIgnore, int ignoreIndex) {
    if (targets.length < n) throw new IllegalArgumentException("targets has " + targets.length + " entries, need " + n);
    int count = 0;
    for (int i = 0; i < n; i++) {
      int t = targets[i];
      if (hasIgnore && t == ignoreIndex) continue;
      if (t < 0 || t >= vocab) {
        throw new IllegalArgumentException("target " + t + " at row " + i + " is outside [0, " + vocab + ")");
      }
      count++;
    }
    return count;
  }

  /** Gradient scale per counted row: 1/count for MEAN, 1 otherwise. */
  public float gradScale(int count) {
    return reduction == Reduction.MEAN ? (count == 0 ? 0f : 1f / count) : 1f;
  }

  /** Final reduction of the summed NLL over counted rows. */
  public double reduce(double sum, int count) {
    return reduction == Reduction.MEAN ? (count == 0 ? 0.0 : sum / count) : sum;
  }
}
