package dev.lmhead.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import dev.lmhead.cli.ServeCommand;
import dev.lmhead.data.Vocabulary;
import dev.lmhead.model.LanguageModel;
import dev.lmhead.tensor.Rng;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The server's LSTM state cache: longest kept prefix, least-recently-used eviction by bytes, and an engine that
 * continues contexts from kept states answering as an engine without it does (up to float rounding), in
 * sequence, in mixed batches and over HTTP.
 */
class StateCacheTest {
  static final int F = 8; // floats per entry in the unit tests

  static float[] state(float v) {
    float[] s = new float[F];
    Arrays.fill(s, v);
    return s;
  }

  @Test
  void findsTheLongestKeptPrefixIncludingTheWholeSequence() {
    StateCache c = new StateCache(F, 1 << 20);
    assertEquals(0, c.longestPrefix(new int[] {1, 2, 3}).length(), "empty cache");
    c.put(new int[] {1, 2, 3}, state(3), 0);
    c.put(new int[] {1, 2, 3, 4, 5}, state(5), 0);
    c.put(new int[] {7}, state(7), 0);
    assertEquals(3, c.longestPrefix(new int[] {1, 2, 3, 4}).length());
    assertEquals(3f, c.longestPrefix(new int[] {1, 2, 3, 4}).state()[0]);
    assertEquals(5, c.longestPrefix(new int[] {1, 2, 3, 4, 5, 6, 7}).length());
    assertEquals(5f, c.longestPrefix(new int[] {1, 2, 3, 4, 5}).state()[F - 1], "the whole sequence");
    assertEquals(0, c.longestPrefix(new int[] {1, 2}).length(), "shorter than every kept sequence");
    assertEquals(0, c.longestPrefix(new int[] {2, 3, 4}).length(), "a suffix is not a prefix");
    assertEquals(0, c.longestPrefix(new int[] {1, 2, 4, 4, 5}).length(), "differs inside");
    assertEquals(1, c.longestPrefix(new int[] {7, 7}).length());
    assertEquals(0, c.longestPrefix(new int[0]).length());
    assertEquals(10, c.lookups);
    assertEquals(1, c.fullHits);
    assertEquals(4, c.partialHits);
    assertEquals(3 + 3 + 5 + 5 + 1, c.tokensSaved);
  }

  @Test
  void keepsACopyAndOverwritesTheSameSequence() {
    StateCache c = new StateCache(F, 1 << 20);
    float[] src = new float[3 * F];
    Arrays.fill(src, F, 2 * F, 2f);
    int[] seq = {4, 5};
    c.put(seq, src, F); // from an offset
    seq[0] = 9; // the key is copied too
    Arrays.fill(src, -1f);
    assertArrayEquals(state(2), c.longestPrefix(new int[] {4, 5}).state());
    assertEquals(0, c.longestPrefix(new int[] {9, 5}).length());
    c.put(new int[] {4, 5}, state(6), 0);
    assertEquals(1, c.entries());
    assertEquals(StateCache.entryBytes(F, 2), c.bytes());
    assertArrayEquals(state(6), c.longestPrefix(new int[] {4, 5}).state());
  }

  @Test
  void evictsTheLeastRecentlyUsedBeyondItsBytes() {
    long two = 2 * StateCache.entryBytes(F, 1);
    StateCache c = new StateCache(F, two);
    c.put(new int[] {1}, state(1), 0);
    c.put(new int[] {2}, state(2), 0);
    assertEquals(1, c.longestPrefix(new int[] {1, 9}).length()); // 1 is now the most recent
    c.put(new int[] {3}, state(3), 0);
    assertEquals(2, c.entries());
    assertEquals(1, c.evictions);
    assertEquals(two, c.bytes());
    assertEquals(0, c.longestPrefix(new int[] {2}).length(), "the least recently used went");
    assertEquals(1, c.longestPrefix(new int[] {1}).length());
    assertEquals(1, c.longestPrefix(new int[] {3}).length());
    int[] huge = new int[100]; // its ids alone outweigh the cache: not kept, nothing evicted
    huge[0] = 1;
    assertTrue(StateCache.entryBytes(F, huge.length) > two);
    c.put(huge, state(9), 0);
    assertEquals(2, c.entries());
    assertEquals(1, c.longestPrefix(huge).length(), "only the prefix {1} is kept");
    c.clear();
    assertEquals(0, c.entries());
    assertEquals(0, c.bytes());
    assertThrows(IllegalArgumentException.class, () -> new StateCache(F, -1));
  }

  /** Two answers agree: log-probs within ServerTest.TOL, ids rank by rank except at near-ties. */
  static void assertSame(Engine.Next want, Engine.Next got, String msg) {
    assertEquals(want.ids().length, got.ids().length, msg);
    for (int j = 0; j < want.ids().length; j++) {
      float a = want.logProbs()[j];
      assertTrue(Math.abs(a - got.logProbs()[j]) <= ServerTest.TOL, msg + " rank " + j + ": " + a + " vs " + got.logProbs()[j]);
      boolean tie = (j > 0 && want.logProbs()[j - 1] - a <= ServerTest.TOL)
          || (j + 1 < want.ids().length && a - want.logProbs()[j + 1] <= ServerTest.TOL);
      if (!tie) assertEquals(want.ids()[j], got.ids()[j], msg + " rank " + j);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"full", "adaptive"})
  void continuedContextsAnswerAsContextsRunInFull(String head) throws Exception {
    LanguageModel m = ServerTest.model(head), ref = ServerTest.model(head);
    Vocabulary v = ServerTest.vocab();
    int V = v.size(), eos = v.eosId();
    Rng r = new Rng(3);
    try (Engine cached = new Engine(m, v, null, 16, 20, 1 << 20); Engine plain = new Engine(ref, v, null, 16, 20)) {
      assertNull(plain.stateCacheStats());
      // typing: each context extends the previous one by a word, one request at a time
      int[] seq = {eos};
      for (int i = 0; i < 12; i++) {
        seq = Arrays.copyOf(seq, seq.length + 1);
        seq[seq.length - 1] = 1 + r.nextInt(V - 1);
        assertSame(plain.next(seq, 5).get(), cached.next(seq, 5).get(), head + " typing " + i);
      }
      Map<String, Long> s = cached.stateCacheStats();
      assertEquals(12, s.get("lookups"));
      assertEquals(11, s.get("prefix_hits"), "every context after the first continues the previous one");
      assertEquals(0, s.get("whole_hits"));
      assertEquals(2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10 + 11 + 12, s.get("tokens_saved"));
      assertEquals(12, s.get("entries"));
      // the same context again: no LSTM step, the kept state's top layer goes to the head
      assertSame(plain.next(seq, V).get(), cached.next(seq, V).get(), head + " repeated, k = V");
      assertEquals(1, cached.stateCacheStats().get("whole_hits"));
      // one batch mixing fresh contexts, continued ones (from kept prefixes of different lengths) and a repeat
      List<int[]> batch = new ArrayList<>();
      for (int i = 0; i < 24; i++) {
        int keep = switch (i % 4) { case 0 -> 1; case 1 -> 3; case 2 -> 8; default -> seq.length; };
        int[] q = Arrays.copyOf(seq, keep + (i % 4 == 3 && i > 3 ? 0 : 1 + r.nextInt(6)));
        for (int j = keep; j < q.length; j++) q[j] = 1 + r.nextInt(V - 1);
        if (i % 4 == 0) q[0] = eos;
        batch.add(q);
      }
      List<CompletableFuture<Engine.Next>> want = new ArrayList<>(), got = new ArrayList<>();
      for (int[] q : batch) { want.add(plain.next(q, 7)); got.add(cached.next(q, 7)); }
      for (int i = 0; i < batch.size(); i++) assertSame(want.get(i).get(), got.get(i).get(), head + " batch context " + i);
      Map<String, Long> after = cached.stateCacheStats();
      assertTrue(after.get("prefix_hits") - s.get("prefix_hits") >= 12, "the batch continued kept states: " + after);
      assertTrue(after.get("whole_hits") >= 2, "repeats found whole: " + after);
    }
  }

  @Test
  void serverReportsItsStateCacheAndAnswersAsWithoutIt() throws Exception {
    Server s = Server.start(ServerTest.model("adaptive"), ServerTest.vocab(), ServeCommand.GENERATOR,
        Server.Options.defaults().withStateCacheBytes(1 << 20), "test-cached");
    Server plain = Server.start(ServerTest.model("adaptive"), ServerTest.vocab(), ServeCommand.GENERATOR, Server.Options.defaults(), "test-plain");
    try {
      for (String ctx : List.of("the", "the meaning", "the meaning of", "the meaning of life", "the meaning of")) {
        ServerTest.Reply a = ServerTest.post(s, "/v1/next", "{\"context\": " + ServerTest.q(ctx) + ", \"k\": 5}");
        ServerTest.Reply b = ServerTest.post(plain, "/v1/next", "{\"context\": " + ServerTest.q(ctx) + ", \"k\": 5}");
        assertEquals(200, a.status(), a.text());
        ServerTest.assertSameNext(b.json(), a.json(), ctx);
      }
      JsonObject cache = ServerTest.get(s, "/health").json().getAsJsonObject("state_cache");
      assertEquals(5, cache.get("lookups").getAsLong());
      assertEquals(3, cache.get("prefix_hits").getAsLong());
      assertEquals(1, cache.get("whole_hits").getAsLong());
      assertEquals(4, cache.get("entries").getAsLong());
      assertNull(ServerTest.get(plain, "/health").json().get("state_cache"), "off by default in Options");
    } finally {
      s.close();
      plain.close();
    }
  }
}
