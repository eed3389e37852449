package dev.lmhead.head;

import java.util.Arrays;
import java.util.Locale;

/**
 * One command-line option of a head, declared next to the head's spec: the CLI adds every option of
 * every registered head as a flag ({@code --key}, or {@link #flag}), and {@code compare --heads
 * HEAD/key=value} sets it by key. Values travel as text in {@link HeadOptions}; a head's parser reads
 * them back typed.
 *
 * @param key          the option's name without dashes, as in {@code compare}'s {@code HEAD/key=value}
 * @param flag         the command-line flag ({@code --no-bias} for the key {@code bias})
 * @param kind         value type and flag style
 * @param defaultValue the value when not given, as text ("" for an empty list)
 * @param help         the flag's help line
 */
public record HeadOption(String key, String flag, Kind kind, String defaultValue, String help) {
  /** Value types. */
  public enum Kind {
    INT, DOUBLE, STRING, INT_LIST,
    /** boolean, false unless the flag is given */
    FLAG,
    /** boolean, true unless the (negative) flag is given, e.g. {@code --no-bias} for {@code bias} */
    NEGATED_FLAG
  }

  public static HeadOption of(String key, Kind kind, String defaultValue, String help) {
    return new HeadOption(key, "--" + key, kind, defaultValue, help);
  }

  /**
   * Checks that {@code value} has this option's type; throws {@link NumberFormatException} for a bad
   * number and IllegalArgumentException for a bad boolean. Lists are written with ',' (or ':' inside
   * {@code compare --heads}, whose entries are already split at ','). Returns the normalised text.
   */
  public String normalise(String value) {
    String v = value.trim();
    return switch (kind) {
      case INT -> Integer.toString(Integer.parseInt(v));
      case DOUBLE -> Double.toString(Double.parseDouble(v));
      case STRING -> v;
      case INT_LIST -> v.isEmpty() ? "" : String.join(",", Arrays.stream(v.split("[,:]")).map(s -> Integer.toString(Integer.parseInt(s.trim()))).toList());
      case FLAG, NEGATED_FLAG -> switch (v.toLowerCase(Locale.ROOT)) {
        case "true", "yes", "1" -> "true";
        case "false", "no", "0" -> "false";
        default -> throw new IllegalArgumentException("'" + key + "' needs true or false, got '" + value + "'");
      };
    };
  }
}
