package dev.lmhead.head;

import dev.lmhead.nn.Parameter;
import dev.lmhead.tensor.Rng;
import java.util.List;

/**
 * What the heads trained by a sampled objective ({@link SampledSoftmax}, {@link NceSoftmax}) share: a
 * {@link FullSoftmax} whose weight and bias they train and through which they evaluate exactly
 * ({@link #logProb}, {@link #targetLogProb}, {@link #topK} are the full softmax's), a proposal or noise
 * distribution Q, and a sampler drawing S ids per training call, shared by all rows, whose state
 * travels with the resume point. Each head's objective is its own {@link #forwardBackwardWithSample}.
 */
abstract class SampledObjective implements OutputLayer {
  final FullSoftmax full;
  /** Q over the V ids: the proposal (sampled softmax) or the noise distribution (NCE). */
  final CandidateSampler proposal;
  /** S draws per training call. */
  final int samples;
  final SampledScores scores;
  final int vocab, dim;
  private Rng sampler;
  private int[] drawn;
  /** When not null, every forwardBackward uses this sample instead of drawing (tests). */
  private int[] fixedSample;

  /** @param what "proposal" or "noise distribution", for the error messages */
  SampledObjective(FullSoftmax full, CandidateSampler proposal, int samples, long samplerSeed, String what, String countName) {
    if (proposal.vocabSize() != full.vocabSize()) {
      throw new IllegalArgumentException(what + " covers " + proposal.vocabSize() + " words, the head " + full.vocabSize());
    }
    if (samples < 1) throw new IllegalArgumentException("number of " + countName + " must be >= 1, got " + samples);
    this.full = full;
    this.proposal = proposal;
    this.samples = samples;
    this.sampler = new Rng(samplerSeed);
    this.vocab = full.vocabSize();
    this.dim = full.inputDim();
    this.scores = new SampledScores(full.weight, full.bias, dim);
    this.drawn = new int[samples];
  }

  @Override public int vocabSize() { return vocab; }
  @Override public int inputDim() { return dim; }
  @Override public List<Parameter> parameters() { return full.parameters(); }

  /** The training objective is not the NLL (evaluation still is exact). */
  @Override public boolean trainingLossIsNll() { return false; }

  /** As {@link FullSoftmax}: the word-LM example's initialisation of the shared weight and bias. */
  @Override public void initLikeWordLanguageModel(float initRange, boolean tied, Rng rng) {
    full.initLikeWordLanguageModel(initRange, tied, rng);
  }

  /** The full softmax trained and evaluated. */
  public FullSoftmax full() { return full; }

  /** The sampler's whole random state (saved with the resume point: a resumed run draws the same samples). */
  @Override public Long samplerState() { return sampler.state(); }

  @Override public void setSamplerState(long state) { this.sampler = Rng.fromState(state); }

  /** Tests: use this sample (ids in [0, V), any length >= 1) in every following call; null to draw again. */
  void fixSample(int[] sample) { this.fixedSample = sample == null ? null : sample.clone(); }

  /** The sample used by the last {@link #forwardBackward} call. */
  int[] lastSample() { return drawn.clone(); }

  @Override
  public double forwardBackward(float[] hidden, int n, int[] targets, float[] gradHidden, Loss loss, float[] rowLoss) {
    loss.validate(targets, n, vocab);
    if (fixedSample != null) {
      drawn = fixedSample.clone();
    } else {
      if (drawn.length != samples) drawn = new int[samples];
      proposal.sample(sampler, samples, drawn);
    }
    return forwardBackwardWithSample(hidden, n, targets, gradHidden, loss, rowLoss, drawn);
  }

  /** The training step with a given sample (ids in [0, V), with repetitions as drawn). */
  abstract double forwardBackwardWithSample(float[] hidden, int n, int[] targets, float[] gradHidden, Loss loss,
                                            float[] rowLoss, int[] sample);

  /** Throws naming the first id of {@code sample} outside [0, V) ({@code what}: "sampled id", "noise id"). */
  void checkSample(int[] sample, String what) {
    for (int id : sample) {
      if (id < 0 || id >= vocab) throw new IllegalArgumentException(what + " " + id + " is outside [0, " + vocab + ")");
    }
  }

  @Override public void targetLogProb(float[] hidden, int n, int[] targets, float[] out) { full.targetLogProb(hidden, n, targets, out); }
  @Override public void logProb(float[] hidden, int n, float[] out) { full.logProb(hidden, n, out); }
  @Override public TopK topK(float[] hidden, int n, int k) { return full.topK(hidden, n, k); }
}
