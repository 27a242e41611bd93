package dev.streamlearn.core.data;

import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.schemas.EventLabel;
import dev.streamlearn.schemas.LabeledEvent;
import java.io.Serializable;
import java.util.List;

/**
 * Turns a decoded {@link LabeledEvent} into an {@link Example}, or says why it cannot: a missing id
 * or label, a label of the wrong type or class, a NaN or infinite value, a value that is not a
 * number where the spec wants one. Fields the spec does not name are ignored.
 */
public final class ExampleExtractor implements Serializable {

  /** Longer categorical values are refused rather than hashed: they are almost always bad input. */
  public static final int MAX_STRING_LENGTH = 1024;

  private final RawFeatures rules;
  private final String task;
  private final List<String> classes;

  /** Events without a label wait for it ({@code source.labels}) rather than being refused. */
  private final boolean labelsFollow;

  public ExampleExtractor(PipelineSpec spec) {
    this.rules = new RawFeatures(spec);
    this.task = spec.label().task();
    this.classes = List.copyOf(spec.label().classes());
    this.labelsFollow = spec.source().labelsFollow();
  }

  /** The stateless cleaning rules this extractor applies. */
  public RawFeatures rules() {
    return rules;
  }

  /**
   * @return the example
   * @throws RefusedException with the reason the event cannot be learned from
   */
  public Example extract(LabeledEvent event, int partition, long offset) throws RefusedException {
    if (event.getId() == null || event.getId().isBlank()) {
      throw new RefusedException("event has an empty id");
    }
    Example example = new Example();
    example.id = event.getId();
    example.timestamp = event.getTimestamp().toEpochMilli();
    example.partition = partition;
    example.offset = offset;
    example.label = labelIndex(event.getLabel());
    example.weight = weight(event.getWeight());
    example.numeric = new double[rules.numericCount()];
    example.categorical = new String[rules.categoricalCount()];
    rules.read(event.getFeatures(), example.timestamp, example.numeric, example.categorical);
    return example;
  }

  /**
   * The label of an event sent earlier without one, as an {@link Example#labelOnly} example: its
   * label read by the same rules as an event's own.
   *
   * @throws RefusedException with the reason it cannot be used
   */
  public Example extractLabel(EventLabel label, int partition, long offset)
      throws RefusedException {
    if (label.getId() == null || label.getId().isBlank()) {
      throw new RefusedException("label has an empty event id");
    }
    if (label.getLabel() == null) {
      throw new RefusedException("label of event " + label.getId() + " has no value");
    }
    Example example = new Example();
    example.labelOnly = true;
    example.id = label.getId();
    example.timestamp = label.getTimestamp().toEpochMilli();
    example.partition = partition;
    example.offset = offset;
    example.label = labelIndex(label.getLabel());
    example.numeric = new double[0];
    example.categorical = new String[0];
    return example;
  }

  static float weight(Double weight) throws RefusedException {
    if (weight == null) {
      return 1f;
    }
    if (!Double.isFinite(weight) || weight < 0) {
      throw new RefusedException("weight " + weight + " is not a finite number >= 0");
    }
    return weight.floatValue();
  }

  double labelIndex(Object label) throws RefusedException {
    if (label == null) {
      if (labelsFollow) {
        return Double.NaN;
      }
      throw new RefusedException("event has no label");
    }
    if (task.equals("regression")) {
      if (!(label instanceof Double value)) {
        throw new RefusedException(
            "label '" + label + "' is a " + typeName(label) + "; a regression label is a number");
      }
      if (!Double.isFinite(value)) {
        throw new RefusedException("label is " + value);
      }
      return value;
    }
    if (task.equals("multiclass") && label instanceof Double number) {
      // Numeric class labels (digits 0-9) match class names written the same way.
      String name =
          number == Math.rint(number) && Math.abs(number) < 1e15
              ? Long.toString(number.longValue())
              : number.toString();
      int index = classes.indexOf(name);
      if (index < 0) {
        throw new RefusedException("label " + name + " is not one of the classes " + classes);
      }
      return index;
    }
    if (!classes.isEmpty()) {
      if (!(label instanceof CharSequence)) {
        throw new RefusedException(
            "label "
                + label
                + " is a "
                + typeName(label)
                + ", but label.classes lists class names "
                + classes);
      }
      int index = classes.indexOf(label.toString());
      if (index < 0) {
        throw new RefusedException("label '" + label + "' is not one of the classes " + classes);
      }
      return index;
    }
    if (!(label instanceof Double number)) {
      throw new RefusedException(
          "label '"
              + label
              + "' is a "
              + typeName(label)
              + "; without label.classes, binary labels are the numbers 0 and 1");
    }
    if (number != 0.0 && number != 1.0) {
      throw new RefusedException("label " + number + " is not 0 or 1");
    }
    return number;
  }

  /** A number's value by the training rules: its own, or NaN or a refusal when not finite. */
  public static double numericValue(String name, double number, boolean nonFiniteIsMissing)
      throws RefusedException {
    if (Double.isFinite(number)) {
      return number;
    }
    if (nonFiniteIsMissing) {
      return Double.NaN;
    }
    throw new RefusedException("feature " + name + " is " + number);
  }

  /**
   * A numeric field's value by the training rules: NaN when missing.
   *
   * @param nonFiniteIsMissing NaN and infinite values count as missing rather than being refused
   */
  public static double numericValue(String name, Object value, boolean nonFiniteIsMissing)
      throws RefusedException {
    if (value == null) {
      return Double.NaN;
    }
    double number;
    if (value instanceof Number n) {
      number = n.doubleValue();
    } else if (value instanceof Boolean b) {
      number = b ? 1.0 : 0.0;
    } else {
      String text = value.toString().trim();
      if (text.isEmpty()) {
        return Double.NaN;
      }
      try {
        number = Double.parseDouble(text);
      } catch (NumberFormatException e) {
        throw new RefusedException(
            "feature " + name + " = '" + RawFeatures.abbreviate(text) + "' is not a number");
      }
    }
    if (!Double.isFinite(number)) {
      if (nonFiniteIsMissing) {
        return Double.NaN;
      }
      throw new RefusedException("feature " + name + " is " + number);
    }
    return number;
  }

  /** A categorical field's value by the training rules: null when missing. */
  public static String categoricalValue(String name, Object value) throws RefusedException {
    if (value == null) {
      return null;
    }
    if (value instanceof Double d) {
      if (!Double.isFinite(d)) {
        throw new RefusedException("feature " + name + " is " + d);
      }
      return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString(d.longValue()) : d.toString();
    }
    String text = value.toString();
    if (text.length() > MAX_STRING_LENGTH) {
      throw new RefusedException(
          "feature "
              + name
              + " is "
              + text.length()
              + " characters long; at most "
              + MAX_STRING_LENGTH
              + " are allowed");
    }
    return text;
  }

  private static String typeName(Object value) {
    return value instanceof CharSequence
        ? "string"
        : value instanceof Double ? "number" : value.getClass().getSimpleName();
  }

  /** Why an event cannot be learned from. */
  public static final class RefusedException extends Exception {
    public RefusedException(String reason) {
      super(reason, null, false, false);
    }
  }
}
