package dev.lmhead.cli;

import dev.lmhead.head.HeadSpec;
import dev.lmhead.model.ModelConfig;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Architecture flags shared by {@code train} and {@code compare}. Defaults: the PyTorch word-LM example. */
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
  @Option(names = "--input", defaultValue = "embedding", description = "Input layer: embedding | adaptive (default: ${DEFAULT-VALUE}).")
  public String input;

  @Option(names = "--head", defaultValue = "full", description = "Output layer: full | class | hsm | adaptive | mos (default: ${DEFAULT-VALUE}).")
  public String head;
  @Option(names = "--no-bias", description = "Full/MoS softmax without output bias.")
  public boolean noBias;
  @Option(names = "--classes", defaultValue = "0", description = "class: number of classes (default: round(sqrt(V))).")
  public int classes;
  @Option(names = "--class-mode", defaultValue = "freq", description = "class: freq (unigram-mass binning, Mikolov) | equal (equal-size bins) (default: ${DEFAULT-VALUE}).")
  public String classMode;
  @Option(names = "--tree", defaultValue = "huffman", description = "hsm: huffman | balanced (default: ${DEFAULT-VALUE}).")
  public String tree;
  @Option(names = "--cutoffs", split = ",", description = "adaptive: ascending cluster boundaries, e.g. 2000,10000 (default: scaled to V).")
  public int[] cutoffs = new int[0];
  @Option(names = "--div-value", defaultValue = "4.0", description = "adaptive: projection size divisor per cluster (default: ${DEFAULT-VALUE}).")
  public double divValue;
  @Option(names = "--head-bias", description = "adaptive: bias in the head (PyTorch head_bias).")
  public boolean headBias;
  @Option(names = "--experts", defaultValue = "5", description = "mos: number of softmax components K (default: ${DEFAULT-VALUE}).")
  public int experts;
  @Option(names = "--mos-dim", defaultValue = "0", description = "mos: component context size D (default: the tied embedding size, else the LSTM hidden size).")
  public int mosDim;
  @Option(names = "--mos-base", defaultValue = "full", description = "mos: full | adaptive component softmaxes (default: ${DEFAULT-VALUE}).")
  public String mosBase;

  /** A field-by-field copy, so that {@code compare} can vary one head's options without touching the others. */
  public ModelOptions copy() {
    ModelOptions o = new ModelOptions();
    o.emb = emb; o.hidden = hidden; o.layers = layers; o.dropout = dropout; o.tied = tied; o.initRange = initRange; o.lstmInitRange = lstmInitRange;
    o.input = input; o.head = head; o.noBias = noBias; o.classes = classes; o.classMode = classMode; o.tree = tree;
    o.cutoffs = cutoffs.clone(); o.divValue = divValue; o.headBias = headBias; o.experts = experts; o.mosDim = mosDim;
    o.mosBase = mosBase;
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
        case "bias" -> noBias = !parseBool(value, where, key);
        case "classes" -> classes = Integer.parseInt(value);
        case "class-mode" -> classMode = value;
        case "tree" -> tree = value;
        case "cutoffs" -> cutoffs = java.util.Arrays.stream(value.split(":")).mapToInt(Integer::parseInt).toArray();
        case "div-value" -> divValue = Double.parseDouble(value);
        case "head-bias" -> headBias = parseBool(value, where, key);
        case "experts" -> experts = Integer.parseInt(value);
        case "mos-dim" -> mosDim = Integer.parseInt(value);
        case "mos-base" -> mosBase = value;
        default -> throw new IllegalArgumentException(where + ": unknown option '" + key + "' (expected emb, hidden, "
            + "layers, dropout, tied, input, bias, classes, class-mode, tree, cutoffs, div-value, head-bias, experts, "
            + "mos-dim, mos-base)");
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

  public HeadSpec headSpec() {
    return new HeadSpec(head, !noBias, classes, classMode, tree, cutoffs, divValue, headBias, experts, mosDim, mosBase);
  }

  /**
   * The model config for a vocabulary of V words. Tying applies where it is defined: the full softmax and
   * MoS (full components) share the embedding; adaptive input shares bands with an adaptive softmax; other
   * heads, and MoS with adaptive components, are untied (an explicit --tied with the latter is an error).
   * Adaptive cutoffs are resolved here (defaults scaled to V) so checkpoints record them.
   */
  public ModelConfig config(int vocab) {
    boolean adaptiveMos = head.equals("mos") && "adaptive".equals(mosBase);
    if (adaptiveMos && tied && given("--tied")) {
      throw new IllegalArgumentException("--tied is not supported with --mos-base adaptive (it has no [V, d] output matrix to share with the embedding); use --no-tied");
    }
    boolean tieWeights = tied && (head.equals("full") || (head.equals("mos") && !adaptiveMos) || input.equals("adaptive"));
    int[] cut = cutoffs;
    if (cut.length == 0 && (head.equals("adaptive") || input.equals("adaptive") || mosBase.equals("adaptive"))) {
      cut = dev.lmhead.head.AdaptiveSoftmax.defaultCutoffs(vocab);
    }
    return new ModelConfig(vocab, emb, hidden, layers, dropout, tieWeights, input, initRange,
        new HeadSpec(head, !noBias, classes, classMode, tree, cut, divValue, headBias, experts, mosDim, mosBase),
        lstmInitRange);
  }

  private boolean given(String option) {
    var pr = mixee == null || mixee.commandLine() == null ? null : mixee.commandLine().getParseResult();
    return pr != null && pr.hasMatchedOption(option);
  }
}
