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
    long truePositive = 0;
    long falsePositive = 0;
    long trueNegative = 0;
    long falseNegative = 0;
    int positives = 0;
    double logLoss = 0;
    for (int i = 0; i < count; i++) {
      double p = Math.min(1 - 1e-7, Math.max(1e-7, probability[i]));
      boolean positive = label[i] > 0.5f;
      boolean predicted = probability[i] >= 0.5f;
      if (positive) {
        positives++;
      }
      if (predicted && positive) {
        truePositive++;
      } else if (predicted) {
        falsePositive++;
      } else if (positive) {
        falseNegative++;
      } else {
        trueNegative++;
      }
      logLoss -= positive ? Math.log(p) : Math.log(1 - p);
    }
    metrics.put("accuracy", (truePositive + trueNegative) / (double) count);
    metrics.put("logLoss", logLoss / count);
    putCounts(metrics, truePositive, falsePositive, trueNegative, falseNegative);
    Integer[] order = ascending(probability, count);
    double auc = rocAuc(order, probability, label, count);
    if (!Double.isNaN(auc)) {
      metrics.put("auc", auc);
      metrics.put("prAuc", prAuc(order, probability, label, count));
    }
    metrics.put("positiveRate", positives / (double) count);
    metrics.put("majorityRate", Math.max(positives, count - positives) / (double) count);
    return metrics;
  }

  /** Precision, recall and F1 of class 1, and the confusion matrix, from the four counts. */
  public static void putCounts(Map<String, Double> metrics, long tp, long fp, long tn, long fn) {
    double precision = tp + fp == 0 ? 0 : tp / (double) (tp + fp);
    double recall = tp + fn == 0 ? 0 : tp / (double) (tp + fn);
    metrics.put("precision", precision);
    metrics.put("recall", recall);
    metrics.put("f1", precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall));
    metrics.put("confusion.0.0", (double) tn);
    metrics.put("confusion.0.1", (double) fp);
    metrics.put("confusion.1.0", (double) fn);
    metrics.put("confusion.1.1", (double) tp);
  }

  /**
   * Area under the precision-recall curve as average precision: the mean, over positives, of the
   * precision at each positive's score (ties share the precision at the end of their group).
   */
  public static double prAuc(float[] probability, float[] label, int count) {
    return prAuc(ascending(probability, count), probability, label, count);
  }

  /** ROC AUC by ranking; NaN when one class is absent. */
  public static double rocAuc(float[] probability, float[] label, int count) {
    return rocAuc(ascending(probability, count), probability, label, count);
  }

  /** Indices of the scores, lowest score first: one sort serves both areas. */
  private static Integer[] ascending(float[] probability, int count) {
    Integer[] order = new Integer[count];
    for (int i = 0; i < count; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> Float.compare(probability[a], probability[b]));
    return order;
  }

  private static double prAuc(Integer[] ascending, float[] probability, float[] label, int count) {
    long positives = 0;
    for (int i = 0; i < count; i++) {
      if (label[i] > 0.5f) {
        positives++;
      }
    }
    if (positives == 0) {
      return Double.NaN;
    }
    double sum = 0;
    long truePositives = 0;
    int end = count;
    while (end > 0) {
      float score = probability[ascending[end - 1]];
      int start = end - 1;
      long groupPositives = 0;
      while (start >= 0 && probability[ascending[start]] == score) {
        if (label[ascending[start]] > 0.5f) {
          groupPositives++;
        }
        start--;
      }
      truePositives += groupPositives;
      sum += groupPositives * (truePositives / (double) (count - start - 1));
      end = start + 1;
    }
    return sum / positives;
  }

  private static double rocAuc(Integer[] order, float[] probability, float[] label, int count) {
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
