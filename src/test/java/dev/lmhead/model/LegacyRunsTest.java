package dev.lmhead.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import dev.lmhead.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs written by the code before typed head specs (src/test/resources/legacy-runs, see its README) keep
 * loading: same head type, same log-probs; and a config.json written again by today's code and read back
 * rebuilds the same model.
 */
class LegacyRunsTest {
  static final Path DIR = TestData.root().resolve("src/test/resources/legacy-runs");

  static List<String> runs() throws IOException {
    try (Stream<Path> s = Files.list(DIR)) {
      return s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @TempDir Path tmp;

  static void check(String name, Path dir, Path expected) throws IOException {
    Checkpoint.Loaded l = Checkpoint.load(dir, Checkpoint.MODEL);
    String type = JsonParser.parseString(Files.readString(DIR.resolve(name).resolve(Checkpoint.CONFIG)))
        .getAsJsonObject().getAsJsonObject("model").getAsJsonObject("head").get("type").getAsString();
    assertEquals(type, l.model().decoder.type(), name);
    int v = l.model().vocabSize();
    float[] lp = new float[2 * v];
    l.model().resetState(2);
    l.model().nextLogProb(new int[] {1, 2, 3, 4, 5, 6}, 3, 2, lp);
    List<String> want = Files.readAllLines(expected);
    assertEquals(2 * v, want.size(), name);
    for (int i = 0; i < lp.length; i++) {
      float w = Float.parseFloat(want.get(i));
      assertEquals(w, lp[i], 1e-4 + 1e-4 * Math.abs(w), name + ": log-prob " + i);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("runs")
  void loadsAsWritten(String name) throws IOException {
    Path d = DIR.resolve(name);
    check(name, d, d.resolve("expected-logprob.txt"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("runs")
  void configWrittenAgainReadsBack(String name) throws IOException {
    Path d = DIR.resolve(name), out = tmp.resolve(name);
    Checkpoint.Loaded l = Checkpoint.load(d, Checkpoint.MODEL);
    Checkpoint.saveSetup(out, l.model().config, l.vocab(), Map.of("data", "tiny"));
    Files.copy(d.resolve(Checkpoint.MODEL), out.resolve(Checkpoint.MODEL));
    assertTrue(Files.readString(out.resolve(Checkpoint.CONFIG)).contains("\"type\": \"" + l.model().decoder.type() + "\""));
    check(name, out, d.resolve("expected-logprob.txt"));
  }
}
