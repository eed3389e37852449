package dev.lmhead.interop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.UserError;
import dev.lmhead.data.Vocabulary;
import dev.lmhead.model.Checkpoint;
import dev.lmhead.model.LanguageModel;
import dev.lmhead.model.Scorer;
import dev.lmhead.tensor.Safetensors;
import dev.lmhead.tensor.Safetensors.Tensor;
import dev.lmhead.train.Evaluator;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Import of PyTorch word_language_model state dicts (src/test/resources/interop/, made by
 * {@code bench/pytorch_interop.py fixtures} with PyTorch 1.13) from both file formats, log-probs against
 * PyTorch's, and the export round trip. No Python needed.
 */
class PyTorchInteropTest {
  @TempDir Path tmp;

  static Path res(String name) throws Exception {
    return Path.of(PyTorchInteropTest.class.getResource("/interop/" + name).toURI());
  }

  static Vocabulary vocab() throws Exception { return PyTorchLm.readVocab(res("vocab.txt")); }

  static PyTorchLm.Imported load(String file) throws Exception {
    Path f = res(file);
    return PyTorchLm.fromStateDict(StateDict.read(f), f.toString(), vocab(), "auto", Double.NaN, 0.2f);
  }

  @ParameterizedTest
  @ValueSource(strings = {"tied", "untied", "adaptive"})
  void bothFormatsGiveTheSameTensors(String name) throws Exception {
    Map<String, Tensor> pt = StateDict.read(res(name + ".pt")), st = StateDict.read(res(name + ".safetensors"));
    assertEquals(List.copyOf(st.keySet()), List.copyOf(pt.keySet()), "same names, same order");
    for (String k : st.keySet()) {
      assertArrayEquals(st.get(k).shape(), pt.get(k).shape(), k);
      assertArrayEquals(st.get(k).f32(), pt.get(k).f32(), k);
    }
    var a = load(name + ".pt").model().namedParameters();
    var b = load(name + ".safetensors").model().namedParameters();
    for (String k : a.keySet()) assertArrayEquals(a.get(k).data, b.get(k).data, k);
  }

  @ParameterizedTest
  @ValueSource(strings = {"tied.pt", "untied.safetensors", "adaptive.pt", "adaptive.safetensors"})
  void logProbsEqualPyTorchs(String file) throws Exception {
    String name = file.substring(0, file.indexOf('.'));
    PyTorchLm.Imported imp = load(file);
    assertEquals(name.equals("tied"), imp.model().config.tied());
    assertEquals(name.equals("adaptive") ? "adaptive" : "full", imp.model().config.head().type());
    Safetensors.Contents exp = Safetensors.read(res("expected_" + name + ".safetensors"));
    List<String> lines = Files.readAllLines(res("sentences.txt"));
    List<Scorer.Result> got = new Scorer(imp.model(), imp.vocab()).batchLines(2).score(lines);
    for (int i = 0; i < lines.size(); i++) {
      float[] want = exp.get("logprob." + i).f32();
      assertEquals(want.length, got.get(i).tokens(), "tokens of line " + i);
      for (int t = 0; t < want.length; t++) assertEquals(want[t], got.get(i).tokenLogProbs()[t], 1e-5, "line " + i + " token " + t);
    }
    // eval semantics (state carried over the lines, batch 1) against PyTorch's
    int[] stream = new int[0];
    Scorer s = new Scorer(imp.model(), imp.vocab());
    for (String l : lines) {
      int[] ids = s.encode(l);
      int[] n = java.util.Arrays.copyOf(stream, stream.length + ids.length);
      System.arraycopy(ids, 0, n, stream.length, ids.length);
      stream = n;
    }
    Evaluator.Result r = Evaluator.evaluate(imp.model(), stream, 1, 35, null);
    assertEquals(Long.parseLong(exp.metadata().get("eval_tokens")), r.tokens());
    assertEquals(exp.get("eval.mean_nll").f32()[0], r.meanNll(), 1e-5);
  }

  @ParameterizedTest
  @ValueSource(strings = {"tied", "untied", "adaptive"})
  void exportGivesBackThePyTorchStateDictAndImportsIdentically(String name) throws Exception {
    Map<String, Tensor> original = StateDict.read(res(name + ".safetensors"));
    PyTorchLm.Imported imp = load(name + ".pt");
    Map<String, Tensor> exported = PyTorchLm.toStateDict(imp.model(), "model");
    assertEquals(List.copyOf(original.keySet()), List.copyOf(exported.keySet()), "PyTorch's names in PyTorch's order (strict load)");
    for (String k : original.keySet()) assertArrayEquals(original.get(k).f32(), exported.get(k).f32(), k);
    // through a model directory and the export file: import(export(m)) == m
    Path dir = tmp.resolve(name);
    PyTorchLm.writeModelDir(imp, dir, Map.of());
    Checkpoint.Loaded l = Checkpoint.load(dir, Checkpoint.MODEL);
    Path f = tmp.resolve(name + ".safetensors");
    Safetensors.write(f, PyTorchLm.toStateDict(l.model(), dir.toString()), Map.of());
    PyTorchLm.Imported back = PyTorchLm.fromStateDict(StateDict.read(f), f.toString(), l.vocab(), "auto", Double.NaN, 0.2f);
    assertEquals(Checkpoint.gson().toJson(imp.model().config), Checkpoint.gson().toJson(back.model().config));
    for (var e : imp.model().namedParameters().entrySet()) {
      assertArrayEquals(e.getValue().data, back.model().namedParameters().get(e.getKey()).data, e.getKey());
    }
    assertTrue(PyTorchLm.constructor(l.model()).startsWith("model = RNNModel('LSTM', 81, "), PyTorchLm.constructor(l.model()));
  }

  @ParameterizedTest
  @ValueSource(strings = {"tied", "adaptive"})
  void torchZipExportReadsBack(String name) throws Exception {
    Map<String, Tensor> sd = PyTorchLm.toStateDict(load(name + ".safetensors").model(), "m");
    Path f = tmp.resolve(name + ".pt");
    try (var out = Files.newOutputStream(f)) {
      TorchZipWriter.write(out, sd);
    }
    Map<String, Tensor> back = StateDict.read(f);
    assertEquals(List.copyOf(sd.keySet()), List.copyOf(back.keySet()));
    for (String k : sd.keySet()) {
      assertArrayEquals(sd.get(k).shape(), back.get(k).shape(), k);
      assertArrayEquals(sd.get(k).f32(), back.get(k).f32(), k);
    }
  }

  @Test
  void tiedSafetensorsWithOneNameOnlyIsTied() throws Exception {
    Map<String, Tensor> sd = new LinkedHashMap<>(StateDict.read(res("tied.safetensors")));
    sd.remove("decoder.weight"); // what safetensors' save_model does with shared tensors
    var imp = PyTorchLm.fromStateDict(sd, "x", vocab(), "auto", Double.NaN, 0.2f);
    assertTrue(imp.model().config.tied());
    Map<String, Tensor> sd2 = new LinkedHashMap<>(StateDict.read(res("tied.safetensors")));
    sd2.remove("encoder.weight");
    var imp2 = PyTorchLm.fromStateDict(sd2, "x", vocab(), "auto", Double.NaN, 0.2f);
    assertArrayEquals(imp.model().namedParameters().get("encoder.weight").data, imp2.model().namedParameters().get("encoder.weight").data);
  }

  @Test
  void divValueInferredFromProjectionSizes() {
    assertEquals(4.0, PyTorchLm.inferDivValue(16, new int[] {4}, "x"));
    assertEquals(4.0, PyTorchLm.inferDivValue(200, new int[] {50, 12}, "x"));
    assertEquals(2.0, PyTorchLm.inferDivValue(12, new int[] {6, 3}, "x"));
    assertEquals(1.0, PyTorchLm.inferDivValue(12, new int[] {12, 12}, "x"));
    assertEquals(3.0, PyTorchLm.inferDivValue(10, new int[] {3}, "x"));
    double d = PyTorchLm.inferDivValue(100, new int[] {66, 44}, "x"); // 1.5
    assertEquals(66, dev.lmhead.head.AdaptiveSoftmax.projectionSize(100, d, 1));
    assertEquals(44, dev.lmhead.head.AdaptiveSoftmax.projectionSize(100, d, 2));
    assertThrows(UserError.class, () -> PyTorchLm.inferDivValue(12, new int[] {3, 6}, "x"));
  }

  static String error(Map<String, Tensor> sd) throws Exception {
    return assertThrows(UserError.class, () -> PyTorchLm.fromStateDict(sd, "f.pt", vocab(), "auto", Double.NaN, 0.2f)).getMessage();
  }

  @Test
  void missingExtraAndMisshapenTensorsAreNamed() throws Exception {
    Map<String, Tensor> good = StateDict.read(res("untied.safetensors"));
    var sd = new LinkedHashMap<>(good);
    sd.remove("rnn.bias_hh_l1");
    assertEquals("f.pt: missing tensor 'rnn.bias_hh_l1'", error(sd));
    sd = new LinkedHashMap<>(good);
    sd.put("decoder.extra", Tensor.of(new float[2], 2));
    assertTrue(error(sd).startsWith("f.pt: unexpected tensor 'decoder.extra'"), error(sd));
    sd = new LinkedHashMap<>(good);
    sd.put("rnn.weight_ih_l1", Tensor.of(new float[48 * 10], 48, 10));
    assertEquals("f.pt: tensor 'rnn.weight_ih_l1' has shape [48, 10], expected [48, 12]", error(sd));
    sd = new LinkedHashMap<>(good);
    sd.put("rnn.weight_hh_l0", Tensor.of(new float[36 * 12], 36, 12));
    assertTrue(error(sd).contains("GRU"), error(sd));
    sd = new LinkedHashMap<>(good);
    sd.put("encoder.weight", Tensor.of(new float[80 * 10], 80, 10));
    assertTrue(error(sd).contains("has 80 words") && error(sd).contains("vocabulary file has 81"), error(sd));
    var ad = new LinkedHashMap<>(StateDict.read(res("adaptive.safetensors")));
    ad.put("decoder.tail.1.1.weight", Tensor.of(new float[30 * 3], 30, 3));
    assertTrue(error(ad).contains("covers 80 words"), error(ad));
    for (String msg : List.of(error(sd), error(ad))) assertFalse(msg.contains("\n"));
  }

  @Test
  void badFilesAreOneLineErrors() throws Exception {
    Path junk = Files.write(tmp.resolve("junk.pt"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
    assertTrue(assertThrows(UserError.class, () -> StateDict.read(junk)).getMessage().startsWith(junk.toString()));
    assertTrue(assertThrows(UserError.class, () -> StateDict.read(tmp.resolve("nope.pt"))).getMessage().endsWith("no such file"));
    byte[] zip = Files.readAllBytes(res("tied.pt"));
    Path cut = Files.write(tmp.resolve("cut.pt"), java.util.Arrays.copyOf(zip, zip.length / 2));
    String m = assertThrows(UserError.class, () -> StateDict.read(cut)).getMessage();
    assertTrue(m.startsWith(cut.toString()), m);
    Path v = Files.writeString(tmp.resolve("v.txt"), "a\nb\n<eos>\n");
    assertTrue(assertThrows(UserError.class, () -> PyTorchLm.readVocab(v)).getMessage().contains("no <unk>"));
    Path v2 = Files.writeString(tmp.resolve("v2.txt"), "a\n<unk>\na\n<eos>\n");
    assertEquals(v2 + ":3: duplicate word 'a' (first at line 1)", assertThrows(UserError.class, () -> PyTorchLm.readVocab(v2)).getMessage());
  }

  @Test
  void pickleNeverCallsUnknownCode() {
    // GLOBAL 'os system', a string, TUPLE1, REDUCE, STOP
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.writeBytes(new byte[] {(byte) 0x80, 2});
    b.writeBytes("cos\nsystem\n".getBytes());
    b.writeBytes(new byte[] {'X', 2, 0, 0, 0, 'l', 's', (byte) 0x85, 'R', '.'});
    String m = assertThrows(UserError.class, () -> Pickle.load(b.toByteArray(), "evil.pkl", null)).getMessage();
    assertTrue(m.startsWith("evil.pkl: unsupported object os.system"), m);
    assertTrue(assertThrows(UserError.class, () -> Pickle.load(new byte[] {(byte) 0x80, 2, 'X', 9}, "t.pkl", null)).getMessage().startsWith("t.pkl: malformed pickle"));
  }

  @Test
  void exportRefusesHeadsPyTorchDoesNotHave() throws Exception {
    var cfg = new dev.lmhead.model.ModelConfig(81, 8, 8, 1, 0f, false, "embedding", 0.1f, new dev.lmhead.head.HierarchicalSoftmax.Spec(true, dev.lmhead.head.HierarchicalSoftmax.Tree.HUFFMAN));
    LanguageModel m = new LanguageModel(cfg, new long[81], new dev.lmhead.tensor.Rng(1));
    String msg = assertThrows(UserError.class, () -> PyTorchLm.toStateDict(m, "runs/x")).getMessage();
    assertEquals("runs/x: the hsm head has no PyTorch equivalent; only full and adaptive heads can be exported", msg);
  }
}
