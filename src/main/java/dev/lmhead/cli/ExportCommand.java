package dev.lmhead.cli;

import dev.lmhead.UserError;
import dev.lmhead.interop.PyTorchLm;
import dev.lmhead.model.Checkpoint;
import dev.lmhead.tensor.Safetensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lmhead export --to pytorch}: a model directory as a PyTorch word-LM state dict. */
@Command(name = "export", abbreviateSynopsis = true, mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Export a model as the state dict of PyTorch's word_language_model example.",
        "Full or adaptive head, plain embedding, as .safetensors: loadable with load_state_dict(strict=True) into the example's RNNModel.",
        "Writes the vocabulary (one word per line, the example's idx2word) next to it and prints the constructor call."})
public final class ExportCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, description = "lmhead model directory.")
  Path model;
  @Option(names = "--to", required = true, description = "Target framework: pytorch.")
  String to;
  @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE.safetensors", description = "State-dict file to write: .safetensors, or .pt/.pth for a torch.save zip.")
  Path output;
  @Option(names = "--vocab-out", paramLabel = "FILE", description = "Vocabulary file (default: FILE with .vocab.txt instead of its extension).")
  Path vocabOut;
  @Option(names = "--checkpoint", defaultValue = "best", description = "best (model.safetensors) | last (last.safetensors) (default: ${DEFAULT-VALUE}).")
  String which;

  @Override
  public Integer call() throws Exception {
    if (!to.equals("pytorch")) throw new IllegalArgumentException("--to must be pytorch, got '" + to + "'");
    String name = output.getFileName() == null ? "" : output.getFileName().toString();
    String ext = name.endsWith(".safetensors") ? ".safetensors" : name.endsWith(".pt") ? ".pt" : name.endsWith(".pth") ? ".pth" : null;
    if (ext == null) throw new IllegalArgumentException("-o must name a .safetensors file (or .pt/.pth for a torch.save zip), got '" + output + "'");
    if (Files.isDirectory(output)) throw new UserError("-o " + output + ": is a folder, expected a " + ext + " file");
    String file = switch (which) {
      case "best" -> Checkpoint.MODEL;
      case "last" -> Checkpoint.LAST;
      default -> throw new IllegalArgumentException("--checkpoint must be best or last, got '" + which + "'");
    };
    Checkpoint.Loaded l = Checkpoint.load(model, file);
    var sd = PyTorchLm.toStateDict(l.model(), model.toString());
    Path vocab = vocabOut != null ? vocabOut : output.resolveSibling(name.substring(0, name.length() - ext.length()) + ".vocab.txt");
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put("format", "pt");
    meta.put("lmhead.constructor", PyTorchLm.constructor(l.model()));
    if (ext.equals(".safetensors")) Checkpoint.writeAtomically(output.toAbsolutePath(), out -> Safetensors.write(out, sd, meta));
    else Checkpoint.writeAtomically(output.toAbsolutePath(), out -> dev.lmhead.interop.TorchZipWriter.write(out, sd));
    PyTorchLm.writeVocab(l.vocab(), vocab.toAbsolutePath());
    System.out.printf("wrote %s (%d tensors) and %s (%d words)%n", output, sd.size(), vocab, l.vocab().size());
    System.out.println("# PyTorch (word_language_model's model.py RNNModel; bench/pytorch_interop.py defines it too):");
    System.out.println(PyTorchLm.constructor(l.model()));
    System.out.println(ext.equals(".safetensors") ? "model.load_state_dict(safetensors.torch.load_file('" + output + "'), strict=True)"
        : "model.load_state_dict(torch.load('" + output + "'), strict=True)");
    return 0;
  }
}
