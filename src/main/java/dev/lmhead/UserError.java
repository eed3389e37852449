package dev.lmhead;

/**
 * An error caused by the user's input (file, flag, checkpoint), not by a bug. Its message is one line
 * that names the file, line or flag at fault; the CLI prints it as {@code lmhead: error: <message>}
 * and exits with code 2, without a stack trace.
 */
public class UserError extends RuntimeException {
  public UserError(String message) { super(message); }

  public UserError(String message, Throwable cause) { super(message, cause); }
}
