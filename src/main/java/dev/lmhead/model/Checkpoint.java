package dev.lmhead.model;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import dev.lmhead.UserError;
import dev.lmhead.data.Vocabulary;
import dev.lmhead.head.HeadSpec;
import dev.lmhead.head.HeadSpecJson;
import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Rng;
import dev.lmhead.tensor.Safetensors;
import dev.lmhead.tensor.Safetensors.Tensor;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Checkpoints: a directory holding {@code config.json} (model architecture), {@code vocab.txt} and
 * safetensors files of tensors with PyTorch-style names. Every file is written to a temporary file in
 * the same directory, fsynced and atomically renamed, so a crash never leaves a half-written file; a
 * CRC32C of the tensor data is stored in the safetensors metadata and verified on load.
 */
public final class Checkpoint {
  public static final String MODEL = "model.safetensors", LAST = "last.safetensors";
  public static final String CONFIG = "config.json", VOCAB = "vocab.txt";
  private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues()
      .registerTypeHierarchyAdapter(HeadSpec.class, HeadSpecJson.INSTANCE).create();

  private Checkpoint() {}

  /** A loaded model with its vocabulary and the metadata of the file it came from. */
  public record Loaded(LanguageModel model, Vocabulary vocab, Map<String, String> metadata) {}

  // ---------------- atomic files ----------------

  /**
   * Writes bytes produced by {@code body} atomically to {@code file}. When that fails (disk full, file
   * size limit, permissions) {@code file} is left as it was, the temporary file is removed, and the
   * {@link FileSystemException} thrown names {@code file}: {@code runs/x/last.safetensors: cannot write
   * (No space left on device)}.
   */
  public static void writeAtomically(Path file, IoBody body) throws IOException {
    try {
      writeAtomically0(file, body);
    } catch (IOException e) {
      throw cannotWrite(file, e);
    }
  }

  /** {@code file: cannot write (why)}, the cause kept; {@code why} names another path only when it is not {@code file}'s temporary. */
  static FileSystemException cannotWrite(Path file, IOException e) {
    String why;
    if (e instanceof FileSystemException f) {
      String reason = f.getReason() != null ? f.getReason() : switch (f) {
        case java.nio.file.AccessDeniedException x -> "permission denied";
        case NoSuchFileException x -> "no such file or folder";
        case java.nio.file.FileAlreadyExistsException x -> "already exists";
        case java.nio.file.NotDirectoryException x -> "not a folder";
        default -> f.getClass().getSimpleName();
      };
      Path other = f.getFile() == null ? null : Path.of(f.getFile()).toAbsolutePath();
      Path dir = file.toAbsolutePath().getParent();
      boolean tempOrTarget = other == null || (dir != null && dir.equals(other.getParent())
          && other.getFileName().toString().startsWith("." + file.getFileName())) || other.equals(file.toAbsolutePath());
      why = (tempOrTarget ? "" : f.getFile() + ": ") + reason;
    } else {
      why = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }
    FileSystemException x = new FileSystemException(file.toString(), null, "cannot write (" + why + ")");
    x.initCause(e);
    return x;
  }

  private static void writeAtomically0(Path file, IoBody body) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
           OutputStream out = new java.io.BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16)) {
        body.write(out);
        out.flush();
        ch.force(true);
      }
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
      try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
        d.force(true);
      } catch (IOException ignored) {
        // directories cannot be opened for fsync on every platform
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /**
   * Deletes the temporary files that {@link #writeAtomically} leaves behind when the process is killed
   * mid-write ({@code .<name>*.tmp} in {@code dir}); returns how many. Call it only while no other
   * process writes to {@code dir} (e.g. when a run is resumed).
   */
  public static int removeStaleTemporaries(Path dir) throws IOException {
    int n = 0;
    if (!Files.isDirectory(dir)) return 0;
    try (var s = Files.newDirectoryStream(dir, ".*.tmp")) {
      for (Path p : s) {
        String name = p.getFileName().toString();
        for (String known : new String[] {MODEL, LAST, CONFIG, VOCAB, "vocab"}) {
          if (name.startsWith("." + known) && Files.isRegularFile(p)) {
            Files.deleteIfExists(p);
            n++;
            break;
          }
        }
      }
    }
    return n;
  }

  @FunctionalInterface
  public interface IoBody { void write(OutputStream out) throws IOException; }

  /** Saves tensors + metadata atomically with a CRC32C of the data in the metadata. */
  public static void saveTensors(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
    Map<String, String> meta = new LinkedHashMap<>(metadata);
    meta.put("lmhead.crc32c", Long.toHexString(crc(tensors)));
    writeAtomically(file, out -> Safetensors.write(out, tensors, meta));
  }

  /** Loads a safetensors file and verifies its checksum; user errors name the file. */
  public static Safetensors.Contents loadTensors(Path file) {
    Safetensors.Contents c;
    try {
      c = Safetensors.read(file);
    } catch (NoSuchFileException e) {
      throw new UserError(file + ": checkpoint file not found");
    } catch (Safetensors.FormatException e) {
      throw new UserError(e.getMessage());
    } catch (IOException e) {
      throw new UserError(file + ": cannot read checkpoint (" + e.getMessage() + ")");
    }
    String want = c.metadata().get("lmhead.crc32c");
    if (want == null) throw new UserError(file + ": not an lmhead checkpoint (no lmhead.crc32c in its metadata)");
    String got = Long.toHexString(crc(c.tensors()));
    if (!want.equals(got)) throw new UserError(file + ": checksum mismatch (file is corrupt: stored " + want + ", computed " + got + ")");
    return c;
  }

  private static long crc(Map<String, Tensor> tensors) {
    CRC32C crc = new CRC32C();
    ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
    for (var e : tensors.entrySet()) {
      crc.update(e.getKey().getBytes(java.nio.charset.StandardCharsets.UTF_8));
      Tensor t = e.getValue();
      int n = (int) t.numel();
      for (int i = 0; i < n; i++) {
        if (buf.remaining() < 8) { buf.flip(); crc.update(buf); buf.clear(); }
        if (t.f32() != null) buf.putFloat(t.f32()[i]); else buf.putLong(t.i64()[i]);
      }
    }
    buf.flip();
    crc.update(buf);
    return crc.getValue();
  }

  // ---------------- models ----------------

  /**
   * Clears a run directory for a fresh training start. A run starts fresh only where there is no resume
   * point, so whatever an earlier start left there before its first one (its metrics, a best model,
   * snapshots) belongs to no run that can continue: it is removed, so that the new run's curve and best
   * model are its own.
   */
  public static void startFresh(Path dir) throws IOException {
    if (Files.exists(dir.resolve(LAST))) throw new IllegalStateException(dir + " holds a resume point: not a fresh start");
    Files.deleteIfExists(dir.resolve("metrics.jsonl"));
    Files.deleteIfExists(dir.resolve(MODEL));
    if (Files.isDirectory(dir)) {
      try (var s = Files.list(dir)) {
        for (Path p : s.filter(p -> p.getFileName().toString().matches("model-at-.*\\.safetensors")).toList()) Files.delete(p);
      }
    }
  }

  /** Writes config.json and vocab.txt (once per run; atomically). */
  public static void saveSetup(Path dir, ModelConfig cfg, Vocabulary vocab, Map<String, Object> extra) throws IOException {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("format", "lmhead-1");
    json.put("model", cfg);
    json.putAll(extra);
    byte[] bytes = GSON.toJson(json).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    writeAtomically(dir.resolve(CONFIG), out -> out.write(bytes));
    writeAtomically(dir.resolve(VOCAB), vocab::write);
  }

  /** The model's parameters as tensors keyed by state-dict name. */
  public static Map<String, Tensor> tensors(LanguageModel m) {
    Map<String, Tensor> t = new LinkedHashMap<>();
    for (var e : m.namedParameters().entrySet()) t.put(e.getKey(), Tensor.of(e.getValue().data, e.getValue().shape));
    return t;
  }

  /** Copies tensors into the model's parameters, checking names and shapes. */
  public static void loadInto(LanguageModel m, Safetensors.Contents c, Path file) {
    for (var e : m.namedParameters().entrySet()) {
      Tensor t = c.get(e.getKey());
      Parameter p = e.getValue();
      if (t == null) throw new UserError(file + ": tensor '" + e.getKey() + "' is missing (checkpoint from another model or head?)");
      if (t.f32() == null || !java.util.Arrays.equals(t.shape(), p.shape)) {
        throw new UserError(file + ": tensor '" + e.getKey() + "' has shape " + java.util.Arrays.toString(t.shape())
            + ", the model expects " + java.util.Arrays.toString(p.shape));
      }
      System.arraycopy(t.f32(), 0, p.data, 0, p.size());
    }
  }

  /** Reads config.json of a run directory. */
  public static ModelConfig readConfig(Path dir) {
    Path f = dir.resolve(CONFIG);
    if (!Files.isDirectory(dir)) throw new UserError(dir + ": model directory not found");
    try {
      String text = Files.readString(f);
      var obj = com.google.gson.JsonParser.parseString(text).getAsJsonObject();
      migrateAdaptiveInput(obj.get("model"));
      ModelConfig cfg = GSON.fromJson(obj.get("model"), ModelConfig.class);
      if (cfg == null) throw new JsonParseException("no 'model' object");
      return withDefaults(cfg).validate();
    } catch (NoSuchFileException e) {
      throw new UserError(f + ": not found (is " + dir + " an lmhead model directory?)");
    } catch (IOException e) {
      throw new UserError(f + ": cannot read (" + e.getMessage() + ")");
    } catch (com.google.gson.JsonSyntaxException | IllegalStateException e) {
      Throwable c = e.getCause() != null ? e.getCause() : e;
      throw new UserError(f + ": not a valid lmhead config.json (" + Main1.msg(c) + ")");
    } catch (RuntimeException e) {
      throw new UserError(f + ": invalid model config (" + Main1.msg(e) + ")");
    }
  }

  /** Names a missing required field of an older or hand-edited config (the head's own defaults are {@link HeadSpecJson}'s). */
  private static ModelConfig withDefaults(ModelConfig c) {
    if (c.head() == null) throw new JsonParseException("missing field 'model.head'");
    if (c.input() == null) throw new JsonParseException("missing field 'model.input'");
    return c;
  }

  /**
   * config.json files written before {@link ModelConfig#inputCutoffs} kept the adaptive input's cutoffs and
   * factor in the head object ({@code cutoffs}, {@code divValue}): copies them to the model object.
   */
  private static void migrateAdaptiveInput(com.google.gson.JsonElement model) {
    if (model == null || !model.isJsonObject()) return;
    var m = model.getAsJsonObject();
    var input = m.get("input");
    if (input == null || !input.isJsonPrimitive() || !input.getAsString().equals("adaptive")) return;
    var head = m.get("head");
    if (m.has("inputCutoffs") || head == null || !head.isJsonObject()) return;
    var h = head.getAsJsonObject();
    if (h.has("cutoffs") && h.get("cutoffs").isJsonArray() && !h.getAsJsonArray("cutoffs").isEmpty()) m.add("inputCutoffs", h.get("cutoffs"));
    if (h.has("divValue")) m.add("inputFactor", h.get("divValue"));
  }

  /** Reads an extra top-level field of config.json (e.g. "data"), or null. */
  public static String readField(Path dir, String field) {
    try {
      var obj = com.google.gson.JsonParser.parseString(Files.readString(dir.resolve(CONFIG))).getAsJsonObject();
      return obj.has(field) && obj.get(field).isJsonPrimitive() ? obj.get(field).getAsString() : null;
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** Loads a run directory's model (best checkpoint by default) with its vocabulary. */
  public static Loaded load(Path dir, String file) {
    ModelConfig cfg = readConfig(dir);
    Vocabulary vocab = Vocabulary.load(dir.resolve(VOCAB));
    if (vocab.size() != cfg.vocab()) {
      throw new UserError(dir.resolve(VOCAB) + ": vocabulary has " + vocab.size() + " words but " + dir.resolve(CONFIG) + " says " + cfg.vocab());
    }
    Path f = dir.resolve(file);
    Safetensors.Contents c = loadTensors(f);
    // a config claiming a model larger than the file cannot match it: fail before allocating it
    long floats = 0;
    for (Tensor t : c.tensors().values()) if (t.f32() != null) floats += t.f32().length;
    if (floats < cfg.minParameters()) {
      throw new UserError(f + ": holds " + floats + " weights but " + dir.resolve(CONFIG) + " describes a model with at least "
          + cfg.minParameters() + " (config and checkpoint from different runs?)");
    }
    LanguageModel m;
    try {
      m = new LanguageModel(cfg, vocab.counts(), new Rng(0));
    } catch (IllegalArgumentException e) {
      throw new UserError(dir.resolve(CONFIG) + ": " + Main1.msg(e));
    }
    loadInto(m, c, f);
    return new Loaded(m, vocab, c.metadata());
  }

  /** Small helper for messages. */
  static final class Main1 {
    static String msg(Throwable t) {
      String s = t.getMessage();
      return s == null ? t.getClass().getSimpleName() : s.lines().findFirst().orElse(s);
    }
  }

  public static Gson gson() { return GSON; }
}
