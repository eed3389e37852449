package dev.lmhead.data;

import dev.lmhead.UserError;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A corpus as three token-id streams over one vocabulary built from its training split. Each stream
 * is the split's tokens in file order with {@link Vocabulary#eosId()} after every line (empty lines
 * included); words outside the vocabulary are {@link Vocabulary#unkId()}.
 *
 * @param name     {@code wikitext-2}, {@code ptb} or the folder's name
 * @param train    training stream (the vocabulary's counts are counts over it)
 * @param minCount the minimum count the vocabulary was built with (after {@link #AUTO_MIN_COUNT} is resolved)
 */
public record Corpus(String name, Vocabulary vocab, int[] train, int[] valid, int[] test, int minCount) {
  /**
   * {@code minCount} for {@link #load}: 1 (keep every word) when the training text has {@code <unk>}
   * tokens (WikiText, PTB: their rare words are already {@code <unk>}); otherwise one more than the
   * smallest count of any word, so that the rarest words of train (the singletons of a raw corpus) become
   * {@code <unk>} and the model learns a probability for words it has never seen (unless those words are
   * more than {@link #MAX_AUTO_UNK_SHARE} of the text: then every word is kept). Without that, a raw
   * corpus gives {@code <unk>} count 0 and every unseen test word a near-zero probability.
   */
  public static final int AUTO_MIN_COUNT = -1;

  /** {@link #AUTO_MIN_COUNT} keeps every word when the rarest words are more than this share of the training words. */
  static final double MAX_AUTO_UNK_SHARE = 0.1;
  /** The corpora bundled under {@code <lmhead.home>/data/}. */
  public static final List<String> BUNDLED = List.of("wikitext-2", "ptb");

  /** Split names, in the order the files are looked for. */
  static final String[] SPLITS = {"train", "valid", "test"};

  /**
   * Loads a corpus: {@code data} is {@code wikitext-2} or {@code ptb} (resolved as
   * {@code System.getProperty("lmhead.home", ".")/data/<name>}) or a folder holding one file per
   * split, named for split {@code s} (first match wins) {@code s.txt}, {@code s.txt.gz},
   * {@code wiki.s.tokens}, {@code wiki.s.tokens.gz}, {@code ptb.s.txt} or {@code ptb.s.txt.gz};
   * each may be plain or gzip-compressed text.
   *
   * <p>The training file is read once: words get provisional ids in first-occurrence order while
   * counting, and the recorded stream is renumbered once the frequency-sorted vocabulary is known.
   *
   * @param minCount see {@link Vocabulary#build}
   * @param maxSize  see {@link Vocabulary#build}
   */
  public static Corpus load(String data, int minCount, int maxSize) {
    Vocabulary.checkLimits(minCount == AUTO_MIN_COUNT ? 1 : minCount, maxSize);
    Path dir = resolve(data);
    Path[] files = splitFiles(dir);
    IntList prov = new IntList(estimateTokens(files[0]));
    WordCounter counter = new WordCounter(prov);
    CorpusReader.Counts c = CorpusReader.read(files[0], counter);
    if (c.tokens() == 0) throw new UserError(files[0] + ": training split has no tokens");
    if (minCount == AUTO_MIN_COUNT) {
      int u = counter.indexOf(Vocabulary.UNK);
      if (u >= 0 && counter.count(u) > 0) {
        minCount = 1;
      } else {
        long fewest = Long.MAX_VALUE, words = 0;
        int eos = counter.indexOf(Vocabulary.EOS);
        for (int t = 0; t < counter.types(); t++) {
          if (t == eos || t == u) continue;
          fewest = Math.min(fewest, counter.count(t));
          words += counter.count(t);
        }
        long rare = 0;
        for (int t = 0; t < counter.types(); t++) if (t != eos && t != u && counter.count(t) == fewest) rare += counter.count(t);
        // the rarest words become <unk>, unless they are a large share of the text (then every word is kept)
        minCount = fewest == Long.MAX_VALUE || rare > MAX_AUTO_UNK_SHARE * words ? 1 : (int) Math.min(Integer.MAX_VALUE, fewest + 1);
      }
    }
    Vocabulary vocab = Vocabulary.fromCounts(counter, minCount, maxSize);
    int[] remap = new int[counter.types()];
    for (int t = 0; t < remap.length; t++) remap[t] = vocab.id(counter.word(t));
    int[] train = prov.toArray();
    for (int i = 0; i < train.length; i++) train[i] = remap[train[i]];
    String name = BUNDLED.contains(data) ? data : dir.toAbsolutePath().normalize().getFileName().toString();
    return new Corpus(name, vocab, train, encode(files[1], vocab), encode(files[2], vocab), minCount);
  }

  /**
   * This corpus with the ids of {@code to}, a vocabulary of exactly the same words (in any order), e.g.
   * the one a run was started with: every token keeps its word, only the numbering changes.
   *
   * @throws IllegalArgumentException when the two vocabularies do not hold the same words
   */
  public Corpus withVocabulary(Vocabulary to) {
    if (to.size() != vocab.size()) {
      throw new IllegalArgumentException("vocabularies of " + vocab.size() + " and " + to.size() + " words");
    }
    int[] remap = new int[vocab.size()];
    for (int i = 0; i < remap.length; i++) {
      String w = vocab.word(i);
      if (!to.contains(w)) throw new IllegalArgumentException("word '" + w + "' is not in the other vocabulary");
      remap[i] = to.id(w);
    }
    return new Corpus(name, to, remap(train, remap), remap(valid, remap), remap(test, remap), minCount);
  }

  /** Share of the word tokens of {@code stream} ({@code <eos>} not counted) that are {@code <unk>}: its out-of-vocabulary rate. */
  public double oovRate(int[] stream) {
    long words = 0, unk = 0;
    int u = vocab.unkId(), e = vocab.eosId();
    for (int id : stream) {
      if (id == e) continue;
      words++;
      if (id == u) unk++;
    }
    return words == 0 ? 0 : (double) unk / words;
  }

  private static int[] remap(int[] stream, int[] remap) {
    int[] out = new int[stream.length];
    for (int i = 0; i < out.length; i++) out[i] = remap[stream[i]];
    return out;
  }

  /**
   * The token-id stream of any text file (plain or gzip) under {@code vocab}: its tokens with
   * {@code <eos>} after every line, unknown words as {@code <unk>}. A file without tokens is an error.
   */
  public static int[] encode(Path file, Vocabulary vocab) {
    IntList out = new IntList(estimateTokens(file));
    int eos = vocab.eosId();
    CorpusReader.Counts c = CorpusReader.read(file, new CorpusReader.Sink() {
      @Override public void token(String word) { out.add(vocab.id(word)); }
      @Override public void endOfLine() { out.add(eos); }
    });
    if (c.tokens() == 0) throw new UserError(file + ": no tokens (empty split)");
    return out.toArray();
  }

  /** The folder a {@code --data} value names (bundled name or path); a UserError if it is missing. */
  public static Path folder(String data) { return resolve(data); }

  /** The file of one split ({@code train}, {@code valid} or {@code test}) of a corpus. */
  public static Path splitFile(String data, String split) {
    int i = List.of(SPLITS).indexOf(split);
    if (i < 0) throw new IllegalArgumentException("unknown split '" + split + "' (expected train, valid or test)");
    return splitFiles(resolve(data))[i];
  }

  /** The folder a {@code --data} value names. */
  static Path resolve(String data) {
    if (data == null || data.isBlank()) throw new UserError("no corpus given (use wikitext-2, ptb or a folder)");
    if (BUNDLED.contains(data)) {
      Path home = Path.of(System.getProperty("lmhead.home", "."));
      Path dir = home.resolve("data").resolve(data);
      if (!Files.isDirectory(dir)) {
        throw new UserError("bundled corpus " + data + " not found at " + dir.toAbsolutePath().normalize()
            + " (run from the lmhead checkout or set -Dlmhead.home)");
      }
      return dir;
    }
    Path dir = Path.of(data);
    if (!Files.exists(dir)) {
      throw new UserError("corpus folder not found: " + data + " (expected " + String.join(", ", BUNDLED)
          + " or a folder with train/valid/test files)");
    }
    if (!Files.isDirectory(dir)) {
      throw new UserError(data + " is a file, expected " + String.join(", ", BUNDLED)
          + " or a folder with train/valid/test files");
    }
    return dir;
  }

  /** The file names tried for split {@code s}, in order. */
  static List<String> candidates(String s) {
    return List.of(s + ".txt", s + ".txt.gz", "wiki." + s + ".tokens", "wiki." + s + ".tokens.gz",
        "ptb." + s + ".txt", "ptb." + s + ".txt.gz");
  }

  /** train, valid, test files of {@code dir}; names every split that is missing. */
  static Path[] splitFiles(Path dir) {
    Path[] files = new Path[SPLITS.length];
    List<String> missing = new ArrayList<>();
    for (int i = 0; i < SPLITS.length; i++) {
      for (String name : candidates(SPLITS[i])) {
        Path f = dir.resolve(name);
        if (Files.exists(f)) {
          files[i] = f;
          break;
        }
      }
      if (files[i] == null) missing.add(SPLITS[i] + " (" + String.join(", ", candidates(SPLITS[i])) + ")");
    }
    if (!missing.isEmpty()) {
      throw new UserError("corpus folder " + dir + " has no " + String.join("; no ", missing));
    }
    return files;
  }

  /** A guess at the token count from the file size, to size the stream buffer (~5 bytes/token). */
  private static long estimateTokens(Path f) {
    try {
      long bytes = Files.size(f);
      return (f.getFileName().toString().endsWith(".gz") ? bytes * 3 : bytes) / 5;
    } catch (Exception e) {
      return 1024;
    }
  }

  @Override public String toString() {
    return "Corpus(" + name + ": vocab " + vocab.size() + ", train " + train.length + ", valid " + valid.length
        + ", test " + test.length + " tokens incl. <eos>)";
  }
}
