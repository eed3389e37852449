package dev.lmhead.data;

import dev.lmhead.UserError;
import java.io.IOException;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Word types of a corpus with ids sorted by descending training frequency: id 0 is the most frequent
 * word, ties are broken by first occurrence in the training stream. Frequency-sorted ids are what
 * adaptive softmax cutoffs, frequency classes and Huffman trees need.
 *
 * <p>Counting convention (the usual LSTM LM one): every training line, empty lines included, ends
 * with one {@code <eos>}, an ordinary entry counted like any word (its count is the number of lines).
 * If the training text contains {@code <unk>} (WikiText-2, PTB), it is an ordinary word too;
 * otherwise {@code <unk>} is added with count 0 as the last id, so that out-of-vocabulary words of
 * valid/test have somewhere to go. {@link #id(String)} maps every unknown word to {@link #unkId()}.
 *
 * <p>Pruning: words seen fewer than {@code minCount} times, and the least frequent words beyond
 * {@code maxSize} entries in total ({@code <eos>} and {@code <unk>} included), are folded into
 * {@code <unk>}: their counts are added to its count and the ids are re-sorted, {@code <unk>}'s first
 * occurrence being the earliest of the words it absorbed. {@code <eos>} is never pruned.
 */
public final class Vocabulary {
  public static final String EOS = "<eos>";
  public static final String UNK = "<unk>";

  private final String[] words;
  private final long[] counts;
  private final HashMap<String, Integer> index;
  private final int unk, eos;

  private Vocabulary(String[] words, long[] counts, String source) {
    this.words = words;
    this.counts = counts;
    this.index = HashMap.newHashMap(words.length);
    for (int i = 0; i < words.length; i++) {
      Integer prev = index.putIfAbsent(words[i], i);
      if (prev != null) throw new IllegalArgumentException(source + ": duplicate word '" + words[i] + "'");
    }
    Integer u = index.get(UNK), e = index.get(EOS);
    if (u == null) throw new UserError(source + ": vocabulary has no " + UNK + " entry");
    if (e == null) throw new UserError(source + ": vocabulary has no " + EOS + " entry");
    this.unk = u;
    this.eos = e;
  }

  /**
   * A vocabulary with the given words as ids 0..n-1 (in this order, not re-sorted) and their counts.
   * Must contain {@code <eos>} and {@code <unk>}; words must be distinct, non-empty and free of
   * whitespace; counts non-negative.
   */
  public static Vocabulary of(String[] words, long[] counts) {
    if (words.length != counts.length) {
      throw new IllegalArgumentException(words.length + " words but " + counts.length + " counts");
    }
    for (int i = 0; i < words.length; i++) {
      checkWord(words[i], "word " + i);
      if (counts[i] < 0) throw new IllegalArgumentException("negative count " + counts[i] + " for '" + words[i] + "'");
    }
    return new Vocabulary(words.clone(), counts.clone(), "vocabulary");
  }

  /**
   * Counts the training file (plain or gzip) and builds the frequency-sorted vocabulary.
   *
   * @param minCount words seen fewer times become {@code <unk>} (0 or 1: keep all)
   * @param maxSize  at most this many entries including {@code <eos>} and {@code <unk>} (0: no limit)
   */
  public static Vocabulary build(Path trainFile, int minCount, int maxSize) {
    checkLimits(minCount, maxSize);
    WordCounter counter = new WordCounter(null);
    CorpusReader.Counts c = CorpusReader.read(trainFile, counter);
    if (c.tokens() == 0) throw new UserError(trainFile + ": training split has no tokens");
    return fromCounts(counter, minCount, maxSize);
  }

  static void checkLimits(int minCount, int maxSize) {
    if (minCount < 0) throw new IllegalArgumentException("minimum word count must be >= 0, got " + minCount);
    if (maxSize < 0 || maxSize == 1) {
      throw new IllegalArgumentException("maximum vocabulary size must be 0 (no limit) or >= 2 (for "
          + EOS + " and " + UNK + "), got " + maxSize);
    }
  }

  /** Sorting and pruning over counts gathered in first-occurrence order. */
  static Vocabulary fromCounts(WordCounter wc, int minCount, int maxSize) {
    int n = wc.types();
    int eosT = wc.indexOf(EOS), unkT = wc.indexOf(UNK);
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) order[i] = i;
    Arrays.sort(order, (a, b) -> wc.count(a) != wc.count(b) ? Long.compare(wc.count(b), wc.count(a)) : Integer.compare(a, b));
    // Keep <eos> always, then words by frequency while they pass minCount and fit; <unk> takes the rest.
    long slots = maxSize == 0 ? Long.MAX_VALUE : maxSize - 1; // entries other than <unk>
    long otherSlots = eosT >= 0 ? slots - 1 : slots;
    boolean[] keep = new boolean[n];
    long unkCount = unkT >= 0 ? wc.count(unkT) : 0;
    int unkFirst = unkT >= 0 ? unkT : Integer.MAX_VALUE;
    int kept = 0;
    for (int t : order) {
      if (t == unkT) continue;
      if (t == eosT || (wc.count(t) >= minCount && otherSlots > 0)) {
        keep[t] = true;
        kept++;
        if (t != eosT) otherSlots--;
      } else {
        unkCount += wc.count(t);
        unkFirst = Math.min(unkFirst, t);
      }
    }
    // Entries as (word, count, first occurrence); <unk> gets the earliest first occurrence it absorbed.
    String[] w = new String[kept + 1];
    long[] cnt = new long[kept + 1];
    long[] first = new long[kept + 1];
    int k = 0;
    for (int t = 0; t < n; t++) {
      if (!keep[t]) continue;
      w[k] = wc.word(t);
      cnt[k] = wc.count(t);
      first[k++] = t;
    }
    w[k] = UNK;
    cnt[k] = unkCount;
    first[k] = unkFirst;
    Integer[] o = new Integer[kept + 1];
    for (int i = 0; i <= kept; i++) o[i] = i;
    Arrays.sort(o, (a, b) -> cnt[a] != cnt[b] ? Long.compare(cnt[b], cnt[a]) : Long.compare(first[a], first[b]));
    String[] words = new String[kept + 1];
    long[] counts = new long[kept + 1];
    for (int i = 0; i <= kept; i++) {
      words[i] = w[o[i]];
      counts[i] = cnt[o[i]];
    }
    return new Vocabulary(words, counts, "vocabulary");
  }

  public int size() { return words.length; }

  /** The word with this id. */
  public String word(int id) {
    if (id < 0 || id >= words.length) throw new IndexOutOfBoundsException("word id " + id + " outside [0, " + words.length + ")");
    return words[id];
  }

  /** The id of {@code w}, or {@link #unkId()} when it is not in the vocabulary. */
  public int id(String w) {
    Integer i = index.get(w);
    return i == null ? unk : i;
  }

  /** True when {@code w} has its own entry. */
  public boolean contains(String w) { return index.containsKey(w); }

  public int unkId() { return unk; }

  public int eosId() { return eos; }

  /** Training counts by id (a copy). */
  public long[] counts() { return counts.clone(); }

  /**
   * How this vocabulary and {@code other} differ as sets of words with counts (ids, i.e. the order, are
   * not compared): null when they hold the same words with the same counts, otherwise a short text such
   * as {@code 3 of 200 words differ, e.g. 'the': 12 in A, 9 in B}, with {@code thisName} and
   * {@code otherName} standing for A and B.
   */
  public String difference(Vocabulary other, String thisName, String otherName) {
    int differ = 0;
    String example = null;
    for (int i = 0; i < words.length; i++) {
      Integer j = other.index.get(words[i]);
      if (j != null && other.counts[j] == counts[i]) continue;
      differ++;
      if (example == null) {
        example = "'" + abbreviate(words[i]) + "': " + counts[i] + " in " + thisName + ", "
            + (j == null ? "absent from " + otherName : other.counts[j] + " in " + otherName);
      }
    }
    for (int j = 0; j < other.words.length; j++) {
      if (index.containsKey(other.words[j])) continue;
      differ++;
      if (example == null) {
        example = "'" + abbreviate(other.words[j]) + "': absent from " + thisName + ", " + other.counts[j] + " in " + otherName;
      }
    }
    if (differ == 0) return null;
    return differ + " of " + Math.max(words.length, other.words.length) + " words differ, e.g. " + example;
  }

  /** Writes the {@link #save} format, one {@code word<TAB>count} line per id, UTF-8, to {@code stream} (left open). */
  public void write(java.io.OutputStream stream) throws IOException {
    Writer out = new java.io.BufferedWriter(new java.io.OutputStreamWriter(stream, StandardCharsets.UTF_8));
    for (int i = 0; i < words.length; i++) {
      out.write(words[i]);
      out.write('\t');
      out.write(Long.toString(counts[i]));
      out.write('\n');
    }
    out.flush();
  }

  /** Writes one {@code word<TAB>count} line per id, in id order, UTF-8 (via a temp file and a rename). */
  public void save(Path file) {
    try {
      Path dir = file.toAbsolutePath().getParent();
      if (dir != null) Files.createDirectories(dir);
      Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
      try (var out = Files.newOutputStream(tmp)) {
        write(out);
      }
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UserError("cannot write vocabulary " + file + ": " + e.getMessage());
    }
  }

  /**
   * Reads a file written by {@link #save}. Rejects, naming file and line: invalid UTF-8, a line that
   * is not {@code word<TAB>count}, a count that is not a non-negative integer, a duplicate word, an
   * empty file, and a vocabulary without {@code <eos>} or {@code <unk>}.
   */
  public static Vocabulary load(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new UserError("vocabulary file not found: " + file);
    } catch (IOException e) {
      throw new UserError("cannot read vocabulary " + file + ": " + e.getMessage());
    }
    var dec = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    var words = new java.util.ArrayList<String>();
    long[] cnt = new long[16];
    Map<String, Integer> seen = new HashMap<>();
    int start = 0, lineNo = 0;
    while (start < bytes.length) {
      lineNo++;
      int end = start;
      while (end < bytes.length && bytes[end] != '\n') end++;
      int stop = end > start && bytes[end - 1] == '\r' ? end - 1 : end;
      String where = file + ":" + lineNo + ": ";
      String line;
      try {
        line = dec.decode(ByteBuffer.wrap(bytes, start, stop - start)).toString();
      } catch (CharacterCodingException e) {
        throw new UserError(where + "invalid UTF-8");
      }
      start = end + 1;
      int tab = line.indexOf('\t');
      if (tab < 0 || line.indexOf('\t', tab + 1) >= 0) {
        throw new UserError(where + "expected word<TAB>count, got '" + abbreviate(line) + "'");
      }
      String w = line.substring(0, tab), c = line.substring(tab + 1);
      try {
        checkWord(w, "word");
      } catch (IllegalArgumentException e) {
        throw new UserError(where + e.getMessage());
      }
      long v;
      try {
        v = Long.parseLong(c);
      } catch (NumberFormatException e) {
        v = -1;
      }
      if (v < 0 || c.startsWith("+")) throw new UserError(where + "bad count '" + abbreviate(c) + "' (expected a non-negative integer)");
      Integer prev = seen.putIfAbsent(w, lineNo);
      if (prev != null) throw new UserError(where + "duplicate word '" + abbreviate(w) + "' (first at line " + prev + ")");
      if (words.size() == cnt.length) cnt = Arrays.copyOf(cnt, cnt.length * 2);
      cnt[words.size()] = v;
      words.add(w);
    }
    if (words.isEmpty()) throw new UserError(file + ": empty vocabulary file");
    return new Vocabulary(words.toArray(new String[0]), Arrays.copyOf(cnt, words.size()), file.toString());
  }

  private static void checkWord(String w, String what) {
    if (w == null || w.isEmpty()) throw new IllegalArgumentException("empty " + what);
    for (int i = 0; i < w.length(); i++) {
      if (Character.isWhitespace(w.charAt(i)) || w.charAt(i) == 0) {
        throw new IllegalArgumentException(what + " '" + abbreviate(w) + "' contains whitespace or NUL");
      }
    }
  }

  private static String abbreviate(String s) {
    String t = s.length() > 40 ? s.substring(0, 40) + "..." : s;
    return t.replace('\t', ' ').replace('\r', ' ');
  }

  @Override public String toString() {
    return "Vocabulary(" + words.length + " words, eos=" + eos + ", unk=" + unk + ")";
  }
}
