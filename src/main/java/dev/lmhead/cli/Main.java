package dev.lmhead.cli;

import dev.lmhead.UserError;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Entry point of the {@code lmhead} command. User errors ({@link UserError}, bad flags) print one
 * line {@code lmhead: error: ...} and exit 2; {@code --verbose} adds the stack trace.
 */
@Command(name = "lmhead", mixinStandardHelpOptions = true, version = "lmhead 0.1.0",
    description = "Output layers for neural language models: train, evaluate and compare LSTM LMs with full, class-based, hierarchical, adaptive and mixture-of-softmaxes heads.",
    subcommands = {CommandLine.HelpCommand.class})
public final class Main implements Runnable {

  @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT, description = "Show stack traces on errors.")
  boolean verbose;

  @Override public void run() { CommandLine.usage(this, System.out); }

  /** Every subcommand, registered here (one line each). */
  static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Main());
    // subcommands:
    cl.addSubcommand(new TrainCommand());
    cl.addSubcommand(new EvalCommand());
    cl.addSubcommand(new GenerateCommand());
    cl.addSubcommand(new BenchCommand());
    cl.addSubcommand(new RankCommand());
    cl.addSubcommand(new CompareCommand());
    cl.addSubcommand(new CheckFixtureCommand());
    cl.setExecutionExceptionHandler((ex, cmd, parse) -> handle(ex, cmd));
    cl.setParameterExceptionHandler((ex, args) -> {
      PrintWriter err = ex.getCommandLine().getErr();
      err.println("lmhead: error: " + ex.getMessage().lines().findFirst().orElse("bad arguments")
          + " (see '" + helpName(ex.getCommandLine()) + " --help')");
      return 2;
    });
    return cl;
  }

  private static int handle(Exception ex, CommandLine cmd) {
    boolean verbose = false;
    for (String a : cmd.getParseResult() == null ? new String[0] : cmd.getCommandSpec().root().commandLine().getParseResult().originalArgs().toArray(new String[0])) {
      if (a.equals("--verbose")) verbose = true;
    }
    PrintWriter err = cmd.getErr();
    Throwable t = ex;
    if (t instanceof UserError || t instanceof IllegalArgumentException) {
      err.println("lmhead: error: " + oneLine(t.getMessage()));
      if (verbose) t.printStackTrace(err);
      return 2;
    }
    if (t instanceof OutOfMemoryError) {
      err.println("lmhead: error: out of memory (raise the heap with LMHEAD_JAVA_OPTS=-Xmx16g or use smaller --batch/--bptt/--hidden)");
      return 2;
    }
    err.println("lmhead: internal error: " + t + " (please report it; --verbose shows the stack trace)");
    if (verbose) t.printStackTrace(err);
    return 1;
  }

  private static String helpName(CommandLine cl) {
    StringBuilder b = new StringBuilder();
    for (CommandLine c = cl; c != null; c = c.getParent()) b.insert(0, b.length() == 0 ? c.getCommandName() : c.getCommandName() + " ");
    return b.toString();
  }

  static String oneLine(String s) {
    if (s == null) return "unknown error";
    return s.replace('\n', ' ').replace('\r', ' ');
  }

  public static int execute(String... args) { return commandLine().execute(args); }

  public static void main(String[] args) {
    System.exit(execute(args));
  }
}
