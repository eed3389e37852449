package dev.lmhead.model;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.head.HeadSpec;
import dev.lmhead.tensor.Rng;
import org.junit.jupiter.api.Test;

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
              HeadSpec spec = new HeadSpec(h, true, 0, "freq", "huffman", new int[] {5, 20}, 2.0, false, 3, 0, "full");
              ModelConfig cfg = new ModelConfig(V, eh[0], eh[1], layers, 0f, tied, input, 0.1f, spec);
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
}
