package dev.streamlearn.core.drift;

/**
 * The state of a drift detector, as public fields so it lives in Flink state with the trainer:
 * Page-Hinkley's running sums, and ADWIN's exponential histogram of buckets (newest first).
 */
public class DriftState {
  /** Errors seen in all; Page-Hinkley's errors since its last alarm. */
  public long count;

  public long sinceRestart;
  public double mean;
  public double cumulative;
  public double minimum;

  public int buckets;
  public long[] bucketSize = new long[0];
  public double[] bucketTotal = new double[0];
  public double[] bucketVariance = new double[0];
  public long width;
  public double total;
  public double variance;
  public long sinceCheck;

  /** Drifts detected so far, and the event count at the last one. */
  public long detections;

  public long lastDetectionAt = -1;

  public DriftState() {}
}
