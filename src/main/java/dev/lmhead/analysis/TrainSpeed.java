package dev.lmhead.analysis;

import dev.lmhead.data.BpttBatcher;
import dev.lmhead.model.LanguageModel;
import dev.lmhead.tensor.Rng;
import dev.lmhead.train.Optimizer;

/**
 * End-to-end training speed: times {@code steps} training windows (forward, backward, clipping, SGD
 * update) after {@code warmup} windows, exactly what the PyTorch peer script times.
 */
public final class TrainSpeed {
  private TrainSpeed() {}

  public record Result(long tokens, double seconds, double lastLoss) {
    public double tokensPerSecond() { return tokens / seconds; }
  }

  public static Result measure(LanguageModel m, int[] train, int batch, int bptt, int warmup, int steps,
                               double lr, double clip, long seed) {
    BpttBatcher b = new BpttBatcher(train, batch);
    int[] in = new int[batch * bptt], tg = new int[batch * bptt];
    Rng rng = new Rng(seed);
    Optimizer sgd = Optimizer.create("sgd", m.parameters(), 0f);
    m.resetState(batch);
    long tokens = 0, t0 = 0;
    double loss = Double.NaN;
    for (int s = 0; s < warmup + steps; s++) {
      if (s == warmup) t0 = System.nanoTime();
      int T = b.next(bptt, in, tg);
      if (T == 0) { b.reset(); T = b.next(bptt, in, tg); }
      sgd.zeroGrad();
      loss = m.trainStep(in, tg, T, batch, rng);
      sgd.clipGradNorm(clip);
      sgd.step(lr);
      if (s >= warmup) tokens += (long) T * batch;
    }
    return new Result(tokens, (System.nanoTime() - t0) / 1e9, loss);
  }
}
