package dev.lmhead.interop;

import dev.lmhead.UserError;
import dev.lmhead.tensor.Safetensors;
import dev.lmhead.tensor.Safetensors.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Reads a PyTorch state dict, name → tensor, from either file format PyTorch users exchange:
 * <ul>
 *   <li>{@code .safetensors} (any writer; float32, int32 and int64 tensors);</li>
 *   <li>the zip archive of {@code torch.save(model.state_dict(), path)} (PyTorch ≥ 1.6): {@code <root>/data.pkl}
 *       is a pickle of an OrderedDict whose values are {@code torch._utils._rebuild_tensor_v2(storage,
 *       offset, size, stride, ...)} with the storages as persistent ids {@code ('storage', torch.FloatStorage,
 *       key, location, numel)} stored as raw little-endian bytes in {@code <root>/data/<key>}. Float, double,
 *       half and bfloat16 storages are read as float32; views (offsets, strides, storages shared between
 *       tensors, as with tied weights) are materialised as contiguous copies. No Python is involved.</li>
 * </ul>
 * Every error is a one-line {@link UserError} naming the file (and the tensor where there is one).
 */
public final class StateDict {
  private StateDict() {}

  /** The tensors of a state-dict file, in file order; float tensors as F32. */
  public static Map<String, Tensor> read(Path file) {
    byte[] magic = new byte[8];
    int got;
    try (InputStream s = Files.newInputStream(file)) {
      got = s.readNBytes(magic, 0, 8);
    } catch (NoSuchFileException e) {
      throw new UserError(file + ": no such file");
    } catch (IOException e) {
      throw new UserError(file + ": cannot read (" + e.getMessage() + ")");
    }
    if (Files.isDirectory(file)) throw new UserError(file + ": is a folder, expected a state-dict file");
    if (got >= 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4) return readTorchZip(file);
    if (got >= 2 && (magic[0] & 0xff) == 0x80 && magic[1] == 2) {
      throw new UserError(file + ": legacy (pre-1.6) torch.save format; re-save it with a newer PyTorch "
          + "(torch.save(sd, f) writes the zip format by default) or as .safetensors");
    }
    try {
      return Safetensors.read(file).tensors();
    } catch (Safetensors.FormatException e) {
      throw new UserError(e.getMessage() + " (expected a .safetensors file or a torch.save zip)");
    } catch (IOException e) {
      throw new UserError(file + ": cannot read (" + e.getMessage() + ")");
    }
  }

  /** Reads the zip archive written by {@code torch.save}. */
  public static Map<String, Tensor> readTorchZip(Path file) {
    String where = file.toString();
    try (ZipFile zip = new ZipFile(file.toFile())) {
      ZipEntry pkl = null;
      for (var en = zip.entries(); en.hasMoreElements(); ) {
        ZipEntry e = en.nextElement();
        if (e.getName().equals("data.pkl") || e.getName().endsWith("/data.pkl")) {
          if (pkl == null || e.getName().length() < pkl.getName().length()) pkl = e;
        }
      }
      if (pkl == null) throw new UserError(where + ": zip archive has no data.pkl (not written by torch.save)");
      String root = pkl.getName().substring(0, pkl.getName().length() - "data.pkl".length());
      ZipEntry bo = zip.getEntry(root + "byteorder");
      if (bo != null) {
        String order = new String(zip.getInputStream(bo).readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII).trim();
        if (!order.equals("little")) throw new UserError(where + ": byteorder '" + order + "' is not supported (only little-endian)");
      }
      Map<String, Storage> storages = new HashMap<>();
      Object obj = Pickle.load(readEntry(zip, pkl, where), where + ": " + pkl.getName(), pid -> {
        if (!(pid instanceof Pickle.Tuple t) || t.size() < 5 || !"storage".equals(t.get(0)) || !(t.get(2) instanceof String key)) {
          throw new UserError(where + ": unsupported persistent id in data.pkl (" + Pickle.describe(pid) + ")");
        }
        String type = t.get(1) instanceof Pickle.Global g ? g.name() : String.valueOf(t.get(1));
        return storages.computeIfAbsent(key, k -> {
          ZipEntry e = zip.getEntry(root + "data/" + k);
          if (e == null) throw new UserError(where + ": storage '" + k + "' (data/" + k + ") is missing from the archive");
          try {
            return new Storage(type, readEntry(zip, e, where));
          } catch (IOException ex) {
            throw new UserError(where + ": cannot read storage '" + k + "' (" + ex.getMessage() + ")");
          }
        });
      });
      if (obj instanceof Map<?, ?> m && m.get("state_dict") instanceof Map<?, ?> inner) obj = inner;
      if (!(obj instanceof Map<?, ?> dict)) throw new UserError(where + ": holds " + Pickle.describe(obj) + ", not a state dict");
      Map<String, Tensor> out = new LinkedHashMap<>();
      for (var e : dict.entrySet()) {
        if (!(e.getKey() instanceof String name)) throw new UserError(where + ": state dict key " + Pickle.describe(e.getKey()) + " is not a string");
        if (!(e.getValue() instanceof Pickle.TensorRef ref)) {
          throw new UserError(where + ": value of '" + name + "' is " + Pickle.describe(e.getValue()) + ", not a tensor (save model.state_dict())");
        }
        out.put(name, materialise(ref, where + ": tensor '" + name + "'"));
      }
      return out;
    } catch (java.util.zip.ZipException e) {
      throw new UserError(where + ": corrupt zip archive (" + e.getMessage() + ")");
    } catch (IOException e) {
      throw new UserError(where + ": cannot read (" + e.getMessage() + ")");
    }
  }

  private static byte[] readEntry(ZipFile zip, ZipEntry e, String where) throws IOException {
    if (e.getSize() > Integer.MAX_VALUE - 8) throw new UserError(where + ": entry " + e.getName() + " is too large");
    try (InputStream s = zip.getInputStream(e)) {
      return s.readAllBytes();
    }
  }

  /** A storage's raw bytes and its element type (FloatStorage, ...). */
  private record Storage(String type, byte[] bytes) {
    int width() {
      return switch (type) {
        case "FloatStorage", "IntStorage" -> 4;
        case "DoubleStorage", "LongStorage" -> 8;
        case "HalfStorage", "BFloat16Storage", "ShortStorage" -> 2;
        case "ByteStorage", "CharStorage", "BoolStorage" -> 1;
        default -> -1;
      };
    }
  }

  private static Tensor materialise(Pickle.TensorRef ref, String ctx) {
    if (!(ref.storage() instanceof Storage st)) throw new UserError(ctx + " has no storage");
    int w = st.width();
    if (w < 0) throw new UserError(ctx + ": unsupported storage type " + st.type());
    long[] size = ref.size(), stride = ref.stride();
    if (size.length != stride.length) throw new UserError(ctx + ": size and stride disagree");
    int[] shape = new int[size.length];
    long numel = 1, maxIndex = ref.offset();
    for (int i = 0; i < size.length; i++) {
      if (size[i] < 0 || size[i] > Integer.MAX_VALUE || stride[i] < 0) throw new UserError(ctx + ": invalid size or stride");
      shape[i] = (int) size[i];
      numel = Math.multiplyExact(numel, size[i]);
      if (size[i] > 0) maxIndex += (size[i] - 1) * stride[i];
    }
    long elements = st.bytes().length / w;
    if (numel > 0 && (ref.offset() < 0 || maxIndex >= elements)) {
      throw new UserError(ctx + ": view reaches element " + maxIndex + " of a storage of " + elements + " (truncated archive?)");
    }
    if (numel > Integer.MAX_VALUE - 8) throw new UserError(ctx + " is too large (" + numel + " elements)");
    ByteBuffer b = ByteBuffer.wrap(st.bytes()).order(ByteOrder.LITTLE_ENDIAN);
    boolean floating = switch (st.type()) { case "FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage" -> true; default -> false; };
    float[] f = floating ? new float[(int) numel] : null;
    long[] l = floating ? null : new long[(int) numel];
    int[] idx = new int[shape.length];
    for (int n = 0; n < numel; n++) {
      long e = ref.offset();
      for (int d = 0; d < idx.length; d++) e += idx[d] * stride[d];
      int pos = (int) (e * w);
      switch (st.type()) {
        case "FloatStorage" -> f[n] = b.getFloat(pos);
        case "DoubleStorage" -> f[n] = (float) b.getDouble(pos);
        case "HalfStorage" -> f[n] = Float.float16ToFloat(b.getShort(pos));
        case "BFloat16Storage" -> f[n] = Float.intBitsToFloat((b.getShort(pos) & 0xffff) << 16);
        case "LongStorage" -> l[n] = b.getLong(pos);
        case "IntStorage" -> l[n] = b.getInt(pos);
        case "ShortStorage" -> l[n] = b.getShort(pos);
        case "ByteStorage", "BoolStorage" -> l[n] = b.get(pos) & 0xff;
        default -> l[n] = b.get(pos);
      }
      for (int d = idx.length - 1; d >= 0; d--) {   // row-major increment
        if (++idx[d] < shape[d]) break;
        idx[d] = 0;
      }
    }
    return floating ? new Tensor("F32", shape, f, null) : new Tensor("I64", shape, null, l);
  }
}
