package dev.lmhead.head;

import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Rng;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The registry of heads: the one list of every head lmhead knows, in table order. The CLI's {@code --head}
 * names and head flags, {@code compare}, {@code bench heads} and config.json all come from here.
 *
 * <p>Adding a head: one file in this package holding the head, its spec record (implementing
 * {@link HeadSpec}) and its {@link HeadType} constant, plus one line in {@link #BUILT_IN}.
 */
public final class Heads {
  private Heads() {}

  /** The heads of this build, one line each. */
  private static final List<HeadType> BUILT_IN = List.of(
      FullSoftmax.TYPE,
      ClassSoftmax.TYPE,
      HierarchicalSoftmax.TYPE,
      AdaptiveSoftmax.TYPE,
      MixtureOfSoftmaxes.TYPE,
      SampledSoftmax.TYPE,
      NceSoftmax.TYPE,
      DifferentiatedSoftmax.TYPE);

  private static final Map<String, HeadType> REGISTRY = new LinkedHashMap<>();
  static {
    for (HeadType t : BUILT_IN) REGISTRY.put(t.name(), t);
  }

  /** Every registered head, in table order. */
  public static synchronized List<HeadType> all() {
    return List.copyOf(REGISTRY.values());
  }

  /** The registered names, in table order. */
  public static List<String> names() {
    return all().stream().map(HeadType::name).toList();
  }

  /** "full, class, hsm, adaptive, mos": the names for messages and help. */
  public static String namesText() {
    return String.join(", ", names());
  }

  public static synchronized boolean has(String name) {
    return REGISTRY.containsKey(name);
  }

  /** The entry named {@code name}; an unknown name is a one-line error naming {@code --head}. */
  public static synchronized HeadType get(String name) {
    HeadType t = REGISTRY.get(name);
    if (t == null) throw new IllegalArgumentException("--head must be one of " + namesText() + ", got '" + name + "'");
    return t;
  }

  /**
   * Registers a head at run time (a plug-in, or a test); close the returned handle to remove it again.
   * Built-in heads are listed in {@link #BUILT_IN} instead.
   */
  public static synchronized Registration register(HeadType type) {
    if (REGISTRY.containsKey(type.name())) throw new IllegalArgumentException("head '" + type.name() + "' is already registered");
    REGISTRY.put(type.name(), type);
    return () -> {
      synchronized (Heads.class) {
        REGISTRY.remove(type.name(), type);
      }
    };
  }

  /** Undoes a {@link #register}. */
  public interface Registration extends AutoCloseable {
    @Override void close();
  }

  /**
   * Every option of every registered head, each once (heads share some, e.g. {@code --no-bias}), in
   * registry order.
   */
  public static List<HeadOption> options() {
    Map<String, HeadOption> byKey = new LinkedHashMap<>();
    for (HeadType t : all()) {
      for (HeadOption o : t.options()) {
        HeadOption prev = byKey.putIfAbsent(o.key(), o);
        if (prev != null && !prev.equals(o)) {
          throw new IllegalStateException("heads declare option '" + o.key() + "' differently: " + prev + " and " + o);
        }
      }
    }
    return new ArrayList<>(byKey.values());
  }

  /** The option with this key, or null. */
  public static HeadOption option(String key) {
    for (HeadOption o : options()) if (o.key().equals(key)) return o;
    return null;
  }

  /** The spec of head {@code name} from command-line style options (unknown name: error naming --head). */
  public static HeadSpec parse(String name, HeadOptions options) {
    return get(name).parse(options);
  }

  /**
   * Builds any head from its spec (see {@link HeadSpec#create}).
   *
   * @param counts     unigram counts of the training split by word id (ids sorted by descending
   *                   frequency); class binning and Huffman trees are built from them
   * @param tiedWeight input embedding [V, d] to share with the output weights, or null
   */
  public static OutputLayer create(HeadSpec spec, int vocab, int dim, long[] counts, Parameter tiedWeight, Rng rng) {
    return spec.create(vocab, dim, counts, tiedWeight, rng);
  }
}
