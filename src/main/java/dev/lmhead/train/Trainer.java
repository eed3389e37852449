package dev.lmhead.train;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.lmhead.UserError;
import dev.lmhead.data.BpttBatcher;
import dev.lmhead.data.Corpus;
import dev.lmhead.model.Checkpoint;
import dev.lmhead.model.LanguageModel;
import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Rng;
import dev.lmhead.tensor.Safetensors;
import dev.lmhead.tensor.Safetensors.Tensor;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Trains a {@link LanguageModel} with truncated BPTT: the training stream in {@code batch} columns,
 * windows of {@code bptt} steps, state carried and detached between windows; gradient-norm clipping;
 * learning-rate schedule; validation each epoch; the best model saved atomically to
 * {@code model.safetensors}, and everything needed to resume exactly (parameters, optimiser state,
 * recurrent state, data position, RNG, lr, schedule state) to {@code last.safetensors}.
 */
public final class Trainer {
  /** What a run produced. */
  public record Outcome(double bestValidPpl, Evaluator.Result valid, Evaluator.Result test, double trainSeconds,
                        long trainTokens, int epochsDone, boolean stoppedByBudget, java.util.List<Snapshot> snapshots) {
    public Outcome(double bestValidPpl, Evaluator.Result valid, Evaluator.Result test, double trainSeconds,
                   long trainTokens, int epochsDone, boolean stoppedByBudget) {
      this(bestValidPpl, valid, test, trainSeconds, trainTokens, epochsDone, stoppedByBudget, java.util.List.of());
    }

    public double trainTokensPerSecond() { return trainTokens / Math.max(trainSeconds, 1e-9); }
  }

  /**
   * The best model as it stood after {@code label} of training (see {@link #snapshotsAt}): what a run with
   * that time budget would have ended with. {@code trainSeconds}/{@code trainTokens} are where the snapshot
   * was taken (the run's end if it finished earlier); valid is the best validation up to then, test is
   * measured on that model.
   */
  public record Snapshot(String label, double trainSeconds, long trainTokens, double validPpl, Evaluator.Result test) {}

  /** File name of the snapshot after {@code seconds} of training: {@code model-at-20m.safetensors}. */
  public static String snapshotFile(double seconds) {
    return "model-at-" + snapshotLabel(seconds) + ".safetensors";
  }

  public static String snapshotLabel(double seconds) {
    return seconds % 3600 == 0 ? (long) (seconds / 3600) + "h" : seconds % 60 == 0 ? (long) (seconds / 60) + "m" : (long) Math.ceil(seconds) + "s";
  }

  private final LanguageModel model;
  private final Corpus corpus;
  private final TrainConfig cfg;
  private final Path dir;
  private final PrintStream out;
  private final boolean quiet;
  private final Optimizer opt;
  private final Metrics metrics;

  // resumable state
  private int epoch = 1;
  private int position = 0;
  private long step = 0, tokens = 0;
  private double lr;
  private double bestVal = Double.POSITIVE_INFINITY;
  private double trainSeconds = 0;
  private int badEpochs = 0;
  private Rng rng;
  private boolean resumedMidEpoch = false;

  private final boolean sequenceLoss;
  /** When the next time-based validation is due (train seconds), with --val-every. */
  private double nextVal = Double.POSITIVE_INFINITY;
  /** The last validation's mean NLL, for the divergence message. */
  private double lastValidNll = Double.NaN;
  /** The validation result of the best model, when this process measured it (null after a resume). */
  private Evaluator.Result bestResult;

  /** Consecutive faults that trigger a roll-back to the last good parameters. */
  static final int ROLLBACK_AFTER = FaultPolicy.ROLLBACK_AFTER;
  /** Roll-backs after which the run is declared diverged. */
  static final int MAX_ROLLBACKS = FaultPolicy.MAX_ROLLBACKS;

  private final FaultPolicy policy;
  private float[][] goodParams;            // in-memory roll-back target while no last.safetensors exists
  private Map<String, float[]> goodOpt;
  /** Training times (seconds) after which the best model so far is kept as {@link #snapshotFile}. */
  private double[] snapshotTimes = {};
  /** The earliest snapshot time not yet kept (+inf: none left); checked every step, so kept in memory. */
  private double nextSnapshot = Double.POSITIVE_INFINITY;
  /** Fractions of the training budget at which the lr is multiplied by --lr-decay (none: never); see {@link #annealAt}. */
  private double[] annealAt = new double[0];
  private int annealed; // how many of them have been applied
  /** Training tokens of one epoch (set when the run starts), for {@link #budgetSpent}. */
  private long epochTokens;
  /** Test hook: steps at which a NaN is written into a gradient before clipping. */
  java.util.function.LongPredicate faultInjector;
  /** Test hook: epochs whose validations report a NaN loss. */
  java.util.function.IntPredicate validationFaultInjector;

  public Trainer(LanguageModel model, Corpus corpus, TrainConfig cfg, Path dir, PrintStream out, boolean quiet) {
    this.sequenceLoss = "sequence".equals(cfg.lossScale());
    this.model = model;
    this.corpus = corpus;
    this.cfg = cfg.validate();
    this.dir = dir;
    this.out = out;
    this.quiet = quiet;
    this.opt = Optimizer.create(cfg.optimizer(), model.parameters(), cfg.weightDecay());
    this.lr = cfg.lr();
    this.rng = new Rng(cfg.seed() ^ 0x5DEECE66DL);
    this.metrics = new Metrics(dir.resolve("metrics.jsonl"));
    this.policy = new FaultPolicy(model.vocabSize(), model.decoder.explodedLoss());
  }

  public double lr() { return lr; }

  /**
   * Multiplies the lr by {@code --lr-decay} once, when this fraction of the training budget is spent
   * ({@code --anneal-at 0.8}: the last 20% of a 12-minute budget at lr / 4); 0 = never. See {@link #annealAt(double[])}.
   */
  public Trainer annealAt(double fraction) {
    return annealAt(new double[] {fraction});
  }

  /**
   * Multiplies the lr by {@code --lr-decay} at each of these fractions of the training budget ({@code --anneal-at
   * 0.7,0.8,0.9}: lr / 4, / 16, / 64 for the last 30%, 20%, 10%); {0} = never. The budget is whichever of
   * {@code --time-budget}, {@code --max-tokens} and {@code --epochs} ends first ({@link #budgetSpent}).
   * Why: in 6 epochs the plateau rule often never fires, and one epoch at lr / 4 after 6 at lr 20 took
   * WikiText-2 valid ppl from 139.73 to 120.45 (full softmax) and from 159.74 to 139.27 (adaptive input
   * and tied adaptive softmax); each further cut gained again (README, issue 17). A resumed run past a
   * fraction already has the lower lr in its checkpoint.
   */
  public Trainer annealAt(double[] fractions) {
    annealAt = annealFractions(fractions);
    return this;
  }

  /**
   * The --anneal-at fractions checked: each in (0, 1), increasing; a single 0 means none.
   *
   * @throws IllegalArgumentException naming the flag and the values
   */
  public static double[] annealFractions(double[] f) {
    if (f == null || (f.length == 1 && f[0] == 0)) return new double[0];
    for (int i = 0; i < f.length; i++) {
      if (!(f[i] > 0 && f[i] < 1) || (i > 0 && !(f[i] > f[i - 1]))) {
        throw new IllegalArgumentException("--anneal-at must be fractions in (0, 1) in increasing order, e.g. 0.8 or 0.7,0.8,0.9 (0: never), got "
            + java.util.Arrays.toString(f));
      }
    }
    return f.clone();
  }

  /** The fractions as percentages: "70%, 80%, 90%". */
  public static String describeFractions(double[] f) {
    StringBuilder b = new StringBuilder();
    for (double x : f) b.append(b.length() > 0 ? ", " : "").append(String.format(java.util.Locale.ROOT, "%.0f%%", 100 * x));
    return b.toString();
  }

  /** How much of the training budget is spent: the largest of the time, token and epoch fractions. */
  double budgetSpent() {
    double f = epochTokens > 0 ? (double) tokens / ((double) epochTokens * cfg.epochs()) : 0;
    if (cfg.timeBudgetS() > 0) f = Math.max(f, trainSeconds / cfg.timeBudgetS());
    if (cfg.maxTokens() > 0) f = Math.max(f, (double) tokens / cfg.maxTokens());
    return f;
  }

  private void annealIfDue(Progress bar) {
    int before = annealed;
    while (annealed < annealAt.length && budgetSpent() >= annealAt[annealed]) {
      double from = lr, at = annealAt[annealed++];
      lr *= cfg.lrDecay();
      metrics.write("anneal", Map.of("epoch", epoch, "step", step, "tokens", tokens, "train_seconds", trainSeconds, "lr", lr));
      say(String.format("| anneal | %.0f%% of the budget spent: lr %.4g -> %.4g |", 100 * at, from, lr));
    }
    if (annealed > before) showBudget(bar);
  }

  /**
   * Keeps the best model as it stands after each of these training times ({@code --snapshot-at 20m}):
   * a validation is run when the time is crossed and the best model so far is copied to
   * {@link #snapshotFile}. One long run then also answers "what would a 20-minute budget have given"
   * exactly: the trajectory up to then is the same (the schedule acts at epoch ends only). After it, the
   * run is one with an extra validation: like every validation ({@code --val-every} too) it can set the
   * best perplexity, and the plateau schedule cuts the lr at an epoch end no better than the best so far.
   */
  public Trainer snapshotsAt(double... seconds) {
    snapshotTimes = seconds.clone();
    java.util.Arrays.sort(snapshotTimes);
    for (double t : snapshotTimes) if (!(t > 0)) throw new IllegalArgumentException("--snapshot-at: times must be > 0, got " + t);
    return this;
  }

  /** Restores the state saved in {@code last.safetensors}. */
  public void resume() {
    Path f = dir.resolve(Checkpoint.LAST);
    if (!Files.exists(f)) throw new UserError(f + ": nothing to resume (no last checkpoint in " + dir + ")");
    Safetensors.Contents c = Checkpoint.loadTensors(f);
    Checkpoint.loadInto(model, c, f);
    String js = c.metadata().get("lmhead.trainer");
    if (js == null) throw new UserError(f + ": no trainer state in checkpoint metadata");
    JsonObject s;
    try {
      s = JsonParser.parseString(js).getAsJsonObject();
      epoch = s.get("epoch").getAsInt();
      position = s.get("position").getAsInt();
      step = s.get("step").getAsLong();
      tokens = s.get("tokens").getAsLong();
      lr = s.get("lr").getAsDouble();
      bestVal = Math.min(s.get("best_valid_ppl").getAsDouble(), savedBest());
      trainSeconds = s.get("train_seconds").getAsDouble();
      badEpochs = s.get("bad_epochs").getAsInt();
      rng = Rng.fromState(s.get("rng").getAsLong());
      if (s.has("head_sampler")) model.decoder.setSamplerState(s.get("head_sampler").getAsLong());
      if (!s.get("optimizer").getAsString().equals(opt.name())) {
        throw new UserError(f + ": saved with optimizer " + s.get("optimizer").getAsString() + ", resumed with --optimizer " + opt.name());
      }
    } catch (UserError e) {
      throw e;
    } catch (RuntimeException e) {
      throw new UserError(f + ": malformed trainer state in checkpoint metadata");
    }
    restoreOptimizer(c, f);
    Tensor h = c.get("state.h"), cc = c.get("state.c");
    model.resetState(cfg.batch());
    if (h != null && cc != null && h.f32().length == model.stateH().length) {
      System.arraycopy(h.f32(), 0, model.stateH(), 0, h.f32().length);
      System.arraycopy(cc.f32(), 0, model.stateC(), 0, cc.f32().length);
    } else if (position > 0) {
      throw new UserError(f + ": recurrent state does not match --batch " + cfg.batch());
    }
    resumedMidEpoch = position > 0;
    say(String.format("resumed from %s: epoch %d, step %d, %d tokens, lr %.4g, best valid ppl %s",
        f, epoch, step, tokens, lr, Double.isFinite(bestVal) ? String.format("%.2f", bestVal) : "none yet"));
  }

  /**
   * The validation perplexity recorded in {@code model.safetensors}, or +inf. The best model can be
   * newer than the resume point (a validation saved it, then the run was killed before the next resume
   * point), so resuming takes the smaller of the two: a worse model must never replace the best one.
   */
  private double savedBest() {
    Path best = dir.resolve(Checkpoint.MODEL);
    if (!Files.exists(best)) return Double.POSITIVE_INFINITY;
    String v = Checkpoint.loadTensors(best).metadata().get("lmhead.valid_ppl");
    try {
      double p = v == null ? Double.NaN : Double.parseDouble(v);
      return p > 0 ? p : Double.POSITIVE_INFINITY;
    } catch (NumberFormatException e) {
      return Double.POSITIVE_INFINITY;
    }
  }

  private void restoreOptimizer(Safetensors.Contents c, Path f) {
    Map<String, float[]> os = new LinkedHashMap<>();
    for (var e : c.tensors().entrySet()) {
      if (e.getKey().startsWith("optimizer.")) os.put(e.getKey().substring(10), e.getValue().f32());
    }
    try {
      opt.loadState(os);
    } catch (IllegalArgumentException e) {
      throw new UserError(f + ": " + e.getMessage());
    }
  }

  private void say(String s) { if (!quiet) out.println(s); }

  /** Runs (or continues) training, then evaluates the best model on valid and test. */
  public Outcome run() throws IOException {
    BpttBatcher batcher = new BpttBatcher(corpus.train(), cfg.batch());
    epochTokens = (long) batcher.columnLength() * cfg.batch();
    annealed = 0; // resumed past some: the saved lr is already the lower one
    while (annealed < annealAt.length && budgetSpent() >= annealAt[annealed]) annealed++;
    boolean budgetHit = false;
    int startEpoch = epoch;
    if (!Files.exists(dir.resolve(Checkpoint.LAST))) snapshot(); // the roll-back target until a checkpoint exists
    if (cfg.valEveryS() > 0) nextVal = (Math.floor(trainSeconds / cfg.valEveryS()) + 1) * cfg.valEveryS();
    nextSnapshot = pendingSnapshot();
    // A run resumed after its budget stop has nothing left to train: evaluate its best model as it is.
    boolean spent = budgetReached();
    for (; epoch <= cfg.epochs() && !budgetHit && !spent; epoch++) {
      startEpoch(batcher, epoch == startEpoch && resumedMidEpoch);
      budgetHit = trainEpoch(batcher);
      endEpoch(budgetHit);
    }
    if (!Double.isFinite(bestVal)) {
      throw diverged("no validation perplexity was finite (the last valid mean NLL was " + policy.describe(lastValidNll) + ")");
    }
    int done = spent ? epoch - 1 : budgetHit ? epoch - 2 : Math.min(epoch - 1, cfg.epochs());
    budgetHit |= spent;
    return finish(Math.max(done, 0), budgetHit);
  }

  /** Positions the batcher at the resume point, or at the start of the epoch with a zero state. */
  private void startEpoch(BpttBatcher batcher, boolean continueMidEpoch) {
    if (continueMidEpoch) {
      batcher.seek(position);
    } else {
      batcher.reset();
      position = 0;
      model.resetState(cfg.batch());
    }
    resumedMidEpoch = false;
  }

  /** Trains over the rest of the epoch; true when the time or token budget stopped it. */
  private boolean trainEpoch(BpttBatcher batcher) throws IOException {
    int B = cfg.batch(), maxT = cfg.bptt();
    long epochTokens = (long) batcher.columnLength() * B;
    double lossSum = 0;
    long lossRows = 0, skipped = 0;
    long lastSave = System.nanoTime();
    int[] in = new int[maxT * B], tg = new int[maxT * B];
    try (Progress bar = new Progress(String.format("epoch %d/%d", epoch, cfg.epochs()), epochTokens, "tok", out, quiet)) {
      bar.resumeAt((long) batcher.position() * B);
      showBudget(bar);
      int T;
      while ((T = batcher.next(maxT, in, tg)) > 0) {
        long ts = System.nanoTime();
        opt.zeroGrad();
        double loss = model.trainStep(in, tg, T, B, rng);
        if (faultInjector != null && faultInjector.test(step)) model.parameters().get(0).grad[0] = Float.NaN;
        if (sequenceLoss) {
          for (Parameter p : model.parameters()) dev.lmhead.tensor.Vec.scale(p.grad, 0, p.size(), T);
        }
        double norm = opt.clipGradNorm(cfg.clip());
        FaultPolicy.Action action = policy.onStep(loss, norm);
        if (action == FaultPolicy.Action.OK) {
          opt.step(lr);
          lossSum += loss * T * B;
          lossRows += (long) T * B;
        } else {
          onFault(action, "step " + step, policy.describe(loss) + ", grad norm " + norm);
          skipped++;
        }
        step++;
        tokens += (long) T * B;
        position = batcher.position();
        trainSeconds += (System.nanoTime() - ts) / 1e9;
        if (step % cfg.logInterval() == 0 || position >= batcher.columnLength() - 1) {
          double cur = lossRows == 0 ? Double.NaN : lossSum / lossRows;
          // an interval whose every step was skipped has no loss: say so rather than print NaN
          bar.step((long) T * B, lossRows == 0 ? String.format("loss n/a (%d steps skipped: numeric faults) lr %.3g", skipped, lr)
              : model.decoder.trainingLossIsNll() ? String.format("loss %.3f ppl %.1f lr %.3g", cur, Math.exp(cur), lr)
              : String.format("%s objective %.3f lr %.3g", model.decoder.type(), cur, lr));
          metrics.write("train", Map.of("epoch", epoch, "step", step, "tokens", tokens, "loss", cur,
              "ppl", model.decoder.trainingLossIsNll() ? Math.exp(cur) : Double.NaN, "lr", lr, "train_seconds", trainSeconds,
              "tokens_per_s", tokens / Math.max(trainSeconds, 1e-9), "skipped_steps", skipped));
          lossSum = 0;
          lossRows = 0;
          skipped = 0;
        } else {
          bar.step((long) T * B, null);
        }
        if (budgetReached()) return true;
        annealIfDue(bar);
        if (snapshotDue()) {
          midEpochValidation();
          takeSnapshots(false);
          showBudget(bar);
        }
        if (cfg.valEveryS() > 0 && trainSeconds >= nextVal) {
          midEpochValidation();
          nextVal = (Math.floor(trainSeconds / cfg.valEveryS()) + 1) * cfg.valEveryS();
          showBudget(bar);
        }
        if (cfg.saveEveryS() > 0 && (System.nanoTime() - lastSave) / 1e9 >= cfg.saveEveryS()) {
          saveLast(false);
          lastSave = System.nanoTime();
        }
      }
    }
    return false;
  }

  private boolean snapshotDue() {
    return trainSeconds >= nextSnapshot;
  }

  /** The earliest snapshot time whose file does not exist yet (reads the directory: at the start and after a snapshot). */
  private double pendingSnapshot() {
    for (double t : snapshotTimes) if (!Files.exists(dir.resolve(snapshotFile(t)))) return t;
    return Double.POSITIVE_INFINITY;
  }

  /**
   * Copies the best model to the file of every snapshot time already passed that has none yet; at the
   * run's end ({@code atEnd}), also of the times it never reached (the model such a budget ends with).
   * The recorded time and tokens are where the copy was made.
   */
  private void takeSnapshots(boolean atEnd) throws IOException {
    Path best = dir.resolve(Checkpoint.MODEL);
    if (!Files.exists(best)) { // no finite validation yet: nothing to keep now; the run's end keeps its best for these times
      double next = Double.POSITIVE_INFINITY;
      for (double t : snapshotTimes) if (t > trainSeconds && !Files.exists(dir.resolve(snapshotFile(t)))) next = Math.min(next, t);
      nextSnapshot = next;
      return;
    }
    Safetensors.Contents c = null;
    for (double t : snapshotTimes) {
      Path f = dir.resolve(snapshotFile(t));
      if ((trainSeconds < t && !atEnd) || Files.exists(f)) continue;
      if (c == null) c = Checkpoint.loadTensors(best);
      Map<String, String> meta = new LinkedHashMap<>(c.metadata());
      meta.put("lmhead.snapshot_train_seconds", Double.toString(trainSeconds));
      meta.put("lmhead.snapshot_tokens", Long.toString(tokens));
      Checkpoint.saveTensors(f, c.tensors(), meta);
      metrics.write("snapshot", Map.of("label", snapshotLabel(t), "train_seconds", trainSeconds, "tokens", tokens, "best_valid_ppl", bestVal));
      say(String.format("| snapshot %s | best model so far (valid ppl %.2f) kept as %s |", snapshotLabel(t), bestVal, f.getFileName()));
    }
    nextSnapshot = pendingSnapshot();
  }

  private boolean budgetReached() {
    return (cfg.timeBudgetS() > 0 && trainSeconds >= cfg.timeBudgetS()) || (cfg.maxTokens() > 0 && tokens >= cfg.maxTokens());
  }

  /** Lets the progress line's ETA show the time or token budget when it comes before the epoch's end. */
  private void showBudget(Progress bar) {
    long unitsLeft = cfg.maxTokens() > 0 ? Math.max(0, cfg.maxTokens() - tokens) : Long.MAX_VALUE;
    double secondsLeft = cfg.timeBudgetS() > 0 ? Math.max(0, cfg.timeBudgetS() - trainSeconds) : Double.POSITIVE_INFINITY;
    bar.earlierStop(unitsLeft, secondsLeft);
  }

  /**
   * The end of an epoch, or the budget stop inside one: validate, keep the best model, step the
   * schedule, and write the resume point. A faulty validation (non-finite or exploding loss) rolls the
   * parameters back like repeated faulty steps do. The resume point is written after the validation so
   * that it records the best perplexity including this one, with the recurrent state the training had.
   */
  private void endEpoch(boolean budgetHit) throws IOException {
    float[] h = model.stateH().clone(), c = model.stateC().clone();
    Evaluator.Result val = validate();
    System.arraycopy(h, 0, model.stateH(), 0, h.length);
    System.arraycopy(c, 0, model.stateC(), 0, c.length);
    double ppl = val.ppl();
    FaultPolicy.Action action = policy.onValidation(val.meanNll());
    boolean improved = action == FaultPolicy.Action.OK && ppl < bestVal;
    if (improved) saveBest(val);
    double lrUsed = lr;
    say(String.format("| %s %d | %s | valid ppl %8s%s | lr %.4g | %,d tokens | %.0f tok/s |",
        budgetHit ? "budget reached in epoch" : "end of epoch", epoch, fmtTime(trainSeconds), Evaluator.pplText(val),
        improved ? " (best, saved)" : "", lrUsed, tokens, tokens / Math.max(trainSeconds, 1e-9)));
    metrics.write("epoch", Map.of("epoch", epoch, "tokens", tokens, "valid_ppl", ppl, "valid_loss", val.meanNll(),
        "lr", lrUsed, "train_seconds", trainSeconds, "tokens_per_s", tokens / Math.max(trainSeconds, 1e-9),
        "partial", budgetHit));
    if (action != FaultPolicy.Action.OK) {
      onFault(action, "validation of epoch " + epoch, "valid " + policy.describe(val.meanNll()));
    } else if (!budgetHit) {
      if (improved) badEpochs = 0; else badEpochs++;
      updateSchedule(improved);
    }
    if (!budgetHit) position = 0; // the epoch is complete: the resume point is the start of the next one
    saveLast(!budgetHit);
  }

  private void saveBest(Evaluator.Result val) throws IOException {
    double ppl = val.ppl();
    bestVal = ppl;
    bestResult = val;
    Checkpoint.saveTensors(dir.resolve(Checkpoint.MODEL), Checkpoint.tensors(model),
        Map.of("lmhead.epoch", Integer.toString(epoch), "lmhead.valid_ppl", Double.toString(ppl)));
  }

  private Outcome finish(int epochsDone, boolean budgetHit) throws IOException {
    // a run that ended before a snapshot time ends with the model that budget would have given
    takeSnapshots(true);
    java.util.List<Snapshot> snaps = new java.util.ArrayList<>();
    for (double t : snapshotTimes) {
      Path f = dir.resolve(snapshotFile(t));
      if (!Files.exists(f)) continue;
      Safetensors.Contents c = Checkpoint.loadTensors(f);
      Checkpoint.loadInto(model, c, f);
      Map<String, String> m = c.metadata();
      double v = Double.parseDouble(m.getOrDefault("lmhead.valid_ppl", "NaN"));
      Evaluator.Result te = evalSplit("test", corpus.test());
      snaps.add(new Snapshot(snapshotLabel(t), Double.parseDouble(m.getOrDefault("lmhead.snapshot_train_seconds", "NaN")),
          Long.parseLong(m.getOrDefault("lmhead.snapshot_tokens", "-1")), v, te));
      metrics.write("snapshot_final", Map.of("label", snapshotLabel(t), "valid_ppl", v, "test_ppl", te.ppl()));
    }
    // evaluate the best checkpoint on valid and test
    Path best = dir.resolve(Checkpoint.MODEL);
    if (Files.exists(best)) Checkpoint.loadInto(model, Checkpoint.loadTensors(best), best);
    // the best model's validation was measured when it was saved, on exactly these parameters (the
    // evaluation is deterministic): not measured again (it used to cost ~70 s of a 16-minute default run)
    Evaluator.Result val = bestResult != null ? bestResult : evalSplit("valid", corpus.valid());
    Evaluator.Result test = evalSplit("test", corpus.test());
    metrics.write("final", Map.of("valid_ppl", val.ppl(), "test_ppl", test.ppl(), "valid_tokens", val.tokens(),
        "test_tokens", test.tokens(), "train_tokens", tokens, "train_seconds", trainSeconds,
        "tokens_per_s", tokens / Math.max(trainSeconds, 1e-9), "eval_batch", cfg.evalBatch()));
    return new Outcome(bestVal, val, test, trainSeconds, tokens, epochsDone, budgetHit, snaps);
  }

  /** Validation inside an epoch: the recurrent state is kept, the best model saved if it improved. */
  private void midEpochValidation() throws IOException {
    float[] h = model.stateH().clone(), c = model.stateC().clone();
    Evaluator.Result val = validate();
    System.arraycopy(h, 0, model.stateH(), 0, h.length);
    System.arraycopy(c, 0, model.stateC(), 0, c.length);
    FaultPolicy.Action action = policy.onValidation(val.meanNll());
    boolean improved = action == FaultPolicy.Action.OK && val.ppl() < bestVal;
    if (improved) saveBest(val);
    metrics.write("valid", Map.of("epoch", epoch, "tokens", tokens, "valid_ppl", val.ppl(), "valid_loss", val.meanNll(),
        "lr", lr, "train_seconds", trainSeconds, "best", improved));
    if (action != FaultPolicy.Action.OK) onFault(action, "validation at step " + step, "valid " + policy.describe(val.meanNll()));
  }

  private Evaluator.Result validate() {
    Evaluator.Result r = evalSplit("valid", corpus.valid());
    if (validationFaultInjector != null && validationFaultInjector.test(epoch)) r = new Evaluator.Result(Double.NaN, r.tokens(), r.seconds());
    lastValidNll = r.meanNll();
    return r;
  }

  private Evaluator.Result evalSplit(String name, int[] stream) {
    try (Progress bar = new Progress("eval " + name, stream.length - 1, "tok", out, quiet)) {
      Evaluator.Result r = Evaluator.evaluate(model, stream, cfg.evalBatch(), cfg.bptt(), bar);
      model.resetState(cfg.batch());
      return r;
    }
  }

  /** Both schedules multiply the lr by {@code --lr-decay} (a factor in (0, 1]): on a plateau, or each epoch from --decay-start. */
  private void updateSchedule(boolean improved) {
    switch (cfg.schedule()) {
      case "plateau" -> { if (!improved) lr *= cfg.lrDecay(); }
      case "epoch" -> { if (epoch >= cfg.decayStart()) lr *= cfg.lrDecay(); }
      default -> { }
    }
  }


  /**
   * A fault ({@link FaultPolicy}): the update or validation result is discarded and the learning rate
   * halved; on {@link FaultPolicy.Action#ROLL_BACK} the parameters and optimiser state return to the
   * last good checkpoint ({@code last.safetensors}, or the in-memory copy taken at the start of the run
   * if none was written yet) and the recurrent state is zeroed; training goes on from the current data
   * position with the reduced lr. {@link FaultPolicy.Action#STOP} ends the run with a {@link UserError}.
   */
  private void onFault(FaultPolicy.Action action, String where, String what) throws IOException {
    double old = lr;
    lr /= 2;
    String msg = String.format("numeric fault at %s (%s): %s, lr %.4g -> %.4g", where, what,
        where.startsWith("step") ? "update skipped" : "result discarded", old, lr);
    out.println("lmhead: warning: " + msg);
    metrics.write("fault", Map.of("step", step, "where", where, "what", what, "lr", lr));
    switch (action) {
      case STOP -> throw diverged(policy.stopReason());
      case ROLL_BACK -> rollBack(where);
      default -> { }
    }
  }

  private UserError diverged(String why) {
    Path last = dir.resolve(Checkpoint.LAST);
    return new UserError("training diverged: " + why + " (" + policy.faults() + " faults, lr now " + String.format("%.4g", lr)
        + ", started at " + cfg.lr() + "); try a smaller --lr or --clip"
        + (Files.exists(last) ? "; the last good state is in " + last : ""));
  }

  /** Restores the last good parameters and optimiser state, keeping the (reduced) lr and the data position. */
  private void rollBack(String where) throws IOException {
    Path last = dir.resolve(Checkpoint.LAST);
    String source;
    if (Files.exists(last)) {
      Safetensors.Contents c = Checkpoint.loadTensors(last);
      Checkpoint.loadInto(model, c, last);
      restoreOptimizer(c, last);
      source = last.toString();
    } else if (goodParams != null) {
      var ps = model.parameters();
      for (int i = 0; i < ps.size(); i++) System.arraycopy(goodParams[i], 0, ps.get(i).data, 0, goodParams[i].length);
      opt.loadState(goodOpt);
      source = "memory";
    } else {
      throw diverged("faults at " + where + " and nothing to roll back to");
    }
    model.resetState(cfg.batch());
    String whence = source.equals("memory") ? "the parameters at the start of the run (no checkpoint written yet)" : source;
    out.println(String.format("lmhead: warning: repeated numeric faults (%s): rolled back to %s; lr now %.4g (roll-back %d of at most %d)",
        where, whence, lr, policy.rollbacks(), MAX_ROLLBACKS));
    metrics.write("rollback", Map.of("step", step, "source", source, "lr", lr, "rollbacks", policy.rollbacks()));
  }

  /** Copies parameters and optimiser state as the roll-back target. */
  private void snapshot() {
    var ps = model.parameters();
    goodParams = new float[ps.size()][];
    for (int i = 0; i < ps.size(); i++) goodParams[i] = ps.get(i).data.clone();
    goodOpt = new LinkedHashMap<>();
    for (var e : opt.state().entrySet()) goodOpt.put(e.getKey(), e.getValue().clone());
  }

  private boolean parametersFinite() {
    for (Parameter p : model.parameters()) {
      for (float x : p.data) if (!Float.isFinite(x)) return false;
    }
    return true;
  }

  /**
   * Writes the resume checkpoint (atomically). Parameters that are not all finite are not written (a
   * warning says so): {@code last.safetensors} always holds the last good state, the roll-back target.
   */
  public void saveLast(boolean epochEnd) throws IOException {
    if (!parametersFinite()) {
      out.println("lmhead: warning: parameters are not finite at step " + step + "; " + dir.resolve(Checkpoint.LAST) + " keeps the last good state");
      metrics.write("save_skipped", Map.of("step", step, "reason", "non-finite parameters"));
      return;
    }
    Map<String, Tensor> t = Checkpoint.tensors(model);
    for (var e : opt.state().entrySet()) t.put("optimizer." + e.getKey(), Tensor.of(e.getValue(), e.getValue().length));
    t.put("state.h", Tensor.of(model.stateH(), model.stateH().length));
    t.put("state.c", Tensor.of(model.stateC(), model.stateC().length));
    JsonObject s = new JsonObject();
    s.addProperty("epoch", epochEnd ? epoch + 1 : epoch);
    s.addProperty("position", position);
    s.addProperty("step", step);
    s.addProperty("tokens", tokens);
    s.addProperty("lr", lr);
    s.addProperty("best_valid_ppl", bestVal);
    s.addProperty("train_seconds", trainSeconds);
    s.addProperty("bad_epochs", badEpochs);
    s.addProperty("rng", rng.state());
    s.addProperty("optimizer", opt.name());
    Long sampler = model.decoder.samplerState();
    if (sampler != null) s.addProperty("head_sampler", sampler);
    Checkpoint.saveTensors(dir.resolve(Checkpoint.LAST), t, Map.of("lmhead.trainer", s.toString()));
    goodParams = null; // the file is the roll-back target from now on
    goodOpt = null;
  }

  static String fmtTime(double s) {
    long x = (long) s;
    return String.format("%d:%02d:%02d", x / 3600, x / 60 % 60, x % 60);
  }

  /** The list of parameters being optimised (for tests). */
  public java.util.List<Parameter> parameters() { return model.parameters(); }
}
