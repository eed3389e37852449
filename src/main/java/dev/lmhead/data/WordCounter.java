package dev.lmhead.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;

/**
 * Counts word types in first-occurrence order (type i is the i-th distinct word met in the stream,
 * {@code <eos>} included), optionally recording the stream as these provisional ids. Memory is
 * proportional to the number of types, plus the stream when recorded.
 */
final class WordCounter implements CorpusReader.Sink {
  private final HashMap<String, Integer> index = new HashMap<>();
  private final List<String> words = new ArrayList<>();
  private long[] counts = new long[1024];
  private final IntList stream; // null when not recording

  WordCounter(IntList recordInto) { this.stream = recordInto; }

  @Override public void token(String word) { add(word); }

  @Override public void endOfLine() { add(Vocabulary.EOS); }

  private void add(String w) {
    Integer id = index.get(w);
    int i;
    if (id == null) {
      i = words.size();
      index.put(w, i);
      words.add(w);
      if (i == counts.length) counts = Arrays.copyOf(counts, i * 2);
    } else {
      i = id;
    }
    counts[i]++;
    if (stream != null) stream.add(i);
  }

  int types() { return words.size(); }

  String word(int i) { return words.get(i); }

  long count(int i) { return counts[i]; }

  /** Provisional id of {@code w}, or -1. */
  int indexOf(String w) {
    Integer i = index.get(w);
    return i == null ? -1 : i;
  }
}
