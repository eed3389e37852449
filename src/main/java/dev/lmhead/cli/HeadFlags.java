package dev.lmhead.cli;

import dev.lmhead.head.HeadOption;
import dev.lmhead.head.Heads;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.IGetter;
import picocli.CommandLine.Model.ISetter;
import picocli.CommandLine.Model.OptionSpec;

/**
 * A command that mixes in {@link ModelOptions} names this as its {@code @Command(modelTransformer = ...)}.
 * Adds every registered head's options ({@link Heads#options}) to {@link ModelOptions} as flags, right
 * after {@code --head}: a head declares its flags next to its spec, and no CLI code names them. A flag's
 * value is stored as text in {@link ModelOptions#headOptions} under the option's key.
 */
public final class HeadFlags implements CommandLine.IModelTransformer {
  @Override
  public CommandSpec transform(CommandSpec spec) {
    ModelOptions target = spec.userObject() instanceof ModelOptions m ? m : null;
    for (CommandSpec mixin : spec.mixins().values()) {
      if (mixin.userObject() instanceof ModelOptions m) target = m;
    }
    if (target == null) return spec;
    // insert after --head: take the options that follow it out, add the head flags, put them back
    List<OptionSpec> after = new ArrayList<>();
    boolean seen = false;
    for (OptionSpec o : spec.options()) {
      if (seen) after.add(o);
      seen |= o.longestName().equals("--head");
    }
    for (OptionSpec o : after) spec.remove(o);
    for (HeadOption o : Heads.options()) {
      if (spec.findOption(o.flag()) == null) spec.addOption(option(o, target));
    }
    for (OptionSpec o : after) spec.addOption(o);
    return spec;
  }

  static OptionSpec option(HeadOption o, ModelOptions target) {
    Binding b = new Binding(o, target);
    OptionSpec.Builder ob = OptionSpec.builder(o.flag()).description(o.help()).getter(b).setter(b).hasInitialValue(false);
    switch (o.kind()) {
      case INT -> ob.type(int.class).paramLabel("<" + o.key() + ">");
      case DOUBLE -> ob.type(double.class).paramLabel("<" + o.key() + ">");
      case STRING -> ob.type(String.class).paramLabel("<" + o.key() + ">");
      case INT_LIST -> ob.type(int[].class).splitRegex(",").paramLabel("<" + o.key() + ">");
      case FLAG, NEGATED_FLAG -> ob.type(boolean.class).arity("0");
    }
    return ob.build();
  }

  /** Reads and writes one head option of a {@link ModelOptions} as text. */
  private record Binding(HeadOption option, ModelOptions target) implements IGetter, ISetter {
    @Override
    @SuppressWarnings("unchecked")
    public <T> T get() {
      return null; // defaults live in the option (HeadOptions falls back to them)
    }

    @Override
    public <T> T set(T value) {
      if (value == null) { // picocli resetting an option that was not given: the option's default applies
        target.headOptions.remove(option.key());
        return null;
      }
      String text = switch (option.kind()) {
        case INT_LIST -> Arrays.stream((int[]) value).mapToObj(Integer::toString).collect(Collectors.joining(","));
        case NEGATED_FLAG -> Boolean.TRUE.equals(value) ? "false" : "true";
        default -> String.valueOf(value);
      };
      target.headOptions.put(option.key(), text);
      return null;
    }
  }
}
