package dev.streamlearn.core.spec;

import java.io.Serializable;
import java.time.Duration;
import java.util.List;

/**
 * Everything about one pipeline, as validated from its YAML file. Records are immutable and
 * serializable, so operators can carry them.
 *
 * @param specHash sha256 of the spec's canonical form, recorded in every manifest
 */
public record PipelineSpec(
    String name,
    Source source,
    Label label,
    List<Feature> features,
    Dedup dedup,
    Holdout holdout,
    Model model,
    Training training,
    String backend,
    Validation validation,
    Publish publish,
    Store store,
    Checkpoint checkpoint,
    String specHash)
    implements Serializable {

  /**
   * Where events come from.
   *
   * @param startingOffsets earliest, latest or committed (committed falls back to earliest)
   * @param bounded read up to the offsets at start, then finish (files, backfills)
   */
  public record Source(
      String bootstrapServers,
      String topic,
      String groupId,
      String startingOffsets,
      boolean bounded,
      String deadLetterTopic,
      Duration maxOutOfOrderness,
      int maxRecordBytes)
      implements Serializable {}

  /**
   * The label and the learning task.
   *
   * @param task binary (multiclass and regression arrive with the training issue)
   * @param classes class names in label order (negative first); empty means numeric labels 0 and 1
   */
  public record Label(String task, List<String> classes) implements Serializable {}

  /**
   * One input field.
   *
   * @param type numeric or categorical
   * @param clipStd numeric: standardized values are clipped to plus or minus this many deviations
   * @param hashBuckets categorical: values are hashed into this many one-hot buckets
   */
  public record Feature(String name, String type, double clipStd, int hashBuckets)
      implements Serializable {
    public static final String NUMERIC = "numeric";
    public static final String CATEGORICAL = "categorical";

    public boolean isNumeric() {
      return NUMERIC.equals(type);
    }
  }

  /** Drop events whose id was seen within {@code ttl}. */
  public record Dedup(boolean enabled, Duration ttl) implements Serializable {}

  /** Events whose id hashes below {@code fraction} are held out: scored, never learned from. */
  public record Holdout(double fraction) implements Serializable {}

  /** The model: logistic (more types arrive with the training issue). */
  public record Model(String type) implements Serializable {}

  /** Mini-batch SGD. */
  public record Training(int batchSize, double learningRate, double l2, long seed)
      implements Serializable {}

  /** Each candidate is validated on the most recent {@code windowEvents} held-out events. */
  public record Validation(int windowEvents) implements Serializable {}

  /** A version is published every {@code everyEvents} trained events, and at end of input. */
  public record Publish(long everyEvents) implements Serializable {}

  /** The model store: {@code file:///dir} or a directory path. */
  public record Store(String uri) implements Serializable {}

  /** Flink checkpointing; {@code interval} zero turns it off. */
  public record Checkpoint(Duration interval) implements Serializable {}

  public int numericCount() {
    return (int) features.stream().filter(Feature::isNumeric).count();
  }

  public int categoricalCount() {
    return features.size() - numericCount();
  }
}
