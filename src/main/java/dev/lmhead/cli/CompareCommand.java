package dev.lmhead.cli;

import dev.lmhead.analysis.LearningCurve;
import dev.lmhead.data.Corpus;
import dev.lmhead.head.Heads;
import dev.lmhead.model.Checkpoint;
import dev.lmhead.model.LanguageModel;
import dev.lmhead.model.ModelConfig;
import dev.lmhead.tensor.Blas;
import dev.lmhead.tensor.Parallel;
import dev.lmhead.tensor.Rng;
import dev.lmhead.train.Evaluator;
import dev.lmhead.train.TrainConfig;
import dev.lmhead.train.Trainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code lmhead compare}: the same LSTM trained once per head under the same wall-clock (or token)
 * budget on the same data; a table of validation/test perplexity, speed and size, and a PNG of
 * validation perplexity against training time with one curve per head.
 */
@Command(name = "compare", abbreviateSynopsis = true, mixinStandardHelpOptions = true, sortOptions = false, modelTransformer = HeadFlags.class,
    description = {"Train the same LSTM once per head under one budget and compare perplexity, speed and size.",
        "Perplexities are measured at --eval-batch (10 unless given: the split cut into 10 streams); the table and JSON print the definition used."})
public final class CompareCommand implements Callable<Integer> {
  @Option(names = "--data", defaultValue = "wikitext-2", description = "wikitext-2 | ptb | PATH (default: ${DEFAULT-VALUE}).")
  String data;
  @Option(names = "--heads", split = ",",
      description = {"Heads to compare, each HEAD[/option=value...] with options named as the flags, e.g. "
          + "full,adaptive,adaptive/input=adaptive,mos/experts=15 (default: every head)."})
  List<String> heads = Heads.names();
  @Mixin ModelOptions model;
  @Option(names = "--budget", defaultValue = "20m", description = "Training time per head, e.g. 20m (default: ${DEFAULT-VALUE}).")
  String budget;
  @Option(names = "--max-tokens", defaultValue = "0", description = "Or a training-token budget per head (0 = none).")
  long maxTokens;
  @Option(names = "--epochs", description = "Epochs per head; with --budget 0 the only bound (default: 100, the budget usually stops first).")
  Integer epochs;
  @Option(names = "--bptt", defaultValue = "35") int bptt;
  @Option(names = "--batch", defaultValue = "20") int batch;
  @Option(names = "--lr", defaultValue = "20") double lr;
  @Option(names = "--clip", defaultValue = "0.25") double clip;
  @Option(names = "--optimizer", defaultValue = "sgd") String optimizer;
  @Option(names = "--val-every", defaultValue = "2m", description = "Validation points for the curves (default: ${DEFAULT-VALUE} of training).")
  String valEvery;
  @Option(names = "--eval-batch", defaultValue = "10", description = "Batch for the curve's validation points and the final valid/test perplexity (default: ${DEFAULT-VALUE}).")
  int evalBatch;
  @Option(names = "--seed", defaultValue = "1111") long seed;
  @Option(names = "--threads", description = "Worker threads (default: cores).") Integer threads;
  @Option(names = "--blas", defaultValue = "auto") String blas;
  @Option(names = {"--output", "-o"}, description = "Directory for the runs, table and plot (default: runs/compare-<data>).")
  Path output;
  @Option(names = "--snapshot-at", split = ",", description = {"Also keep each head's best model after these training times, e.g. 20m: the table",
      "gains the valid/test perplexity a run with that budget would have ended with (the same trajectory, cut there;",
      "afterwards the plateau schedule counts that validation like any other)."})
  List<String> snapshotAt = List.of();
  /** The plateau schedule's lr factor (the PyTorch example's ÷4), also the one --anneal-at applies. */
  static final double LR_DECAY = 0.25;

  @Option(names = "--anneal-at", split = ",", defaultValue = "0", description = {"Multiply each head's lr by 0.25 (the plateau schedule's decay)",
      "at each of these fractions of its budget, as train --anneal-at (default: ${DEFAULT-VALUE}, never)."})
  double[] annealAt;
  @Option(names = "--save-every", defaultValue = "5m", description = "Write each run's resume checkpoint this often inside an epoch (default: ${DEFAULT-VALUE}).")
  String saveEvery;
  @Option(names = "--resume", description = {"Continue an interrupted compare in --output: finished heads keep their row (result.json),",
      "an unfinished head resumes from its last checkpoint, the rest start; the flags must be those of the first start."})
  boolean resume;
  @Option(names = "--json", description = "Print the table as JSON.") boolean json;
  @Option(names = "--quiet", description = "No progress output.") boolean quiet;

  @Override
  public Integer call() throws Exception {
    Setup.threadsAndBlas(threads, blas);
    double budgetS = Setup.parseDuration("--budget", budget);
    if (budgetS <= 0 && maxTokens <= 0 && epochs == null) {
      throw new IllegalArgumentException("--budget 0 needs --max-tokens or --epochs to bound each run");
    }
    if (budgetS < 0 || maxTokens < 0) throw new IllegalArgumentException("--budget and --max-tokens must be >= 0");
    annealAt = Trainer.annealFractions(annealAt);
    Map<String, Variant> variants = variants(heads, model, lr, clip);
    double saveEveryS = Setup.parseDuration("--save-every", saveEvery), valEveryS = Setup.parseDuration("--val-every", valEvery);
    double[] snapshots = snapshotAt.stream().mapToDouble(t -> Setup.parseDuration("--snapshot-at", t)).toArray();
    for (double t : snapshots) if (!(t > 0)) throw new IllegalArgumentException("--snapshot-at: times must be > 0");
    Corpus corpus = Corpus.load(data, 1, 0);
    Path dir = output != null ? output : Path.of("runs", "compare-" + corpus.name());
    Files.createDirectories(dir);
    // with --json, stdout holds the JSON alone (as train --json): the heads' headers and progress go to stderr
    var out = quiet ? new java.io.PrintStream(java.io.OutputStream.nullOutputStream()) : json ? System.err : System.out;
    List<Map<String, Object>> rows = new ArrayList<>();
    Map<String, Path> curves = new LinkedHashMap<>();
    String budgetText = budgetText(budgetS, epochs) + (annealAt.length > 0 ? String.format(", lr x %s after %s of it", LR_DECAY, Trainer.describeFractions(annealAt)) : "");
    for (var variant : variants.entrySet()) {
      String h = variant.getKey();
      Variant v = variant.getValue();
      TrainConfig tc = new TrainConfig(epochs == null ? 100 : epochs, bptt, batch, v.lr(), v.clip(), optimizer, 0f, "plateau", LR_DECAY, 4,
          budgetS, maxTokens, seed, evalBatch, 50, saveEveryS, valEveryS).validate();
      ModelConfig cfg = v.model().config(corpus.vocab().size()).validate();
      Path run = dir.resolve(h.replaceAll("[^A-Za-z0-9_.+-]+", "-"));
      Path result = run.resolve(RESULT);
      if (resume && Files.exists(result)) { // finished before the interruption: keep its row
        rows.add(readRow(result));
        curves.put(h, run.resolve("metrics.jsonl"));
        out.printf("%n== %s head: finished earlier, row read from %s ==%n", h, result);
        continue;
      }
      boolean resumeRun = resume && Files.exists(run.resolve(Checkpoint.LAST));
      if (!resumeRun && Files.exists(run.resolve(Checkpoint.LAST))) {
        throw new dev.lmhead.UserError(run + ": already holds a run; continue with --resume, remove it or choose another --output");
      }
      if (resumeRun && !Checkpoint.gson().toJson(Checkpoint.readConfig(run)).equals(Checkpoint.gson().toJson(cfg))) {
        throw new dev.lmhead.UserError(run.resolve(Checkpoint.CONFIG) + ": the saved model config differs from the flags given with --resume");
      }
      Files.createDirectories(run);
      LanguageModel lm = new LanguageModel(cfg, corpus.vocab().counts(), new Rng(seed));
      if (!resumeRun) {
        Checkpoint.startFresh(run);
        Checkpoint.saveSetup(run, cfg, corpus.vocab(), Map.of("data", data, "train", tc));
      }
      out.printf("%n== %s head: %s, %,d parameters; lr %s, clip %s; budget %s ==%n", h, Setup.describeHead(lm), lm.parameterCount(),
          v.lr(), v.clip(), budgetText);
      long t0 = System.nanoTime();
      PeakHeap peak = PeakHeap.start();
      Trainer trainer = new Trainer(lm, corpus, tc, run, out, quiet).snapshotsAt(snapshots).annealAt(annealAt);
      if (resumeRun) {
        Checkpoint.removeStaleTemporaries(run);
        trainer.resume();
      }
      Trainer.Outcome o = trainer.run();
      long peakBytes = peak.stop();
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("head", h);
      r.put("lr", v.lr());
      r.put("clip", v.clip());
      r.put("anneal_at", annealAt);
      r.put("config", (cfg.input().equals("adaptive") ? "adaptive input + " : "") + Setup.describeHead(lm)
          + (cfg.tied() ? " tied" : ""));
      r.put("parameters", lm.parameterCount());
      r.put("valid_ppl", o.valid().ppl());
      r.put("test_ppl", o.test().ppl());
      r.put("valid_ppl_text", Evaluator.pplText(o.valid())); // NaN/inf never printed without an explanation
      r.put("test_ppl_text", Evaluator.pplText(o.test()));
      r.put("train_tokens", o.trainTokens());
      r.put("train_seconds", o.trainSeconds());
      r.put("train_tokens_per_s", o.trainTokensPerSecond());
      r.put("eval_tokens_per_s", o.test().tokensPerSecond());
      r.put("wall_seconds", (System.nanoTime() - t0) / 1e9);
      r.put("peak_heap_mb", peakBytes / 1e6);
      List<Map<String, Object>> snaps = new ArrayList<>();
      for (Trainer.Snapshot sn : o.snapshots()) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("at", sn.label());
        m.put("valid_ppl", sn.validPpl());
        m.put("test_ppl", sn.test().ppl());
        m.put("train_tokens", sn.trainTokens());
        m.put("train_seconds", sn.trainSeconds());
        snaps.add(m);
      }
      if (!snaps.isEmpty()) r.put("snapshots", snaps);
      r.put("resumed", resumeRun); // wall_seconds and peak_heap_mb then cover the resumed part only
      Files.writeString(result, Checkpoint.gson().toJson(r));
      rows.add(r);
      curves.put(h, run.resolve("metrics.jsonl"));
    }
    Path png = dir.resolve("compare.png");
    LearningCurve.saveComparison(curves, png, corpus.name() + ": validation perplexity vs training time, " + model.layers + "x" + model.hidden + " LSTM");
    String md = markdown(rows, corpus, budgetText, evalBatch);
    Files.writeString(dir.resolve("compare.md"), md);
    Map<String, Object> res = new LinkedHashMap<>();
    res.put("data", corpus.name());
    res.put("budget", budgetText);
    res.put("model", model.layers + "x" + model.hidden + " LSTM, emb " + model.emb + ", dropout " + model.dropout
        + ", bptt " + bptt + ", batch " + batch + ", " + optimizer + " lr " + lr + ", clip " + clip
        + " (unless a head entry sets lr= or clip=)");
    res.put("threads", Parallel.threads());
    res.put("blas", Blas.get().name());
    res.put("eval_batch", evalBatch);
    res.put("ppl_definition", Evaluator.definition(evalBatch));
    res.put("rows", rows);
    Files.writeString(dir.resolve("compare.json"), Checkpoint.gson().toJson(res));
    if (json) {
      System.out.println(Checkpoint.gson().toJson(res));
    } else {
      System.out.println();
      System.out.print(md);
      System.out.println("plot: " + png + "   table: " + dir.resolve("compare.md") + "   json: " + dir.resolve("compare.json"));
    }
    return 0;
  }

  private String budgetText(double budgetS, Integer epochs) {
    List<String> parts = new ArrayList<>();
    if (budgetS > 0) parts.add(budget);
    if (maxTokens > 0) parts.add(String.format("%,d tokens", maxTokens));
    if (epochs != null) parts.add(epochs + (epochs == 1 ? " epoch" : " epochs"));
    return String.join(" or ", parts);
  }

  private static String minutes(double s) {
    return s < 90 ? String.format("%.0f s", s) : String.format("%.1f min", s / 60);
  }

  /** The file in each head's run directory that holds its finished row (what {@code --resume} keeps). */
  static final String RESULT = "result.json";

  /** One {@code --heads} entry: the model options and the training options it may set ({@code lr=}, {@code clip=}). */
  record Variant(ModelOptions model, double lr, double clip) {}

  /**
   * Parses {@code --heads}: each entry is {@code HEAD[/option=value...]}, options named as the model flags
   * without dashes, plus {@code lr} and {@code clip} (a per-head learning-rate sweep); every variant starts
   * from the command's own options. Keys are the entries as given.
   */
  static Map<String, Variant> variants(List<String> heads, ModelOptions base, double lr, double clip) {
    Map<String, Variant> out = new LinkedHashMap<>();
    for (String entry : heads) {
      String[] parts = entry.trim().split("/");
      if (!Heads.has(parts[0])) {
        throw new IllegalArgumentException("--heads: unknown head '" + parts[0] + "' in '" + entry
            + "' (expected " + Heads.namesText() + ", each optionally followed by /option=value)");
      }
      ModelOptions o = base.copy();
      o.head = parts[0];
      double headLr = lr, headClip = clip;
      for (int i = 1; i < parts.length; i++) {
        int eq = parts[i].indexOf('=');
        if (eq <= 0) throw new IllegalArgumentException("--heads: '" + parts[i] + "' in '" + entry + "' is not option=value");
        String key = parts[i].substring(0, eq), value = parts[i].substring(eq + 1), where = "--heads '" + entry + "'";
        switch (key) {
          case "lr" -> headLr = positive(value, where, key, false);
          case "clip" -> headClip = positive(value, where, key, true);
          default -> o.set(key, value, where);
        }
      }
      if (out.put(entry.trim(), new Variant(o, headLr, headClip)) != null) {
        throw new IllegalArgumentException("--heads: '" + entry + "' is listed twice");
      }
    }
    return out;
  }

  private static double positive(String value, String where, String key, boolean zeroOk) {
    double x;
    try {
      x = Double.parseDouble(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(where + ": '" + key + "' needs a number, got '" + value + "'");
    }
    if (!(zeroOk ? x >= 0 : x > 0) || Double.isInfinite(x)) {
      throw new IllegalArgumentException(where + ": '" + key + "' must be " + (zeroOk ? ">= 0" : "> 0") + ", got " + value);
    }
    return x;
  }

  /** A finished row as {@link #call} wrote it, with its numbers typed as the table expects. */
  static Map<String, Object> readRow(Path file) throws java.io.IOException {
    com.google.gson.JsonObject o;
    try {
      o = com.google.gson.JsonParser.parseString(Files.readString(file)).getAsJsonObject();
    } catch (RuntimeException e) {
      throw new dev.lmhead.UserError(file + ": not a compare result (" + e.getMessage() + "); remove it to rerun that head");
    }
    Map<String, Object> r = new LinkedHashMap<>();
    for (var e : o.entrySet()) {
      var v = e.getValue();
      if (e.getKey().equals("snapshots") && v.isJsonArray()) {
        List<Map<String, Object>> snaps = new ArrayList<>();
        for (var x : v.getAsJsonArray()) {
          var so = x.getAsJsonObject();
          Map<String, Object> m = new LinkedHashMap<>();
          m.put("at", so.get("at").getAsString());
          for (String k : new String[] {"valid_ppl", "test_ppl", "train_seconds"}) m.put(k, so.get(k).getAsDouble());
          m.put("train_tokens", so.get("train_tokens").getAsLong());
          snaps.add(m);
        }
        r.put("snapshots", snaps);
        continue;
      }
      if (!v.isJsonPrimitive()) continue;
      var p = v.getAsJsonPrimitive();
      if (p.isBoolean()) r.put(e.getKey(), p.getAsBoolean());
      else if (p.isString()) r.put(e.getKey(), p.getAsString());
      else if (e.getKey().equals("parameters") || e.getKey().equals("train_tokens")) r.put(e.getKey(), p.getAsLong());
      else r.put(e.getKey(), p.getAsDouble());
    }
    return r;
  }

  /**
   * Peak Java heap over one run: the sum of the heap pools' peak usage after a full GC and a reset. An upper
   * bound on the live peak (pools peak at different moments, and garbage not yet collected counts); native
   * OpenBLAS buffers are not included.
   */
  record PeakHeap(List<java.lang.management.MemoryPoolMXBean> pools) {
    static PeakHeap start() {
      System.gc();
      var pools = java.lang.management.ManagementFactory.getMemoryPoolMXBeans().stream()
          .filter(p -> p.getType() == java.lang.management.MemoryType.HEAP)
          .toList();
      pools.forEach(java.lang.management.MemoryPoolMXBean::resetPeakUsage);
      return new PeakHeap(pools);
    }

    long stop() {
      long sum = 0;
      for (var p : pools) {
        var u = p.getPeakUsage();
        if (u != null) sum += u.getUsed();
      }
      return sum;
    }
  }

  static String markdown(List<Map<String, Object>> rows, Corpus c, String budget, int evalBatch) {
    StringBuilder b = new StringBuilder();
    b.append(String.format("%s, budget %s per head, best checkpoint; %s%n%n", c.name(), budget, Evaluator.definition(evalBatch)));
    b.append("| head | configuration | parameters | valid ppl | test ppl | train tokens/s | eval tokens/s | train tokens | train time | peak heap MB |\n");
    b.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Map<String, Object> r : rows) {
      b.append(String.format("| %s | %s | %,d | %s | %s | %,.0f | %,.0f | %,d | %s | %,.0f |%n", r.get("head"), r.get("config"),
          (long) r.get("parameters"), r.get("valid_ppl_text"), r.get("test_ppl_text"),
          (double) r.get("train_tokens_per_s"), (double) r.get("eval_tokens_per_s"), (long) r.get("train_tokens"),
          minutes((double) r.get("train_seconds")), (double) r.get("peak_heap_mb")));
    }
    List<String> labels = new ArrayList<>();
    for (Map<String, Object> r : rows) {
      if (r.get("snapshots") instanceof List<?> l) {
        for (Object x : l) if (x instanceof Map<?, ?> m && !labels.contains((String) m.get("at"))) labels.add((String) m.get("at"));
      }
    }
    for (String at : labels) {
      b.append(String.format("%nThe same runs cut at %s of training (each head's best model by then: what a %s budget gives)%n%n", at, at));
      b.append("| head | valid ppl | test ppl | train tokens | train time |\n|---|---:|---:|---:|---:|\n");
      for (Map<String, Object> r : rows) {
        if (!(r.get("snapshots") instanceof List<?> l)) continue;
        for (Object x : l) {
          if (x instanceof Map<?, ?> m && at.equals(m.get("at"))) {
            b.append(String.format("| %s | %.2f | %.2f | %,d | %s |%n", r.get("head"), (double) m.get("valid_ppl"), (double) m.get("test_ppl"),
                (long) m.get("train_tokens"), minutes((double) m.get("train_seconds"))));
          }
        }
      }
    }
    return b.toString();
  }
}
