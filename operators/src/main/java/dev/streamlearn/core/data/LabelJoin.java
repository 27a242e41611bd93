package dev.streamlearn.core.data;

import java.io.Serializable;
import java.time.Duration;

/**
 * What happens when an event sent without its label meets the label that follows, or does not
 * within the wait: the rules of the label join, apart from where its state lives.
 */
public final class LabelJoin implements Serializable {

  private final Duration maxWait;
  private final String labelsTopic;

  public LabelJoin(Duration maxWait, String labelsTopic) {
    this.maxWait = maxWait;
    this.labelsTopic = labelsTopic;
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

  /** The event time until which {@code waiting} (an event or a label) waits for its other half. */
  public long deadline(Example waiting) {
    long millis = maxWait.toMillis();
    return waiting.timestamp > Long.MAX_VALUE - millis
        ? Long.MAX_VALUE
        : waiting.timestamp + millis;
  }

  /**
   * Why {@code waiting} is given up on.
   *
   * @param inputEnded the input ended (a bounded source, a drained job) before the wait was over
   */
  public String expired(Example waiting, boolean inputEnded) {
    if (waiting.labelOnly) {
      return inputEnded
          ? "no event with id " + waiting.id + " arrived before the input ended"
          : "no event with id " + waiting.id + " arrived within " + maxWait + " of its label";
    }
    return inputEnded
        ? "no label arrived on " + labelsTopic + " before the input ended"
        : "no label arrived on " + labelsTopic + " within " + maxWait + " of the event";
  }

  /** Why a second label for one id is not learned from. */
  public static String repeated(Example label, boolean eventLabeledAlready) {
    return eventLabeledAlready
        ? "event " + label.id + " was labeled already; a repeated label is not learned from"
        : "a label for event " + label.id + " waits already; a repeated label is not learned from";
  }
}
