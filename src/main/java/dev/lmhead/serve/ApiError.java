package dev.lmhead.serve;

/** A request the server refuses: HTTP status, message and the offending field (sent as {@code {"error", "field"}}). */
final class ApiError extends Exception {
  final int status;
  final String field;

  ApiError(int status, String field, String message) {
    super(message, null, false, false); // no stack trace: cheap, and never printed
    this.status = status;
    this.field = field;
  }

  static ApiError bad(String field, String message) {
    return new ApiError(400, field, message);
  }
}
