package dev.lmhead.cli;

import com.google.gson.JsonObject;
import dev.lmhead.analysis.BenchPeer;
import dev.lmhead.analysis.TrainSpeed;
import dev.lmhead.data.Corpus;
import dev.lmhead.model.Checkpoint;
import dev.lmhead.model.LanguageModel;
import dev.lmhead.model.ModelConfig;
import dev.lmhead.tensor.Blas;
import dev.lmhead.tensor.Parallel;
import dev.lmhead.tensor.Rng;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code lmhead bench}: speed measurements, each with PyTorch measured in the same run. */
@Command(name = "bench", abbreviateSynopsis = true, mixinStandardHelpOptions = true,
    description = "Benchmarks (speed belongs here, never in unit tests).",
    subcommands = {BenchCommand.Train.class, BenchHeadsCommand.class})
public final class BenchCommand implements Runnable {
  @Override public void run() { picocli.CommandLine.usage(this, System.out); }

  /** End-to-end LSTM LM training tokens/s, lmhead vs PyTorch on CPU, same data, shapes and threads. */
  @Command(name = "train", abbreviateSynopsis = true, mixinStandardHelpOptions = true, sortOptions = false, modelTransformer = HeadFlags.class,
      description = {"End-to-end training speed (tokens/s) of an LSTM LM, lmhead vs PyTorch and/or libtorch through DJL (--peer; same run, same threads).",
          "Times --steps windows of forward + backward + clipping + SGD after --warmup windows, --repeats times; reports the median."})
  public static final class Train implements Callable<Integer> {
    @Option(names = "--data", defaultValue = "wikitext-2", description = "wikitext-2 | ptb | PATH (default: ${DEFAULT-VALUE}).")
    String data;
    @Mixin ModelOptions model;
    @Option(names = "--bptt", defaultValue = "35") int bptt;
    @Option(names = "--batch", defaultValue = "20") int batch;
    @Option(names = "--lr", defaultValue = "20") double lr;
    @Option(names = "--clip", defaultValue = "0.25") double clip;
    @Option(names = "--steps", defaultValue = "40", description = "Timed windows per repeat (default: ${DEFAULT-VALUE}).") int steps;
    @Option(names = "--warmup", defaultValue = "10", description = "Untimed windows first (default: ${DEFAULT-VALUE}).") int warmup;
    @Option(names = "--repeats", defaultValue = "3", description = "Repetitions; the median is reported (default: ${DEFAULT-VALUE}).") int repeats;
    @Option(names = "--threads", description = "Threads for lmhead and PyTorch (default: cores).") Integer threads;
    @Option(names = "--blas", defaultValue = "auto") String blas;
    @Option(names = "--peer", defaultValue = "pytorch", description = "pytorch | djl | none, or a comma list such as pytorch,djl: "
        + "PyTorch 1.13 from Python (bench/pytorch_word_lm.py) and/or libtorch 2.7.1 from Java through DJL (peers/djl, built with "
        + "`mvn -f peers/djl/pom.xml package`) (default: ${DEFAULT-VALUE}).") String peer;
    @Option(names = "--json", description = "Print JSON.") boolean json;

    @Override
    public Integer call() throws Exception {
      List<BenchPeer> peers = BenchPeer.parse(peer);
      Setup.threadsAndBlas(threads, blas);
      if (steps < 1 || warmup < 0 || repeats < 1) throw new IllegalArgumentException("--steps and --repeats must be >= 1, --warmup >= 0");
      Corpus corpus = Corpus.load(data, 1, 0);
      ModelConfig cfg = model.config(corpus.vocab().size()).validate();
      LanguageModel lm = new LanguageModel(cfg, corpus.vocab().counts(), new Rng(1));
      List<Double> ours = new ArrayList<>();
      for (int r = 0; r < repeats; r++) {
        ours.add(TrainSpeed.measure(lm, corpus.train(), batch, bptt, r == 0 ? warmup : 2, steps, lr, clip, r).tokensPerSecond());
      }
      // one more window with every matrix product counted: the work per token and its limit on this machine
      var rates = new dev.lmhead.tensor.GemmProfile.Rates(dev.lmhead.analysis.HeadBench.LIMIT_RATE_SECONDS);
      var profile = dev.lmhead.tensor.GemmProfile.record(
          () -> TrainSpeed.measure(lm, corpus.train(), batch, bptt, 0, 1, lr, clip, 99));
      double windowTokens = (double) batch * bptt;
      double limitTps = windowTokens / profile.limitSeconds(rates);
      double square = rates.square();
      Map<String, Object> res = new LinkedHashMap<>();
      res.put("data", corpus.name());
      res.put("vocab", corpus.vocab().size());
      res.put("config", String.format("%dx%d LSTM, emb %d, %s head%s, batch %d, bptt %d", cfg.layers(), cfg.hidden(), cfg.emb(),
          cfg.head().type(), cfg.tied() ? " (tied)" : "", batch, bptt));
      res.put("threads", Parallel.threads());
      res.put("blas", Blas.get().name());
      res.put("lmhead_tokens_per_s", median(ours));
      res.put("lmhead_runs", ours);
      res.put("gemm_mflop_per_token", profile.flops() / windowTokens / 1e6);
      res.put("limit_tokens_per_s", limitTps);
      res.put("limit_fraction", median(ours) / limitTps);
      res.put("sgemm_square_gflops", square);
      List<Map<String, Object>> shapes = new ArrayList<>();
      for (var e : profile.entries()) {
        if (shapes.size() == 8) break;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("shape", e.shape().toString());
        m.put("calls_per_window", e.calls());
        m.put("mflop_per_token", e.flops() / windowTokens / 1e6);
        m.put("gflops_alone", rates.gflops(e.shape()));
        shapes.add(m);
      }
      res.put("largest_gemms", shapes);
      res.put("limit_definition", "the matrix products of one training window were counted (shape and number); the limit is the "
          + "tokens/s at which those products alone run at this machine's GEMM rate on each shape, measured in the same run");
      List<String> args = new ArrayList<>(List.of("--data", Corpus.folder(data).toString(), "--emb", "" + cfg.emb(),
          "--hidden", "" + cfg.hidden(), "--layers", "" + cfg.layers(), "--dropout", "" + cfg.dropout(),
          "--bptt", "" + bptt, "--batch", "" + batch, "--lr", "" + lr, "--clip", "" + clip,
          "--steps", "" + steps, "--warmup", "" + warmup, "--threads", "" + Parallel.threads()));
      args.addAll(cfg.head().pytorchArgs());
      if (cfg.tied()) args.add("--tied");
      // PyTorch's keys as they always were (pytorch_*, ratio); another peer's under its id (djl_*, ratio_djl),
      // and only when asked for
      for (BenchPeer p : BenchPeer.values()) {
        boolean asked = peers.contains(p);
        if (!asked && p != BenchPeer.PYTORCH) continue;
        String why = asked ? p.unavailableReason() : "not requested";
        if (why == null && !p.has(cfg.head().type())) why = p.label() + " has no " + cfg.head().type() + " head";
        String key = p.id(), ratioKey = p == BenchPeer.PYTORCH ? "ratio" : "ratio_" + p.id();
        if (why != null) {
          res.put(key, "not measured: " + why);
          continue;
        }
        List<Double> theirs = new ArrayList<>();
        JsonObject last = null;
        for (int r = 0; r < repeats; r++) {
          last = p.runWordLm(args, Parallel.threads(), 1800);
          theirs.add(last.get("tokens_per_s").getAsDouble());
        }
        res.put(key + "_tokens_per_s", median(theirs));
        res.put(key + "_runs", theirs);
        res.put(key + "_version", last.get("torch").getAsString());
        res.put(key + "_gemm_gflops", last.get("gemm_gflops").getAsDouble());
        res.put(ratioKey, median(ours) / median(theirs));
      }
      if (json) {
        System.out.println(Checkpoint.gson().toJson(res));
      } else {
        System.out.printf("%s, %s; %d threads, %s BLAS%n", res.get("data"), res.get("config"), Parallel.threads(), Blas.get().name());
        System.out.printf("lmhead : %,.0f tokens/s (median of %d; runs %s)%n", median(ours), repeats, fmt(ours));
        System.out.printf("limit  : %,.0f tokens/s = its matrix products alone (%.1f MFLOP per token) at this machine's GEMM rate on each "
            + "shape; reached %.0f%% (sgemm on a 2048³ square: %.0f GFLOP/s)%n", limitTps, profile.flops() / windowTokens / 1e6,
            100 * median(ours) / limitTps, square);
        if (res.containsKey("ratio")) {
          System.out.printf("PyTorch: %,.0f tokens/s (median of %d; torch %s, its GEMM %.0f GFLOP/s)%n",
              (double) res.get("pytorch_tokens_per_s"), repeats, res.get("pytorch_version"), (double) res.get("pytorch_gemm_gflops"));
          System.out.printf("ratio lmhead/PyTorch: %.2fx%n", (double) res.get("ratio"));
        } else {
          System.out.println("PyTorch: " + res.get("pytorch"));
        }
        if (res.containsKey("ratio_djl")) {
          System.out.printf("DJL    : %,.0f tokens/s (median of %d; %s, its GEMM %.0f GFLOP/s)%n",
              (double) res.get("djl_tokens_per_s"), repeats, res.get("djl_version"), (double) res.get("djl_gemm_gflops"));
          System.out.printf("ratio lmhead/DJL: %.2fx%n", (double) res.get("ratio_djl"));
        } else if (res.containsKey("djl")) {
          System.out.println("DJL    : " + res.get("djl"));
        }
      }
      return 0;
    }
  }

  static double median(List<Double> xs) {
    List<Double> s = new ArrayList<>(xs);
    java.util.Collections.sort(s);
    int n = s.size();
    return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
  }

  static String fmt(List<Double> xs) {
    StringBuilder b = new StringBuilder("[");
    for (double x : xs) b.append(b.length() > 1 ? ", " : "").append(String.format("%.0f", x));
    return b.append("]").toString();
  }
}
