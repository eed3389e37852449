package dev.lmhead.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.head.HeadOptions;
import dev.lmhead.head.HeadSpec;
import dev.lmhead.head.Heads;
import dev.lmhead.tensor.Rng;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Size checks made before allocation: the parameter lower bound and the one-array limit. */
class ModelConfigTest {
  static long[] zipf(int v) {
    long[] c = new long[v];
    for (int i = 0; i < v; i++) c[i] = 1000 / (i + 1) + 1;
    return c;
  }

  @Test
  void minParametersNeverExceedsTheBuiltModel() {
    int V = 60;
    String[] heads = {"full", "class", "hsm", "adaptive", "mos"};
    int checked = 0;
    for (String h : heads) {
      for (String input : new String[] {"embedding", "adaptive"}) {
        for (boolean tied : new boolean[] {false, true}) {
          for (int[] eh : new int[][] {{4, 4}, {8, 8}, {6, 3}, {2, 2}}) {
            for (int layers = 1; layers <= 2; layers++) {
              HeadSpec spec = Heads.parse(h, HeadOptions.of("cutoffs", "5,20", "div-value", "2.0", "experts", "3"));
              boolean ai = input.equals("adaptive");
              ModelConfig cfg = new ModelConfig(V, eh[0], eh[1], layers, 0f, tied, input, 0.1f, spec, null,
                  ai ? new int[] {5, 20} : null, ai ? 2.0 : null);
              LanguageModel m;
              try {
                m = new LanguageModel(cfg.validate(), zipf(V), new Rng(1));
              } catch (IllegalArgumentException e) {
                continue; // combination not allowed (e.g. tied with emb != hidden)
              }
              assertTrue(cfg.minParameters() <= m.parameterCount(),
                  cfg + ": lower bound " + cfg.minParameters() + " > " + m.parameterCount() + " parameters");
              checked++;
            }
          }
        }
      }
    }
    assertTrue(checked > 40, "only " + checked + " valid configs");
  }

  @Test
  void tensorsLargerThanAnArrayAreRefusedBeforeAllocation() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> new ModelConfig(100, 40000, 40000, 1, 0f, false, "embedding", 0.1f, HeadSpec.full()).validate());
    assertTrue(e.getMessage().contains("--hidden 40000"), e.getMessage());
    var v = assertThrows(IllegalArgumentException.class,
        () -> new ModelConfig(300_000, 8000, 8, 1, 0f, false, "embedding", 0.1f, HeadSpec.full()).validate());
    assertTrue(v.getMessage().contains("--emb 8000"), v.getMessage());
  }

  private static float maxAbs(Iterable<dev.lmhead.nn.Parameter> ps) {
    float m = 0;
    for (var p : ps) for (float v : p.data) m = Math.max(m, Math.abs(v));
    return m;
  }

  @Test
  void lstmInitRangeZeroIsPyTorchsDefaultAndTheRestKeepsInitRange() {
    int V = 50, H = 16;
    HeadSpec spec = HeadSpec.full();
    // 0 = nn.LSTM's default U(±1/sqrt(H)) = ±0.25 here; the embedding stays at ±initRange
    LanguageModel m = new LanguageModel(new ModelConfig(V, H, H, 2, 0f, true, "embedding", 0.05f, spec, 0f).validate(),
        zipf(V), new Rng(3));
    float lstm = maxAbs(m.rnn.parameters()), emb = maxAbs(m.encoder.parameters());
    assertTrue(lstm <= 0.25f && lstm > 0.24f, "LSTM max |w| " + lstm);
    assertTrue(emb <= 0.05f && emb > 0.049f, "embedding max |w| " + emb);
    // the 9-argument constructor (and a config without the field) initialises the LSTM like the rest
    LanguageModel z = new LanguageModel(new ModelConfig(V, H, H, 2, 0f, true, "embedding", 0.05f, spec).validate(),
        zipf(V), new Rng(3));
    float zl = maxAbs(z.rnn.parameters());
    assertTrue(zl <= 0.05f && zl > 0.049f, "LSTM max |w| " + zl);
    assertThrows(IllegalArgumentException.class,
        () -> new ModelConfig(V, H, H, 1, 0f, true, "embedding", 0.1f, spec, -0.5f).validate());
  }

  @TempDir Path dir;

  @Test
  void configJsonWithoutLstmInitRangeReadsAsInitRange() throws Exception {
    String model = "\"vocab\":10,\"emb\":4,\"hidden\":4,\"layers\":1,\"dropout\":0,\"tied\":true,"
        + "\"input\":\"embedding\",\"initRange\":0.07,\"head\":{\"type\":\"full\",\"bias\":true}";
    Files.writeString(dir.resolve(Checkpoint.CONFIG), "{\"format\":\"lmhead-1\",\"model\":{" + model + "}}");
    assertEquals(0.07f, Checkpoint.readConfig(dir).lstmRange());
    Files.writeString(dir.resolve(Checkpoint.CONFIG), "{\"format\":\"lmhead-1\",\"model\":{" + model + ",\"lstmInitRange\":0}}");
    assertEquals(0.5f, Checkpoint.readConfig(dir).lstmRange());
  }
}
