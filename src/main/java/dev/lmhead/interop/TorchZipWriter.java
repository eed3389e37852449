package dev.lmhead.interop;

import dev.lmhead.tensor.Safetensors.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes a float32 state dict in the zip format of {@code torch.save(state_dict, f)}, so that plain
 * {@code torch.load(f)} reads it: {@code archive/data.pkl} (protocol-2 pickle of an OrderedDict of
 * {@code torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())} with persistent
 * ids {@code ('storage', torch.FloatStorage, key, 'cpu', numel)}), {@code archive/data/<key>} (raw
 * little-endian floats), {@code archive/version} and {@code archive/byteorder}. Tensors with equal shape and
 * contents (a tied embedding and decoder) share one storage, as they do in PyTorch.
 */
public final class TorchZipWriter {
  private TorchZipWriter() {}

  public static void write(OutputStream out, Map<String, Tensor> tensors) throws IOException {
    List<float[]> storages = new ArrayList<>();
    List<int[]> shapes = new ArrayList<>();
    ByteArrayOutputStream pkl = new ByteArrayOutputStream();
    pkl.write(new byte[] {(byte) 0x80, 2});
    global(pkl, "collections", "OrderedDict");
    pkl.write(new byte[] {')', 'R', '('});
    for (var e : tensors.entrySet()) {
      Tensor t = e.getValue();
      if (t.f32() == null) throw new IllegalArgumentException("tensor " + e.getKey() + " is not float32");
      int key = -1;
      for (int i = 0; i < storages.size() && key < 0; i++) {
        if (Arrays.equals(shapes.get(i), t.shape()) && Arrays.equals(storages.get(i), t.f32())) key = i;
      }
      if (key < 0) {
        key = storages.size();
        storages.add(t.f32());
        shapes.add(t.shape());
      }
      unicode(pkl, e.getKey());
      global(pkl, "torch._utils", "_rebuild_tensor_v2");
      pkl.write('(');
      pkl.write('(');                                   // persistent id tuple
      unicode(pkl, "storage");
      global(pkl, "torch", "FloatStorage");
      unicode(pkl, Integer.toString(key));
      unicode(pkl, "cpu");
      integer(pkl, t.f32().length);
      pkl.write(new byte[] {'t', 'Q'});                 // TUPLE, BINPERSID
      integer(pkl, 0);                                  // storage offset
      int[] shape = t.shape();
      pkl.write('(');
      for (int s : shape) integer(pkl, s);
      pkl.write('t');
      pkl.write('(');
      long stride = 1;
      long[] strides = new long[shape.length];
      for (int d = shape.length - 1; d >= 0; d--) { strides[d] = stride; stride *= shape[d]; }
      for (long s : strides) integer(pkl, Math.toIntExact(s));
      pkl.write('t');
      pkl.write(0x89);                                  // requires_grad False
      global(pkl, "collections", "OrderedDict");
      pkl.write(new byte[] {')', 'R'});                 // backward_hooks
      pkl.write(new byte[] {'t', 'R'});
    }
    pkl.write(new byte[] {'u', '.'});                   // SETITEMS, STOP

    ZipOutputStream zip = new ZipOutputStream(out);
    stored(zip, "archive/data.pkl", pkl.toByteArray());
    stored(zip, "archive/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
    for (int i = 0; i < storages.size(); i++) {
      float[] f = storages.get(i);
      ByteBuffer b = ByteBuffer.allocate(f.length * 4).order(ByteOrder.LITTLE_ENDIAN);
      b.asFloatBuffer().put(f);
      stored(zip, "archive/data/" + i, b.array());
    }
    stored(zip, "archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
    zip.finish();
  }

  private static void stored(ZipOutputStream zip, String name, byte[] data) throws IOException {
    ZipEntry e = new ZipEntry(name);
    e.setMethod(ZipEntry.STORED);
    e.setSize(data.length);
    e.setCompressedSize(data.length);
    CRC32 crc = new CRC32();
    crc.update(data);
    e.setCrc(crc.getValue());
    zip.putNextEntry(e);
    zip.write(data);
    zip.closeEntry();
  }

  private static void global(ByteArrayOutputStream o, String module, String name) {
    o.write('c');
    o.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
  }

  private static void unicode(ByteArrayOutputStream o, String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    o.write('X');
    o.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array());
    o.writeBytes(b);
  }

  private static void integer(ByteArrayOutputStream o, int v) {
    o.write('J');
    o.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
  }
}
