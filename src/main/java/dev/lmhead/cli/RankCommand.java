package dev.lmhead.cli;

import dev.lmhead.UserError;
import dev.lmhead.analysis.LogProbRank;
import dev.lmhead.analysis.SpectrumPlot;
import dev.lmhead.data.Corpus;
import dev.lmhead.model.Checkpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lmhead rank}: the numerical rank of a trained model's log-prob matrix A [N, V]
 * (rows = log P(.|c_i) for N real contexts), the softmax bottleneck of Yang et al. (2018).
 */
@Command(name = "rank", abbreviateSynopsis = true, mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Rank and singular-value spectrum of a model's log-prob matrix A [N, V] on real contexts.",
        "A softmax head has rank(A) <= d+1 (d+2 with an output bias); a mixture of softmaxes is not bounded."})
public final class RankCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, arity = "1..*",
      description = "Run directory written by 'lmhead train'; several give one overlaid spectrum plot (e.g. softmax vs MoS).")
  java.util.List<Path> models;
  @Option(names = "--split", defaultValue = "valid", description = "valid | test | FILE (default: ${DEFAULT-VALUE}).")
  String split;
  @Option(names = "--contexts", defaultValue = "2000", description = "N: contexts, the first N positions of the split (default: ${DEFAULT-VALUE}).")
  int contexts;
  @Option(names = "--tol", description = "An extra absolute tolerance for the rank (besides numpy's default S.max*max(N,V)*eps).")
  Double tol;
  @Option(names = "--png", description = "Spectrum plot (default: <first model>/spectrum.png).")
  Path png;
  @Option(names = "--threads", description = "Worker threads (default: number of cores).")
  Integer threads;
  @Option(names = "--json", description = "Print JSON.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    Setup.threadsAndBlas(threads, "auto");
    if (contexts < 2) throw new IllegalArgumentException("--contexts must be >= 2, got " + contexts);
    if (tol != null && !(tol > 0)) throw new IllegalArgumentException("--tol must be > 0, got " + tol);
    Map<String, double[]> spectra = new LinkedHashMap<>();
    java.util.List<Map<String, Object>> rows = new java.util.ArrayList<>();
    double minTol = Double.POSITIVE_INFINITY;
    for (Path model : models) {
      Checkpoint.Loaded l = Checkpoint.load(model, Checkpoint.MODEL);
      int[] stream = Setup.splitStream(model, split, l.vocab());
      if (contexts > stream.length - 1) throw new UserError("--contexts " + contexts + " exceeds the " + (stream.length - 1) + " positions of " + split);
      float[] ctx = l.model().contexts(stream, contexts, 35);
      LogProbRank.Result r = LogProbRank.compute(l.model().decoder, ctx, contexts, tol == null ? Double.NaN : tol);
      String label = (models.size() > 1 ? model.getFileName() + ": " : "") + l.model().decoder.spec().label()
          + " head, d=" + l.model().decoder.inputDim() + ", rank " + r.rank() + " (default tol)"
          + (tol != null ? ", " + r.userRank() + " (--tol)" : "");
      spectra.put(label, r.singularValues());
      minTol = Math.min(minTol, r.defaultTol());
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("model", model.toString());
      m.put("head", l.model().decoder.type());
      m.put("contexts", contexts);
      m.put("vocab", r.vocab());
      m.put("rank", r.rank());
      m.put("default_tol", r.defaultTol());
      if (tol != null) { m.put("user_tol", r.userTol()); m.put("user_rank", r.userRank()); }
      m.put("softmax_bound", r.bound());
      m.put("largest_singular_value", r.singularValues()[0]);
      rows.add(m);
      if (!json) {
        if (models.size() > 1) System.out.println("== " + model);
        System.out.print(r.summary());
      }
    }
    Path out = png != null ? png : models.get(0).resolve("spectrum.png");
    String title = "singular values of A (" + contexts + " x " + rows.get(0).get("vocab") + " log-probs, " + split + ")";
    Map<String, Double> levels = new LinkedHashMap<>();
    levels.put("default tolerance S.max*max(N,V)*eps(float32)", minTol);
    if (tol != null) levels.put("--tol " + tol, tol);
    SpectrumPlot.save(out, title, spectra, levels);
    if (json) {
      rows.forEach(m -> m.put("png", out.toString()));
      System.out.println(Checkpoint.gson().toJson(models.size() == 1 ? rows.get(0) : rows));
    } else {
      System.out.println("spectrum: " + out);
    }
    return 0;
  }
}
