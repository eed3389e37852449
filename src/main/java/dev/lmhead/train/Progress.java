package dev.lmhead.train;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Optional;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A progress bar with rate, ETA and a free-text suffix (loss, ppl) on a terminal; on a pipe or in CI,
 * one plain line every {@code lineEveryS} seconds instead of carriage-return redraws.
 */
public final class Progress implements AutoCloseable {
  private final ProgressBar bar;
  private final PrintStream out;
  private final String task, unit;
  private final long total;
  private final long t0 = System.nanoTime();
  private volatile long done, before;
  private long lastLine = System.nanoTime();
  private final double lineEveryS;
  private String extra = "";

  public Progress(String task, long total, String unit, PrintStream out, boolean quiet) {
    this.task = task;
    this.total = total;
    this.unit = unit;
    this.out = out;
    this.lineEveryS = 30;
    boolean tty = !quiet && System.console() != null && System.console().isTerminal();
    if (tty) {
      bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(total).setUnit(" " + unit, 1)
          .showSpeed().setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500).setMaxRenderedLength(120)
          .setSpeedUnit(java.time.temporal.ChronoUnit.SECONDS)
          .setEtaFunction(st -> Optional.ofNullable(eta((System.nanoTime() - t0) / 1e9)))
          .build();
    } else {
      bar = null;
    }
    this.quiet = quiet;
  }

  private final boolean quiet;

  public void step(long n, String message) {
    done += n;
    if (message != null) extra = message;
    if (bar != null) {
      bar.stepBy(n);
      if (message != null) bar.setExtraMessage(" " + message);
    } else if (!quiet && (System.nanoTime() - lastLine) / 1e9 >= lineEveryS) {
      lastLine = System.nanoTime();
      out.println(line());
    }
  }

  // another stop that may come before the end: units still allowed, and a wall-clock deadline (nanoTime)
  private volatile long unitsCap = Long.MAX_VALUE, capFrom = 0;
  private volatile double deadlineNanos = Double.POSITIVE_INFINITY;

  /**
   * Tells the bar that the work may stop before its end: after {@code unitsLeft} more units (a token
   * budget) or after {@code secondsLeft} more seconds (a time budget), whichever comes first. The ETA
   * shown is then the time to the first stop, not to the end.
   */
  public void earlierStop(long unitsLeft, double secondsLeft) {
    unitsCap = unitsLeft;
    capFrom = done;
    deadlineNanos = System.nanoTime() + secondsLeft * 1e9;
  }

  /** Counts {@code n} units as already done before this bar started (a resumed epoch): they do not count in the rate. */
  public void resumeAt(long n) {
    done += n;
    before += n;
    if (bar != null) bar.stepBy(n);
  }

  /** The ETA of this bar after {@code elapsedS} seconds, or null when unknown. */
  private Duration eta(double elapsedS) {
    long remaining = Math.max(0, total - done);
    long unitsLeft = Math.min(remaining, Math.max(0, unitsCap == Long.MAX_VALUE ? Long.MAX_VALUE : unitsCap - (done - capFrom)));
    double budgetLeft = (deadlineNanos - System.nanoTime()) / 1e9;
    double s = etaSeconds(done - before, elapsedS, unitsLeft, budgetLeft);
    return Double.isFinite(s) ? Duration.ofSeconds((long) Math.ceil(s)) : null;
  }

  /**
   * Seconds to the first stop: {@code unitsLeft} units at the rate {@code unitsDone / elapsedS}, or the
   * time budget {@code budgetLeftS}, whichever is sooner; NaN when neither is known.
   */
  static double etaSeconds(long unitsDone, double elapsedS, long unitsLeft, double budgetLeftS) {
    double rate = unitsDone / Math.max(elapsedS, 1e-9);
    double byWork = unitsDone > 0 ? unitsLeft / rate : Double.POSITIVE_INFINITY;
    double s = Math.min(byWork, Math.max(0, budgetLeftS));
    return Double.isFinite(s) ? s : Double.NaN;
  }

  private String line() {
    double s = (System.nanoTime() - t0) / 1e9;
    double rate = (done - before) / Math.max(s, 1e-9);
    Duration d = total > 0 ? eta(s) : null;
    String eta = d != null ? fmt(d) : "?";
    return String.format("%s %d/%d %s (%.0f%%) %.0f %s/s ETA %s %s", task, done, total, unit,
        total > 0 ? 100.0 * done / total : 0, rate, unit, eta, extra);
  }

  static String fmt(Duration d) {
    long s = d.getSeconds();
    return s >= 3600 ? String.format("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String.format("%d:%02d", s / 60, s % 60);
  }

  @Override
  public void close() {
    if (bar != null) bar.close();
  }
}
