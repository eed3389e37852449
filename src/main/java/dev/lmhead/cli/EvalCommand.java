package dev.lmhead.cli;

import dev.lmhead.UserError;
import dev.lmhead.data.Corpus;
import dev.lmhead.model.Checkpoint;
import dev.lmhead.train.Evaluator;
import dev.lmhead.train.Progress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lmhead eval}: perplexity of a trained model on a split or any text file. */
@Command(name = "eval", abbreviateSynopsis = true, mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Perplexity of a trained model.", Evaluator.DEFINITION + " (at --batch 1; another batch prints its own definition)."})
public final class EvalCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, description = "Run directory written by 'lmhead train'.")
  Path model;
  @Option(names = "--split", defaultValue = "test", description = "valid | test | FILE (a text file, tokenised like the training data) (default: ${DEFAULT-VALUE}).")
  String split;
  @Option(names = "--checkpoint", defaultValue = "best", description = "best (model.safetensors) | last (last.safetensors) (default: ${DEFAULT-VALUE}).")
  String which;
  @Option(names = "--batch", defaultValue = "1", description = "Evaluation batch size (default: ${DEFAULT-VALUE}: one stream, every token after the first is a target).")
  int batch;
  @Option(names = "--bptt", defaultValue = "35", description = "Window length (does not change the result, only speed) (default: ${DEFAULT-VALUE}).")
  int bptt;
  @Option(names = "--threads", description = "Worker threads (default: number of cores).")
  Integer threads;
  @Option(names = "--blas", defaultValue = "auto", description = "auto | openblas | java (default: ${DEFAULT-VALUE}).")
  String blas;
  @Option(names = "--topk", defaultValue = "0", paramLabel = "K", description = "Also report top-k accuracy acc@1..acc@K from the head's exact top-k, and its speed (default: ${DEFAULT-VALUE} = off).")
  int topk;
  @Option(names = "--json", description = "Print the result as JSON.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    Setup.threadsAndBlas(threads, blas);
    if (batch < 1) throw new IllegalArgumentException("--batch must be >= 1, got " + batch);
    if (bptt < 1) throw new IllegalArgumentException("--bptt must be >= 1, got " + bptt);
    if (topk < 0) throw new IllegalArgumentException("--topk must be >= 0, got " + topk);
    String file = switch (which) {
      case "best" -> Checkpoint.MODEL;
      case "last" -> Checkpoint.LAST;
      default -> throw new IllegalArgumentException("--checkpoint must be best or last, got '" + which + "'");
    };
    Checkpoint.Loaded l = Checkpoint.load(model, file);
    int[] stream = Setup.splitStream(model, split, l.vocab());
    String splitName = split.equals("valid") || split.equals("test") ? Checkpoint.readField(model, "data") + "/" + split : split;
    if (stream.length < batch + 1) throw new UserError("--split " + split + ": too few tokens (" + stream.length + ") for --batch " + batch);
    if (topk > l.model().vocabSize()) throw new UserError("--topk " + topk + " is larger than the vocabulary (" + l.model().vocabSize() + " words)");
    Evaluator.Result r;
    Evaluator.TopKResult tk = null;
    try (Progress p = new Progress("eval", stream.length - 1, "tok", System.err, json)) {
      if (topk > 0) {
        tk = Evaluator.evaluateTopK(l.model(), stream, batch, bptt, topk, p);
        r = tk.result();
      } else {
        r = Evaluator.evaluate(l.model(), stream, batch, bptt, p);
      }
    }
    if (!Double.isFinite(r.ppl())) {
      throw new UserError("the checkpoint " + model.resolve(file) + " gives a non-finite perplexity on " + splitName + ": ppl " + Evaluator.pplText(r));
    }
    if (json) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("model", model.toString());
      m.put("checkpoint", file);
      m.put("split", splitName);
      m.put("ppl", r.ppl());
      m.put("mean_nll", r.meanNll());
      m.put("tokens", r.tokens());
      m.put("batch", batch);
      m.put("tokens_per_s", r.tokensPerSecond());
      m.put("definition", Evaluator.definition(batch));
      if (tk != null) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("k", topk);
        double[] acc = new double[topk];
        for (int j = 0; j < topk; j++) acc[j] = tk.accuracy(j);
        t.put("accuracy", acc);
        t.put("topk_rows_per_s", tk.topKRowsPerSecond());
        t.put("definition", Evaluator.TOPK_DEFINITION);
        m.put("topk", t);
      }
      System.out.println(Checkpoint.gson().toJson(m));
    } else {
      System.out.printf("%s: ppl %.2f (mean NLL %.4f nats over %,d target tokens, eval batch %d; %.0f tokens/s)%n",
          splitName, r.ppl(), r.meanNll(), r.tokens(), batch, r.tokensPerSecond());
      System.out.println(Evaluator.definition(batch));
      if (tk != null) {
        StringBuilder sb = new StringBuilder(splitName + ":");
        for (int j = 0; j < topk; j++) {
          if (j < 5 || j == 9 || j == topk - 1 || (j + 1) % 100 == 0) sb.append(String.format(" acc@%d %.2f%%", j + 1, 100 * tk.accuracy(j)));
        }
        System.out.println(sb.append(String.format(" (head top-%d: %.0f rows/s)", topk, tk.topKRowsPerSecond())));
        System.out.println(Evaluator.TOPK_DEFINITION);
      }
    }
    return 0;
  }
}
