package dev.streamlearn.core.metrics;

import java.util.LinkedHashMap;
import java.util.Map;

/** Exact held-out metrics of a multiclass classifier over one set of scored examples. */
public final class MulticlassMetrics {

  private MulticlassMetrics() {}

  /** Macro and weighted F1 from confusion counts indexed {@code truth * classes + predicted}. */
  public static void putF1(Map<String, Double> metrics, long[] confusion, int classes) {
    long total = 0;
    double macro = 0;
    double weighted = 0;
    int present = 0;
    for (int j = 0; j < classes; j++) {
      long actual = 0;
      long predicted = 0;
      for (int i = 0; i < classes; i++) {
        actual += confusion[j * classes + i];
        predicted += confusion[i * classes + j];
      }
      total += actual;
      if (actual + predicted == 0) {
        continue;
      }
      present++;
      double f1 = 2.0 * confusion[j * classes + j] / (actual + predicted);
      macro += f1;
      weighted += f1 * actual;
    }
    if (total > 0) {
      metrics.put("macroF1", present == 0 ? 0 : macro / present);
      metrics.put("weightedF1", weighted / total);
    }
  }

  /**
   * Accuracy, mean log loss, macro F1 and the majority-class rate.
   *
   * @param probability rows x classes
   * @param label class indices
   */
  public static Map<String, Double> of(float[] probability, float[] label, int count, int classes) {
    Map<String, Double> metrics = new LinkedHashMap<>();
    metrics.put("count", (double) count);
    if (count == 0) {
      return metrics;
    }
    long[] truePositive = new long[classes];
    long[] predicted = new long[classes];
    long[] actual = new long[classes];
    long[] confusion = new long[classes * classes];
    double logLoss = 0;
    int correct = 0;
    for (int r = 0; r < count; r++) {
      int truth = (int) label[r];
      int best = 0;
      for (int j = 1; j < classes; j++) {
        if (probability[r * classes + j] > probability[r * classes + best]) {
          best = j;
        }
      }
      predicted[best]++;
      actual[truth]++;
      confusion[truth * classes + best]++;
      if (best == truth) {
        correct++;
        truePositive[truth]++;
      }
      logLoss -= Math.log(Math.max(1e-7, probability[r * classes + truth]));
    }
    double f1Sum = 0;
    double weightedF1 = 0;
    int present = 0;
    long majority = 0;
    for (int j = 0; j < classes; j++) {
      majority = Math.max(majority, actual[j]);
      if (actual[j] + predicted[j] == 0) {
        continue;
      }
      present++;
      double f1 = 2.0 * truePositive[j] / (actual[j] + predicted[j]);
      f1Sum += f1;
      weightedF1 += f1 * actual[j] / count;
    }
    metrics.put("accuracy", correct / (double) count);
    metrics.put("logLoss", logLoss / count);
    metrics.put("macroF1", present == 0 ? 0 : f1Sum / present);
    metrics.put("weightedF1", weightedF1);
    metrics.put("majorityRate", majority / (double) count);
    for (int truth = 0; truth < classes; truth++) {
      for (int guess = 0; guess < classes; guess++) {
        metrics.put(
            "confusion." + truth + "." + guess, (double) confusion[truth * classes + guess]);
      }
    }
    return metrics;
  }
}
