package dev.streamlearn.schemas.codec;

import dev.streamlearn.schemas.DeadLetter;
import dev.streamlearn.schemas.EventLabel;
import dev.streamlearn.schemas.LabeledEvent;
import dev.streamlearn.schemas.Prediction;
import dev.streamlearn.schemas.WindowMetrics;

/** The one place that pairs each kind of topic with the codec of its values. */
public final class Topics {

  /** Labeled events, written by producers. */
  public static AvroCodec<LabeledEvent> labeledEvents() {
    return new AvroCodec<>(LabeledEvent.class);
  }

  /** Labels of events sent earlier without one, on a pipeline's labels topic. */
  public static AvroCodec<EventLabel> eventLabels() {
    return new AvroCodec<>(EventLabel.class);
  }

  /** Records the pipeline refused, with their reason. */
  public static AvroCodec<DeadLetter> deadLetters() {
    return new AvroCodec<>(DeadLetter.class);
  }

  /** Per-window validation metrics, written by the trainer. */
  public static AvroCodec<WindowMetrics> windowMetrics() {
    return new AvroCodec<>(WindowMetrics.class);
  }

  /** A model version's output for each event, written by the scoring job. */
  public static AvroCodec<Prediction> predictions() {
    return new AvroCodec<>(Prediction.class);
  }

  private Topics() {}
}
