package dev.lmhead.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lmhead.UserError;
import dev.lmhead.tensor.Safetensors.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTest {
  @TempDir Path dir;

  private Map<String, Tensor> sample() {
    Map<String, Tensor> t = new LinkedHashMap<>();
    t.put("a.weight", Tensor.of(new float[] {1.5f, -2f, 3f, 4f, 5f, 6f}, 2, 3));
    t.put("b", Tensor.ofLong(new long[] {7, 8}, 2));
    return t;
  }

  @Test
  void roundTripKeepsTensorsAndMetadataAndLeavesNoTempFiles() throws Exception {
    Path f = dir.resolve("m.safetensors");
    Checkpoint.saveTensors(f, sample(), Map.of("k", "v"));
    var c = Checkpoint.loadTensors(f);
    assertArrayEquals(new float[] {1.5f, -2f, 3f, 4f, 5f, 6f}, c.get("a.weight").f32());
    assertArrayEquals(new int[] {2, 3}, c.get("a.weight").shape());
    assertArrayEquals(new long[] {7, 8}, c.get("b").i64());
    assertEquals("v", c.metadata().get("k"));
    try (var s = Files.list(dir)) {
      assertEquals(1, s.count(), "temporary files left behind");
    }
  }

  @Test
  void flippedDataByteIsDetectedByTheChecksum() throws Exception {
    Path f = dir.resolve("m.safetensors");
    Checkpoint.saveTensors(f, sample(), Map.of());
    byte[] b = Files.readAllBytes(f);
    b[b.length - 3] ^= 0x10;
    Files.write(f, b);
    var e = assertThrows(UserError.class, () -> Checkpoint.loadTensors(f));
    assertTrue(e.getMessage().startsWith(f + ": checksum mismatch"), e.getMessage());
  }

  @Test
  void truncatedWrongMagicAndHugeHeaderGiveOneLineErrors() throws Exception {
    Path f = dir.resolve("m.safetensors");
    Checkpoint.saveTensors(f, sample(), Map.of());
    byte[] b = Files.readAllBytes(f);
    Path trunc = dir.resolve("t.safetensors");
    Files.write(trunc, java.util.Arrays.copyOf(b, b.length - 10));
    assertMessage(trunc, "outside");
    Path magic = dir.resolve("magic.safetensors");
    Files.write(magic, "PK\u0003\u0004 this is a zip, not a checkpoint".getBytes());
    assertMessage(magic, "not a safetensors file");
    // a header claiming a 2^40-element tensor must not allocate it
    String h = "{\"x\":{\"dtype\":\"F32\",\"shape\":[1048576,1048576],\"data_offsets\":[0,4398046511104]}}";
    ByteBuffer bb = ByteBuffer.allocate(8 + h.length()).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length()).put(h.getBytes());
    Path huge = dir.resolve("huge.safetensors");
    Files.write(huge, bb.array());
    assertMessage(huge, "outside");
    assertMessage(dir.resolve("missing.safetensors"), "not found");
  }

  private static void assertMessage(Path f, String part) {
    var e = assertThrows(UserError.class, () -> Checkpoint.loadTensors(f));
    assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains(part), e.getMessage());
    assertTrue(!e.getMessage().contains("\n"), "multi-line message");
  }

  @Test
  void aFailedWriteNamesTheFileAndKeepsThePreviousOne() throws Exception {
    Path f = dir.resolve("last.safetensors");
    Checkpoint.saveTensors(f, sample(), Map.of());
    byte[] before = Files.readAllBytes(f);
    var e = assertThrows(java.nio.file.FileSystemException.class, () -> Checkpoint.writeAtomically(f, out -> {
      out.write(new byte[100_000]);
      throw new java.io.IOException("No space left on device"); // what a full disk gives, without a path
    }));
    assertEquals(f.toString(), e.getFile());
    assertEquals("cannot write (No space left on device)", e.getReason());
    assertEquals(f + ": cannot write (No space left on device)", e.getMessage());
    assertArrayEquals(before, Files.readAllBytes(f));
    try (var s = Files.list(dir)) {
      assertEquals(1, s.count(), "temporary files left behind");
    }
    // a folder that cannot be created is named as the reason
    Path blocker = Files.writeString(dir.resolve("plain-file"), "x");
    var e2 = assertThrows(java.nio.file.FileSystemException.class,
        () -> Checkpoint.writeAtomically(blocker.resolve("sub").resolve("config.json"), out -> out.write(1)));
    assertEquals(blocker.resolve("sub").resolve("config.json").toString(), e2.getFile());
    assertTrue(e2.getReason().startsWith("cannot write (" + blocker), e2.getReason());
  }
}
