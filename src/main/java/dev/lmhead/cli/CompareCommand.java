package dev.lmhead.cli;

import dev.lmhead.analysis.LearningCurve;
import dev.lmhead.data.Corpus;
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
@Command(name = "compare", abbreviateSynopsis = true, mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Train the same LSTM once per head under one budget and compare perplexity, speed and size.",
        Evaluator.DEFINITION + "."})
public final class CompareCommand implements Callable<Integer> {
  @Option(names = "--data", defaultValue = "wikitext-2", description = "wikitext-2 | ptb | PATH (default: ${DEFAULT-VALUE}).")
  String data;
  @Option(names = "--heads", defaultValue = "full,class,hsm,adaptive,mos", split = ",",
      description = "Heads to compare (default: ${DEFAULT-VALUE}).")
  List<String> heads;
  @Mixin ModelOptions model;
  @Option(names = "--budget", defaultValue = "20m", description = "Training time per head, e.g. 20m (default: ${DEFAULT-VALUE}).")
  String budget;
  @Option(names = "--max-tokens", defaultValue = "0", description = "Or a training-token budget per head (0 = none).")
  long maxTokens;
  @Option(names = "--epochs", defaultValue = "100", description = "Upper bound on epochs (the budget usually stops first).")
  int epochs;
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
  @Option(names = "--json", description = "Print the table as JSON.") boolean json;
  @Option(names = "--quiet", description = "No progress output.") boolean quiet;

  @Override
  public Integer call() throws Exception {
    Setup.threadsAndBlas(threads, blas);
    double budgetS = Setup.parseDuration("--budget", budget);
    if (budgetS <= 0 && maxTokens <= 0) throw new IllegalArgumentException("--budget or --max-tokens must be > 0");
    for (String h : heads) {
      if (!List.of("full", "class", "hsm", "adaptive", "mos").contains(h)) {
        throw new IllegalArgumentException("--heads: unknown head '" + h + "' (expected full, class, hsm, adaptive, mos)");
      }
    }
    TrainConfig tc = new TrainConfig(epochs, bptt, batch, lr, clip, optimizer, 0f, "plateau", 4, 4, budgetS, maxTokens,
        seed, evalBatch, 50, 0, Setup.parseDuration("--val-every", valEvery)).validate();
    Corpus corpus = Corpus.load(data, 1, 0);
    Path dir = output != null ? output : Path.of("runs", "compare-" + corpus.name());
    Files.createDirectories(dir);
    var out = quiet ? new java.io.PrintStream(java.io.OutputStream.nullOutputStream()) : System.out;
    List<Map<String, Object>> rows = new ArrayList<>();
    Map<String, Path> curves = new LinkedHashMap<>();
    for (String h : heads) {
      String saved = model.head;
      model.head = h;
      ModelConfig cfg = model.config(corpus.vocab().size()).validate();
      model.head = saved;
      Path run = dir.resolve(h);
      if (Files.exists(run.resolve(Checkpoint.LAST))) {
        throw new dev.lmhead.UserError(run + ": already holds a run; remove it or choose another --output");
      }
      Files.createDirectories(run);
      LanguageModel lm = new LanguageModel(cfg, corpus.vocab().counts(), new Rng(seed));
      Checkpoint.saveSetup(run, cfg, corpus.vocab(), Map.of("data", data, "train", tc));
      out.printf("%n== %s head: %s, %,d parameters; budget %s ==%n", h, Setup.describeHead(lm), lm.parameterCount(),
          budgetS > 0 ? budget : maxTokens + " tokens");
      long t0 = System.nanoTime();
      Trainer.Outcome o = new Trainer(lm, corpus, tc, run, out, quiet).run();
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("head", h);
      r.put("config", Setup.describeHead(lm) + (cfg.tied() ? " tied" : ""));
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
      rows.add(r);
      curves.put(h, run.resolve("metrics.jsonl"));
    }
    Path png = dir.resolve("compare.png");
    LearningCurve.saveComparison(curves, png, corpus.name() + ": validation perplexity vs training time, " + model.layers + "x" + model.hidden + " LSTM");
    String md = markdown(rows, corpus, budgetS > 0 ? budget : maxTokens + " tokens");
    Files.writeString(dir.resolve("compare.md"), md);
    Map<String, Object> res = new LinkedHashMap<>();
    res.put("data", corpus.name());
    res.put("budget", budgetS > 0 ? budget : maxTokens + " tokens");
    res.put("threads", Parallel.threads());
    res.put("blas", Blas.get().name());
    res.put("eval_batch", evalBatch);
    res.put("ppl_definition", Evaluator.DEFINITION);
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

  static String markdown(List<Map<String, Object>> rows, Corpus c, String budget) {
    StringBuilder b = new StringBuilder();
    b.append(String.format("%s, budget %s per head; ppl = exp(mean NLL over every target token, <eos> included), best checkpoint%n%n", c.name(), budget));
    b.append("| head | configuration | parameters | valid ppl | test ppl | train tokens/s | eval tokens/s | train tokens |\n");
    b.append("|---|---|---:|---:|---:|---:|---:|---:|\n");
    for (Map<String, Object> r : rows) {
      b.append(String.format("| %s | %s | %,d | %s | %s | %,.0f | %,.0f | %,d |%n", r.get("head"), r.get("config"),
          (long) r.get("parameters"), r.get("valid_ppl_text"), r.get("test_ppl_text"),
          (double) r.get("train_tokens_per_s"), (double) r.get("eval_tokens_per_s"), (long) r.get("train_tokens")));
    }
    return b.toString();
  }
}
