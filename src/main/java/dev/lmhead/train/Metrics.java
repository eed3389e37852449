package dev.lmhead.train;

import com.google.gson.Gson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/** Appends one JSON object per line ({"event": ..., "time": ..., fields}) to a metrics file. */
public final class Metrics {
  private static final Gson GSON = new com.google.gson.GsonBuilder().serializeSpecialFloatingPointValues().create();
  private final Path file;

  public Metrics(Path file) { this.file = file; }

  public void write(String event, Map<String, ?> fields) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("event", event);
    m.put("time", java.time.Instant.now().toString());
    m.putAll(new TreeMap<>(fields));
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      Files.writeString(file, GSON.toJson(m) + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot write metrics", e);
    }
  }
}
