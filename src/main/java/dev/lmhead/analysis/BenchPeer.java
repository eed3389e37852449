package dev.lmhead.analysis;

import com.google.gson.JsonObject;
import dev.lmhead.head.Heads;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The other implementations the benchmarks measure in the same run ({@code --peer}): PyTorch 1.13 from
 * Python ({@code bench/pytorch_*.py}, {@link PythonPeer}) and libtorch 2.7.1 from Java through DJL
 * ({@code peers/djl}, {@link DjlPeer}). Both measure the same heads (full, adaptive) and the same
 * word-LM training window, the same way, and print the same JSON.
 */
public enum BenchPeer {
  PYTORCH("pytorch", "PyTorch"),
  DJL("djl", "DJL");

  private final String id;
  private final String label;

  BenchPeer(String id, String label) {
    this.id = id;
    this.label = label;
  }

  /** The name on the command line and in JSON keys. */
  public String id() { return id; }

  /** The name in tables and messages. */
  public String label() { return label; }

  /** The peers {@code --peer} names: {@code none}, one id, or a comma list of ids (in the order given, no repeats). */
  public static List<BenchPeer> parse(String flag) {
    String expected = "expected pytorch, djl, none or a comma list such as pytorch,djl";
    if (flag == null || flag.isBlank()) throw new IllegalArgumentException("--peer: give a peer (" + expected + ")");
    List<BenchPeer> out = new ArrayList<>();
    List<String> items = Arrays.stream(flag.split(",", -1)).map(String::trim).toList();
    if (items.size() == 1 && items.get(0).equals("none")) return out;
    for (String s : items) {
      BenchPeer p = Arrays.stream(values()).filter(v -> v.id.equals(s)).findFirst()
          .orElseThrow(() -> new IllegalArgumentException("--peer: unknown peer '" + s + "' (" + expected + ")"));
      if (out.contains(p)) throw new IllegalArgumentException("--peer: '" + s + "' given twice");
      out.add(p);
    }
    return out;
  }

  /** How {@code --peer} named the peers (for "not requested (--peer ...)"). */
  public static String flag(List<BenchPeer> peers) {
    return peers.isEmpty() ? "none" : String.join(",", peers.stream().map(BenchPeer::id).toList());
  }

  /** The heads peers/djl implements (DjlHeads, DjlWordLm). */
  public static final List<String> DJL_HEADS = List.of("full", "adaptive");

  /**
   * Whether this peer measures the head (registry name): PyTorch's heads ({@link dev.lmhead.head.HeadType#inPyTorch}:
   * full and adaptive); DJL's are those of them it implements ({@link #DJL_HEADS}).
   */
  public boolean has(String head) {
    boolean pytorch = Heads.has(head) && Heads.get(head).inPyTorch();
    return this == PYTORCH ? pytorch : pytorch && DJL_HEADS.contains(head);
  }

  /** null when the peer can be run, else why not and what to do. */
  public String unavailableReason() {
    return this == PYTORCH ? PythonPeer.unavailableReason() : DjlPeer.unavailableReason();
  }

  /** The program measuring the output layers alone (for messages). */
  public String headsProgram() {
    return this == PYTORCH ? "bench/pytorch_heads.py" : "peers/djl DjlHeads";
  }

  /** Runs the output-layer benchmark (bench/pytorch_heads.py or DjlHeads, same arguments and JSON). */
  public JsonObject runHeads(List<String> args, int threads, double timeoutS) throws Exception {
    return this == PYTORCH ? PythonPeer.run("pytorch_heads.py", args, timeoutS) : DjlPeer.run("DjlHeads", args, threads, timeoutS);
  }

  /** Runs the word-LM training benchmark (bench/pytorch_word_lm.py or DjlWordLm, same arguments and JSON). */
  public JsonObject runWordLm(List<String> args, int threads, double timeoutS) throws Exception {
    return this == PYTORCH ? PythonPeer.run("pytorch_word_lm.py", args, timeoutS) : DjlPeer.run("DjlWordLm", args, threads, timeoutS);
  }
}
