package dev.streamlearn.operators;

import dev.streamlearn.core.data.LabelJoin;
import dev.streamlearn.core.serve.ScoredEvent;
import dev.streamlearn.core.spec.PipelineSpec;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * The scoring job's half of labels that arrive later: keyed by event id, a prediction made without
 * a label waits for the label from {@code source.labels.topic} (or the label for the prediction),
 * by the rules of the training job's join ({@link LabelJoin}: {@code source.labels.max-wait} of the
 * other topic's event time). A match counts the prediction as scored with a label, and right when
 * it named the label's class, so the scoring job's accuracy covers labels that came late. Nothing
 * is written: the predictions went out when they were made.
 */
public final class JudgePredictions extends KeyedProcessFunction<String, ScoredEvent, Void> {

  private final LabelJoin rules;
  private transient ValueState<ScoredEvent> waiting;
  private transient Counter withLabel;
  private transient Counter right;
  private transient Counter matched;
  private transient Counter unmatched;
  private transient long predictionsReadUntil;
  private transient long labelsReadUntil;

  public JudgePredictions(PipelineSpec.Source source) {
    if (!source.labelsFollow()) {
      throw new IllegalArgumentException("the spec names no source.labels to judge with");
    }
    this.rules =
        new LabelJoin(
            source.labels().maxWait(), source.labels().topic(), source.maxOutOfOrderness());
  }

  @Override
  public void open(OpenContext openContext) {
    waiting =
        getRuntimeContext()
            .getState(new ValueStateDescriptor<>("waiting", TypeInformation.of(ScoredEvent.class)));
    var metrics = getRuntimeContext().getMetricGroup();
    withLabel = PipelineCounters.counter(metrics, PipelineCounters.SCORED_WITH_LABEL);
    right = PipelineCounters.counter(metrics, PipelineCounters.PREDICTED_RIGHT);
    matched = PipelineCounters.counter(metrics, PipelineCounters.SCORING_LABELS_MATCHED);
    unmatched = PipelineCounters.counter(metrics, PipelineCounters.SCORING_LABELS_UNMATCHED);
    predictionsReadUntil = Long.MIN_VALUE;
    labelsReadUntil = Long.MIN_VALUE;
  }

  @Override
  public void processElement(ScoredEvent event, Context context, Collector<Void> out)
      throws Exception {
    if (event.labelOnly) {
      labelsReadUntil = Math.max(labelsReadUntil, event.timestamp);
    } else {
      predictionsReadUntil = Math.max(predictionsReadUntil, event.timestamp);
    }
    ScoredEvent held = waiting.value();
    if (held == null) {
      waiting.update(event.labelOnly ? event : compact(event));
      context.timerService().registerEventTimeTimer(rules.deadline(event.timestamp));
      return;
    }
    if (held.labelOnly == event.labelOnly) {
      if (event.labelOnly) {
        unmatched.inc(); // a repeated label
      }
      return; // a repeated event: its first prediction is the one judged
    }
    waiting.clear();
    if (context.timerService().currentWatermark() < rules.deadline(held.timestamp)) {
      context.timerService().deleteEventTimeTimer(rules.deadline(held.timestamp));
    }
    ScoredEvent prediction = event.labelOnly ? held : event;
    ScoredEvent label = event.labelOnly ? event : held;
    matched.inc();
    withLabel.inc();
    if (label.label != null && label.label.equals(prediction.prediction)) {
      right.inc();
    }
  }

  @Override
  public void onTimer(long timestamp, OnTimerContext context, Collector<Void> out)
      throws Exception {
    ScoredEvent held = waiting.value();
    if (held == null || rules.deadline(held.timestamp) > timestamp) {
      return;
    }
    boolean inputEnded = context.timerService().currentWatermark() == Long.MAX_VALUE;
    long other = held.labelOnly ? predictionsReadUntil : labelsReadUntil;
    if (!inputEnded && !rules.mayGiveUp(held.timestamp, other)) {
      context.timerService().registerEventTimeTimer(rules.recheckAfter(timestamp));
      return;
    }
    waiting.clear();
    if (held.labelOnly) {
      unmatched.inc();
    }
  }

  /** What a prediction needs kept to be judged: its time and its class. */
  private static ScoredEvent compact(ScoredEvent prediction) {
    ScoredEvent kept = new ScoredEvent();
    kept.id = prediction.id;
    kept.timestamp = prediction.timestamp;
    kept.prediction = prediction.prediction;
    kept.value = prediction.value;
    return kept;
  }
}
