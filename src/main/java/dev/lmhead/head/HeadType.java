package dev.lmhead.head;

import java.util.List;
import java.util.function.Function;

/**
 * A registry entry ({@link Heads}): everything the rest of lmhead needs to know about one kind of head,
 * declared in the head's own file next to its spec record.
 *
 * @param name      the {@code --head} name, also {@code "type"} in config.json
 * @param summary   one line for humans ("full softmax", ...)
 * @param specClass the head's spec record (config.json is read into it)
 * @param options   the head's command-line options (shared ones, like {@code --no-bias}, are the same
 *                  {@link HeadOption} object in several heads)
 * @param parse     options → spec; fails with a one-line message naming the flag
 * @param inPyTorch PyTorch has this head, under this name, in the benchmark peers
 *                  ({@code bench/pytorch_heads.py}, {@code bench/pytorch_word_lm.py})
 */
public record HeadType(String name, String summary, Class<? extends HeadSpec> specClass, List<HeadOption> options,
                       Function<HeadOptions, HeadSpec> parse, boolean inPyTorch) {

  /** Parses this head's spec from the given options (the others are ignored). */
  public HeadSpec parse(HeadOptions o) {
    return parse.apply(o);
  }
}
