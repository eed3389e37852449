// The serving engine without HTTP: CLIENTS threads submit /v1/next jobs (k = 10, 5-20 random words after <eos>)
// straight to dev.lmhead.serve.Engine in a closed loop for 5 s (after a 5 s warm-up round), to separate the model's
// batched throughput from the HTTP stack and the load client (bench/ServeLoad.java), which share the CPU.
//
//   java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "target/lmhead.jar:target/lib/*" \
//       bench/ServeEngineBench.java MODEL_DIR CLIENTS MAX_BATCH          # 1 compute thread, as lmhead serve
// -DgateCacheMb=64 keeps the LSTM's first-layer input gates per word as `lmhead serve --input-gate-cache-mb 64` does
// (default 0: off, as the engine API is by default).
import dev.lmhead.model.*;
import dev.lmhead.serve.Engine;
import java.nio.file.Path;
import java.util.*;
import java.util.concurrent.atomic.*;
public class ServeEngineBench {
  public static void main(String[] a) throws Exception {
    dev.lmhead.tensor.Parallel.setThreads(Integer.getInteger("threads", 1)); // as 'lmhead serve' (-Dthreads=N to change)
    var l = Checkpoint.load(Path.of(a[0]), Checkpoint.MODEL);
    int clients = Integer.parseInt(a[1]), maxBatch = Integer.parseInt(a[2]);
    l.model().cacheInputGates(Long.getLong("gateCacheMb", 0) << 20);
    Engine e = new Engine(l.model(), l.vocab(), null, maxBatch, 2);
    Random r = new Random(1);
    int[][] seqs = new int[4096][];
    for (int i = 0; i < seqs.length; i++) { int n = 6 + r.nextInt(16); seqs[i] = new int[n]; for (int j = 1; j < n; j++) seqs[i][j] = r.nextInt(20000); seqs[i][0] = l.vocab().eosId(); }
    for (int round = 0; round < 2; round++) {
      AtomicLong done = new AtomicLong();
      long end = System.nanoTime() + 5_000_000_000L;
      Thread[] ts = new Thread[clients];
      for (int c = 0; c < clients; c++) { int cid = c; ts[c] = new Thread(() -> { int i = cid; while (System.nanoTime() < end) { try { e.next(seqs[i++ % seqs.length], 10).get(); done.incrementAndGet(); } catch (Exception x) { throw new RuntimeException(x); } } }); ts[c].start(); }
      for (Thread t : ts) t.join();
      if (round == 1) System.out.printf(java.util.Locale.ROOT, "{\"label\": \"%s\", \"clients\": %d, \"max_batch\": %d, \"gate_cache_mb\": %d, \"rps\": %.1f}%n", Path.of(a[0]).getFileName(), clients, maxBatch, Long.getLong("gateCacheMb", 0), done.get() / 5.0);
    }
    e.close();
    if (Long.getLong("gateCacheMb", 0) > 0) System.err.println("cached input-gate words: " + l.model().cachedInputGateWords());
  }
}
