package dev.streamlearn.core.metrics;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The scores of the rows of a file that carry their label, kept to measure the model on them as
 * validation measures it on held-out events ({@code streamlearn score --label}, and the Python
 * scorer's likewise): a label that is none of the model's classes (or not a number, for a
 * regressor) judges nothing and is counted.
 */
public final class LabeledRows {

  private final List<String> classes;
  private final boolean regression;
  private final int width;
  private float[] scores;
  private float[] labels = new float[256];
  private int count;
  private long unlabeled;
  private long unknown;
  private String firstUnknown;

  public LabeledRows(List<String> classes, boolean regression) {
    this.classes = classes;
    this.regression = regression;
    this.width = regression || classes.size() == 2 ? 1 : classes.size();
    this.scores = new float[labels.length * width];
  }

  /** One scored row's label as written in the file (null or blank: none). */
  public void add(float[] rowScores, String label) {
    if (label == null || label.isBlank()) {
      unlabeled++;
      return;
    }
    float value = labelValue(label.strip());
    if (Float.isNaN(value)) {
      unknown++;
      if (firstUnknown == null) {
        firstUnknown = label.strip();
      }
      return;
    }
    if (count == labels.length) {
      labels = Arrays.copyOf(labels, labels.length * 2);
      scores = Arrays.copyOf(scores, labels.length * width);
    }
    System.arraycopy(rowScores, 0, scores, count * width, width);
    labels[count++] = value;
  }

  /** A class's index, a regressor's target, or NaN when the label is neither. */
  private float labelValue(String label) {
    if (regression) {
      try {
        return Float.parseFloat(label);
      } catch (NumberFormatException e) {
        return Float.NaN;
      }
    }
    int index = classes.indexOf(label);
    for (int c = 0; c < classes.size() && index < 0; c++) {
      if (sameNumber(classes.get(c), label)) {
        index = c;
      }
    }
    return index < 0 ? Float.NaN : index;
  }

  /** {@code 1} and {@code 1.0} are one class when the classes are numbers. */
  private static boolean sameNumber(String a, String b) {
    try {
      return Double.parseDouble(a) == Double.parseDouble(b);
    } catch (NumberFormatException e) {
      return false;
    }
  }

  public int count() {
    return count;
  }

  /** The metrics validation would report over these rows. */
  public Map<String, Double> metrics() {
    if (regression) {
      return RegressionMetrics.of(scores, labels, count);
    }
    if (width == 1) {
      return BinaryMetrics.of(scores, labels, count);
    }
    return MulticlassMetrics.of(scores, labels, count, width);
  }

  /**
   * {@code Against the labels in class: accuracy 0.712, ... on 1,000 rows (...)}, and the rows left
   * out: refused ones, those without a label, and those whose label judges nothing.
   */
  public String describe(String column, long refused) {
    StringBuilder line = new StringBuilder("Against the labels in ").append(column).append(": ");
    line.append(count == 0 ? "no scored row has one" : MetricsText.describe(metrics(), "rows"));
    List<String> leftOut = new java.util.ArrayList<>();
    if (refused > 0) {
      leftOut.add(String.format("%,d refused", refused));
    }
    if (unlabeled > 0) {
      leftOut.add(String.format("%,d without a label", unlabeled));
    }
    if (unknown > 0) {
      leftOut.add(
          String.format(
              "%,d whose label is %s (the first: '%s')",
              unknown,
              regression ? "not a number" : "none of the model's classes " + classes,
              firstUnknown));
    }
    if (!leftOut.isEmpty()) {
      line.append("; rows left out: ").append(String.join(", ", leftOut));
    }
    return line.toString();
  }
}
