package dev.lmhead.cli;

import dev.lmhead.model.Checkpoint;
import dev.lmhead.serve.Engine;
import dev.lmhead.serve.Server;
import dev.lmhead.tensor.Rng;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lmhead serve}: an HTTP/JSON server for next-word top-k, sentence scores and sampling. */
@Command(name = "serve", abbreviateSynopsis = true, mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Serve a model over HTTP/JSON: exact top-k next words, scores, generation.",
        "The JDK's built-in HTTP server:",
        "  POST /v1/next {\"context\": \"the meaning of\", \"k\": 10}     exact top-k next words with log-probs",
        "  POST /v1/score {\"sentences\": [\"...\"], \"per_token\": false}   as 'lmhead score --json'",
        "  POST /v1/generate {\"context\": \"...\", \"words\": 20, \"temperature\": 1.0, \"top_k\": 0, \"seed\": 1}",
        "  GET /v1/model, GET /health, GET / (a page: next-word bars and continuations).",
        "Concurrent /v1/next and /v1/score requests are batched into one forward pass (--max-batch, --max-wait-ms);",
        "results equal one-request-at-a-time results. Stop with Ctrl-C."})
public final class ServeCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, description = "lmhead model directory.")
  Path model;
  @Option(names = "--port", defaultValue = "8080", description = "TCP port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
  int port;
  @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
  String host;
  @Option(names = "--threads", description = "Compute threads of the model (default: 1: the batcher runs one forward pass at a time and the HTTP handlers need the other cores; on a 2-core machine 2 threads served 1.8-2.7x fewer requests/s while OpenBLAS workers spun between products, and no more once they sleep).")
  Integer threads;
  @Option(names = "--http-threads", defaultValue = "128", description = "HTTP handler threads: requests in flight at once (default: ${DEFAULT-VALUE}).")
  int httpThreads;
  @Option(names = "--max-batch", defaultValue = "64", description = "Contexts (or sentences) per forward pass; 1 = one request at a time (default: ${DEFAULT-VALUE}).")
  int maxBatch;
  @Option(names = "--max-wait-ms", defaultValue = "2", description = "How long the batcher waits for more requests after the first (default: ${DEFAULT-VALUE}).")
  double maxWaitMs;
  @Option(names = "--read-timeout-ms", defaultValue = "10000", description = "A request body must arrive within this time, else 408 (default: ${DEFAULT-VALUE}).")
  int readTimeoutMs;
  @Option(names = "--checkpoint", defaultValue = "best", description = "best (model.safetensors) | last (last.safetensors) (default: ${DEFAULT-VALUE}).")
  String which;
  @Option(names = "--blas", defaultValue = "auto", description = "auto | openblas | java (default: ${DEFAULT-VALUE}).")
  String blas;
  @Option(names = "--warmup", defaultValue = "10", description = "Seconds of synthetic requests before listening, so that the JIT has compiled "
      + "the model's paths before real traffic; 0 = none (default: ${DEFAULT-VALUE}).")
  double warmup;
  @Option(names = "--input-gate-cache-mb", defaultValue = "64", description = "Keep the LSTM's first-layer input gates of up to this many MB "
      + "of words (16 x hidden bytes each: 20,971 words at hidden 200 in 64 MB) instead of recomputing them for every "
      + "input word; results equal the uncached ones up to float rounding; 0 = off (default: ${DEFAULT-VALUE}).")
  long gateCacheMb;
  @Option(names = "--state-cache-mb", defaultValue = "64", description = "Keep the LSTM state after up to this many MB of contexts "
      + "(2 x layers x hidden floats each, 3.2 KB at 2x200: about 19,000 contexts in 64 MB, least recently used evicted), so that a "
      + "context that extends or repeats one of them (typing: \"the meaning\", then \"the meaning of\") runs only its new words; "
      + "results equal the uncached ones up to float rounding; 0 = off (default: ${DEFAULT-VALUE}).")
  long stateCacheMb;

  /** The sampler of {@code lmhead generate}, so that /v1/generate gives the same text for the same seed. */
  public static final Engine.Generator GENERATOR =
      (m, v, prompt, words, temperature, topK, seed) -> GenerateCommand.Sampler.generate(m, v, prompt, words, temperature, topK, new Rng(seed));

  @Override
  public Integer call() throws Exception {
    Setup.threadsAndBlas(threads == null ? 1 : threads, blas);
    String file = switch (which) {
      case "best" -> Checkpoint.MODEL;
      case "last" -> Checkpoint.LAST;
      default -> throw new IllegalArgumentException("--checkpoint must be best or last, got '" + which + "'");
    };
    if (maxBatch < 1) throw new IllegalArgumentException("--max-batch must be >= 1, got " + maxBatch);
    if (!(maxWaitMs >= 0 && maxWaitMs <= 10_000)) throw new IllegalArgumentException("--max-wait-ms must be in [0, 10000], got " + maxWaitMs);
    if (!(warmup >= 0 && warmup <= 600)) throw new IllegalArgumentException("--warmup must be in [0, 600] seconds, got " + warmup);
    if (gateCacheMb < 0 || gateCacheMb > 1 << 20) throw new IllegalArgumentException("--input-gate-cache-mb must be in [0, 1048576], got " + gateCacheMb);
    if (stateCacheMb < 0 || stateCacheMb > 1 << 20) throw new IllegalArgumentException("--state-cache-mb must be in [0, 1048576], got " + stateCacheMb);
    Server.Options opt = new Server.Options(host, port, httpThreads, maxBatch, maxWaitMs, readTimeoutMs, stateCacheMb << 20);
    Checkpoint.Loaded l = Checkpoint.load(model, file);
    l.model().cacheInputGates(gateCacheMb << 20);
    if (warmup > 0) { // before listening: a load balancer sees the port only once the model is compiled
      long t0 = System.nanoTime();
      long n = Engine.warmUp(l.model(), l.vocab(), maxBatch, maxWaitMs, warmup, stateCacheMb << 20);
      System.err.printf("lmhead serve: warm-up, %,d synthetic requests in %.1f s%n", n, (System.nanoTime() - t0) / 1e9);
      l.model().cacheInputGates(gateCacheMb << 20); // emptied of the warm-up's random words
    }
    Server s = Server.start(l.model(), l.vocab(), GENERATOR, opt, model.getFileName().toString());
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> { s.close(); stop.countDown(); }));
    System.err.printf("lmhead serve: http://%s:%d/  (%s head, V = %,d, %,d parameters; max batch %d, max wait %s ms; input-gate cache %d MB, state cache %d MB)%n",
        host.contains(":") ? "[" + host + "]" : host, s.port(), l.model().decoder.type(), l.vocab().size(), l.model().parameterCount(),
        maxBatch, maxWaitMs, gateCacheMb, stateCacheMb);
    stop.await();
    return 0;
  }
}
