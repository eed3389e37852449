package dev.lmhead.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lmhead.model.ModelConfig;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** The init flags as parsed from a command line: PyTorch's word-LM defaults, Zaremba's by flag. */
class ModelOptionsTest {
  @Command(name = "probe")
  static final class Probe {
    @Mixin ModelOptions model;
  }

  private static ModelConfig parse(String... args) {
    Probe p = new Probe();
    new CommandLine(p).parseArgs(args);
    return p.model.config(1000);
  }

  @Test
  void lstmDefaultsToPyTorchsInitAndTheEmbeddingToInitRange() {
    ModelConfig c = parse();
    assertEquals(0.1f, c.initRange());
    assertEquals((float) (1 / Math.sqrt(200)), c.lstmRange(), 1e-7f);
    ModelConfig h = parse("--hidden", "650", "--emb", "650");
    assertEquals((float) (1 / Math.sqrt(650)), h.lstmRange(), 1e-7f);
    // --init-range alone no longer reaches the LSTM; --lstm-init-range sets it (Zaremba: 0.1 for both)
    ModelConfig i = parse("--init-range", "0.05");
    assertEquals(0.05f, i.initRange());
    assertEquals((float) (1 / Math.sqrt(200)), i.lstmRange(), 1e-7f);
    assertEquals(0.1f, parse("--init-range", "0.1", "--lstm-init-range", "0.1").lstmRange());
  }
}
