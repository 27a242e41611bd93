package dev.streamlearn.operators;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;

/**
 * The counters that account for every record: read = trained + held out + deduplicated +
 * dead-lettered (once the stream has drained); with a labels topic, also labels read = labels
 * joined + labels dead-lettered. They live in the {@value #GROUP} metric group.
 */
public final class PipelineCounters {

  public static final String GROUP = "streamlearn";
  public static final String READ = "eventsRead";
  public static final String DEAD_LETTERED = "eventsDeadLettered";
  public static final String DEDUPLICATED = "eventsDeduplicated";
  public static final String TRAINED = "eventsTrained";
  public static final String HELD_OUT = "eventsHeldOut";

  /**
   * Records of {@code source.labels.topic}: read, joined with their event (which is then trained on
   * or held out), or dead-lettered (unreadable, repeated, or no event of that id within the wait).
   * An event that waits in vain for its label counts as an event dead-lettered.
   */
  public static final String LABELS_READ = "labelsRead";

  public static final String LABELS_JOINED = "labelsJoined";
  public static final String LABELS_DEAD_LETTERED = "labelsDeadLettered";

  /**
   * Histogram, milliseconds of event time: how long after its event each joined label became known
   * (0 when the label's time is earlier), to set {@code source.labels.max-wait} by.
   */
  public static final String LABEL_DELAY = "labelDelayMs";

  /**
   * Gauge, milliseconds of event time, per join subtask: how far the labels topic is behind the
   * events topic ({@link dev.streamlearn.core.data.LabelJoin#labelsBehind}). Above {@code
   * source.labels.max-wait}, events wait in state for labels that have not been read yet; a labels
   * topic that stopped shows here first.
   */
  public static final String LABELS_BEHIND = "labelsBehindEventsMs";

  /**
   * Events that reached the trainer after their validation window had closed (trained on or held
   * out all the same, in the oldest open window): more than {@code source.max-out-of-orderness} out
   * of order.
   */
  public static final String LATE = "eventsLate";

  /**
   * The scoring job's, named apart from the training job's so both can run side by side: read =
   * scored + dead-lettered; of those scored, how many carried a label and how many of those the
   * model predicted (classification).
   */
  public static final String SCORING_READ = "scoringEventsRead";

  public static final String SCORING_DEAD_LETTERED = "scoringEventsDeadLettered";
  public static final String SCORED = "eventsScored";

  public static final String SCORED_WITH_LABEL = "eventsScoredWithLabel";
  public static final String PREDICTED_RIGHT = "eventsPredictedRight";

  /**
   * Regression: gauges of the labeled predictions judged, and the sums of their absolute and
   * squared errors in label units (see {@code RegressionErrors}).
   */
  public static final String REGRESSION_JUDGED = "regressionPredictionsJudged";

  public static final String REGRESSION_ABSOLUTE_ERROR = "regressionAbsoluteErrorSum";
  public static final String REGRESSION_SQUARED_ERROR = "regressionSquaredErrorSum";

  /**
   * The scoring job's records of the labels topic (with {@code source.labels}): read = matched with
   * the prediction made earlier for the event (which then counts in {@link #SCORED_WITH_LABEL} and,
   * when right, {@link #PREDICTED_RIGHT}) + unmatched (unreadable, repeated, or no prediction of
   * that id within the wait; the training job dead-letters those).
   */
  public static final String SCORING_LABELS_READ = "scoringLabelsRead";

  public static final String SCORING_LABELS_MATCHED = "scoringLabelsMatched";
  public static final String SCORING_LABELS_UNMATCHED = "scoringLabelsUnmatched";

  /** Times the scoring job changed the version it scores with (its alias moved). */
  public static final String VERSIONS_SWAPPED = "versionsSwapped";

  /**
   * Hyper-parameter candidates that stopped training ({@code pruning}), of every segment: a
   * candidate pruned trains on no event after the decision reached the job.
   */
  public static final String CANDIDATES_PRUNED = "candidatesPruned";

  public static final String VERSIONS_PUBLISHED = "versionsPublished";
  public static final String VERSIONS_ALREADY_PUBLISHED = "versionsAlreadyPublished";
  public static final String CURRENT_VERSION = "currentVersion";

  /**
   * Histograms, milliseconds: Kafka timestamp to training step; a version's newest event to its
   * publication.
   */
  public static final String TRAINING_LATENCY = "trainingLatencyMs";

  public static final String VERSION_LATENCY = "versionLatencyMs";

  /** Histogram, milliseconds: the scoring job's Kafka timestamp to prediction made. */
  public static final String SCORING_LATENCY = "scoringLatencyMs";

  /** The featurizer's counters, named {@code features} + the counter's name capitalized. */
  public static String featureCounter(String name) {
    return "features" + Character.toUpperCase(name.charAt(0)) + name.substring(1);
  }

  /**
   * A counter for an operator that keeps no state of its own (the model store's sink): each attempt
   * of a restarted job counts what it did, and a reporter adds the attempts up. Operators with
   * state count through {@link CheckpointedCounters}.
   */
  public static Counter counter(MetricGroup operatorGroup, String name) {
    return operatorGroup.addGroup(GROUP).counter(name);
  }

  /**
   * A counter whose count a restored job takes back from its checkpoint: an attempt after a restart
   * already counts what the attempts before it counted up to that checkpoint, so a reporter takes
   * the latest attempt's value per subtask rather than the sum over attempts.
   */
  public interface Restored extends Counter {}

  private PipelineCounters() {}
}
