package dev.lmhead.cli;

import com.google.gson.GsonBuilder;
import dev.lmhead.interop.Fixtures;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code lmhead check-fixture FILE...}: checks lmhead's heads number for number against PyTorch
 * parity fixtures (see {@link Fixtures}). Prints one table per file, or JSON with {@code --json}.
 * Exit code 0 when every check of every file passes, 1 when some check fails, 2 (one-line error)
 * when a file cannot be read, is malformed, or names an unknown head.
 */
@Command(name = "check-fixture", abbreviateSynopsis = true, mixinStandardHelpOptions = true,
    description = {"Check lmhead's output layers against PyTorch parity fixtures.",
        "Fixtures are safetensors files in the format of shared/fixtures/README.md.",
        "Compares output, loss, log_prob, predict and every gradient; exit 0 only if all pass."})
public final class CheckFixtureCommand implements Callable<Integer> {

  @Parameters(arity = "1..*", paramLabel = "FILE", description = "Fixture files (.safetensors).")
  List<Path> files;

  @Option(names = "--json", description = "Print the results as JSON instead of tables.")
  boolean json;

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    List<Fixtures.Report> reports = new ArrayList<>();
    for (Path f : files) reports.add(Fixtures.check(f));
    boolean all = reports.stream().allMatch(Fixtures.Report::pass);
    if (json) {
      List<Map<String, Object>> list = new ArrayList<>();
      for (Fixtures.Report r : reports) list.add(Fixtures.toJson(r));
      Map<String, Object> doc = new LinkedHashMap<>();
      doc.put("pass", all);
      doc.put("files", list);
      out.println(new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(doc));
    } else {
      for (Fixtures.Report r : reports) {
        out.println(r.file() + "  (" + r.description() + ")");
        out.printf("  %-24s %12s %10s  %s%n", "quantity", "max |err|", "tolerance", "result");
        for (Fixtures.Check c : r.checks()) {
          String err = c.quantity().equals("predict") ? String.format("%d rows", (long) c.maxAbsError()) : String.format("%.2e", c.maxAbsError());
          out.printf("  %-24s %12s %10s  %s%n", c.quantity(), err,
              c.quantity().equals("predict") ? "identical" : String.format("%.0e", c.tolerance()), c.pass() ? "ok" : "FAIL");
        }
        out.println("  " + (r.pass() ? "PASS" : "FAIL") + "\n");
      }
      long passed = reports.stream().filter(Fixtures.Report::pass).count();
      out.println(passed + " of " + reports.size() + " fixture file(s) pass");
    }
    out.flush();
    return all ? 0 : 1;
  }
}
