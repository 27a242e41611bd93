package dev.streamlearn.core.train;

/**
 * What happened in one validation window: its held-out metrics, the champion's on the same events,
 * the control decisions, and the version it became (0 if none). Plain fields, so it crosses Flink
 * operators as a POJO; the job writes it to the metrics topic.
 */
public class WindowReport {
  public String model;
  public long windowStart;
  public long windowEnd;
  public long trained;
  public long heldOut;

  /** The validation metric's name and the candidate's and champion's values (NaN when absent). */
  public String metric;

  public double candidateValue;
  public double championValue;

  /** The candidate's window metrics, as JSON. */
  public String metricsJson;

  /** Events that counted in this window because their own had closed when they arrived. */
  public long late;

  /**
   * How far each raw input's distribution moved from the window before (population stability index,
   * see {@link dev.streamlearn.core.metrics.InputDrift}), as a JSON object; {@code {}} when either
   * window was too small or had nothing held out.
   */
  public String inputDriftJson = "{}";

  public long publishedVersion;
  public boolean championMoved;
  public boolean challengerPromoted;
  public long driftDetections;
  public double learningRateScale;
  public boolean stopped;

  public WindowReport() {}
}
