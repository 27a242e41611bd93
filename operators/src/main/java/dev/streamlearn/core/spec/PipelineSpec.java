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
   * @param task binary, multiclass or regression
   * @param classes class names in label order (binary: negative first; empty means numeric labels 0
   *     and 1); multiclass needs them; regression has none
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

  /**
   * The model: logistic (binary), softmax (multiclass), linear (regression) or mlp (any task).
   *
   * @param loss bce, ce, mse or huber, chosen to fit the task
   * @param warmStart where to start from instead of a fresh initialization; null for none
   */
  public record Model(
      String type,
      List<Integer> hiddenLayers,
      String activation,
      double dropout,
      String loss,
      double huberDelta,
      WarmStart warmStart)
      implements Serializable {}

  /**
   * Start from a published version: {@code version} is a number, {@code latest} or another alias.
   */
  public record WarmStart(String storeUri, String model, String version) implements Serializable {}

  /**
   * Mini-batch training.
   *
   * @param maxBatchDelay a batch closes after this long even when not full; zero waits for a full
   *     batch (and keeps batch boundaries, so results, independent of timing)
   */
  public record Training(
      int batchSize,
      Duration maxBatchDelay,
      dev.streamlearn.core.optim.LearningRateSchedule schedule,
      dev.streamlearn.core.optim.OptimizerSettings optimizer,
      long seed)
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
