package dev.lmhead.train;

import java.io.PrintStream;
import java.time.Duration;
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
  private long done, lastLine = System.nanoTime();
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
          .setSpeedUnit(java.time.temporal.ChronoUnit.SECONDS).build();
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

  private String line() {
    double s = (System.nanoTime() - t0) / 1e9;
    double rate = done / Math.max(s, 1e-9);
    String eta = total > 0 && rate > 0 ? fmt(Duration.ofSeconds((long) ((total - done) / rate))) : "?";
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
