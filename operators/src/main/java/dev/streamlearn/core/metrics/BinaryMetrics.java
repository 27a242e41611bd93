package dev.streamlearn.core.metrics;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/** Exact held-out metrics of a binary classifier over one set of scored examples. */
public final class BinaryMetrics {

  private BinaryMetrics() {}

  /**
   * Accuracy at threshold 0.5, mean log loss, ROC AUC (ties count one half), the positive rate and
   * the majority-class rate a constant guess would reach.
   *
   * @param probability predicted probability of class 1
   * @param label 0 or 1
   */
  public static Map<String, Double> of(float[] probability, float[] label, int count) {
    Map<String, Double> metrics = new LinkedHashMap<>();
    metrics.put("count", (double) count);
    if (count == 0) {
      return metrics;
    }
    int correct = 0;
    int positives = 0;
    double logLoss = 0;
    for (int i = 0; i < count; i++) {
      double p = Math.min(1 - 1e-7, Math.max(1e-7, probability[i]));
      boolean positive = label[i] > 0.5f;
      if (positive) {
        positives++;
      }
      if ((p >= 0.5) == positive) {
        correct++;
      }
      logLoss -= positive ? Math.log(p) : Math.log(1 - p);
    }
    metrics.put("accuracy", correct / (double) count);
    metrics.put("logLoss", logLoss / count);
    double auc = rocAuc(probability, label, count);
    if (!Double.isNaN(auc)) {
      metrics.put("auc", auc);
    }
    metrics.put("positiveRate", positives / (double) count);
    metrics.put("majorityRate", Math.max(positives, count - positives) / (double) count);
    return metrics;
  }

  /** ROC AUC by ranking; NaN when one class is absent. */
  public static double rocAuc(float[] probability, float[] label, int count) {
    Integer[] order = new Integer[count];
    for (int i = 0; i < count; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> Float.compare(probability[a], probability[b]));
    double rankSumPositive = 0;
    long positives = 0;
    int i = 0;
    while (i < count) {
      int j = i;
      while (j + 1 < count && probability[order[j + 1]] == probability[order[i]]) {
        j++;
      }
      double averageRank = (i + j) / 2.0 + 1;
      for (int k = i; k <= j; k++) {
        if (label[order[k]] > 0.5f) {
          rankSumPositive += averageRank;
          positives++;
        }
      }
      i = j + 1;
    }
    long negatives = count - positives;
    if (positives == 0 || negatives == 0) {
      return Double.NaN;
    }
    return (rankSumPositive - positives * (positives + 1) / 2.0) / ((double) positives * negatives);
  }
}
