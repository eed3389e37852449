package dev.lmhead.train;

import dev.lmhead.TestData;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/** A small corpus folder cut from the shipped PTB: consecutive lines for train, valid, test. */
final class TinyCorpus {
  private TinyCorpus() {}

  static Path write(Path dir, int trainLines, int validLines, int testLines) throws IOException {
    Path ptb = TestData.root().resolve("data/ptb/train.txt.gz");
    List<String> lines = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(Files.newInputStream(ptb)), StandardCharsets.UTF_8))) {
      for (String l; lines.size() < trainLines + validLines + testLines && (l = r.readLine()) != null; ) lines.add(l);
    }
    Files.createDirectories(dir);
    Files.write(dir.resolve("train.txt"), lines.subList(0, trainLines));
    Files.write(dir.resolve("valid.txt"), lines.subList(trainLines, trainLines + validLines));
    Files.write(dir.resolve("test.txt"), lines.subList(trainLines + validLines, trainLines + validLines + testLines));
    return dir;
  }
}
