package dev.lmhead.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.TestData;
import dev.lmhead.UserError;
import dev.lmhead.tensor.Safetensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

public class FixturesTest {

  /** Every fixture in shared/fixtures and src/test/resources/fixtures. */
  static List<Path> allFixtures() throws IOException {
    List<Path> files = new ArrayList<>();
    for (Path dir : new Path[] {TestData.shared().resolve("fixtures"), TestData.root().resolve("src/test/resources/fixtures")}) {
      if (!Files.isDirectory(dir)) continue;
      try (Stream<Path> s = Files.list(dir)) {
        s.filter(p -> p.toString().endsWith(".safetensors")).sorted().forEach(files::add);
      }
    }
    return files;
  }

  @Test
  void everyFixturePasses() throws IOException {
    List<Path> files = allFixtures();
    assertTrue(files.stream().anyMatch(p -> p.getFileName().toString().equals("adaptive_v1000_c100-400_div2.safetensors")));
    assertTrue(files.stream().anyMatch(p -> p.getFileName().toString().equals("adaptive_v1000_c200_div4_bias.safetensors")));
    assertTrue(files.stream().anyMatch(p -> p.getFileName().toString().equals("full_v500_d16.safetensors")));
    assertTrue(files.size() >= 3, "fixtures found: " + files);
    for (Path f : files) {
      Fixtures.Report r = Fixtures.check(f);
      for (Fixtures.Check c : r.checks()) {
        assertTrue(c.pass(), f.getFileName() + " (" + r.description() + "): " + c.quantity() + " error " + c.maxAbsError() + " > " + c.tolerance());
      }
      int params = Fixtures.importHead(Fixtures.read(f), f.toString()).parameters().size();
      assertEquals(5 + params, r.checks().size(), "every quantity and every parameter gradient is checked: " + r.checks());
    }
  }

  @Test
  void aWrongWeightFailsTheCheck(@TempDir Path tmp) throws IOException {
    Path src = TestData.fixture("adaptive_v1000_c100-400_div2.safetensors");
    Safetensors.Contents c = Safetensors.read(src);
    Map<String, Safetensors.Tensor> ts = new LinkedHashMap<>(c.tensors());
    float[] w = ts.get("tail.1.1.weight").f32().clone();
    w[7] += 0.5f;
    ts.put("tail.1.1.weight", Safetensors.Tensor.of(w, ts.get("tail.1.1.weight").shape()));
    Path f = tmp.resolve("bad.safetensors");
    Safetensors.write(f, ts, c.metadata());
    Fixtures.Report r = Fixtures.check(f);
    assertFalse(r.pass());
    assertTrue(r.checks().stream().anyMatch(ch -> ch.quantity().equals("log_prob") && !ch.pass()));
  }

  /** A copy of the full-softmax fixture with one entry of a tensor replaced. */
  public static Path withEntry(Path dir, String tensor, int index, float value) throws IOException {
    Safetensors.Contents c = Safetensors.read(TestData.fixture("full_v500_d16.safetensors"));
    Map<String, Safetensors.Tensor> ts = new LinkedHashMap<>(c.tensors());
    float[] a = ts.get(tensor).f32().clone();
    a[index] = value;
    ts.put(tensor, Safetensors.Tensor.of(a, ts.get(tensor).shape()));
    Path f = dir.resolve(tensor + "-" + index + ".safetensors");
    Safetensors.write(f, ts, c.metadata());
    return f;
  }

  private static Fixtures.Check check(Fixtures.Report r, String quantity) {
    return r.checks().stream().filter(ch -> ch.quantity().equals(quantity)).findFirst().orElseThrow();
  }

  @Test
  void aNaNInTheMiddleOfAComparedTensorFailsThatCheck(@TempDir Path tmp) throws IOException {
    // NaN in the middle of PyTorch's expected log-probs and input gradient: finite entries after it must not hide it
    int n = Safetensors.read(TestData.fixture("full_v500_d16.safetensors")).get("target").shape()[0];
    Fixtures.Report r = Fixtures.check(withEntry(tmp, "expected.log_prob", n * 500 / 2 + 17, Float.NaN));
    assertFalse(r.pass());
    assertFalse(check(r, "log_prob").pass());
    assertTrue(Double.isNaN(check(r, "log_prob").maxAbsError()));
    assertTrue(check(r, "output").pass() && check(r, "grad.weight").pass(), r.checks().toString());
    r = Fixtures.check(withEntry(tmp, "expected.grad.input", 5, Float.NaN));
    assertFalse(check(r, "grad.input").pass());
    // NaN in the input row 1 of n: lmhead's output, log-probs and gradients of that row are NaN, the other rows finite
    r = Fixtures.check(withEntry(tmp, "input", 16 + 3, Float.NaN));
    for (String q : new String[] {"output", "log_prob", "loss", "grad.input", "grad.weight", "grad.bias"}) {
      assertFalse(check(r, q).pass(), q + " must fail on a NaN output: " + r.checks());
    }
    // an infinity facing a finite value fails too
    r = Fixtures.check(withEntry(tmp, "expected.output", 1, Float.NEGATIVE_INFINITY));
    assertFalse(check(r, "output").pass());
  }

  @Test
  void compareFailsOnNonFiniteMismatchesAndAcceptsEqualInfinities() {
    float inf = Float.POSITIVE_INFINITY, nan = Float.NaN;
    assertTrue(Fixtures.compare("x", new float[] {1, 2, 3}, new float[] {1, 2, 3}, 0).pass());
    assertTrue(Fixtures.compare("x", new float[] {1, -inf, 3}, new float[] {1, -inf, 3}, 0).pass());
    assertFalse(Fixtures.compare("x", new float[] {1, nan, 3, 4}, new float[] {1, 2, 3, 4}, 1e3).pass());
    assertFalse(Fixtures.compare("x", new float[] {1, 2, 3, 4}, new float[] {1, nan, 3, 4}, 1e3).pass());
    assertFalse(Fixtures.compare("x", new float[] {1, nan, 3}, new float[] {1, nan, 3}, 1e3).pass());
    assertFalse(Fixtures.compare("x", new float[] {1, inf, 3}, new float[] {1, -inf, 3}, 1e3).pass());
    assertFalse(Fixtures.compare("x", new float[] {1, 2, 3}, new float[] {1, 2.5f, 3}, 0.1).pass());
    assertEquals(0.5, Fixtures.compare("x", new float[] {1, 2, 3}, new float[] {1, 2.5f, 3}, 0.1).maxAbsError(), 1e-9);
  }

  @Test
  void unreadableCorruptAndUnknownFilesGiveOneLineUserErrors(@TempDir Path tmp) throws IOException {
    Path missing = tmp.resolve("nope.safetensors");
    assertEquals(missing + ": no such file", assertThrows(UserError.class, () -> Fixtures.check(missing)).getMessage());
    Path junk = tmp.resolve("junk.safetensors");
    Files.writeString(junk, "hello");
    assertTrue(assertThrows(UserError.class, () -> Fixtures.check(junk)).getMessage().startsWith(junk + ": not a safetensors file"));

    Safetensors.Contents c = Safetensors.read(TestData.fixture("adaptive_v1000_c200_div4_bias.safetensors"));
    Path trunc = tmp.resolve("trunc.safetensors");
    byte[] all = Files.readAllBytes(TestData.fixture("adaptive_v1000_c200_div4_bias.safetensors"));
    Files.write(trunc, java.util.Arrays.copyOf(all, all.length - 100));
    assertTrue(assertThrows(UserError.class, () -> Fixtures.check(trunc)).getMessage().contains("truncated"));

    Map<String, String> meta = new LinkedHashMap<>(c.metadata());
    meta.put("head", "mystery");
    Path unknown = tmp.resolve("unknown.safetensors");
    Safetensors.write(unknown, c.tensors(), meta);
    assertEquals(unknown + ": unknown head 'mystery' (expected adaptive or full)",
        assertThrows(UserError.class, () -> Fixtures.check(unknown)).getMessage());

    meta = new LinkedHashMap<>(c.metadata());
    meta.put("div_value", "2.0"); // tail would be [8, 16], the file holds [4, 16]
    Path mismatch = tmp.resolve("mismatch.safetensors");
    Safetensors.write(mismatch, c.tensors(), meta);
    assertEquals(mismatch + ": tensor 'tail.0.0.weight' is F32[4, 16] but the head built from the metadata needs F32[8, 16]",
        assertThrows(UserError.class, () -> Fixtures.check(mismatch)).getMessage());

    meta = new LinkedHashMap<>(c.metadata());
    meta.put("cutoffs", "[200, 100]");
    Path badCut = tmp.resolve("badcut.safetensors");
    Safetensors.write(badCut, c.tensors(), meta);
    assertEquals(badCut + ": metadata describes an invalid head: --cutoffs [200,100] must be sorted in increasing order and unique (200 then 100)",
        assertThrows(UserError.class, () -> Fixtures.check(badCut)).getMessage());

    Map<String, Safetensors.Tensor> ts = new LinkedHashMap<>(c.tensors());
    ts.remove("expected.grad.input");
    Path noGrad = tmp.resolve("nograd.safetensors");
    Safetensors.write(noGrad, ts, c.metadata());
    assertEquals(noGrad + ": missing tensor 'expected.grad.input'", assertThrows(UserError.class, () -> Fixtures.check(noGrad)).getMessage());
  }
}
