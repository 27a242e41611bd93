package dev.streamlearn.core.data;

import java.io.Serializable;
import java.time.Duration;

/**
 * What happens when an event sent without its label meets the label that follows, or does not
 * within the wait: the rules of the label join, apart from where its state lives.
 *
 * <p>A wait ends in the other topic's event time, not the watermark's alone: an event is given up
 * on once the labels read have reached its time plus the wait (less the out-of-orderness allowed),
 * and a label once the events read have. While a backlog is read, one topic can be read far ahead
 * of the other (a fetch brings up to a megabyte of one partition), and the watermark with it; what
 * waits for the lagging topic keeps waiting until that topic has caught up. While the other topic
 * is silent, nothing is given up: a labeling system that stops loses no events. At the end of the
 * input every wait ends.
 */
public final class LabelJoin implements Serializable {

  private final Duration maxWait;
  private final String labelsTopic;
  private final long outOfOrderness;

  public LabelJoin(Duration maxWait, String labelsTopic, Duration outOfOrderness) {
    this.maxWait = maxWait;
    this.labelsTopic = labelsTopic;
    this.outOfOrderness = outOfOrderness.toMillis();
  }

  /**
   * The event labeled: learned from at the later of its own time and the label's (when the label
   * became known), so a label that arrives late does not make its event late.
   */
  public static Example join(Example event, Example label) {
    event.label = label.label;
    event.timestamp = Math.max(event.timestamp, label.timestamp);
    event.ingestTime = Math.max(event.ingestTime, label.ingestTime);
    return event;
  }

  /** The event time until which what arrived at {@code time} waits for its other half. */
  public long deadline(long time) {
    long millis = maxWait.toMillis();
    return time > Long.MAX_VALUE - millis ? Long.MAX_VALUE : time + millis;
  }

  /**
   * Whether what arrived at {@code time}, past its deadline by the watermark, may be given up on:
   * the other topic's records have been read past the deadline by the out-of-orderness allowed.
   *
   * @param otherTopicLatest the latest time read of the topic the other half comes from (events for
   *     a waiting label, labels for a waiting event); {@link Long#MIN_VALUE}: none read
   */
  public boolean mayGiveUp(long time, long otherTopicLatest) {
    return otherTopicLatest != Long.MIN_VALUE
        && otherTopicLatest - outOfOrderness >= deadline(time);
  }

  /**
   * How far, in event time, the labels topic is behind the events topic where they are read: the
   * events' latest time less the labels', or, before the first label, the event time the events
   * have spanned since the first one; 0 before the first event or when the labels are ahead. While
   * it exceeds {@code max-wait}, events wait in state rather than being given up on.
   *
   * @param firstEvent the time of the first event read; {@link Long#MIN_VALUE}: none read
   */
  public static long labelsBehind(long firstEvent, long eventsLatest, long labelsLatest) {
    if (firstEvent == Long.MIN_VALUE) {
      return 0;
    }
    long from = labelsLatest == Long.MIN_VALUE ? firstEvent : labelsLatest;
    return Math.max(0, eventsLatest - from);
  }

  /** When to look again at a wait that the other topic has not caught up with at {@code time}. */
  public long recheckAfter(long time) {
    long step = Math.max(1, maxWait.toMillis() / 4);
    return time > Long.MAX_VALUE - step ? Long.MAX_VALUE : time + step;
  }

  /**
   * Why {@code waiting} is given up on.
   *
   * @param inputEnded the input ended (a bounded source, a drained job) before the wait was over
   */
  public String expired(Example waiting, boolean inputEnded) {
    if (waiting.labelOnly) {
      return inputEnded
          ? "no event with id "
              + waiting.id
              + " took it before the input ended (the event never came, or was labeled already)"
          : "no event with id "
              + waiting.id
              + " took it within "
              + maxWait
              + " of the label (the event never came, or was labeled already)";
    }
    return inputEnded
        ? "no label arrived on " + labelsTopic + " before the input ended"
        : "no label arrived on " + labelsTopic + " within " + maxWait + " of the event";
  }

  /** Why a second label for one id is not learned from. */
  public static String repeated(Example label) {
    return "a label for event " + label.id + " waits already; a repeated label is not learned from";
  }
}
