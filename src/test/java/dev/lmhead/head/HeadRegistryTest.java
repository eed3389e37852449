package dev.lmhead.head;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.data.Vocabulary;
import dev.lmhead.model.Checkpoint;
import dev.lmhead.model.LanguageModel;
import dev.lmhead.model.ModelConfig;
import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Rng;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The registry: built-in heads, parsing, config.json, and a head added from outside (one file + one line). */
class HeadRegistryTest {
  @TempDir Path dir;

  @Test
  void builtInHeadsInTableOrder() {
    assertEquals(List.of("full", "class", "hsm", "adaptive", "mos", "sampled", "nce", "dsoftmax"), Heads.names());
    assertEquals("full, class, hsm, adaptive, mos, sampled, nce, dsoftmax", Heads.namesText());
    assertEquals("--head must be one of full, class, hsm, adaptive, mos, sampled, nce, dsoftmax, got 'x'",
        assertThrows(IllegalArgumentException.class, () -> Heads.get("x")).getMessage());
    // shared flags are declared once
    assertEquals(List.of("bias", "classes", "class-mode", "tree", "cutoffs", "div-value", "head-bias", "experts", "mos-dim", "mos-base", "samples", "sampler", "sampler-alpha", "log-z", "bands", "band-dims"),
        Heads.options().stream().map(HeadOption::key).toList());
  }

  @Test
  void defaultsAreTheCliDefaults() {
    assertEquals(new FullSoftmax.Spec(true), Heads.parse("full", HeadOptions.of()));
    assertEquals(new ClassSoftmax.Spec(true, 0, ClassSoftmax.ClassMode.FREQ), Heads.parse("class", HeadOptions.of()));
    assertEquals(new HierarchicalSoftmax.Spec(false, HierarchicalSoftmax.Tree.BALANCED),
        Heads.parse("hsm", HeadOptions.of("bias", "false", "tree", "balanced")));
    var a = (AdaptiveSoftmax.Spec) Heads.parse("adaptive", HeadOptions.of("cutoffs", "5,20"));
    assertEquals(List.of(5, 20), java.util.Arrays.stream(a.cutoffs()).boxed().toList());
    assertEquals(4.0, a.divValue());
    var m = (MixtureOfSoftmaxes.Spec) Heads.parse("mos", HeadOptions.of());
    assertEquals(5, m.experts());
    assertEquals(MixtureOfSoftmaxes.MosBase.FULL, m.mosBase());
    assertEquals("unknown --mos-base 'hsm' (expected full or adaptive)",
        assertThrows(IllegalArgumentException.class, () -> Heads.parse("mos", HeadOptions.of("mos-base", "hsm"))).getMessage());
  }

  @Test
  void specsRoundTripThroughJson() {
    var g = Checkpoint.gson();
    for (HeadSpec s : List.of(new FullSoftmax.Spec(false), new ClassSoftmax.Spec(true, 7, ClassSoftmax.ClassMode.EQUAL),
        new HierarchicalSoftmax.Spec(true, HierarchicalSoftmax.Tree.BALANCED), new AdaptiveSoftmax.Spec(new int[] {3, 9}, 2.5, true),
        new MixtureOfSoftmaxes.Spec(false, 3, 4, MixtureOfSoftmaxes.MosBase.ADAPTIVE, new int[] {3}, 2.0, false))) {
      String json = g.toJson(s, HeadSpec.class);
      assertTrue(json.contains("\"type\": \"" + s.type() + "\""), json);
      HeadSpec back = g.fromJson(json, HeadSpec.class);
      assertEquals(g.toJson(s, HeadSpec.class), g.toJson(back, HeadSpec.class));
      assertEquals(s.describe(), back.describe());
    }
    assertTrue(g.toJson(new ClassSoftmax.Spec(true, 0, ClassSoftmax.ClassMode.FREQ), HeadSpec.class).contains("\"classMode\": \"freq\""));
  }

  /** A head added from outside lmhead's sources: register it, and the CLI options, config.json and the model take it. */
  @Test
  void aNewHeadIsOneFileAndOneRegistryLine() throws Exception {
    try (var reg = Heads.register(UnigramHead.TYPE)) { // the one registry line
      assertTrue(Heads.names().contains("unigram"));
      assertTrue(Heads.options().contains(UnigramHead.SCALE));
      HeadSpec spec = Heads.parse("unigram", HeadOptions.of("unigram-scale", "2"));
      assertEquals(new UnigramHead.Spec(2.0), spec);

      int v = 12;
      String[] words = new String[v];
      long[] counts = new long[v];
      words[0] = Vocabulary.EOS;
      words[1] = Vocabulary.UNK;
      for (int i = 0; i < v; i++) {
        if (i > 1) words[i] = "w" + i;
        counts[i] = 100 / (i + 1);
      }
      Vocabulary vocab = Vocabulary.of(words, counts);
      ModelConfig cfg = new ModelConfig(v, 6, 6, 1, 0f, false, "embedding", 0.1f, spec).validate();
      LanguageModel m = new LanguageModel(cfg, vocab.counts(), new Rng(1));
      assertInstanceOf(UnigramHead.class, m.decoder);
      assertTrue(m.namedParameters().containsKey("decoder.logits"));
      // train: the head learns the unigram distribution of a skewed stream
      Rng rng = new Rng(2);
      int T = 5, B = 4;
      int[] in = new int[T * B], tg = new int[T * B];
      for (int i = 0; i < in.length; i++) { in[i] = 2 + rng.nextInt(v - 2); tg[i] = i % 3 == 0 ? 3 : 2; }
      m.resetState(B);
      double first = m.trainStep(in, tg, T, B, rng), last = first;
      for (int step = 0; step < 50; step++) {
        for (Parameter p : m.parameters()) {
          for (int i = 0; i < p.data.length; i++) p.data[i] -= 0.5f * p.grad[i];
          p.zeroGrad();
        }
        last = m.trainStep(in, tg, T, B, rng);
      }
      assertTrue(last < first - 0.5, first + " -> " + last);
      float[] scratch = new float[T * B];
      double nll = m.evalSum(in, tg, T, B, scratch) / (T * B);
      assertTrue(nll < first, "eval " + nll);
      // config.json: written and read back through the registry
      Checkpoint.saveSetup(dir, cfg, vocab, Map.of());
      Checkpoint.saveTensors(dir.resolve(Checkpoint.MODEL), Checkpoint.tensors(m), Map.of());
      LanguageModel back = Checkpoint.load(dir, Checkpoint.MODEL).model();
      assertEquals(spec, back.config.head());
      assertEquals(nll, back.evalSum(in, tg, T, B, scratch) / (T * B), 1e-5);
      HeadContract.normalisedAndConsistent(back.decoder, 3, 4);
    }
    assertFalse(Heads.has("unigram"));
  }
}
