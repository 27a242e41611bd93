package dev.streamlearn.core.data;

/**
 * A labeled event after decoding and cleaning, ready for featurizing. Plain public fields and
 * arrays, so Flink serializes it as a POJO.
 */
public class Example {
  /** The event id. */
  public String id;

  /** Event time, epoch milliseconds. */
  public long timestamp;

  /**
   * Binary: 0 or 1; multiclass: the class index; regression: the value. NaN: not known yet (an
   * event that waits for its label from {@code source.labels}).
   */
  public double label;

  public float weight = 1f;

  /** The spec's numeric features, in spec order; NaN where the value is missing. */
  public double[] numeric;

  /** The spec's categorical features, in spec order; null where the value is missing. */
  public String[] categorical;

  /** Where the event was read, for lineage. */
  public int partition;

  public long offset;

  /** When the record reached Kafka (its timestamp), for latency measurements. */
  public long ingestTime;

  /**
   * With hyper-parameter candidates, the index of the candidate this copy of the event trains
   * ({@link ModelRouter#copyFor}); 0 otherwise.
   */
  public int candidate;

  /**
   * Whether this copy of the event counts it (as trained or held out): true but for the other
   * copies of an event copied for several candidates, where exactly one counts ({@link
   * ModelRouter#countsEvent}).
   */
  public boolean countsEvent = true;

  /**
   * Not an event but the label of event {@link #id}, read from {@code source.labels.topic}: {@link
   * #label}, {@link #timestamp} (when it became known) and where it was read; no features.
   */
  public boolean labelOnly;

  public Example() {}

  /** An event that waits for its label to arrive from the labels topic. */
  public boolean awaitsLabel() {
    return !labelOnly && Double.isNaN(label);
  }
}
