package dev.lmhead.serve;

import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The LSTM state after token sequences the server has already run, so that a context extending one of them runs
 * only its new words (prefix caching, as LLM servers do with their attention keys and values). An autocomplete
 * client sends "the meaning", then "the meaning of", then "the meaning of life": with the state after the previous
 * context kept, each request costs one LSTM step instead of its whole context.
 *
 * <p>An entry holds, for one sequence ({@code <eos>} then the context's ids), the recurrent state after its last
 * token: h then c of every layer, 2·layers·H floats. The top layer's h is also that position's head input, so a
 * context seen before runs no LSTM at all. Entries are kept least recently used first and evicted beyond
 * {@code maxBytes}. Only the batcher thread uses it (no locking); its counters may be read from any thread.
 *
 * <p>A continued state gives the same log-probs as running the whole context from a fresh state up to float
 * rounding (the products run over other row counts), the same difference batching makes.
 */
final class StateCache {
  /** Per-entry bookkeeping beyond its floats and ids: the map node, key and arrays' headers (an estimate). */
  static final int ENTRY_OVERHEAD = 128;

  private static final long MUL = 0x9E3779B97F4A7C15L;

  private final int stateFloats;
  private final long maxBytes;
  private final LinkedHashMap<Key, float[]> map = new LinkedHashMap<>(256, 0.75f, true);
  private volatile long bytes;
  private volatile int entries;
  private long[] prefixHash = new long[0];
  private final Key probe = new Key(null, 0, 0);

  // written by the batcher only; volatile so that /health reads them whole and current
  volatile long lookups, fullHits, partialHits, tokensSaved, evictions;

  /** @param stateFloats floats per entry: 2 · layers · hidden */
  StateCache(int stateFloats, long maxBytes) {
    if (stateFloats < 1) throw new IllegalArgumentException("stateFloats must be >= 1, got " + stateFloats);
    if (maxBytes < 0) throw new IllegalArgumentException("maxBytes must be >= 0, got " + maxBytes);
    this.stateFloats = stateFloats;
    this.maxBytes = maxBytes;
  }

  int entries() { return entries; }

  long bytes() { return bytes; }

  static long entryBytes(int stateFloats, int len) { return 4L * stateFloats + 4L * len + ENTRY_OVERHEAD; }

  /** The state kept for a key: a (possibly empty) prefix length and its state, or length 0 and null. */
  record Hit(int length, float[] state) {}

  private static final Hit MISS = new Hit(0, null);

  /**
   * The longest prefix seq[0 .. p) with a kept state, p in [1, seq.length] (the whole sequence included), marked
   * as recently used; {@link Hit#length()} 0 when none is kept. The returned state must not be modified.
   */
  Hit longestPrefix(int[] seq) {
    lookups++;
    int n = seq.length;
    if (n == 0 || map.isEmpty()) return MISS;
    if (prefixHash.length < n) prefixHash = new long[Math.max(n, 2 * prefixHash.length)];
    long h = 0;
    for (int i = 0; i < n; i++) prefixHash[i] = h = mix(h, seq[i]);
    for (int p = n; p >= 1; p--) {
      probe.set(seq, p, prefixHash[p - 1]);
      float[] s = map.get(probe);
      if (s != null) {
        if (p == n) fullHits++;
        else partialHits++;
        tokensSaved += p;
        return new Hit(p, s);
      }
    }
    return MISS;
  }

  /**
   * Keeps {@code state} (copied from {@code src[srcOff .. srcOff + stateFloats)}) as the state after seq; an entry
   * larger than the whole cache is not kept.
   */
  void put(int[] seq, float[] src, int srcOff) {
    long need = entryBytes(stateFloats, seq.length);
    if (need > maxBytes) return;
    Key k = new Key(seq.clone(), seq.length, hash(seq));
    float[] s = map.get(k);
    if (s == null) {
      s = new float[stateFloats];
      map.put(k, s);
      bytes += need;
      entries++;
    }
    System.arraycopy(src, srcOff, s, 0, stateFloats);
    for (Iterator<Map.Entry<Key, float[]>> it = map.entrySet().iterator(); bytes > maxBytes && it.hasNext(); ) {
      Map.Entry<Key, float[]> e = it.next();
      if (e.getKey().equals(k)) continue; // the entry just written stays
      bytes -= entryBytes(stateFloats, e.getKey().len);
      it.remove();
      entries--;
      evictions++;
    }
  }

  /** Drops every entry (after the weights changed). */
  void clear() {
    map.clear();
    bytes = 0;
    entries = 0;
  }

  static long hash(int[] seq) {
    long h = 0;
    for (int id : seq) h = mix(h, id);
    return h;
  }

  /** The hash of a prefix extended by one id (the same for lookups and keys). */
  private static long mix(long h, int id) {
    h = (h + id + 1) * MUL;
    return h ^ (h >>> 29);
  }

  /** A sequence prefix: the first len ids of ids. The probe key is mutable and never stored. */
  private static final class Key {
    int[] ids;
    int len;
    long hash;

    Key(int[] ids, int len, long hash) { set(ids, len, hash); }

    void set(int[] ids, int len, long hash) {
      this.ids = ids;
      this.len = len;
      this.hash = hash;
    }

    @Override
    public int hashCode() { return (int) (hash ^ (hash >>> 32)); }

    @Override
    public boolean equals(Object o) {
      return o instanceof Key k && k.len == len && k.hash == hash && Arrays.equals(ids, 0, len, k.ids, 0, k.len);
    }
  }
}
