package dev.lmhead.head;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The head options as given (key → text, see {@link HeadOption}); an option not given reads as its
 * default. This is what the CLI collects and what a head's parser ({@link HeadType#parse}) turns into
 * its typed {@link HeadSpec}.
 */
public final class HeadOptions {
  private final Map<String, String> values;

  private HeadOptions(Map<String, String> values) {
    this.values = values;
  }

  /** Options from key → value text (values as on the command line: numbers, true/false, lists with ','). */
  public static HeadOptions of(Map<String, String> values) {
    return new HeadOptions(new LinkedHashMap<>(values));
  }

  /** Options from alternating keys and values, e.g. {@code of("cutoffs", "5,20", "div-value", "2")}. */
  public static HeadOptions of(String... keyValues) {
    if (keyValues.length % 2 != 0) throw new IllegalArgumentException("keys and values must alternate");
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < keyValues.length; i += 2) m.put(keyValues[i], keyValues[i + 1]);
    return new HeadOptions(m);
  }

  private String text(HeadOption o) {
    String v = values.get(o.key());
    return v == null ? o.defaultValue() : v;
  }

  public int integer(HeadOption o) { return Integer.parseInt(text(o).trim()); }

  public double real(HeadOption o) { return Double.parseDouble(text(o).trim()); }

  public String string(HeadOption o) { return text(o); }

  public boolean bool(HeadOption o) { return Boolean.parseBoolean(o.normalise(text(o))); }

  public int[] ints(HeadOption o) {
    String t = text(o).trim();
    return t.isEmpty() ? new int[0] : Arrays.stream(t.split("[,:]")).mapToInt(s -> Integer.parseInt(s.trim())).toArray();
  }

  /**
   * A value of an enum, named in lower case ({@code freq}, {@code huffman}, ...); anything else is a
   * one-line error naming the flag: {@code unknown --tree 'foo' (expected huffman or balanced)}.
   */
  public <E extends Enum<E>> E choice(HeadOption o, Class<E> type) {
    String t = text(o);
    for (E e : type.getEnumConstants()) if (name(e).equals(t)) return e;
    throw new IllegalArgumentException("unknown " + o.flag() + " '" + t + "' (expected " + names(type) + ")");
  }

  /** "a, b or c": the lower-case names of an enum's constants. */
  public static String names(Class<? extends Enum<?>> type) {
    StringBuilder b = new StringBuilder();
    Enum<?>[] cs = type.getEnumConstants();
    for (int i = 0; i < cs.length; i++) {
      b.append(i == 0 ? "" : i == cs.length - 1 ? " or " : ", ").append(name(cs[i]));
    }
    return b.toString();
  }

  /** Lower-case name of an enum constant, '_' written '-', as on the command line and in config.json ({@code log-uniform}). */
  public static String name(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  @Override public String toString() { return values.toString(); }
}
