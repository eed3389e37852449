package dev.lmhead.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.TestData;
import dev.lmhead.tensor.Safetensors;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckFixtureCommandTest {

  record Run(int code, String out, String err) {}

  static Run run(String... args) {
    var cl = Main.commandLine();
    StringWriter out = new StringWriter(), err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void exitCodesAndOutput(@TempDir Path tmp) throws Exception {
    String a = TestData.fixture("adaptive_v1000_c100-400_div2.safetensors").toString();
    String f = TestData.fixture("full_v500_d16.safetensors").toString();
    Run ok = run("check-fixture", a, f);
    assertEquals(0, ok.code(), ok.err());
    assertTrue(ok.out().contains("grad.tail.1.1.weight") && ok.out().contains("2 of 2 fixture file(s) pass"), ok.out());

    Run json = run("check-fixture", "--json", f);
    assertEquals(0, json.code());
    assertTrue(json.out().startsWith("{\n  \"pass\": true,") && json.out().contains("\"quantity\": \"grad.bias\""), json.out());

    // a head whose weight was changed: checks run, some fail, exit 1
    Safetensors.Contents c = Safetensors.read(Path.of(f));
    var ts = new LinkedHashMap<>(c.tensors());
    float[] b = ts.get("bias").f32().clone();
    b[3] += 1f;
    ts.put("bias", Safetensors.Tensor.of(b, 500));
    Path bad = tmp.resolve("bad.safetensors");
    Safetensors.write(bad, ts, c.metadata());
    Run fail = run("check-fixture", f, bad.toString());
    assertEquals(1, fail.code());
    assertTrue(fail.out().contains("FAIL") && fail.out().contains("1 of 2 fixture file(s) pass"), fail.out());

    // NaN in the middle of one compared tensor: FAIL and exit 1, in the table and in JSON
    Path nan = dev.lmhead.interop.FixturesTest.withEntry(tmp, "expected.log_prob", 1234, Float.NaN);
    Run nanRun = run("check-fixture", nan.toString());
    assertEquals(1, nanRun.code(), nanRun.out() + nanRun.err());
    assertTrue(nanRun.out().matches("(?s).*log_prob +NaN +1e-05 +FAIL.*") && nanRun.out().contains("0 of 1 fixture file(s) pass"), nanRun.out());
    Run nanJson = run("check-fixture", "--json", nan.toString());
    assertEquals(1, nanJson.code(), nanJson.err());
    assertTrue(nanJson.out().startsWith("{\n  \"pass\": false,") && nanJson.out().contains("\"max_abs_error\": \"NaN\""), nanJson.out());

    Path junk = tmp.resolve("junk.safetensors");
    Files.writeString(junk, "not a tensor file");
    Run err = run("check-fixture", junk.toString());
    assertEquals(2, err.code());
    assertEquals(1, err.err().strip().lines().count(), err.err());
    assertTrue(err.err().startsWith("lmhead: error: " + junk + ": not a safetensors file"), err.err());
  }
}
