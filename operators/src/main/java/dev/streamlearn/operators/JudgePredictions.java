package dev.streamlearn.operators;

import dev.streamlearn.core.serve.ScoredEvent;
import dev.streamlearn.core.spec.PipelineSpec;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.util.Collector;

/**
 * The scoring job's half of labels that arrive later: keyed by event id, a prediction made without
 * a label waits for the label from {@code source.labels.topic} (or the label for the prediction),
 * by the rules of the training job's join ({@link JoinByEventId}). A match counts the prediction as
 * scored with a label, and right when it named the label's class, so the scoring job's accuracy
 * covers labels that came late. Nothing is written: the predictions went out when they were made.
 * Labels that match nothing are counted (the training job dead-letters them).
 */
public final class JudgePredictions extends JoinByEventId<ScoredEvent, Void> {

  private transient Counter withLabel;
  private transient Counter right;
  private transient RegressionErrors errors;
  private transient Counter matched;
  private transient Counter unmatched;

  public JudgePredictions(PipelineSpec.Source source) {
    super(source, TypeInformation.of(ScoredEvent.class));
  }

  @Override
  public void open(OpenContext openContext) {
    super.open(openContext);
    var metrics = getRuntimeContext().getMetricGroup();
    withLabel = counters.counter(metrics, PipelineCounters.SCORED_WITH_LABEL);
    right = counters.counter(metrics, PipelineCounters.PREDICTED_RIGHT);
    errors = new RegressionErrors(metrics);
    matched = counters.counter(metrics, PipelineCounters.SCORING_LABELS_MATCHED);
    unmatched = counters.counter(metrics, PipelineCounters.SCORING_LABELS_UNMATCHED);
  }

  @Override
  boolean isLabel(ScoredEvent event) {
    return event.labelOnly;
  }

  @Override
  long timeOf(ScoredEvent event) {
    return event.timestamp;
  }

  @Override
  boolean complete(ScoredEvent prediction, Collector<Void> out) {
    return false; // predictions with their own label were judged when made, and not sent here
  }

  /** What a prediction needs kept to be judged: its id, time and class. */
  @Override
  ScoredEvent kept(ScoredEvent event) {
    if (event.labelOnly) {
      return event;
    }
    ScoredEvent kept = new ScoredEvent();
    kept.id = event.id;
    kept.timestamp = event.timestamp;
    kept.prediction = event.prediction;
    kept.value = event.value;
    return kept;
  }

  @Override
  void joined(ScoredEvent prediction, ScoredEvent label, Collector<Void> out) {
    matched.inc();
    withLabel.inc();
    if (label.label != null && label.label.equals(prediction.prediction)) {
      right.inc();
    }
    errors.judge(prediction, label.label);
  }

  @Override
  void repeated(ScoredEvent event, Context context) {
    if (event.labelOnly) {
      unmatched.inc();
    } // a repeated event: its first prediction is the one judged
  }

  @Override
  void gaveUp(ScoredEvent waited, boolean inputEnded, OnTimerContext context) {
    if (waited.labelOnly) {
      unmatched.inc();
    }
  }
}
