// Writes an UNTRAINED lmhead model directory with a vocabulary of a given size, for serving benchmarks at
// vocabulary sizes we have no corpus for (e.g. WikiText-103's V = 267,735). Source-file program (no build step):
//
//   ./lmhead build
//   java --add-modules jdk.incubator.vector -cp "target/lmhead.jar:target/lib/*" bench/UntrainedModel.java \
//       --like runs/serve-full --vocab 267735 --head full|adaptive -o runs/serve-full-267k
//
// The architecture (emb, hidden, layers, dropout, init) is copied from the --like model's config.json; its
// vocabulary is kept as the first ids and padded with synthetic words "w000123" (count 1) up to --vocab. The
// weights are freshly initialised (seed 1) exactly as 'lmhead train' initialises them, and never trained: the
// cost of a forward pass and of the full softmax does not depend on the weights; the adaptive head's exact
// top-k (branch and bound over clusters) does, so its figures on an untrained model are only indicative.
import dev.lmhead.data.Vocabulary;
import dev.lmhead.head.AdaptiveSoftmax;
import dev.lmhead.head.HeadSpec;
import dev.lmhead.model.Checkpoint;
import dev.lmhead.model.LanguageModel;
import dev.lmhead.model.ModelConfig;
import dev.lmhead.tensor.Rng;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

public class UntrainedModel {
  public static void main(String[] args) throws Exception {
    Path like = null, out = null;
    int size = 0;
    String head = "full";
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--like" -> like = Path.of(args[i + 1]);
        case "--vocab" -> size = Integer.parseInt(args[i + 1]);
        case "--head" -> head = args[i + 1];
        case "-o", "--output" -> out = Path.of(args[i + 1]);
        default -> throw new IllegalArgumentException("unknown flag " + args[i]);
      }
    }
    if (like == null || out == null || size < 3 || !(head.equals("full") || head.equals("adaptive"))) {
      System.err.println("usage: UntrainedModel --like MODEL_DIR --vocab V --head full|adaptive -o OUT_DIR");
      System.exit(2);
    }
    ModelConfig c = Checkpoint.readConfig(like);
    Vocabulary base = Vocabulary.load(like.resolve(Checkpoint.VOCAB));
    int n = Math.min(size, base.size());
    String[] words = new String[size];
    long[] counts = new long[size];
    long[] bc = base.counts();
    for (int i = 0; i < n; i++) { words[i] = base.word(i); counts[i] = Math.max(1, bc[i]); }
    for (int i = n; i < size; i++) { words[i] = String.format("w%07d", i); counts[i] = 1; }
    Vocabulary v = Vocabulary.of(words, counts);
    if (v.id(Vocabulary.EOS) == v.unkId() || v.unkId() < 0) throw new IllegalStateException("the --like vocabulary must hold <eos> and <unk> among its first " + size + " words");
    HeadSpec spec = head.equals("full") ? HeadSpec.full()
        : new AdaptiveSoftmax.Spec(AdaptiveSoftmax.defaultCutoffs(size), 4.0, false);
    ModelConfig cfg = new ModelConfig(size, c.emb(), c.hidden(), c.layers(), c.dropout(), head.equals("full") && c.emb() == c.hidden(),
        "embedding", c.initRange(), spec, c.lstmInitRange());
    LanguageModel m = new LanguageModel(cfg, v.counts(), new Rng(1));
    Files.createDirectories(out);
    Checkpoint.saveSetup(out, cfg, v, Map.of("data", "synthetic", "untrained", true));
    Checkpoint.saveTensors(out.resolve(Checkpoint.MODEL), Checkpoint.tensors(m), Map.of("lmhead.source", "untrained (bench/UntrainedModel.java)"));
    System.out.printf("%s: untrained %s head, V = %,d, %,d parameters%n", out, head, size, m.parameterCount());
  }
}
