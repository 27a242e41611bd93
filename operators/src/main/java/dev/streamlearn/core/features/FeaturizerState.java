package dev.streamlearn.core.features;

import java.util.Arrays;

/**
 * What the featurizer has learned so far: per numeric field, the count, mean and sum of squared
 * deviations (Welford). Public arrays so Flink keeps it as a POJO in state.
 */
public class FeaturizerState {
  public long[] count;
  public double[] mean;
  public double[] m2;

  /** Regression: running statistics of the label, which the network learns standardized. */
  public long targetCount;

  public double targetMean;
  public double targetM2;

  public FeaturizerState() {}

  public static FeaturizerState empty(int numericFields) {
    FeaturizerState state = new FeaturizerState();
    state.count = new long[numericFields];
    state.mean = new double[numericFields];
    state.m2 = new double[numericFields];
    return state;
  }

  public FeaturizerState copy() {
    FeaturizerState copy = new FeaturizerState();
    copy.count = Arrays.copyOf(count, count.length);
    copy.mean = Arrays.copyOf(mean, mean.length);
    copy.m2 = Arrays.copyOf(m2, m2.length);
    copy.targetCount = targetCount;
    copy.targetMean = targetMean;
    copy.targetM2 = targetM2;
    return copy;
  }
}
