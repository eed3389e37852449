package dev.lmhead.cli;

import dev.lmhead.analysis.BenchPeer;
import dev.lmhead.analysis.HeadBench;
import dev.lmhead.analysis.HeadBenchReport;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lmhead bench heads}: every output layer alone, per operation, with PyTorch in the same run. */
@Command(name = "heads", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Speed of each output layer alone (tokens/s): training step, loss, full log-prob matrix, top-1 and top-10,",
        "on N gaussian hidden states with Zipf-distributed targets, for every V and d given; PyTorch's Linear + cross_entropy",
        "and AdaptiveLogSoftmaxWithLoss measured in the same run on the same inputs and threads (and/or the same layers on",
        "libtorch 2.7.1 through DJL with --peer djl)."})
public final class BenchHeadsCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--heads", split = ",", description = "Heads to measure (default: every head).")
  List<String> heads = HeadBench.allHeads();
  @Option(names = "--vocab", split = ",", description = "Vocabulary sizes (default: 10000,33278,100000,267735).")
  int[] vocab = {10000, 33278, 100000, 267735};
  @Option(names = "--dim", split = ",", description = "Hidden sizes (default: 256,512).")
  int[] dim = {256, 512};
  @Option(names = "--rows", defaultValue = "2048", description = "Rows N per call (default: ${DEFAULT-VALUE}).")
  int rows;
  @Option(names = "--warmup", defaultValue = "1", description = "Untimed calls per cell (default: ${DEFAULT-VALUE}).")
  int warmup;
  @Option(names = "--warmup-seconds", defaultValue = "1", description = "Also keep warming up until the untimed calls of a cell have taken this long, capped at half of --max-seconds: the JIT compiles a cell's code paths after tens of calls, not one (default: ${DEFAULT-VALUE}).")
  double warmupSeconds;
  @Option(names = "--repeats", defaultValue = "5", description = "Timed calls per cell; median, min and max reported (default: ${DEFAULT-VALUE}).")
  int repeats;
  @Option(names = "--max-seconds", defaultValue = "20", description = "Time budget of one cell's timed calls; a call whose first run takes over half of it is measured once (default: ${DEFAULT-VALUE}).")
  double maxSeconds;
  @Option(names = "--max-block-mb", defaultValue = "1024", description = "Largest [rows, V] float matrix formed at once for logprob (lmhead) and any [rows, V] tensor (PyTorch); rows are split into equal blocks beyond it (default: ${DEFAULT-VALUE}).")
  long maxBlockMb;
  @Option(names = "--cutoffs", split = ",", description = "adaptive: cutoffs for every V (default: AdaptiveSoftmax.defaultCutoffs(V)).")
  int[] cutoffs = new int[0];
  @Option(names = "--div-value", defaultValue = "4.0", description = "adaptive: div_value (default: ${DEFAULT-VALUE}).")
  double divValue;
  @Option(names = "--experts", defaultValue = "5", description = "mos: K components (default: ${DEFAULT-VALUE}).")
  int experts;
  @Option(names = "--mos-base", defaultValue = "full", description = "mos: full | adaptive component softmaxes (adaptive uses --cutoffs and --div-value) (default: ${DEFAULT-VALUE}).")
  String mosBase;
  @Option(names = "--seed", defaultValue = "1", description = "Seeds inputs and initialisation (default: ${DEFAULT-VALUE}).")
  long seed;
  @Option(names = "--threads", description = "Threads for lmhead and PyTorch (default: cores).")
  Integer threads;
  @Option(names = "--blas", defaultValue = "auto", description = "auto | openblas | java (default: ${DEFAULT-VALUE}).")
  String blas;
  @Option(names = "--peer", defaultValue = "pytorch", description = "pytorch | djl | none, or a comma list such as pytorch,djl: "
      + "PyTorch 1.13 from Python (bench/pytorch_heads.py) and/or libtorch 2.7.1 from Java through DJL (peers/djl, built with "
      + "`mvn -f peers/djl/pom.xml package`) (default: ${DEFAULT-VALUE}).")
  String peer;
  @Option(names = "--quick", description = "Reduced grid (V=10000, d=256, N=512, 2 repeats, 2 s budget) that runs in under a minute; explicit flags still win.")
  boolean quick;
  @Option(names = "--json", description = "Print JSON instead of the table.")
  boolean json;
  @Option(names = "--markdown", paramLabel = "FILE", description = "Also write the tables as markdown.")
  Path markdown;
  @Option(names = "--png", paramLabel = "FILE", description = "Also write a chart (tokens/s per head per op, log scale).")
  Path png;

  private boolean given(String name) {
    return spec.commandLine().getParseResult() != null && spec.commandLine().getParseResult().hasMatchedOption(name);
  }

  @Override
  public Integer call() throws Exception {
    List<BenchPeer> peers = BenchPeer.parse(peer);
    Setup.threadsAndBlas(threads, blas);
    if (quick) {
      if (!given("--vocab")) vocab = new int[] {10000};
      if (!given("--dim")) dim = new int[] {256};
      if (!given("--rows")) rows = 512;
      if (!given("--repeats")) repeats = 2;
      if (!given("--max-seconds")) maxSeconds = 2;
      if (!given("--warmup-seconds")) warmupSeconds = 0.2;
    }
    if (maxBlockMb < 1) throw new IllegalArgumentException("--max-block-mb must be >= 1, got " + maxBlockMb);
    HeadBench.Options o = new HeadBench.Options(List.copyOf(heads), vocab, dim, rows, warmup, repeats, cutoffs, divValue,
        experts, maxSeconds, maxBlockMb << 20, seed, mosBase, warmupSeconds);
    for (int v : vocab) o.cutoffsFor(v); // fail early on cutoffs that do not fit a V
    System.err.printf("lmhead bench heads: heads %s, V %s, d %s, N %d%n", heads, Arrays.toString(vocab), Arrays.toString(dim), rows);
    HeadBenchReport rep = HeadBench.run(o, peers, true, line -> System.err.println(line));
    if (json) System.out.println(rep.json());
    else System.out.print(rep.table());
    if (markdown != null) write(markdown, rep.markdown());
    if (png != null) rep.png(png);
    return 0;
  }

  private static void write(Path file, String text) throws java.io.IOException {
    Path abs = file.toAbsolutePath();
    if (abs.getParent() != null) Files.createDirectories(abs.getParent());
    Path tmp = Files.createTempFile(abs.getParent(), ".bench", ".md.tmp");
    try {
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
