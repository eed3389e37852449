package dev.lmhead.cli;

import dev.lmhead.data.Vocabulary;
import dev.lmhead.model.Checkpoint;
import dev.lmhead.model.LanguageModel;
import dev.lmhead.tensor.Rng;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lmhead generate}: samples text from a trained model. */
@Command(name = "generate", abbreviateSynopsis = true, mixinStandardHelpOptions = true, sortOptions = false,
    description = "Sample words from a trained model (temperature and top-k sampling).")
public final class GenerateCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, description = "Run directory written by 'lmhead train'.")
  Path model;
  @Option(names = "--words", defaultValue = "100", description = "Words to generate (default: ${DEFAULT-VALUE}).")
  int words;
  @Option(names = "--temperature", defaultValue = "1.0", description = "Softmax temperature; lower is more conservative (default: ${DEFAULT-VALUE}).")
  double temperature;
  @Option(names = "--top-k", defaultValue = "0", description = "Sample only among the k most likely words (0 = all) (default: ${DEFAULT-VALUE}).")
  int topK;
  @Option(names = "--seed", defaultValue = "1111", description = "Random seed (default: ${DEFAULT-VALUE}).")
  long seed;
  @Option(names = "--prompt", description = "Text to condition on (words outside the vocabulary become <unk>).")
  String prompt;
  @Option(names = "--threads", description = "Worker threads (default: number of cores).")
  Integer threads;

  @Override
  public Integer call() {
    Setup.threadsAndBlas(threads, "auto");
    if (words < 0) throw new IllegalArgumentException("--words must be >= 0, got " + words);
    if (!(temperature > 0) || Double.isInfinite(temperature)) throw new IllegalArgumentException("--temperature must be > 0, got " + temperature);
    Checkpoint.Loaded l = Checkpoint.load(model, Checkpoint.MODEL);
    if (topK < 0 || topK > l.vocab().size()) throw new IllegalArgumentException("--top-k must be in [0, " + l.vocab().size() + "], got " + topK);
    String text = Sampler.generate(l.model(), l.vocab(), prompt, words, temperature, topK, new Rng(seed));
    System.out.println(text);
    return 0;
  }

  /** Autoregressive sampling over the exact distribution of any head. */
  static final class Sampler {
    static String generate(LanguageModel m, Vocabulary v, String prompt, int words, double temperature, int topK, Rng rng) {
      int V = v.size();
      m.resetState(1);
      StringBuilder sb = new StringBuilder();
      String[] pw = prompt == null || prompt.isBlank() ? new String[0] : prompt.trim().split("\\s+");
      int[] ctx = new int[Math.max(1, pw.length)];
      if (pw.length == 0) {
        ctx[0] = v.eosId();
      } else {
        for (int i = 0; i < pw.length; i++) { ctx[i] = v.id(pw[i]); sb.append(pw[i]).append(' '); }
      }
      float[] lp = new float[V];
      double[] w = new double[V];
      m.nextLogProb(ctx, ctx.length, 1, lp);
      int[] one = new int[1];
      for (int i = 0; i < words; i++) {
        int next = sample(lp, w, temperature, topK, rng);
        String word = v.word(next);
        sb.append(next == v.eosId() ? "\n" : word + " ");
        one[0] = next;
        m.nextLogProb(one, 1, 1, lp);
      }
      return sb.toString().strip();
    }

    static int sample(float[] lp, double[] w, double temperature, int topK, Rng rng) {
      int V = lp.length;
      double threshold = Double.NEGATIVE_INFINITY;
      if (topK > 0 && topK < V) {
        float[] sorted = lp.clone();
        java.util.Arrays.sort(sorted);
        threshold = sorted[V - topK];
      }
      double max = Double.NEGATIVE_INFINITY;
      for (float x : lp) max = Math.max(max, x);
      double sum = 0;
      for (int j = 0; j < V; j++) {
        w[j] = lp[j] >= threshold ? Math.exp((lp[j] - max) / temperature) : 0;
        sum += w[j];
      }
      double u = rng.nextDouble() * sum, acc = 0;
      for (int j = 0; j < V; j++) {
        acc += w[j];
        if (u < acc) return j;
      }
      for (int j = V - 1; j >= 0; j--) if (w[j] > 0) return j;
      return 0;
    }
  }
}
