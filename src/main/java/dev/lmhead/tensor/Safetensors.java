package dev.lmhead.tensor;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads and writes the safetensors format (8-byte little-endian header length, JSON header, raw
 * little-endian data), the format PyTorch users exchange weights in. Supports F32, I64 and I32.
 * Every size in the header is checked against the file before anything is allocated, so a corrupt
 * or hostile header gives a {@link FormatException} rather than an out-of-memory error.
 */
public final class Safetensors {
  /** A malformed file; the message names the file and what is wrong. */
  public static final class FormatException extends IOException {
    public FormatException(String msg) { super(msg); }
  }

  /** One tensor: shape plus float or long data (exactly one is non-null). */
  public record Tensor(String dtype, int[] shape, float[] f32, long[] i64) {
    public static Tensor of(float[] data, int... shape) { return new Tensor("F32", shape, data, null); }
    public static Tensor ofLong(long[] data, int... shape) { return new Tensor("I64", shape, null, data); }
    public long numel() { long n = 1; for (int s : shape) n *= s; return n; }
    public int[] ints() {
      if (i64 == null) throw new IllegalStateException("tensor is " + dtype + ", not integer");
      int[] r = new int[i64.length];
      for (int i = 0; i < r.length; i++) r[i] = Math.toIntExact(i64[i]);
      return r;
    }
  }

  /** File contents: tensors in header order plus the string metadata. */
  public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {
    public Tensor get(String name) { return tensors.get(name); }
  }

  private static final long MAX_HEADER = 100L << 20;

  private Safetensors() {}

  public static Contents read(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long fileSize = ch.size();
      String where = file.toString();
      if (fileSize < 8) throw new FormatException(where + ": not a safetensors file (only " + fileSize + " bytes)");
      ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(ch, lenBuf, 0, where);
      long headerLen = lenBuf.getLong(0);
      if (headerLen <= 1 || headerLen > MAX_HEADER || headerLen > fileSize - 8) {
        throw new FormatException(where + ": not a safetensors file (header length " + headerLen + " does not fit a " + fileSize + "-byte file)");
      }
      ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
      readFully(ch, hb, 8, where);
      String headerText = StandardCharsets.UTF_8.newDecoder().decode(hb.flip()).toString();
      JsonObject header;
      try {
        JsonElement el = JsonParser.parseString(headerText);
        if (!el.isJsonObject()) throw new FormatException(where + ": safetensors header is not a JSON object");
        header = el.getAsJsonObject();
      } catch (RuntimeException e) {
        throw new FormatException(where + ": safetensors header is not valid JSON");
      }
      long dataStart = 8 + headerLen, dataLen = fileSize - dataStart;
      // tensors must not overlap: their spans add up to at most the data section, so a header whose
      // entries all point at the same bytes cannot make the reader allocate more than the file holds
      long spans = 0;
      for (var e : header.entrySet()) {
        if (e.getKey().equals("__metadata__")) continue;
        try {
          var off = e.getValue().getAsJsonObject().get("data_offsets").getAsJsonArray();
          long begin = off.get(0).getAsLong(), end = off.get(1).getAsLong();
          if (begin < 0 || end < begin || end > dataLen) continue; // reported with its name by readTensor
          spans += end - begin;
        } catch (RuntimeException ex) {
          continue; // reported with its name by readTensor
        }
        if (spans > dataLen || spans < 0) {
          throw new FormatException(where + ": tensor data ranges overlap or exceed the " + dataLen + "-byte data section (corrupt header)");
        }
      }
      Map<String, Tensor> tensors = new LinkedHashMap<>();
      Map<String, String> meta = new LinkedHashMap<>();
      for (var e : header.entrySet()) {
        String name = e.getKey();
        if (name.equals("__metadata__")) {
          if (!e.getValue().isJsonObject()) throw new FormatException(where + ": __metadata__ is not an object");
          for (var m : e.getValue().getAsJsonObject().entrySet()) {
            meta.put(m.getKey(), m.getValue().isJsonPrimitive() ? m.getValue().getAsString() : m.getValue().toString());
          }
          continue;
        }
        tensors.put(name, readTensor(ch, where, name, e.getValue(), dataStart, dataLen));
      }
      return new Contents(tensors, meta);
    } catch (java.nio.charset.CharacterCodingException e) {
      throw new FormatException(file + ": safetensors header is not valid UTF-8");
    }
  }

  private static Tensor readTensor(FileChannel ch, String where, String name, JsonElement spec,
                                   long dataStart, long dataLen) throws IOException {
    String ctx = where + ": tensor '" + name + "'";
    try {
      JsonObject o = spec.getAsJsonObject();
      String dtype = o.get("dtype").getAsString();
      JsonArray sh = o.get("shape").getAsJsonArray();
      JsonArray off = o.get("data_offsets").getAsJsonArray();
      int[] shape = new int[sh.size()];
      long numel = 1;
      for (int i = 0; i < shape.length; i++) {
        long d = sh.get(i).getAsLong();
        if (d < 0 || d > Integer.MAX_VALUE) throw new FormatException(ctx + " has invalid dimension " + d);
        shape[i] = (int) d;
        numel = Math.multiplyExact(numel, d);
      }
      int width = switch (dtype) {
        case "F32", "I32" -> 4;
        case "I64" -> 8;
        default -> throw new FormatException(ctx + " has unsupported dtype " + dtype + " (F32, I32, I64 supported)");
      };
      long begin = off.get(0).getAsLong(), end = off.get(1).getAsLong();
      if (begin < 0 || end < begin || end > dataLen) {
        throw new FormatException(ctx + " data offsets [" + begin + ", " + end + "] fall outside the " + dataLen + "-byte data section (truncated file?)");
      }
      if (Math.multiplyExact(numel, width) != end - begin) {
        throw new FormatException(ctx + " shape needs " + numel * width + " bytes but its offsets span " + (end - begin));
      }
      if (numel > Integer.MAX_VALUE - 8) throw new FormatException(ctx + " is too large (" + numel + " elements)");
      ByteBuffer buf = ByteBuffer.allocate((int) (end - begin)).order(ByteOrder.LITTLE_ENDIAN);
      readFully(ch, buf, dataStart + begin, where);
      buf.flip();
      return switch (dtype) {
        case "F32" -> { float[] a = new float[(int) numel]; buf.asFloatBuffer().get(a); yield new Tensor(dtype, shape, a, null); }
        case "I64" -> { long[] a = new long[(int) numel]; buf.asLongBuffer().get(a); yield new Tensor(dtype, shape, null, a); }
        default -> { long[] a = new long[(int) numel]; var ib = buf.asIntBuffer(); for (int i = 0; i < a.length; i++) a[i] = ib.get(i); yield new Tensor("I64", shape, null, a); }
      };
    } catch (FormatException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new FormatException(ctx + " has a malformed header entry");
    }
  }

  private static void readFully(FileChannel ch, ByteBuffer b, long pos, String where) throws IOException {
    while (b.hasRemaining()) {
      int r = ch.read(b, pos);
      if (r < 0) throw new FormatException(where + ": file is truncated");
      pos += r;
    }
  }

  /** Writes tensors (in map order) and metadata to {@code out}. */
  public static void write(OutputStream out, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
    JsonObject header = new JsonObject();
    if (metadata != null && !metadata.isEmpty()) {
      JsonObject m = new JsonObject();
      metadata.forEach(m::addProperty);
      header.add("__metadata__", m);
    }
    long offset = 0;
    for (var e : tensors.entrySet()) {
      Tensor t = e.getValue();
      long bytes = t.numel() * (t.f32 != null ? 4 : 8);
      JsonObject o = new JsonObject();
      o.addProperty("dtype", t.f32 != null ? "F32" : "I64");
      JsonArray sh = new JsonArray();
      for (int s : t.shape) sh.add(s);
      o.add("shape", sh);
      JsonArray off = new JsonArray();
      off.add(offset);
      off.add(offset + bytes);
      o.add("data_offsets", off);
      header.add(e.getKey(), o);
      offset += bytes;
    }
    byte[] hb = new Gson().toJson(header).getBytes(StandardCharsets.UTF_8);
    int pad = (8 - hb.length % 8) % 8;
    ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(hb.length + pad);
    out.write(len.array());
    out.write(hb);
    for (int i = 0; i < pad; i++) out.write(' ');
    ByteBuffer chunk = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
    for (Tensor t : tensors.values()) {
      int n = (int) t.numel();
      for (int i = 0; i < n; i++) {
        if (chunk.remaining() < 8) { out.write(chunk.array(), 0, chunk.position()); chunk.clear(); }
        if (t.f32 != null) chunk.putFloat(t.f32[i]); else chunk.putLong(t.i64[i]);
      }
    }
    out.write(chunk.array(), 0, chunk.position());
  }

  public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
    try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(file))) {
      write(out, tensors, metadata);
    }
  }
}
