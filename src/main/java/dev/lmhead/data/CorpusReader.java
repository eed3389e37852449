package dev.lmhead.data;

import dev.lmhead.UserError;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Streams the tokens of one corpus file, plain UTF-8 text or gzip-compressed (recognised by its magic
 * bytes {@code 1f 8b}, whatever the file is called).
 *
 * <p>Tokenisation, the convention of the usual LSTM LM reference code ({@code line.split()} plus
 * {@code <eos>}): a line ends at {@code \n}, {@code \r\n} or a lone {@code \r}; tokens are maximal runs
 * of non-whitespace characters ({@link Character#isWhitespace}); after each line, empty lines
 * included, the sink's {@link Sink#endOfLine()} is called. Text after the last line terminator counts
 * as a final line. A byte-order mark at the very start of the file is skipped.
 *
 * <p>Memory is bounded: bytes are decoded 64 KiB at a time and only the current token is held, so a
 * file that is one 1 GB line needs no more heap than one with short lines. A token longer than
 * {@link #MAX_TOKEN_CHARS} characters is rejected as not-a-text-corpus.
 *
 * <p>Every problem is a {@link UserError} with a one-line message that names the file and, where one
 * exists, the line ({@code path:line: ...}): missing or unreadable file, invalid UTF-8, NUL bytes
 * (binary file), over-long token, corrupt or truncated gzip data.
 */
public final class CorpusReader {
  /** Longest accepted token, in UTF-16 chars (1 MiB). */
  public static final int MAX_TOKEN_CHARS = 1 << 20;
  private static final int BUFFER = 1 << 16;

  /** Receives the token stream of a file. */
  public interface Sink {
    /** One whitespace-separated token (never empty, never containing whitespace). */
    void token(String word);

    /** The end of a line (called once per line, empty lines included). */
    void endOfLine();
  }

  /** What one pass over a file saw. */
  public record Counts(long lines, long tokens) {}

  private final Path file;
  private final Sink sink;
  private char[] tok = new char[64];
  private int tokLen;
  private long line = 1;
  private long tokens;
  private boolean lineOpen;    // a char (not a terminator) has been seen on the current line
  private boolean afterCr;     // the previous char was '\r' (so a following '\n' ends nothing)
  private boolean started;     // first char of the file consumed (for the BOM)

  private CorpusReader(Path file, Sink sink) {
    this.file = file;
    this.sink = sink;
  }

  /** Reads {@code file} once, feeding every token and line end to {@code sink}. */
  public static Counts read(Path file, Sink sink) {
    CorpusReader r = new CorpusReader(file, sink);
    r.run();
    return new Counts(r.line - 1, r.tokens);
  }

  /** True when the file starts with the gzip magic bytes. */
  static boolean isGzip(InputStream buffered) throws IOException {
    buffered.mark(2);
    int b0 = buffered.read(), b1 = buffered.read();
    buffered.reset();
    return b0 == 0x1f && b1 == 0x8b;
  }

  private void run() {
    if (Files.isDirectory(file)) throw new UserError(file + " is a directory, expected a text file");
    boolean gzip = false;
    InputStream in = null;
    try {
      InputStream raw = new BufferedInputStream(Files.newInputStream(file), BUFFER);
      in = raw;
      gzip = isGzip(raw);
      if (gzip) in = new GZIPInputStream(raw, BUFFER);
      decode(in);
    } catch (NoSuchFileException e) {
      throw new UserError("file not found: " + file);
    } catch (AccessDeniedException e) {
      throw new UserError("cannot read " + file + ": permission denied");
    } catch (ZipException | EOFException e) {
      throw new UserError(file + ":" + line + ": corrupt or truncated gzip data (" + e.getMessage() + ")");
    } catch (IOException e) {
      throw new UserError("cannot read " + file + (line > 1 ? " near line " + line : "") + ": "
          + (gzip ? "corrupt or truncated gzip data (" + e.getMessage() + ")" : e.getMessage()));
    } finally {
      if (in != null) try { in.close(); } catch (IOException ignored) { /* read-only */ }
    }
  }

  private void decode(InputStream in) throws IOException {
    CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer bb = ByteBuffer.allocate(BUFFER);
    CharBuffer cb = CharBuffer.allocate(BUFFER);
    boolean eof = false;
    while (!eof) {
      int n = in.read(bb.array(), bb.arrayOffset() + bb.position(), bb.remaining());
      if (n < 0) eof = true; else bb.position(bb.position() + n);
      bb.flip();
      CoderResult r;
      do {
        r = dec.decode(bb, cb, eof);
        consume(cb);
        if (r.isError()) throw new UserError(file + ":" + line + ": invalid UTF-8 (is this a text file?)");
      } while (r.isOverflow());
      bb.compact();
    }
    while (dec.flush(cb).isOverflow()) consume(cb);
    consume(cb);
    if (lineOpen) endLine();
  }

  private void consume(CharBuffer cb) {
    cb.flip();
    char[] a = cb.array();
    int end = cb.arrayOffset() + cb.limit();
    for (int i = cb.arrayOffset() + cb.position(); i < end; i++) {
      char c = a[i];
      if (!started) {
        started = true;
        if (c == '\uFEFF') continue;
      }
      if (c == '\n') {
        if (afterCr) afterCr = false; else endLine();
      } else if (c == '\r') {
        endLine();
        afterCr = true;
      } else {
        afterCr = false;
        lineOpen = true;
        if (c == 0) throw new UserError(file + ":" + line + ": NUL byte, this looks like a binary file, not text");
        if (Character.isWhitespace(c)) {
          endToken();
        } else {
          if (tokLen == tok.length) grow();
          tok[tokLen++] = c;
        }
      }
    }
    cb.clear();
  }

  private void grow() {
    if (tokLen >= MAX_TOKEN_CHARS) {
      throw new UserError(file + ":" + line + ": token longer than " + MAX_TOKEN_CHARS
          + " characters (is this a whitespace-separated text corpus?)");
    }
    tok = java.util.Arrays.copyOf(tok, Math.min(MAX_TOKEN_CHARS, tok.length * 2));
  }

  private void endToken() {
    if (tokLen == 0) return;
    sink.token(new String(tok, 0, tokLen));
    tokens++;
    tokLen = 0;
  }

  private void endLine() {
    endToken();
    sink.endOfLine();
    line++;
    lineOpen = false;
  }
}
