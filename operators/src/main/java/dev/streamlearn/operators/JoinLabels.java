package dev.streamlearn.operators;

import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.LabelJoin;
import dev.streamlearn.core.spec.PipelineSpec;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Joins events sent without a label with their labels from {@code source.labels.topic}, keyed by
 * event id ({@link JoinByEventId}); the pair goes on as the event with the label, at the later of
 * the two times. What waits in vain is dead-lettered with the reason. Events that carry their own
 * label pass straight on. A second label while one waits is dead-lettered; a second event while one
 * waits counts as deduplicated. A label that comes after its event was labeled waits in vain, like
 * an orphan.
 */
public final class JoinLabels extends JoinByEventId<Example, Example> {

  /** Given-up events and labels, on their way to the dead-letter topic. */
  public static final OutputTag<Refusal> REFUSED = DecodeEvents.REFUSED;

  public static final String STAGE = "join-labels";

  private final String eventsTopic;
  private final String labelsTopic;
  private transient Counter joined;
  private transient Counter labelsDeadLettered;
  private transient Counter eventsDeadLettered;
  private transient Counter deduplicated;
  private transient Histogram labelDelay;

  public JoinLabels(PipelineSpec.Source source) {
    super(source, ExampleSerializer.TYPE);
    this.eventsTopic = source.topic();
    this.labelsTopic = source.labels().topic();
  }

  @Override
  public void open(OpenContext openContext) {
    super.open(openContext);
    var metrics = getRuntimeContext().getMetricGroup();
    joined = counters.counter(metrics, PipelineCounters.LABELS_JOINED);
    labelsDeadLettered = counters.counter(metrics, PipelineCounters.LABELS_DEAD_LETTERED);
    eventsDeadLettered = counters.counter(metrics, PipelineCounters.DEAD_LETTERED);
    deduplicated = counters.counter(metrics, PipelineCounters.DEDUPLICATED);
    labelDelay =
        metrics
            .addGroup(PipelineCounters.GROUP)
            .histogram(PipelineCounters.LABEL_DELAY, new DescriptiveStatisticsHistogram(100_000));
    metrics
        .addGroup(PipelineCounters.GROUP)
        .<Long, Gauge<Long>>gauge(PipelineCounters.LABELS_BEHIND, this::labelsBehindMillis);
  }

  @Override
  boolean isLabel(Example example) {
    return example.labelOnly;
  }

  @Override
  long timeOf(Example example) {
    return example.timestamp;
  }

  @Override
  boolean complete(Example event, Collector<Example> out) {
    if (event.awaitsLabel()) {
      return false;
    }
    out.collect(event);
    return true;
  }

  @Override
  Example kept(Example example) {
    return example;
  }

  @Override
  void joined(Example event, Example label, Collector<Example> out) {
    joined.inc();
    labelDelay.update(Math.max(0, label.timestamp - event.timestamp));
    out.collect(LabelJoin.join(event, label));
  }

  @Override
  void repeated(Example example, Context context) {
    if (example.labelOnly) {
      labelsDeadLettered.inc();
      context.output(REFUSED, Refusal.of(example, labelsTopic, STAGE, LabelJoin.repeated(example)));
    } else {
      deduplicated.inc();
    }
  }

  @Override
  void gaveUp(Example waited, boolean inputEnded, OnTimerContext context) {
    String reason = rules.expired(waited, inputEnded);
    if (waited.labelOnly) {
      labelsDeadLettered.inc();
      context.output(REFUSED, Refusal.of(waited, labelsTopic, STAGE, reason));
    } else {
      eventsDeadLettered.inc();
      context.output(REFUSED, Refusal.of(waited, eventsTopic, STAGE, reason));
    }
  }
}
