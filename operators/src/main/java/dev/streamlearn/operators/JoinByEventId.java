package dev.streamlearn.operators;

import dev.streamlearn.core.data.LabelJoin;
import dev.streamlearn.core.spec.PipelineSpec;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.TimeDomain;
import org.apache.flink.util.Collector;

/**
 * Keyed by event id, something that arrived without its label meets the label that follows on
 * {@code source.labels.topic}: whichever comes first waits in keyed state, with an event-time timer
 * at its time plus {@code source.labels.max-wait}, until the other comes or the wait is given up
 * ({@link LabelJoin}: the other topic's records must have been read past the deadline too, so a
 * topic read ahead of the other during a backlog ends no wait; then {@code source.idle-timeout} of
 * processing time more, for the partitions of a topic read unevenly). Nothing is kept for an id
 * once joined. What the two halves are, and what a join, a repeat or a given-up wait does, is the
 * subclass's.
 *
 * @param <T> the records of both halves (the label's marked as such)
 * @param <O> what the operator emits
 */
abstract class JoinByEventId<T, O> extends KeyedProcessFunctionWithCounters<String, T, O> {

  protected final LabelJoin rules;
  private final TypeInformation<T> type;
  private final long graceMillis;
  private transient ValueState<T> waiting;

  /**
   * The latest event time read at this subtask of each topic; not kept in checkpoints (after a
   * restore, waits end once both topics are read again).
   */
  private transient long eventsReadUntil;

  private transient long labelsReadUntil;

  /** The time of the first event read at this subtask, for {@link #labelsBehindMillis()}. */
  private transient long firstEventRead;

  JoinByEventId(PipelineSpec.Source source, TypeInformation<T> type) {
    if (!source.labelsFollow()) {
      throw new IllegalArgumentException("the spec names no source.labels to join with");
    }
    this.rules =
        new LabelJoin(
            source.labels().maxWait(), source.labels().topic(), source.maxOutOfOrderness());
    this.type = type;
    this.graceMillis = source.idleTimeout().toMillis();
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
    firstEventRead = Long.MIN_VALUE;
  }

  /**
   * How far the labels topic is behind the events topic at this subtask ({@link
   * LabelJoin#labelsBehind}).
   */
  long labelsBehindMillis() {
    return LabelJoin.labelsBehind(firstEventRead, eventsReadUntil, labelsReadUntil);
  }

  @Override
  public final void processElement(T record, Context context, Collector<O> out) throws Exception {
    boolean label = isLabel(record);
    if (label) {
      labelsReadUntil = Math.max(labelsReadUntil, timeOf(record));
    } else {
      eventsReadUntil = Math.max(eventsReadUntil, timeOf(record));
      if (firstEventRead == Long.MIN_VALUE) {
        firstEventRead = timeOf(record);
      }
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
    } else {
      context.timerService().deleteEventTimeTimer(Long.MAX_VALUE);
    }
    joined(label ? held : record, label ? record : held, out);
  }

  /**
   * A wait ends once the watermark and the other topic's records have passed its deadline, and then
   * {@code source.idle-timeout} of processing time more: the partitions of one topic are read
   * unevenly while a backlog is read (a fetch brings up to a megabyte of one partition before the
   * next), so the other topic's latest time can run ahead of the partition the other half is in.
   * The end of the input ends every wait at once.
   */
  @Override
  public final void onTimer(long timestamp, OnTimerContext context, Collector<O> out)
      throws Exception {
    T held = waiting.value();
    if (held == null) {
      return; // the timer of a wait that has ended
    }
    long watermark = context.timerService().currentWatermark();
    boolean inputEnded = watermark == Long.MAX_VALUE;
    if (!inputEnded) {
      if (watermark < rules.deadline(timeOf(held))) {
        return; // the timer of an earlier wait on this id; this one has its own
      }
      long otherTopicReadUntil = isLabel(held) ? eventsReadUntil : labelsReadUntil;
      if (!rules.mayGiveUp(timeOf(held), otherTopicReadUntil)) {
        context.timerService().registerEventTimeTimer(rules.recheckAfter(watermark));
        return;
      }
      if (context.timeDomain() == TimeDomain.EVENT_TIME && graceMillis > 0) {
        long now = context.timerService().currentProcessingTime();
        context.timerService().registerProcessingTimeTimer(now + graceMillis);
        // Processing-time timers do not fire at the end of the input; this one does.
        context.timerService().registerEventTimeTimer(Long.MAX_VALUE);
        return;
      }
    }
    waiting.clear();
    context.timerService().deleteEventTimeTimer(Long.MAX_VALUE);
    gaveUp(held, inputEnded, context);
  }
}
