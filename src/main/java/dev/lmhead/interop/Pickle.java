package dev.lmhead.interop;

import dev.lmhead.UserError;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A minimal, safe unpickler for the subset of Python's pickle format that {@code torch.save(state_dict)}
 * writes (protocols 2-5): dicts and {@code collections.OrderedDict}, tuples, lists, strings, ints,
 * floats, booleans, None, persistent ids (storages) and the REDUCE of a few whitelisted callables.
 *
 * <p>Nothing is ever executed: a GLOBAL resolves to a {@link Global} record, and REDUCE is only
 * interpreted for {@code collections.OrderedDict}, {@code torch._utils._rebuild_tensor_v2} and
 * {@code torch._utils._rebuild_parameter}; any other callable is an error naming it. Persistent ids
 * are handed to a {@link PersistentLoader} (for torch: the storage tuple
 * {@code ('storage', torch.FloatStorage, key, location, numel)}).
 */
public final class Pickle {
  /** A module-level name the pickle refers to, e.g. {@code torch FloatStorage}. */
  public record Global(String module, String name) {
    @Override public String toString() { return module + "." + name; }
  }

  /** The arguments of {@code torch._utils._rebuild_tensor_v2}: a view of a storage. */
  public record TensorRef(Object storage, long offset, long[] size, long[] stride) {}

  /** Resolves a persistent id (the object of BINPERSID). */
  @FunctionalInterface
  public interface PersistentLoader { Object load(Object pid); }

  private static final Object MARK = new Object();

  private final ByteBuffer in;
  private final String where;
  private final PersistentLoader loader;
  private final ArrayList<Object> stack = new ArrayList<>();
  private final ArrayList<Integer> marks = new ArrayList<>();
  private final Map<Long, Object> memo = new HashMap<>();

  private Pickle(byte[] data, String where, PersistentLoader loader) {
    this.in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
    this.where = where;
    this.loader = loader;
  }

  /** Unpickles {@code data}; errors are one-line {@link UserError}s naming {@code where}. */
  public static Object load(byte[] data, String where, PersistentLoader loader) {
    try {
      return new Pickle(data, where, loader).run();
    } catch (java.nio.BufferUnderflowException | IndexOutOfBoundsException | ClassCastException e) {
      throw new UserError(where + ": malformed pickle (" + e.getClass().getSimpleName() + ")");
    }
  }

  private UserError bad(String msg) { return new UserError(where + ": " + msg); }

  private Object pop() { return stack.remove(stack.size() - 1); }

  private Object top() { return stack.get(stack.size() - 1); }

  private List<Object> popMark() {
    if (marks.isEmpty()) throw bad("malformed pickle (no MARK)");
    int m = marks.remove(marks.size() - 1);
    List<Object> items = new ArrayList<>(stack.subList(m, stack.size()));
    while (stack.size() > m) pop();
    return items;
  }

  private String utf8(int n) {
    if (n < 0 || n > in.remaining()) throw bad("malformed pickle (string length " + n + ")");
    byte[] b = new byte[n];
    in.get(b);
    return new String(b, StandardCharsets.UTF_8);
  }

  private String line() {
    StringBuilder b = new StringBuilder();
    for (byte c; (c = in.get()) != '\n'; ) b.append((char) (c & 0xff));
    return b.toString();
  }

  private Object run() {
    while (true) {
      int op = in.get() & 0xff;
      switch (op) {
        case 0x80 -> in.get();                           // PROTO
        case 0x95 -> in.getLong();                       // FRAME
        case '.' -> {                                    // STOP
          if (stack.size() != 1) throw bad("malformed pickle (stack holds " + stack.size() + " objects at STOP)");
          return pop();
        }
        case '(' -> marks.add(stack.size());             // MARK
        case ')' -> stack.add(new Tuple(List.of()));     // EMPTY_TUPLE
        case 't' -> stack.add(new Tuple(popMark()));     // TUPLE
        case 0x85 -> stack.add(new Tuple(List.of(pop())));
        case 0x86 -> { Object b = pop(), a = pop(); stack.add(new Tuple(List.of(a, b))); }
        case 0x87 -> { Object c = pop(), b = pop(), a = pop(); stack.add(new Tuple(List.of(a, b, c))); }
        case ']' -> stack.add(new ArrayList<>());        // EMPTY_LIST
        case 'l' -> stack.add(new ArrayList<>(popMark())); // LIST
        case 'a' -> { Object v = pop(); list(top()).add(v); }   // APPEND
        case 'e' -> { List<Object> items = popMark(); list(top()).addAll(items); } // APPENDS
        case '}' -> stack.add(new LinkedHashMap<>());    // EMPTY_DICT
        case 'd' -> {                                    // DICT
          List<Object> items = popMark();
          Map<Object, Object> m = new LinkedHashMap<>();
          for (int i = 0; i + 1 < items.size(); i += 2) m.put(items.get(i), items.get(i + 1));
          stack.add(m);
        }
        case 's' -> { Object v = pop(), k = pop(); dict(top()).put(k, v); } // SETITEM
        case 'u' -> {                                    // SETITEMS
          List<Object> items = popMark();
          Map<Object, Object> m = dict(top());
          for (int i = 0; i + 1 < items.size(); i += 2) m.put(items.get(i), items.get(i + 1));
        }
        case 'N' -> stack.add(null);                     // NONE
        case 0x88 -> stack.add(Boolean.TRUE);            // NEWTRUE
        case 0x89 -> stack.add(Boolean.FALSE);           // NEWFALSE
        case 'K' -> stack.add((long) (in.get() & 0xff)); // BININT1
        case 'M' -> stack.add((long) (in.getShort() & 0xffff)); // BININT2
        case 'J' -> stack.add((long) in.getInt());       // BININT
        case 0x8a -> {                                   // LONG1
          int n = in.get() & 0xff;
          if (n > 8) throw bad("integer too large in pickle (" + n + " bytes)");
          long v = 0;
          for (int i = 0; i < n; i++) v |= (long) (in.get() & 0xff) << (8 * i);
          if (n > 0 && n < 8 && (v & (1L << (8 * n - 1))) != 0) v -= 1L << (8 * n); // sign
          stack.add(v);
        }
        case 'I' -> {                                    // INT (text)
          String s = line();
          stack.add(s.equals("01") ? Boolean.TRUE : s.equals("00") ? Boolean.FALSE : Long.parseLong(s));
        }
        case 'G' -> stack.add(Double.longBitsToDouble(Long.reverseBytes(in.getLong()))); // BINFLOAT (big-endian)
        case 'X' -> stack.add(utf8(in.getInt())); // BINUNICODE
        case 0x8c -> stack.add(utf8(in.get() & 0xff));   // SHORT_BINUNICODE
        case 0x8d -> stack.add(utf8(Math.toIntExact(in.getLong()))); // BINUNICODE8
        case 'U' -> stack.add(utf8(in.get() & 0xff));    // SHORT_BINSTRING
        case 'T' -> stack.add(utf8(in.getInt()));        // BINSTRING
        case 'C' -> { byte[] b = new byte[in.get() & 0xff]; in.get(b); stack.add(b); } // SHORT_BINBYTES
        case 'B' -> { byte[] b = new byte[in.getInt()]; in.get(b); stack.add(b); }      // BINBYTES
        case 'q' -> memo.put((long) (in.get() & 0xff), top());   // BINPUT
        case 'r' -> memo.put(in.getInt() & 0xffffffffL, top());  // LONG_BINPUT
        case 0x94 -> memo.put((long) memo.size(), top());        // MEMOIZE
        case 'p' -> memo.put(Long.parseLong(line()), top());     // PUT
        case 'h' -> stack.add(get(in.get() & 0xff));             // BINGET
        case 'j' -> stack.add(get(in.getInt() & 0xffffffffL));   // LONG_BINGET
        case 'g' -> stack.add(get(Long.parseLong(line())));      // GET
        case 'c' -> { String mod = line(); stack.add(new Global(mod, line())); } // GLOBAL
        case 0x93 -> { Object n = pop(), m = pop(); stack.add(new Global((String) m, (String) n)); } // STACK_GLOBAL
        case 'Q' -> {                                    // BINPERSID
          if (loader == null) throw bad("pickle refers to external data (persistent id) but none is available");
          stack.add(loader.load(pop()));
        }
        case 'R' -> { Object args = pop(), fn = pop(); stack.add(reduce(fn, args)); } // REDUCE
        case 0x81 -> { Object args = pop(), cls = pop(); stack.add(reduce(cls, args)); } // NEWOBJ
        case 'b' -> {                                    // BUILD: object state; dicts keep theirs (OrderedDict._metadata)
          pop();
          if (!(top() instanceof Map) && !(top() instanceof TensorRef)) throw bad("unsupported BUILD on " + describe(top()));
        }
        default -> throw bad(String.format("unsupported pickle opcode 0x%02x at byte %d (not a PyTorch state dict?)", op, in.position() - 1));
      }
    }
  }

  private Object get(long key) {
    if (!memo.containsKey(key)) throw bad("malformed pickle (memo key " + key + " unset)");
    return memo.get(key);
  }

  /** A Python tuple (distinguished from lists only for messages). */
  public record Tuple(List<Object> items) {
    public Object get(int i) { return items.get(i); }
    public int size() { return items.size(); }
  }

  @SuppressWarnings("unchecked")
  private List<Object> list(Object o) {
    if (o instanceof List<?> l) return (List<Object>) l;
    throw bad("malformed pickle (APPEND to " + describe(o) + ")");
  }

  @SuppressWarnings("unchecked")
  private Map<Object, Object> dict(Object o) {
    if (o instanceof Map<?, ?> m) return (Map<Object, Object>) m;
    throw bad("malformed pickle (SETITEM on " + describe(o) + ")");
  }

  private Object reduce(Object fn, Object argsObj) {
    if (!(fn instanceof Global g)) throw bad("malformed pickle (call of " + describe(fn) + ")");
    if (!(argsObj instanceof Tuple args)) throw bad("malformed pickle (arguments of " + g + " are " + describe(argsObj) + ")");
    switch (g.toString()) {
      case "collections.OrderedDict", "builtins.dict", "__builtin__.dict" -> {
        return new LinkedHashMap<>();
      }
      case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor" -> {
        if (args.size() < 4) throw bad("malformed tensor in pickle (" + args.size() + " arguments)");
        return new TensorRef(args.get(0), asLong(args.get(1)), longs(args.get(2)), longs(args.get(3)));
      }
      case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state" -> {
        return args.get(0); // a Parameter is its tensor here
      }
      default -> throw bad("unsupported object " + g + " in pickle (only a state dict of tensors can be read: "
          + "save model.state_dict(), not the model)");
    }
  }

  private long asLong(Object o) {
    if (o instanceof Long l) return l;
    throw bad("malformed tensor in pickle (expected an integer, got " + describe(o) + ")");
  }

  private long[] longs(Object o) {
    if (!(o instanceof Tuple t)) throw bad("malformed tensor in pickle (expected a tuple, got " + describe(o) + ")");
    long[] r = new long[t.size()];
    for (int i = 0; i < r.length; i++) r[i] = asLong(t.get(i));
    return r;
  }

  static String describe(Object o) {
    if (o == null) return "None";
    if (o instanceof Global g) return g.toString();
    if (o instanceof Tuple) return "a tuple";
    if (o instanceof Map) return "a dict";
    if (o instanceof List) return "a list";
    return "a " + o.getClass().getSimpleName();
  }
}
