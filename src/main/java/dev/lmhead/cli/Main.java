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
    description = "Output layers for neural language models: train, evaluate, compare, score and serve LSTM LMs with full, class-based, hierarchical, adaptive, mixture-of-softmaxes, sampled, NCE and differentiated softmax heads.",
    subcommands = {CommandLine.HelpCommand.class})
public final class Main implements Runnable {

  @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT, description = "Show stack traces on errors.")
  boolean verbose;

  @Override public void run() { CommandLine.usage(this, System.out); }

  /** Every subcommand, registered here (one line each). */
  static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Main());
    // subcommands:
    add(cl, new TrainCommand());
    add(cl, new EvalCommand());
    add(cl, new GenerateCommand());
    add(cl, new BenchCommand());
    add(cl, new RankCommand());
    add(cl, new CompareCommand());
    add(cl, new CheckFixtureCommand());
    add(cl, new ImportCommand());
    add(cl, new ExportCommand());
    add(cl, new ScoreCommand());
    add(cl, new ServeCommand());
    cl.setExecutionExceptionHandler((ex, cmd, parse) -> handle(ex, cmd));
    cl.setParameterExceptionHandler((ex, args) -> {
      PrintWriter err = ex.getCommandLine().getErr();
      err.println("lmhead: error: " + ex.getMessage().lines().findFirst().orElse("bad arguments")
          + " (see '" + helpName(ex.getCommandLine()) + " --help')");
      return 2;
    });
    return cl;
  }

  /**
   * Adds a subcommand built by picocli's public constructor, which applies model transformers (such as
   * {@link HeadFlags}, the registry's head flags) to it and its own subcommands; {@code addSubcommand(Object)}
   * alone would skip them.
   */
  private static void add(CommandLine parent, Object command) {
    parent.addSubcommand(new CommandLine(command));
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
    if (t instanceof java.io.IOException || t instanceof java.io.UncheckedIOException) {
      // the disk, not lmhead: full, read-only, a file where a folder should be, permissions
      err.println("lmhead: error: " + oneLine(ioMessage(t)));
      if (verbose) t.printStackTrace(err);
      return 2;
    }
    if (t instanceof OutOfMemoryError) {
      err.println(OUT_OF_MEMORY);
      return 2;
    }
    err.println("lmhead: internal error: " + t + " (please report it; --verbose shows the stack trace)");
    if (verbose) t.printStackTrace(err);
    return 1;
  }

  /** "path: reason" for file-system errors, whose own messages are often just the path. */
  static String ioMessage(Throwable t) {
    Throwable c = t instanceof java.io.UncheckedIOException u && u.getCause() != null ? u.getCause() : t;
    String prefix = c != t && t.getMessage() != null ? t.getMessage() + ": " : "";
    if (c instanceof java.nio.file.FileSystemException f) {
      String why = f.getReason() != null ? f.getReason() : switch (f) {
        case java.nio.file.FileAlreadyExistsException x -> "already exists (expected a folder or a new path)";
        case java.nio.file.NoSuchFileException x -> "no such file or folder";
        case java.nio.file.AccessDeniedException x -> "permission denied";
        case java.nio.file.NotDirectoryException x -> "not a folder";
        case java.nio.file.DirectoryNotEmptyException x -> "folder not empty";
        default -> c.getClass().getSimpleName();
      };
      return prefix + f.getFile() + (f.getOtherFile() != null ? " -> " + f.getOtherFile() : "") + ": " + why;
    }
    return prefix + "I/O error: " + (c.getMessage() != null ? c.getMessage() : c.getClass().getSimpleName());
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

  public static int execute(String... args) { return run(commandLine(), args); }

  /** Executes; an OutOfMemoryError (an Error, which picocli does not handle) is one line too. */
  private static int run(CommandLine cl, String[] args) {
    try {
      return cl.execute(args);
    } catch (OutOfMemoryError e) {
      cl.getErr().println(OUT_OF_MEMORY);
      cl.getErr().flush();
      return 2;
    }
  }

  private static final String OUT_OF_MEMORY = "lmhead: error: out of memory (raise the heap with LMHEAD_JAVA_OPTS=-Xmx16g or use smaller --batch/--bptt/--hidden)";

  /** Runs the CLI with picocli's out/err replaced (tests); returns the exit code. */
  static int execute(PrintWriter out, PrintWriter err, String... args) {
    CommandLine cl = commandLine();
    cl.setOut(out);
    cl.setErr(err);
    try {
      return run(cl, args);
    } finally {
      out.flush();
      err.flush();
    }
  }

  public static void main(String[] args) {
    System.exit(execute(args));
  }
}
