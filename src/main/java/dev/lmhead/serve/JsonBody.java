package dev.lmhead.serve;

import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import java.io.IOException;
import java.io.StringReader;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Strict parsing of a request object: RFC 8259 JSON only (Gson's {@link Strictness#STRICT}: no comments,
 * single quotes, unquoted names, NaN or trailing data), a top-level object, known fields only (an unknown
 * field is an error naming it, so a typo such as {@code "topk"} is not silently ignored), no duplicate
 * fields, and each field of its declared type ({@code "k": "10"} or {@code "k": 1.5} is an error). Values are
 * read with the streaming reader field by field, never as a generic tree, so nesting depth cannot grow the
 * stack.
 */
final class JsonBody {
  enum Type { STRING, INT, NUMBER, BOOLEAN, STRING_ARRAY }

  private final Map<String, Object> values = new HashMap<>();

  private JsonBody() {}

  static JsonBody parse(String text, Map<String, Type> schema) throws ApiError {
    JsonBody b = new JsonBody();
    JsonReader r = new JsonReader(new StringReader(text));
    r.setStrictness(Strictness.STRICT);
    String field = "body";
    try {
      if (r.peek() != JsonToken.BEGIN_OBJECT) throw ApiError.bad("body", "the request body must be a JSON object, got " + kind(r.peek()));
      r.beginObject();
      while (r.hasNext()) {
        field = r.nextName();
        Type t = schema.get(field);
        if (t == null) throw ApiError.bad(field, "unknown field '" + field + "' (allowed: " + String.join(", ", new java.util.TreeSet<>(schema.keySet())) + ")");
        if (b.values.containsKey(field)) throw ApiError.bad(field, "duplicate field '" + field + "'");
        b.values.put(field, read(r, field, t));
        field = "body";
      }
      r.endObject();
      field = "body";
      if (r.peek() != JsonToken.END_DOCUMENT) throw ApiError.bad("body", "trailing data after the JSON object");
    } catch (ApiError e) {
      throw e;
    } catch (IOException | IllegalStateException | NumberFormatException e) {
      throw ApiError.bad(field, "malformed JSON: " + oneLine(e.getMessage()));
    }
    return b;
  }

  private static Object read(JsonReader r, String field, Type t) throws IOException, ApiError {
    JsonToken p = r.peek();
    switch (t) {
      case STRING -> {
        if (p != JsonToken.STRING) throw wrong(field, "a string", p);
        return r.nextString();
      }
      case BOOLEAN -> {
        if (p != JsonToken.BOOLEAN) throw wrong(field, "true or false", p);
        return r.nextBoolean();
      }
      case INT, NUMBER -> {
        if (p != JsonToken.NUMBER) throw wrong(field, t == Type.INT ? "an integer" : "a number", p);
        String lit = r.nextString();
        if (lit.length() > 64) throw ApiError.bad(field, "'" + field + "' is a number literal of " + lit.length() + " characters (at most 64)");
        BigDecimal d = new BigDecimal(lit);
        if (t == Type.NUMBER) return d;
        if (d.signum() != 0 && d.stripTrailingZeros().scale() > 0) throw ApiError.bad(field, "'" + field + "' must be an integer, got " + lit);
        return d;
      }
      case STRING_ARRAY -> {
        if (p != JsonToken.BEGIN_ARRAY) throw wrong(field, "an array of strings", p);
        r.beginArray();
        List<String> out = new ArrayList<>();
        while (r.hasNext()) {
          JsonToken e = r.peek();
          if (e != JsonToken.STRING) throw ApiError.bad(field, "'" + field + "[" + out.size() + "]' must be a string, got " + kind(e));
          out.add(r.nextString());
        }
        r.endArray();
        return out;
      }
    }
    throw new AssertionError(t);
  }

  private static ApiError wrong(String field, String expected, JsonToken got) {
    return ApiError.bad(field, "'" + field + "' must be " + expected + ", got " + kind(got));
  }

  private static String kind(JsonToken t) {
    return switch (t) {
      case BEGIN_ARRAY -> "an array";
      case BEGIN_OBJECT -> "an object";
      case STRING -> "a string";
      case NUMBER -> "a number";
      case BOOLEAN -> "a boolean";
      case NULL -> "null";
      case END_DOCUMENT -> "an empty body";
      default -> t.toString().toLowerCase();
    };
  }

  static String oneLine(String s) {
    if (s == null) return "unreadable";
    s = s.lines().findFirst().orElse(s);
    int see = s.indexOf("\nSee ");
    if (see >= 0) s = s.substring(0, see);
    int hint = s.indexOf(" See https://");
    if (hint >= 0) s = s.substring(0, hint);
    return s.length() > 300 ? s.substring(0, 300) + "..." : s;
  }

  boolean has(String f) { return values.containsKey(f); }

  String string(String f, String def) throws ApiError {
    return values.containsKey(f) ? (String) values.get(f) : require(f, def);
  }

  @SuppressWarnings("unchecked")
  List<String> strings(String f) throws ApiError {
    if (!values.containsKey(f)) throw ApiError.bad(f, "missing field '" + f + "'");
    return (List<String>) values.get(f);
  }

  boolean bool(String f, boolean def) {
    return values.containsKey(f) ? (Boolean) values.get(f) : def;
  }

  /** An integer field within [min, max]; {@code def} when absent (null: the field is required). */
  long integer(String f, Long def, long min, long max) throws ApiError {
    if (!values.containsKey(f)) return require(f, def);
    BigDecimal d = (BigDecimal) values.get(f);
    if (d.compareTo(BigDecimal.valueOf(min)) < 0 || d.compareTo(BigDecimal.valueOf(max)) > 0) {
      throw ApiError.bad(f, "'" + f + "' must be in [" + min + ", " + max + "], got " + d.toPlainString());
    }
    return d.longValueExact();
  }

  /** A finite number; {@code def} when absent. */
  double number(String f, Double def) throws ApiError {
    if (!values.containsKey(f)) return require(f, def);
    double v = ((BigDecimal) values.get(f)).doubleValue();
    if (!Double.isFinite(v)) throw ApiError.bad(f, "'" + f + "' is out of range");
    return v;
  }

  private static <T> T require(String f, T def) throws ApiError {
    if (def == null) throw ApiError.bad(f, "missing field '" + f + "'");
    return def;
  }

  static Map<String, Type> schema(Object... kv) {
    Map<String, Type> m = new HashMap<>();
    for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], (Type) kv[i + 1]);
    return m;
  }
}
