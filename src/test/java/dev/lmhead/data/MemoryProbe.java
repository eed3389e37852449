package dev.lmhead.data;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Run in a child JVM with a small -Xmx by {@link BoundedMemoryTest} (and by hand for big files):
 * {@code MemoryProbe vocab FILE} counts the vocabulary of FILE with the streaming reader and prints
 * {@code size=<vocab size> tokens=<tokens incl. <eos>> peakHeapMiB=<sum of heap pools' peaks, garbage
 * included> liveAfterGcMiB=<heap in use after a full GC, vocabulary still reachable>};
 * {@code MemoryProbe naive FILE} reads FILE as one String first (the control that must run out of heap).
 */
public final class MemoryProbe {
  public static void main(String[] args) throws Exception {
    Path f = Path.of(args[1]);
    long t0 = System.nanoTime();
    if (args[0].equals("naive")) {
      String s = Files.readString(f);
      System.out.println("chars=" + s.length());
      return;
    }
    Vocabulary v = Vocabulary.build(f, 0, 0);
    long total = 0;
    for (long c : v.counts()) total += c;
    long peak = 0;
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP && p.getPeakUsage() != null) peak += p.getPeakUsage().getUsed();
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    System.gc();
    Runtime rt = Runtime.getRuntime();
    long live = rt.totalMemory() - rt.freeMemory(); // after a full GC, with the vocabulary still reachable
    System.out.printf("size=%d tokens=%d peakHeapMiB=%.1f liveAfterGcMiB=%.1f seconds=%.2f maxHeapMiB=%.0f%n", v.size(),
        total, peak / 1048576.0, live / 1048576.0, seconds, rt.maxMemory() / 1048576.0);
    if (v.size() < 0) System.out.println(v); // keep v reachable through the measurement
  }
}
