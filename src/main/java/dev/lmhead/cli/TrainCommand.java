package dev.lmhead.cli;

import dev.lmhead.UserError;
import dev.lmhead.analysis.LearningCurve;
import dev.lmhead.data.Corpus;
import dev.lmhead.data.Vocabulary;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code lmhead train}: trains an LSTM LM; defaults are the PyTorch word_language_model example on WikiText-2,
 * with the adaptive input and a tied adaptive softmax in place of its full softmax unless {@code --head} is given.
 */
@Command(name = "train", abbreviateSynopsis = true, mixinStandardHelpOptions = true, sortOptions = false, modelTransformer = HeadFlags.class,
    description = {"Train an LSTM language model with any output layer.",
        "Defaults: WikiText-2, 2x200 LSTM, dropout 0.2, SGD lr 20, clip 0.25, bptt 35, batch 20 (the pytorch/examples word_language_model",
        "recipe) with the adaptive input and a tied adaptive softmax (the best head in a 12-minute budget; --head full trains the",
        "example's tied full softmax), stopped after --time-budget (12m of training; evaluations add about 2m)."})
public final class TrainCommand implements Callable<Integer> {
  @Option(names = "--data", defaultValue = "wikitext-2", description = "wikitext-2 | ptb | PATH to a folder with train/valid/test text files (default: ${DEFAULT-VALUE}).")
  String data;
  @Option(names = "--min-count", description = "Words seen fewer times in train become <unk> (default: 1 when the training text has <unk> tokens, as WikiText and PTB do; else one more than the fewest times any word is seen, e.g. 2 for a raw text: its rarest words become <unk>, so that <unk> is trained for unseen words).")
  Integer minCountOption;
  int minCount;
  @Option(names = "--max-vocab", defaultValue = "0", description = "Keep only the most frequent words (0 = all).")
  int maxVocab;
  @Mixin ModelOptions model;
  @Option(names = "--epochs", defaultValue = "6", description = "Epochs (default: ${DEFAULT-VALUE}).")
  int epochs;
  @Option(names = "--bptt", defaultValue = "35", description = "Truncated-BPTT window (default: ${DEFAULT-VALUE}).")
  int bptt;
  @Option(names = "--batch", defaultValue = "20", description = "Batch size (default: ${DEFAULT-VALUE}).")
  int batch;
  @Option(names = "--lr", defaultValue = "20", description = "Learning rate (default: ${DEFAULT-VALUE}).")
  double lr;
  @Option(names = "--clip", defaultValue = "0.25", description = "Max gradient norm, 0 = off (default: ${DEFAULT-VALUE}).")
  double clip;
  @Option(names = "--optimizer", defaultValue = "sgd", description = "sgd | adagrad | adam (default: ${DEFAULT-VALUE}).")
  String optimizer;
  @Option(names = "--weight-decay", defaultValue = "0", description = "L2 weight decay (default: ${DEFAULT-VALUE}).")
  float weightDecay;
  @Option(names = "--lr-schedule", defaultValue = "plateau", description = "plateau (lr *= --lr-decay when valid ppl does not improve) | epoch (lr *= --lr-decay each epoch from --decay-start) | none (default: ${DEFAULT-VALUE}).")
  String schedule;
  @Option(names = "--lr-decay", description = "Factor in (0, 1] the schedule multiplies the lr by (default: 0.25 for plateau, the PyTorch example's lr/4; 0.5 for epoch, Zaremba et al.).")
  Double lrDecay;
  @Option(names = "--decay-start", defaultValue = "4", description = "epoch schedule: lr decays after each epoch from this one on (Zaremba: 4, i.e. epoch 5 runs at lr*decay) (default: ${DEFAULT-VALUE}).")
  int decayStart;
  @Option(names = "--anneal-at", split = ",", description = {"Multiply the lr by --lr-decay when each of these fractions of the training budget",
      "(--time-budget, --max-tokens or --epochs, whichever ends first) is spent, e.g. 0.8 (the last 20% at lr/4) or 0.7,0.8,0.9; 0 = never",
      "(default: " + DEFAULT_ANNEAL_TEXT + " when the head is train's own choice and a --time-budget is set, i.e. the main job; else 0)."})
  double[] annealAtOption;

  /** The main job's --anneal-at (README, issue 17: the measured gain). */
  static final double[] DEFAULT_ANNEAL = {0.7, 0.8, 0.9};
  static final String DEFAULT_ANNEAL_TEXT = "0.7,0.8,0.9";
  static final String ANNEAL_REASON = "on WikiText-2, at the same 8.6 M tokens, valid ppl 166.43 without a cut, 146.52 with one at 80%, 136.24 with these three";

  /**
   * The effective --anneal-at, and why when it was not given: {@link #DEFAULT_ANNEAL} when train chose the
   * head itself (headReason non-null) under a time budget, where a run ends wherever the budget does and the
   * plateau rule has rarely fired by then; none otherwise (a recipe given by its flags is trained as given).
   */
  static double[] annealAt(double[] given, String headReason, double budgetS) {
    if (given != null) return Trainer.annealFractions(given);
    return headReason != null && budgetS > 0 ? DEFAULT_ANNEAL.clone() : new double[0];
  }
  @Option(names = "--time-budget", defaultValue = "12m", description = "Stop training after this much training time, e.g. 90s, 15m, 2h; 0 = no limit (default: ${DEFAULT-VALUE}, so that the whole default job with its final evaluation takes about 15 minutes).")
  String timeBudget;
  @Option(names = "--max-tokens", defaultValue = "0", description = "Stop after this many training tokens (0 = no limit).")
  long maxTokens;
  @Option(names = "--seed", defaultValue = "1111", description = "Random seed (default: ${DEFAULT-VALUE}).")
  long seed;
  @Option(names = "--threads", description = "Worker threads (default: number of cores).")
  Integer threads;
  @Option(names = "--blas", defaultValue = "auto", description = "Dense math backend: auto | openblas | java (default: ${DEFAULT-VALUE}).")
  String blas;
  @Option(names = "--eval-batch", defaultValue = "1", description = "Batch size for validation/test perplexity (default: ${DEFAULT-VALUE}: one stream).")
  int evalBatch;
  @Option(names = "--log-interval", defaultValue = "50", description = "Steps between metric lines (default: ${DEFAULT-VALUE}).")
  int logInterval;
  @Option(names = "--save-every", defaultValue = "5m", description = "Also write the resume checkpoint this often inside an epoch (default: ${DEFAULT-VALUE}).")
  String saveEvery;
  @Option(names = "--loss-scale", defaultValue = "token", description = "token: mean NLL over a window's T*B targets (PyTorch); sequence: summed over the T steps, averaged over the batch (Zaremba et al., TF PTB tutorial: their lr 1/clip 5 = token lr 20/clip 0.25) (default: ${DEFAULT-VALUE}).")
  String lossScale;
  @Option(names = "--val-every", defaultValue = "0", description = "Also measure validation perplexity every this much training time, e.g. 5m (default: epoch ends only); --schedule plateau compares each epoch end with the best of all of them.")
  String valEvery;
  @Option(names = "--snapshot-at", split = ",", description = {"Also keep the best model as it stands after these training times, e.g. 20m,1h",
      "(model-at-20m.safetensors), and report its valid/test perplexity: what a run with that --time-budget would have ended with.",
      "Its validation counts for --schedule plateau like --val-every's: an epoch end no better than it cuts the lr."})
  List<String> snapshotAt = List.of();
  @Option(names = {"--output", "-o"}, description = "Run directory (default: runs/<data>-<head>).")
  Path output;
  @Option(names = "--resume", description = {"Continue the run in --output from its last checkpoint, with the same model flags and data.",
      "Word ids and the head's classes/tree come from the run's vocab.txt; a --data whose training split gives other words or counts (with --min-count/--max-vocab) is refused."})
  boolean resume;
  @Option(names = "--json", description = "Print the final summary as JSON.")
  boolean json;
  @Option(names = "--quiet", description = "No progress output.")
  boolean quiet;

  /**
   * The corpus numbered by the run's own {@code vocab.txt}, so that word ids and the head structures built
   * from its counts (classes, Huffman tree, cutoffs) are those the checkpoint was trained with, whatever
   * this version of lmhead or this copy of the data would number them. The training split of {@code --data}
   * must give the same words with the same counts (with {@code --min-count}/{@code --max-vocab} applied):
   * otherwise it is not the data the run started with, and resuming is refused naming both.
   */
  private Corpus withSavedVocabulary(Path dir, Corpus corpus) {
    Path vocabFile = dir.resolve(Checkpoint.VOCAB);
    Vocabulary saved = Vocabulary.load(vocabFile);
    Path trainFile = Corpus.splitFile(data, "train");
    String diff = saved.difference(corpus.vocab(), Checkpoint.VOCAB, trainFile.toString());
    if (diff != null) {
      String was = Checkpoint.readField(dir, "data");
      String mc = Checkpoint.readField(dir, "min_count"), mv = Checkpoint.readField(dir, "max_vocab");
      throw new UserError("--resume: " + vocabFile + " does not match the training split of --data " + Corpus.folder(data)
          + " with --min-count " + minCount + " --max-vocab " + maxVocab + " (" + diff + "); resume on the data the run started with"
          + (was != null ? " (" + dir.resolve(Checkpoint.CONFIG) + ": --data " + was
              + (mc != null ? " --min-count " + mc : "") + (mv != null ? " --max-vocab " + mv : "") + ")" : ""));
    }
    return corpus.withVocabulary(saved);
  }

  /**
   * From this vocabulary size on, {@code train} without {@code --head} on a corpus of the user's (not the
   * bundled WikiText-2 and PTB, whose defaults reproduce published recipes) uses the adaptive softmax.
   */
  static final int LARGE_VOCAB = 20_000;

  /**
   * The main job's corpus: {@code ./lmhead train} without {@code --head} on it trains the adaptive input
   * with a tied adaptive softmax, the best model of its 12-minute budget (README); PTB keeps the full
   * softmax of the published recipes it reproduces.
   */
  static final String MAIN_JOB_DATA = "wikitext-2";

  /**
   * Without {@code --head}: on the main job's corpus, or on a corpus of the user's with V >= {@link
   * #LARGE_VOCAB}, the adaptive softmax (with the adaptive input, tied, unless {@code --input} is given)
   * replaces the full softmax. Returns the reason to print, or null when the flags stay as given.
   */
  static String chooseDefaultHead(String data, int vocab, ModelOptions model) {
    boolean mainJob = data.equals(MAIN_JOB_DATA);
    if (model.headGiven() || !(mainJob || (!Corpus.BUNDLED.contains(data) && vocab >= LARGE_VOCAB))) return null;
    model.head = "adaptive";
    if (!model.inputGiven()) model.input = "adaptive";
    String what = model.input.equals("adaptive") && model.tied ? "adaptive input + tied adaptive softmax (Baevski & Auli 2019)" : "adaptive softmax";
    return mainJob
        ? what + ": on WikiText-2, 12 minutes of training reach valid ppl 166 with it and 199 with the PyTorch example's tied full "
            + "softmax (README, issue 17); --head full trains that recipe"
        : String.format("%s chosen for your corpus's V = %,d >= %,d: the full softmax costs O(V·d) per token, so in a time budget the "
            + "adaptive heads see more data (WikiText-2, 12 minutes: valid ppl 166 vs 199, see README); --head full keeps the full softmax",
            what, vocab, LARGE_VOCAB);
  }

  @Override
  public Integer call() throws Exception {
    Setup.threadsAndBlas(threads, blas);
    double budget = Setup.parseDuration("--time-budget", timeBudget);
    TrainConfig tc = new TrainConfig(epochs, bptt, batch, lr, clip, optimizer, weightDecay, schedule,
        lrDecay != null ? lrDecay : TrainConfig.defaultLrDecay(schedule),
        decayStart, budget, maxTokens, seed, evalBatch, Math.max(1, logInterval), Setup.parseDuration("--save-every", saveEvery),
        Setup.parseDuration("--val-every", valEvery), lossScale).validate();
    if (logInterval < 1) throw new IllegalArgumentException("--log-interval must be >= 1, got " + logInterval);
    if (minCountOption != null && minCountOption < 1) throw new IllegalArgumentException("--min-count must be >= 1, got " + minCountOption);
    if (maxVocab < 0 || maxVocab == 1) throw new IllegalArgumentException("--max-vocab must be 0 (no limit) or >= 2 (<eos> and <unk>), got " + maxVocab);
    // with --json, stdout holds the JSON summary alone: the header, progress and warnings go to stderr
    var out = json ? System.err : System.out;
    if (!quiet) out.println("lmhead train: loading " + data + " ...");
    Corpus corpus = Corpus.load(data, minCountOption != null ? minCountOption : Corpus.AUTO_MIN_COUNT, maxVocab);
    minCount = corpus.minCount();
    String headReason = chooseDefaultHead(data, corpus.vocab().size(), model);
    double[] annealAt = annealAt(annealAtOption, headReason, budget);
    Path dir = output != null ? output : Path.of("runs", Path.of(data).getFileName() + "-" + model.head);
    if (resume) {
      if (!Files.exists(dir.resolve(Checkpoint.LAST))) {
        throw new UserError("--resume: nothing to resume in " + dir + " (no " + Checkpoint.LAST + "; start the run without --resume)");
      }
      corpus = withSavedVocabulary(dir, corpus);
    }
    ModelConfig cfg = model.config(corpus.vocab().size()).validate();
    if (resume) {
      ModelConfig saved = Checkpoint.readConfig(dir);
      if (saved.vocab() != cfg.vocab()) {
        throw new UserError(dir.resolve(Checkpoint.VOCAB) + ": vocabulary has " + cfg.vocab() + " words but " + dir.resolve(Checkpoint.CONFIG) + " says " + saved.vocab());
      }
      if (!Checkpoint.gson().toJson(saved).equals(Checkpoint.gson().toJson(cfg))) {
        throw new UserError(dir.resolve(Checkpoint.CONFIG) + ": the saved model config differs from the flags given with --resume");
      }
    } else if (Files.exists(dir.resolve(Checkpoint.LAST))) {
      throw new UserError(dir + ": already holds a run; use --resume to continue it or --output for a new directory");
    }
    LanguageModel lm = new LanguageModel(cfg, corpus.vocab().counts(), new Rng(seed));
    Files.createDirectories(dir);
    Map<String, Object> extra = new LinkedHashMap<>();
    extra.put("data", data);
    extra.put("min_count", minCount);
    extra.put("max_vocab", maxVocab);
    extra.put("train", tc);
    extra.put("anneal_at", annealAt);
    if (!resume) {
      Checkpoint.startFresh(dir);
      Checkpoint.saveSetup(dir, cfg, corpus.vocab(), extra);
    }
    if (!quiet) {
      out.printf("data      %s: vocab %,d; train %,d / valid %,d / test %,d tokens (<eos> per line included); out of vocabulary: valid %.2f%%, test %.2f%%%n",
          corpus.name(), corpus.vocab().size(), corpus.train().length, corpus.valid().length, corpus.test().length,
          100 * corpus.oovRate(corpus.valid()), 100 * corpus.oovRate(corpus.test()));
      if (headReason != null) out.println("head      " + headReason);
      if (annealAtOption == null && annealAt.length > 0) {
        out.printf("anneal    lr x %s at %s of the budget: %s (README, issue 17); --anneal-at 0 turns it off%n",
            tc.lrDecay(), Trainer.describeFractions(annealAt), ANNEAL_REASON);
      }
      if (minCountOption == null && minCount > 1) {
        out.printf("vocab     the training text has no <unk>: its rarest words, seen fewer than %d times, become <unk> (%,d tokens), so that unseen words get a trained probability (--min-count 1 keeps every word)%n",
            minCount, corpus.vocab().counts()[corpus.vocab().unkId()]);
      }
      out.printf("model     %s input %d -> LSTM %dx%d (dropout %.2f) -> head %s%s; %,d parameters%n",
          cfg.input(), cfg.emb(), cfg.layers(), cfg.hidden(), cfg.dropout(), Setup.describeHead(lm), cfg.tied() ? " (tied)" : "", lm.parameterCount());
      out.printf("training  %s lr %s, clip %s, %s-level loss, bptt %d, batch %d, %d epochs, schedule %s%s, budget %s, seed %d%n",
          optimizer, lr, clip, lossScale, bptt, batch, epochs, schedule,
          annealAt.length > 0 ? String.format(" + lr x %s at %s of the budget", tc.lrDecay(), Trainer.describeFractions(annealAt)) : "",
          budget > 0 ? timeBudget : "none", seed);
      out.printf("compute   %s BLAS, %d threads; run dir %s%n", Blas.get().name(), Parallel.threads(), dir);
    }
    Trainer trainer = new Trainer(lm, corpus, tc, dir, out, quiet).annealAt(annealAt)
        .snapshotsAt(snapshotAt.stream().mapToDouble(t -> Setup.parseDuration("--snapshot-at", t)).toArray());
    if (resume) {
      int stale = Checkpoint.removeStaleTemporaries(dir); // left by a run killed while saving
      if (stale > 0 && !quiet) out.println("removed " + stale + " temporary file(s) of an interrupted save in " + dir);
      trainer.resume();
    }
    Trainer.Outcome o = trainer.run();
    Path png = dir.resolve("curve.png");
    try {
      LearningCurve.save(dir.resolve("metrics.jsonl"), png, corpus.name() + " " + Setup.describeHead(lm));
    } catch (Exception e) {
      out.println("lmhead: warning: could not draw " + png + ": " + e.getMessage());
    }
    Map<String, Object> summary = new LinkedHashMap<>();
    summary.put("data", corpus.name());
    summary.put("head", cfg.head().type());
    summary.put("parameters", lm.parameterCount());
    summary.put("min_count", minCount);
    summary.put("valid_oov_rate", corpus.oovRate(corpus.valid()));
    summary.put("test_oov_rate", corpus.oovRate(corpus.test()));
    summary.put("valid_ppl", o.valid().ppl());
    summary.put("test_ppl", o.test().ppl());
    summary.put("valid_tokens", o.valid().tokens());
    summary.put("test_tokens", o.test().tokens());
    summary.put("eval_batch", evalBatch);
    summary.put("epochs_done", o.epochsDone());
    summary.put("stopped_by_budget", o.stoppedByBudget());
    summary.put("train_tokens", o.trainTokens());
    summary.put("train_seconds", o.trainSeconds());
    summary.put("train_tokens_per_s", o.trainTokensPerSecond());
    summary.put("eval_tokens_per_s", o.test().tokensPerSecond());
    summary.put("ppl_definition", Evaluator.definition(evalBatch));
    List<Map<String, Object>> snaps = new java.util.ArrayList<>();
    for (Trainer.Snapshot sn : o.snapshots()) {
      snaps.add(Map.of("at", sn.label(), "valid_ppl", sn.validPpl(), "test_ppl", sn.test().ppl(), "train_tokens", sn.trainTokens(),
          "train_seconds", sn.trainSeconds(), "file", dir.resolve(Trainer.snapshotFile(Setup.parseDuration("--snapshot-at", sn.label()))).toString()));
    }
    if (!snaps.isEmpty()) summary.put("snapshots", snaps);
    Path best = dir.resolve(Checkpoint.MODEL);
    boolean haveBest = Files.exists(best);
    summary.put("checkpoint", haveBest ? best.toString() : null);
    if (!Double.isFinite(o.valid().ppl()) || !Double.isFinite(o.test().ppl())) {
      summary.put("warning", "valid ppl " + Evaluator.pplText(o.valid()) + "; test ppl " + Evaluator.pplText(o.test()));
    }
    if (json) {
      System.out.println(Checkpoint.gson().toJson(summary));
    } else {
      out.printf("%n=== %s, %s head: valid ppl %s (%,d tokens), test ppl %s (%,d tokens), eval batch %d ===%n",
          corpus.name(), cfg.head().type(), Evaluator.pplText(o.valid()), o.valid().tokens(), Evaluator.pplText(o.test()), o.test().tokens(), evalBatch);
      out.println(Evaluator.definition(evalBatch));
      out.printf("training: %,d tokens in %s (%.0f tokens/s), %d epoch(s)%s%n", o.trainTokens(),
          Setup.hms(o.trainSeconds()), o.trainTokensPerSecond(), o.epochsDone(), o.stoppedByBudget() ? ", stopped by the time/token budget" : "");
      for (Trainer.Snapshot sn : o.snapshots()) {
        out.printf("at %s of training (%,d tokens): valid ppl %.2f, test ppl %.2f   (%s)%n", sn.label(), sn.trainTokens(), sn.validPpl(),
            sn.test().ppl(), dir.resolve(Trainer.snapshotFile(Setup.parseDuration("--snapshot-at", sn.label()))));
      }
      out.println("checkpoint: " + (haveBest ? best : "none (no epoch reached a finite validation perplexity; the last state is in "
          + dir.resolve(Checkpoint.LAST) + ")") + "   metrics: " + dir.resolve("metrics.jsonl") + "   curve: " + png);
    }
    return 0;
  }
}
