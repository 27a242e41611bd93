package dev.streamlearn.operators;

import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.LabelJoin;
import dev.streamlearn.core.spec.PipelineSpec;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Joins events sent without a label with their labels from {@code source.labels.topic}, keyed by
 * event id: whichever comes first waits in keyed state until the other comes, or until both the
 * watermark and the other topic's records read have passed its time plus {@code
 * source.labels.max-wait} ({@link LabelJoin#mayGiveUp}), when it is dead-lettered with the reason.
 * Events that carry their own label pass straight on. A second label while one waits is
 * dead-lettered; a second event while one waits counts as deduplicated. Nothing is kept for an id
 * once joined: a label that comes after its event was labeled waits in vain, like an orphan.
 */
public final class JoinLabels extends KeyedProcessFunction<String, Example, Example> {

  /** Given-up events and labels, on their way to the dead-letter topic. */
  public static final OutputTag<Refusal> REFUSED = DecodeEvents.REFUSED;

  public static final String STAGE = "join-labels";

  private final String eventsTopic;
  private final LabelJoin rules;
  private final String labelsTopic;
  private transient ValueState<Example> waiting;
  private transient Counter joined;
  private transient Counter labelsDeadLettered;
  private transient Counter eventsDeadLettered;
  private transient Counter deduplicated;

  /**
   * The latest event time read at this subtask of each topic; not kept in checkpoints (after a
   * restore, waits end once both topics are read again).
   */
  private transient long eventsReadUntil;

  private transient long labelsReadUntil;

  public JoinLabels(PipelineSpec.Source source) {
    if (!source.labelsFollow()) {
      throw new IllegalArgumentException("the spec names no source.labels to join");
    }
    this.eventsTopic = source.topic();
    this.labelsTopic = source.labels().topic();
    this.rules = new LabelJoin(source.labels().maxWait(), labelsTopic, source.maxOutOfOrderness());
  }

  @Override
  public void open(OpenContext openContext) {
    waiting =
        getRuntimeContext().getState(new ValueStateDescriptor<>("waiting", ExampleSerializer.TYPE));
    var metrics = getRuntimeContext().getMetricGroup();
    joined = PipelineCounters.counter(metrics, PipelineCounters.LABELS_JOINED);
    labelsDeadLettered = PipelineCounters.counter(metrics, PipelineCounters.LABELS_DEAD_LETTERED);
    eventsDeadLettered = PipelineCounters.counter(metrics, PipelineCounters.DEAD_LETTERED);
    deduplicated = PipelineCounters.counter(metrics, PipelineCounters.DEDUPLICATED);
    eventsReadUntil = Long.MIN_VALUE;
    labelsReadUntil = Long.MIN_VALUE;
  }

  @Override
  public void processElement(Example example, Context context, Collector<Example> out)
      throws Exception {
    if (example.labelOnly) {
      labelsReadUntil = Math.max(labelsReadUntil, example.timestamp);
    } else {
      eventsReadUntil = Math.max(eventsReadUntil, example.timestamp);
    }
    if (!example.labelOnly && !example.awaitsLabel()) {
      out.collect(example);
      return;
    }
    Example held = waiting.value();
    if (held == null) {
      waiting.update(example);
      context.timerService().registerEventTimeTimer(rules.deadline(example));
      return;
    }
    if (held.labelOnly == example.labelOnly) {
      // A second label, or a second event, for an id that has one waiting.
      if (example.labelOnly) {
        labelsDeadLettered.inc();
        context.output(
            REFUSED, Refusal.of(example, labelsTopic, STAGE, LabelJoin.repeated(example)));
      } else {
        deduplicated.inc();
      }
      return;
    }
    // Nothing stays behind for a joined id: its timer goes too, unless the wait had been extended
    // (then that later timer finds nothing waiting).
    waiting.clear();
    if (context.timerService().currentWatermark() < rules.deadline(held)) {
      context.timerService().deleteEventTimeTimer(rules.deadline(held));
    }
    joined.inc();
    out.collect(example.labelOnly ? LabelJoin.join(held, example) : LabelJoin.join(example, held));
  }

  @Override
  public void onTimer(long timestamp, OnTimerContext context, Collector<Example> out)
      throws Exception {
    Example held = waiting.value();
    if (held == null) {
      return;
    }
    if (rules.deadline(held) > timestamp) {
      return; // the timer of an earlier wait on this id; this one has its own
    }
    boolean inputEnded = context.timerService().currentWatermark() == Long.MAX_VALUE;
    if (!inputEnded && !rules.mayGiveUp(held, held.labelOnly ? eventsReadUntil : labelsReadUntil)) {
      context.timerService().registerEventTimeTimer(rules.recheckAfter(timestamp));
      return;
    }
    waiting.clear();
    String reason = rules.expired(held, inputEnded);
    if (held.labelOnly) {
      labelsDeadLettered.inc();
      context.output(REFUSED, Refusal.of(held, labelsTopic, STAGE, reason));
    } else {
      eventsDeadLettered.inc();
      context.output(REFUSED, Refusal.of(held, eventsTopic, STAGE, reason));
    }
  }
}
