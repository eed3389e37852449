package dev.lmhead.cli;

import dev.lmhead.UserError;
import dev.lmhead.model.Checkpoint;
import dev.lmhead.model.Scorer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code lmhead score}: the log-probability of every input line, scored independently. */
@Command(name = "score", abbreviateSynopsis = true, mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Score sentences, one per input line (log10 P, ln P, tokens, OOV, perplexity).",
        "Each line on its own: recurrent state reset,",
        "<eos> fed as the start-of-sentence context, every word and the final <eos>",
        "scored; unknown words score as <unk>. Output per input line, tab-separated:",
        "  log10(P)  ln(P)  tokens (words + <eos>)  OOV (words mapped to <unk>)  ppl",
        "with ppl = exp(-ln P / tokens); --per-token adds word=ln P for every token.",
        "--nbest: groups of candidates separated by blank lines, printed best first.",
        "A summary (lines, tokens, ppl over all tokens, lines/s, tokens/s) goes to stderr."})
public final class ScoreCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, description = "lmhead model directory.")
  Path model;
  @Parameters(index = "0", arity = "0..1", defaultValue = "-", paramLabel = "FILE", description = "Text file, one sentence per line; - for stdin (default).")
  String input;
  @Option(names = "--per-token", description = "Also print each token's log-prob (natural log).")
  boolean perToken;
  @Option(names = "--json", description = "One JSON object per line (per group with --nbest); the stderr summary is JSON too.")
  boolean json;
  @Option(names = "--nbest", description = "Rerank groups of candidate lines separated by blank lines.")
  boolean nbest;
  @Option(names = "--batch", defaultValue = "64", description = "Lines per forward pass (results do not depend on it) (default: ${DEFAULT-VALUE}).")
  int batch;
  @Option(names = "--checkpoint", defaultValue = "best", description = "best (model.safetensors) | last (last.safetensors) (default: ${DEFAULT-VALUE}).")
  String which;
  @Option(names = "--repeat", defaultValue = "1", description = "Benchmarking: score FILE this many times, print the last pass, report the fastest (default: ${DEFAULT-VALUE}).")
  int repeat;
  @Option(names = "--threads", description = "Worker threads (default: number of cores).")
  Integer threads;
  @Option(names = "--blas", defaultValue = "auto", description = "auto | openblas | java (default: ${DEFAULT-VALUE}).")
  String blas;

  /** Lines scored per chunk: bounds memory on long inputs. */
  private static final int CHUNK = 8192;

  private long lines, tokens, oov, groups;
  private double logProb, seconds;

  @Override
  public Integer call() throws Exception {
    Setup.threadsAndBlas(threads, blas);
    if (batch < 1) throw new IllegalArgumentException("--batch must be >= 1, got " + batch);
    String file = switch (which) {
      case "best" -> Checkpoint.MODEL;
      case "last" -> Checkpoint.LAST;
      default -> throw new IllegalArgumentException("--checkpoint must be best or last, got '" + which + "'");
    };
    String where = input.equals("-") ? "<stdin>" : input;
    if (!input.equals("-")) {
      Path p = Path.of(input);
      if (Files.isDirectory(p)) throw new UserError(input + ": is a folder, expected a text file");
      if (!Files.exists(p)) throw new UserError(input + ": no such file");
    }
    Checkpoint.Loaded l = Checkpoint.load(model, file);
    scorer = new Scorer(l.model(), l.vocab()).batchLines(batch);
    unkId = l.vocab().unkId();
    PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8); // UTF-8 whatever the locale
    if (repeat < 1) throw new IllegalArgumentException("--repeat must be >= 1, got " + repeat);
    if (repeat > 1 && input.equals("-")) throw new IllegalArgumentException("--repeat needs a FILE (stdin can be read once)");
    double best = Double.POSITIVE_INFINITY, wall = 0;
    for (int pass = 1; pass <= repeat; pass++) { // benchmarking: warm-up passes print nothing
      lines = tokens = oov = groups = 0;
      logProb = seconds = 0;
      long t0 = System.nanoTime();
      process(where, pass == repeat ? out : new PrintStream(java.io.OutputStream.nullOutputStream()));
      best = Math.min(best, seconds);
      wall = (System.nanoTime() - t0) / 1e9;
    }
    seconds = best;
    out.flush();
    double ppl = Math.exp(-logProb / Math.max(1, tokens));
    if (json) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("lines", lines);
      if (nbest) m.put("groups", groups);
      m.put("tokens", tokens);
      m.put("oov", oov);
      m.put("logprob", logProb);
      m.put("log10", logProb / Math.log(10));
      m.put("ppl", ppl);
      m.put("score_seconds", seconds);
      m.put("wall_seconds", wall);
      m.put("sentences_per_s", lines / Math.max(seconds, 1e-9));
      m.put("tokens_per_s", tokens / Math.max(seconds, 1e-9));
      m.put("batch", batch);
      m.put("threads", dev.lmhead.tensor.Parallel.threads());
      m.put("repeat", repeat);
      System.err.println(new com.google.gson.Gson().toJson(m));
    } else {
      System.err.printf(Locale.ROOT, "scored %,d lines%s, %,d tokens (%,d OOV): total log10 %.4f, ppl %.2f over all tokens; %.0f lines/s, %.0f tokens/s%n",
          lines, nbest ? " in " + groups + " groups" : "", tokens, oov, logProb / Math.log(10), ppl,
          lines / Math.max(seconds, 1e-9), tokens / Math.max(seconds, 1e-9));
    }
    return 0;
  }


  private void process(String where, PrintStream out) throws IOException {
    Scorer scorer = this.scorer;
    try (InputStream in = input.equals("-") ? System.in : Files.newInputStream(Path.of(input))) {
      var dec = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
      BufferedReader r = new BufferedReader(new InputStreamReader(in, dec), 1 << 16);
      List<String> chunk = new ArrayList<>();
      List<Integer> groupEnds = new ArrayList<>(); // nbest: exclusive end index of each group in chunk
      int lineNo = 0;
      boolean inGroup = false;
      for (String s; ; ) {
        try {
          s = r.readLine();
        } catch (CharacterCodingException e) {
          throw new UserError(where + ":" + (lineNo + 1) + ": invalid UTF-8");
        }
        if (s == null) break;
        lineNo++;
        if (s.indexOf('\0') >= 0) throw new UserError(where + ":" + lineNo + ": NUL byte, this looks like a binary file, not text");
        if (nbest) {
          if (s.isBlank()) {
            if (inGroup) groupEnds.add(chunk.size());
            inGroup = false;
            if (chunk.size() >= CHUNK) { emitNbest(scorer, chunk, groupEnds, out); chunk.clear(); groupEnds.clear(); }
            continue;
          }
          inGroup = true;
          chunk.add(s);
        } else {
          chunk.add(s);
          if (chunk.size() >= CHUNK) { emit(scorer, chunk, out); chunk.clear(); }
        }
      }
      if (nbest) {
        if (inGroup) groupEnds.add(chunk.size());
        emitNbest(scorer, chunk, groupEnds, out);
      } else {
        emit(scorer, chunk, out);
      }
    } catch (NoSuchFileException e) {
      throw new UserError(input + ": no such file");
    }
  }

  private List<Scorer.Result> run(Scorer scorer, List<String> chunk) {
    long t = System.nanoTime();
    List<Scorer.Result> res = scorer.score(chunk);
    seconds += (System.nanoTime() - t) / 1e9;
    for (Scorer.Result r : res) {
      lines++;
      tokens += r.tokens();
      oov += r.oov();
      logProb += r.logProb();
    }
    return res;
  }

  private void emit(Scorer scorer, List<String> chunk, PrintStream out) {
    List<Scorer.Result> res = run(scorer, chunk);
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < res.size(); i++) {
      Scorer.Result r = res.get(i);
      if (json) {
        b.append(new com.google.gson.Gson().toJson(toJson(r, chunk.get(i), -1))).append('\n');
      } else {
        b.append(String.format(Locale.ROOT, "%.6f\t%.6f\t%d\t%d\t%.4f", r.log10(), r.logProb(), r.tokens(), r.oov(), r.ppl()));
        if (perToken) b.append('\t').append(tokenText(r, chunk.get(i)));
        b.append('\n');
      }
      if (b.length() > 1 << 16) { out.print(b); b.setLength(0); }
    }
    out.print(b);
  }

  private void emitNbest(Scorer scorer, List<String> chunk, List<Integer> ends, PrintStream out) {
    List<Scorer.Result> res = run(scorer, chunk);
    StringBuilder b = new StringBuilder();
    int start = 0;
    for (int end : ends) {
      groups++;
      Integer[] order = new Integer[end - start];
      for (int i = 0; i < order.length; i++) order[i] = start + i;
      Arrays.sort(order, (x, y) -> Double.compare(res.get(y).logProb(), res.get(x).logProb())); // stable: ties keep input order
      if (json) {
        Map<String, Object> g = new LinkedHashMap<>();
        g.put("group", groups);
        List<Object> cands = new ArrayList<>();
        for (int k = 0; k < order.length; k++) cands.add(toJson(res.get(order[k]), chunk.get(order[k]), order[k] - start));
        g.put("candidates", cands);
        b.append(new com.google.gson.Gson().toJson(g)).append('\n');
      } else {
        if (groups > 1) b.append('\n');
        for (int i : order) {
          Scorer.Result r = res.get(i);
          b.append(String.format(Locale.ROOT, "%.6f\t%.6f\t%d\t%d\t%.4f\t%s", r.log10(), r.logProb(), r.tokens(), r.oov(), r.ppl(), chunk.get(i)));
          if (perToken) b.append('\t').append(tokenText(r, chunk.get(i)));
          b.append('\n');
        }
      }
      start = end;
    }
    out.print(b);
  }

  private Map<String, Object> toJson(Scorer.Result r, String text, int index) {
    Map<String, Object> m = new LinkedHashMap<>();
    if (index >= 0) {
      m.put("index", index);
      m.put("text", text);
    }
    m.putAll(r.fields(Scorer.split(text), perToken, unkId));
    return m;
  }

  private int unkId = -1;
  private Scorer scorer;

  private String tokenText(Scorer.Result r, String text) {
    List<String> words = Scorer.split(text);
    StringBuilder b = new StringBuilder();
    for (int t = 0; t < r.tokens(); t++) {
      if (t > 0) b.append(' ');
      b.append(t < words.size() ? words.get(t) : dev.lmhead.data.Vocabulary.EOS);
      if (t < words.size() && r.ids()[t] == unkId) b.append("[<unk>]");
      b.append('=').append(String.format(Locale.ROOT, "%.4f", r.tokenLogProbs()[t]));
    }
    return b.toString();
  }
}
