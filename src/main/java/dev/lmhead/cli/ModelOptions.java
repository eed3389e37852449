package dev.lmhead.cli;

import dev.lmhead.head.AdaptiveSoftmax;
import dev.lmhead.head.HeadOption;
import dev.lmhead.head.HeadOptions;
import dev.lmhead.head.HeadSpec;
import dev.lmhead.head.Heads;
import dev.lmhead.model.ModelConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Architecture flags shared by {@code train}, {@code compare} and {@code bench train}. Defaults: the PyTorch
 * word-LM example. The head flags come from the head registry: a command mixing these options in declares
 * {@code @Command(modelTransformer = HeadFlags.class)}.
 */
public final class ModelOptions {
  /** The command this mixin belongs to: tells an explicit --tied from its default (null outside picocli). */
  @Spec(Spec.Target.MIXEE) CommandSpec mixee;
  @Option(names = "--emb", defaultValue = "200", description = "Embedding size (default: ${DEFAULT-VALUE}).")
  public int emb;
  @Option(names = "--hidden", defaultValue = "200", description = "LSTM hidden size (default: ${DEFAULT-VALUE}).")
  public int hidden;
  @Option(names = "--layers", defaultValue = "2", description = "LSTM layers (default: ${DEFAULT-VALUE}).")
  public int layers;
  @Option(names = "--dropout", defaultValue = "0.2", description = "Dropout on embeddings, between LSTM layers and on the LSTM output (default: ${DEFAULT-VALUE}).")
  public float dropout;
  @Option(names = {"--tied", "--tie"}, negatable = true, defaultValue = "true", fallbackValue = "true",
      description = "Tie input embedding and output weights (full softmax / MoS: needs --emb = --hidden; adaptive input: ties bands with the adaptive softmax; not with --mos-base adaptive) (default: ${DEFAULT-VALUE}).")
  public boolean tied;
  @Option(names = "--init-range", defaultValue = "0.1", description = "Uniform init range of embeddings and output layer (default: ${DEFAULT-VALUE}).")
  public float initRange;
  @Option(names = "--lstm-init-range", defaultValue = "0", description = "Uniform init range of the LSTM weights and biases; 0 = PyTorch's nn.LSTM default 1/sqrt(hidden), as in the PyTorch word-LM example; Zaremba et al.'s PTB recipe uses 0.1 (default: ${DEFAULT-VALUE}).")
  public float lstmInitRange;
  @Option(names = "--input", defaultValue = "embedding", description = "Input layer: embedding | adaptive (default: ${DEFAULT-VALUE}; "
      + "train without --head on WikiText-2 or a vocabulary of 20,000+ words of your own: adaptive).")
  public String input;

  @Option(names = "--head", defaultValue = "full", description = "Output layer: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}; "
      + "train on WikiText-2 or a vocabulary of 20,000+ words of your own: adaptive, tied to an adaptive input).",
      completionCandidates = HeadNames.class)
  public String head;

  /**
   * The head flags given (key → value text, see {@link HeadOption}): every registered head's options are
   * added to the command as flags by {@link HeadFlags}, so a new head's flags need no edit here.
   */
  public final Map<String, String> headOptions = new LinkedHashMap<>();

  /** The {@code --head} names, from the registry. */
  static final class HeadNames implements Iterable<String> {
    @Override public java.util.Iterator<String> iterator() {
      return List.of(String.join(" | ", Heads.names())).iterator();
    }
  }

  /** A field-by-field copy, so that {@code compare} can vary one head's options without touching the others. */
  public ModelOptions copy() {
    ModelOptions o = new ModelOptions();
    o.emb = emb; o.hidden = hidden; o.layers = layers; o.dropout = dropout; o.tied = tied; o.initRange = initRange; o.lstmInitRange = lstmInitRange;
    o.input = input; o.head = head;
    o.headOptions.putAll(headOptions);
    o.mixee = mixee;
    return o;
  }

  /**
   * Sets one option by its flag name without the dashes ({@code experts}, {@code input}, {@code tied}, ...), as
   * in {@code compare --heads mos/experts=15}; an unknown key or a bad value names {@code where}.
   */
  public void set(String key, String value, String where) {
    try {
      switch (key) {
        case "emb" -> emb = Integer.parseInt(value);
        case "hidden" -> hidden = Integer.parseInt(value);
        case "layers" -> layers = Integer.parseInt(value);
        case "dropout" -> dropout = Float.parseFloat(value);
        case "tied", "tie" -> tied = parseBool(value, where, key);
        case "input" -> input = value;
        default -> {
          HeadOption o = Heads.option(key);
          if (o == null) {
            List<String> keys = new ArrayList<>(List.of("emb", "hidden", "layers", "dropout", "tied", "input"));
            for (HeadOption h : Heads.options()) keys.add(h.key());
            throw new IllegalArgumentException(where + ": unknown option '" + key + "' (expected " + String.join(", ", keys) + ")");
          }
          try {
            headOptions.put(key, o.normalise(value));
          } catch (NumberFormatException e) {
            throw e;
          } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": " + e.getMessage());
          }
        }
      }
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(where + ": '" + key + "' needs a number, got '" + value + "'");
    }
  }

  private static boolean parseBool(String v, String where, String key) {
    return switch (v) {
      case "true", "yes", "1" -> true;
      case "false", "no", "0" -> false;
      default -> throw new IllegalArgumentException(where + ": '" + key + "' needs true or false, got '" + v + "'");
    };
  }

  /** The head options as given. */
  public HeadOptions headOptions() {
    return HeadOptions.of(headOptions);
  }

  /** The spec of {@code --head} from the head flags (unknown head: an error naming --head). */
  public HeadSpec headSpec() {
    return Heads.parse(head, headOptions());
  }

  /**
   * The model config for a vocabulary of V words. Tying applies where the head defines it
   * ({@link HeadSpec#tiesEmbedding}: the full softmax and MoS with full components share the embedding);
   * adaptive input shares bands with an adaptive softmax; other heads are untied, and an explicit --tied
   * with a head that refuses it ({@link HeadSpec#tieRefusal}) is an error. V-dependent defaults of the head
   * (e.g. adaptive cutoffs) and the adaptive input's bands are resolved here so checkpoints record them.
   */
  public ModelConfig config(int vocab) {
    HeadSpec spec = headSpec();
    String refusal = spec.tieRefusal();
    if (refusal != null && tied && given("--tied")) throw new IllegalArgumentException(refusal);
    boolean adaptiveInput = input.equals("adaptive");
    boolean tieWeights = tied && (spec.tiesEmbedding() || adaptiveInput);
    int[] inputCutoffs = null;
    Double inputFactor = null;
    if (adaptiveInput) { // the adaptive input takes the adaptive softmax's --cutoffs and --div-value
      HeadOptions o = headOptions();
      inputCutoffs = o.ints(AdaptiveSoftmax.CUTOFFS);
      if (inputCutoffs.length == 0) inputCutoffs = AdaptiveSoftmax.defaultCutoffs(vocab);
      inputFactor = o.real(AdaptiveSoftmax.DIV_VALUE);
    }
    return new ModelConfig(vocab, emb, hidden, layers, dropout, tieWeights, input, initRange, spec.resolve(vocab),
        lstmInitRange, inputCutoffs, inputFactor);
  }

  /** {@code --head} was given on the command line (not its default). */
  public boolean headGiven() { return given("--head"); }

  /** {@code --input} was given on the command line (not its default). */
  public boolean inputGiven() { return given("--input"); }

  private boolean given(String option) {
    var pr = mixee == null || mixee.commandLine() == null ? null : mixee.commandLine().getParseResult();
    return pr != null && pr.hasMatchedOption(option);
  }
}
