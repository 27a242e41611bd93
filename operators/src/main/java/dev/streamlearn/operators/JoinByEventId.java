package dev.streamlearn.operators;

import dev.streamlearn.core.data.LabelJoin;
import dev.streamlearn.core.spec.PipelineSpec;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Keyed by event id, something that arrived without its label meets the label that follows on
 * {@code source.labels.topic}: whichever comes first waits in keyed state, with an event-time timer
 * at its time plus {@code source.labels.max-wait}, until the other comes or the wait is given up
 * ({@link LabelJoin}: the other topic's records must have been read past the deadline too, so a
 * topic read ahead of the other during a backlog ends no wait). Nothing is kept for an id once
 * joined. What the two halves are, and what a join, a repeat or a given-up wait does, is the
 * subclass's.
 *
 * @param <T> the records of both halves (the label's marked as such)
 * @param <O> what the operator emits
 */
abstract class JoinByEventId<T, O> extends KeyedProcessFunction<String, T, O> {

  protected final LabelJoin rules;
  private final TypeInformation<T> type;
  private transient ValueState<T> waiting;

  /**
   * The latest event time read at this subtask of each topic; not kept in checkpoints (after a
   * restore, waits end once both topics are read again).
   */
  private transient long eventsReadUntil;

  private transient long labelsReadUntil;

  JoinByEventId(PipelineSpec.Source source, TypeInformation<T> type) {
    if (!source.labelsFollow()) {
      throw new IllegalArgumentException("the spec names no source.labels to join with");
    }
    this.rules =
        new LabelJoin(
            source.labels().maxWait(), source.labels().topic(), source.maxOutOfOrderness());
    this.type = type;
  }

  /** Whether {@code record} is a label rather than what it labels. */
  abstract boolean isLabel(T record);

  abstract long timeOf(T record);

  /** True when {@code record} needs no label (it carries its own): handled here, not kept. */
  abstract boolean complete(T record, Collector<O> out);

  /** What of {@code record} to keep while it waits. */
  abstract T kept(T record);

  abstract void joined(T unlabeled, T label, Collector<O> out);

  /** A second record of the same half while one waits. */
  abstract void repeated(T record, Context context);

  /**
   * A wait given up on.
   *
   * @param inputEnded the input ended before the wait was over
   */
  abstract void gaveUp(T waited, boolean inputEnded, OnTimerContext context);

  @Override
  public void open(OpenContext openContext) {
    waiting = getRuntimeContext().getState(new ValueStateDescriptor<>("waiting", type));
    eventsReadUntil = Long.MIN_VALUE;
    labelsReadUntil = Long.MIN_VALUE;
  }

  @Override
  public final void processElement(T record, Context context, Collector<O> out) throws Exception {
    boolean label = isLabel(record);
    if (label) {
      labelsReadUntil = Math.max(labelsReadUntil, timeOf(record));
    } else {
      eventsReadUntil = Math.max(eventsReadUntil, timeOf(record));
    }
    if (!label && complete(record, out)) {
      return;
    }
    T held = waiting.value();
    if (held == null) {
      waiting.update(kept(record));
      context.timerService().registerEventTimeTimer(rules.deadline(timeOf(record)));
      return;
    }
    if (isLabel(held) == label) {
      repeated(record, context);
      return;
    }
    // Nothing stays behind for a joined id: its timer goes too, unless the wait had been extended
    // (then that later timer finds nothing waiting).
    waiting.clear();
    long deadline = rules.deadline(timeOf(held));
    if (context.timerService().currentWatermark() < deadline) {
      context.timerService().deleteEventTimeTimer(deadline);
    }
    joined(label ? held : record, label ? record : held, out);
  }

  @Override
  public final void onTimer(long timestamp, OnTimerContext context, Collector<O> out)
      throws Exception {
    T held = waiting.value();
    if (held == null || rules.deadline(timeOf(held)) > timestamp) {
      return; // the timer of an earlier wait on this id; a later one has its own
    }
    boolean inputEnded = context.timerService().currentWatermark() == Long.MAX_VALUE;
    long otherTopicReadUntil = isLabel(held) ? eventsReadUntil : labelsReadUntil;
    if (!inputEnded && !rules.mayGiveUp(timeOf(held), otherTopicReadUntil)) {
      context.timerService().registerEventTimeTimer(rules.recheckAfter(timestamp));
      return;
    }
    waiting.clear();
    gaveUp(held, inputEnded, context);
  }
}
