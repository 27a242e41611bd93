package dev.streamlearn.core.features;

import java.util.HashMap;

/**
 * What the featurizer has learned so far, from training examples only. Public fields and arrays, so
 * Flink keeps it as a POJO in state; sketches are kept serialized, so a restore rebuilds exactly
 * the sketch that was checkpointed.
 *
 * <p>Per raw numeric slot: Welford count, mean and squared deviations, minimum and maximum, the
 * quantiles read from the KLL sketch at the last refresh, and the parameters the vector is computed
 * with (fill value, outlier bounds, center and divisor). Per raw text slot: the one-hot vocabulary,
 * the frequency sketch and the most frequent value.
 */
public class FeaturizerState {
  public long[] count;
  public double[] mean;
  public double[] m2;
  public double[] min;
  public double[] max;

  /** Per numeric slot, {@link Featurizer#QUANTILES} as read at the last refresh; NaN before. */
  public double[] quantiles;

  public double[] fill;
  public double[] low;
  public double[] high;
  public double[] center;
  public double[] divisor;

  /** KLL sketches, serialized; empty where the slot keeps none. */
  public byte[][] quantileSketches;

  /** One-hot vocabularies, all features' slots end to end; null where a slot is still free. */
  public String[] vocabulary;

  /** Per text slot: how many vocabulary entries are taken. */
  public int[] vocabularyUsed;

  /** Frequent-items sketches, serialized; empty where the slot keeps none. */
  public byte[][] frequencySketches;

  /** Per text slot: the most frequent value at the last refresh; null before. */
  public String[] mostFrequent;

  /** Raw values of training examples since the last refresh, for the sketches and vocabularies. */
  public double[] pendingNumeric;

  public String[] pendingText;
  public int pendingRows;

  /** How often each cleaning or encoding rule acted; indexed like {@link Featurizer#COUNTERS}. */
  public long[] counters;

  /** PCA features: examples seen, running means of the inputs, component estimates (k × d). */
  public long[] pcaCount;

  public double[] pcaMean;
  public double[] pcaVectors;

  /** Regression: running statistics of the label, which the network learns standardized. */
  public long targetCount;

  public double targetMean;
  public double targetM2;

  /** Vocabulary lookups, rebuilt from {@link #vocabulary} when missing (not part of the state). */
  transient HashMap<String, Integer>[] vocabularyIndex;

  public FeaturizerState() {}
}
