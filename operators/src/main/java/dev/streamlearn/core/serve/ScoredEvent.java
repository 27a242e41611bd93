package dev.streamlearn.core.serve;

/**
 * One event scored by a model version, on its way to the predictions topic. Plain public fields (a
 * Flink POJO).
 */
public class ScoredEvent {

  public String id;

  /** The event time. */
  public long timestamp;

  public String model;
  public long version;

  /** The most probable class; null for regression. */
  public String prediction;

  /** Regression: the predicted value; classification: the probability of {@link #prediction}. */
  public double value;

  /** Class names, in the model's order; empty for regression. */
  public String[] classes;

  /** The probability of each of {@link #classes}. */
  public float[] probabilities;

  /** The event's own label as text (a whole number without ".0"); null when it had none. */
  public String label;

  public long scoredAt;

  /**
   * Not a prediction but the label of event {@link #id} from the pipeline's labels topic: {@link
   * #label} and {@link #timestamp} (when it became known) only; it judges the prediction made
   * earlier without a label.
   */
  public boolean labelOnly;

  public ScoredEvent() {}

  /**
   * True when the event had a label the model could have predicted: one of its classes (any label
   * for regression). A label of another kind (a class the model never saw, {@code "yes"} where the
   * classes are 0 and 1) judges nothing; the training job dead-letters such events.
   */
  public boolean hasLabelItCouldPredict() {
    if (label == null) {
      return false;
    }
    if (classes == null || classes.length == 0) {
      return true;
    }
    for (String each : classes) {
      if (each.equals(label)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Regression: the predicted value minus {@code label}; NaN for classification, or a label that is
   * missing or not a number.
   */
  public double errorAgainst(String label) {
    if (label == null || prediction != null) {
      return Double.NaN;
    }
    try {
      return value - Double.parseDouble(label);
    } catch (NumberFormatException e) {
      return Double.NaN;
    }
  }

  /** True when the event had a label and the model predicted it (classification only). */
  public boolean predictedItsLabel() {
    return label != null && label.equals(prediction);
  }
}
