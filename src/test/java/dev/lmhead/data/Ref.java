package dev.lmhead.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * Deliberately naive reference implementations for the data tests: whole-file reads, String.split,
 * boxed maps. Independent of the streaming code under test.
 */
final class Ref {
  private Ref() {}

  /** Tokens of a file as the reference code does it: {@code line.trim().split("\\s+")} + {@code <eos>}. */
  static List<String> tokens(Path file) throws IOException {
    byte[] bytes;
    try (InputStream in = Files.newInputStream(file)) {
      bytes = in.readAllBytes();
    }
    if (bytes.length > 1 && (bytes[0] & 0xff) == 0x1f && (bytes[1] & 0xff) == 0x8b) {
      try (InputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(bytes))) {
        bytes = in.readAllBytes();
      }
    }
    String text = new String(bytes, StandardCharsets.UTF_8);
    List<String> out = new ArrayList<>();
    String[] lines = text.split("\r\n|\r|\n", -1);
    int n = lines.length;
    if (n > 0 && lines[n - 1].isEmpty()) n--; // text after the last terminator is a line only if non-empty
    for (int i = 0; i < n; i++) {
      String t = lines[i].trim();
      if (!t.isEmpty()) out.addAll(Arrays.asList(t.split("\\s+")));
      out.add(Vocabulary.EOS);
    }
    return out;
  }

  /** Frequency-sorted words with pruning into {@code <unk>}, computed the slow obvious way. */
  static List<Map.Entry<String, Long>> vocab(List<String> stream, int minCount, int maxSize) {
    LinkedHashMap<String, Long> counts = new LinkedHashMap<>();
    Map<String, Integer> first = new LinkedHashMap<>();
    for (int i = 0; i < stream.size(); i++) {
      counts.merge(stream.get(i), 1L, Long::sum);
      first.putIfAbsent(stream.get(i), i);
    }
    List<String> byFreq = new ArrayList<>(counts.keySet());
    byFreq.sort(Comparator.comparing((String w) -> -counts.get(w)).thenComparing(first::get));
    List<String> kept = new ArrayList<>();
    if (counts.containsKey(Vocabulary.EOS)) kept.add(Vocabulary.EOS);
    for (String w : byFreq) {
      if (w.equals(Vocabulary.EOS) || w.equals(Vocabulary.UNK)) continue;
      if (counts.get(w) < minCount) continue;
      if (maxSize > 0 && kept.size() + 1 >= maxSize) break; // +1: room for <unk>
      kept.add(w);
    }
    // Map the stream, then count again: <unk>'s count and first occurrence come out of the mapping.
    java.util.Set<String> keptSet = new java.util.HashSet<>(kept);
    List<String> mapped = new ArrayList<>();
    for (String w : stream) mapped.add(keptSet.contains(w) ? w : Vocabulary.UNK);
    LinkedHashMap<String, Long> c2 = new LinkedHashMap<>();
    Map<String, Integer> f2 = new LinkedHashMap<>();
    for (int i = 0; i < mapped.size(); i++) {
      c2.merge(mapped.get(i), 1L, Long::sum);
      f2.putIfAbsent(mapped.get(i), i);
    }
    c2.putIfAbsent(Vocabulary.UNK, 0L);
    f2.putIfAbsent(Vocabulary.UNK, Integer.MAX_VALUE);
    List<Map.Entry<String, Long>> out = new ArrayList<>(c2.entrySet());
    out.sort(Comparator.comparing((Map.Entry<String, Long> e) -> -e.getValue()).thenComparing(e -> f2.get(e.getKey())));
    return out;
  }

  static Path write(Path file, String text) throws IOException {
    Files.writeString(file, text, StandardCharsets.UTF_8);
    return file;
  }

  static Path writeGz(Path file, String text) throws IOException {
    return writeBytes(file, gzip(text.getBytes(StandardCharsets.UTF_8)));
  }

  static Path writeBytes(Path file, byte[] bytes) throws IOException {
    Files.write(file, bytes);
    return file;
  }

  static byte[] gzip(byte[] raw) throws IOException {
    ByteArrayOutputStream bo = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(bo)) {
      gz.write(raw);
    }
    return bo.toByteArray();
  }
}
