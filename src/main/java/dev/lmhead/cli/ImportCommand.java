package dev.lmhead.cli;

import dev.lmhead.UserError;
import dev.lmhead.data.Vocabulary;
import dev.lmhead.interop.PyTorchLm;
import dev.lmhead.interop.StateDict;
import dev.lmhead.model.Checkpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lmhead import --from pytorch}: a PyTorch word-LM state dict into an lmhead model directory. */
@Command(name = "import", abbreviateSynopsis = true, mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Import a model trained with PyTorch's word_language_model example.",
        "Its RNNModel (LSTM; full or nn.AdaptiveLogSoftmaxWithLoss decoder, tied or not), from .safetensors or a torch.save zip.",
        "Writes an lmhead model directory (config.json, vocab.txt, model.safetensors) for eval, generate, score."})
public final class ImportCommand implements Callable<Integer> {
  @Option(names = "--from", required = true, description = "Source framework: pytorch.")
  String from;
  @Option(names = "--state-dict", required = true, paramLabel = "FILE", description = "torch.save(model.state_dict(), FILE) zip or a .safetensors file.")
  Path stateDict;
  @Option(names = "--vocab", required = true, paramLabel = "FILE", description = "The example's corpus.dictionary.idx2word, one word per line (ids as given).")
  Path vocab;
  @Option(names = "--head", defaultValue = "auto", description = "auto | full | adaptive: the decoder the file must hold (default: ${DEFAULT-VALUE}).")
  String head;
  @Option(names = "--div-value", description = "Adaptive decoder's div_value (default: inferred from the projection sizes).")
  Double divValue;
  @Option(names = "--dropout", defaultValue = "0.2", description = "Dropout to record in config.json (used only if training continues) (default: ${DEFAULT-VALUE}).")
  float dropout;
  @Option(names = "--data", description = "Corpus the model was trained on (wikitext-2, ptb or a folder): lets 'eval --split test' find it.")
  String data;
  @Option(names = {"-o", "--output"}, required = true, paramLabel = "DIR", description = "Model directory to write.")
  Path output;
  @Option(names = "--force", description = "Overwrite a model already in DIR.")
  boolean force;
  @Option(names = "--json", description = "Print the result as JSON.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    if (!from.equals("pytorch")) throw new IllegalArgumentException("--from must be pytorch, got '" + from + "'");
    if (!head.equals("auto") && !head.equals("full") && !head.equals("adaptive")) {
      throw new IllegalArgumentException("--head must be auto, full or adaptive (the heads PyTorch has), got '" + head + "'");
    }
    if (divValue != null && !(divValue > 0 && divValue < Double.POSITIVE_INFINITY)) throw new IllegalArgumentException("--div-value must be > 0, got " + divValue);
    if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("--dropout must be in [0, 1), got " + dropout);
    if (Files.exists(output) && !Files.isDirectory(output)) throw new UserError("-o " + output + ": is a file, expected a folder");
    if (Files.exists(output.resolve(Checkpoint.CONFIG)) && !force) {
      throw new UserError("-o " + output + ": already holds a model (" + Checkpoint.CONFIG + "); use --force to overwrite");
    }
    if (data != null) dev.lmhead.data.Corpus.folder(data); // fails early, naming the corpus
    Vocabulary v = PyTorchLm.readVocab(vocab);
    var sd = StateDict.read(stateDict);
    var imp = PyTorchLm.fromStateDict(sd, stateDict.toString(), v, head, divValue == null ? Double.NaN : divValue, dropout);
    Map<String, Object> extra = new LinkedHashMap<>();
    if (data != null) extra.put("data", data);
    extra.put("imported_from", stateDict.toAbsolutePath().normalize().toString());
    PyTorchLm.writeModelDir(imp, output, extra);
    if (json) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("output", output.toString());
      m.put("model", imp.description());
      m.put("parameters", imp.model().parameterCount());
      m.put("tensors", sd.size());
      System.out.println(Checkpoint.gson().toJson(m));
    } else {
      System.out.printf("imported %s (%d tensors, %,d parameters) -> %s%n", stateDict, sd.size(), imp.model().parameterCount(), output);
      System.out.println(imp.description());
    }
    return 0;
  }
}
