package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.streamlearn.core.metrics.BinaryMetrics;
import dev.streamlearn.core.metrics.MulticlassMetrics;
import dev.streamlearn.core.metrics.RegressionMetrics;
import dev.streamlearn.core.metrics.ScoreHistogram;
import dev.streamlearn.store.MetricDirection;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Every metric equals an exact batch computation on fixed inputs. */
class MetricsTest {

  @Test
  void binaryMetricsEqualBruteForce() {
    Random random = new Random(5);
    int n = 400;
    float[] p = new float[n];
    float[] y = new float[n];
    for (int i = 0; i < n; i++) {
      y[i] = random.nextDouble() < 0.3 ? 1 : 0;
      // Rounded scores, so that ties occur.
      p[i] =
          Math.round((float) Math.min(1, Math.max(0, 0.3 * y[i] + 0.7 * random.nextDouble())) * 50)
              / 50f;
    }
    Map<String, Double> metrics = BinaryMetrics.of(p, y, n);

    double pairs = 0;
    long positives = 0;
    long negatives = 0;
    long tp = 0, fp = 0, tn = 0, fn = 0;
    double logLoss = 0;
    for (int i = 0; i < n; i++) {
      if (y[i] == 1) {
        positives++;
        for (int j = 0; j < n; j++) {
          if (y[j] == 0) {
            pairs += p[i] > p[j] ? 1 : p[i] == p[j] ? 0.5 : 0;
          }
        }
      } else {
        negatives++;
      }
      boolean predicted = p[i] >= 0.5f;
      if (predicted && y[i] == 1) tp++;
      if (predicted && y[i] == 0) fp++;
      if (!predicted && y[i] == 0) tn++;
      if (!predicted && y[i] == 1) fn++;
      double clipped = Math.min(1 - 1e-7, Math.max(1e-7, p[i]));
      logLoss -= y[i] == 1 ? Math.log(clipped) : Math.log(1 - clipped);
    }
    double averagePrecision = 0;
    for (int i = 0; i < n; i++) {
      if (y[i] == 1) {
        long above = 0;
        long positiveAbove = 0;
        for (int j = 0; j < n; j++) {
          if (p[j] >= p[i]) {
            above++;
            positiveAbove += (long) y[j];
          }
        }
        averagePrecision += positiveAbove / (double) above;
      }
    }
    averagePrecision /= positives;
    double precision = tp / (double) (tp + fp);
    double recall = tp / (double) (tp + fn);

    assertThat(metrics.get("auc")).isCloseTo(pairs / (positives * negatives), within(1e-12));
    assertThat(metrics.get("prAuc")).isCloseTo(averagePrecision, within(1e-12));
    assertThat(metrics.get("accuracy")).isCloseTo((tp + tn) / (double) n, within(1e-12));
    assertThat(metrics.get("precision")).isCloseTo(precision, within(1e-12));
    assertThat(metrics.get("recall")).isCloseTo(recall, within(1e-12));
    assertThat(metrics.get("f1"))
        .isCloseTo(2 * precision * recall / (precision + recall), within(1e-12));
    assertThat(metrics.get("logLoss")).isCloseTo(logLoss / n, within(1e-12));
    assertThat(metrics)
        .containsEntry("confusion.1.1", (double) tp)
        .containsEntry("confusion.0.1", (double) fp);

    long[] histogram = ScoreHistogram.empty();
    for (int i = 0; i < n; i++) {
      ScoreHistogram.add(histogram, p[i], y[i] == 1);
    }
    // Scores are multiples of 1/50, so bins of width 1/1000 keep every tie and nothing else.
    assertThat(ScoreHistogram.rocAuc(histogram)).isCloseTo(metrics.get("auc"), within(1e-12));
    assertThat(ScoreHistogram.prAuc(histogram)).isCloseTo(averagePrecision, within(1e-12));
  }

  @Test
  void multiclassF1EqualsCounts() {
    // truth, prediction pairs over 3 classes.
    int[][] pairs = {{0, 0}, {0, 1}, {1, 1}, {1, 1}, {2, 2}, {2, 0}, {2, 2}, {0, 0}};
    int classes = 3;
    float[] probability = new float[pairs.length * classes];
    float[] label = new float[pairs.length];
    for (int i = 0; i < pairs.length; i++) {
      label[i] = pairs[i][0];
      for (int j = 0; j < classes; j++) {
        probability[i * classes + j] = j == pairs[i][1] ? 0.8f : 0.1f;
      }
    }
    Map<String, Double> metrics = MulticlassMetrics.of(probability, label, pairs.length, classes);
    // class 0: tp 2, predicted 3, actual 3 -> f1 2/3; class 1: tp 2, predicted 3, actual 2 -> 0.8;
    // class 2: tp 2, predicted 2, actual 3 -> 0.8.
    assertThat(metrics.get("accuracy")).isEqualTo(6 / 8.0);
    assertThat(metrics.get("macroF1")).isCloseTo((2 / 3.0 + 0.8 + 0.8) / 3, within(1e-12));
    assertThat(metrics.get("weightedF1"))
        .isCloseTo((3 * 2 / 3.0 + 2 * 0.8 + 3 * 0.8) / 8, within(1e-12));
    assertThat(metrics.get("confusion.2.0")).isEqualTo(1.0);
    long[] confusion = new long[classes * classes];
    for (int[] pair : pairs) {
      confusion[pair[0] * classes + pair[1]]++;
    }
    Map<String, Double> fromCounts = new java.util.HashMap<>();
    MulticlassMetrics.putF1(fromCounts, confusion, classes);
    assertThat(fromCounts.get("macroF1")).isCloseTo(metrics.get("macroF1"), within(1e-12));
    assertThat(fromCounts.get("weightedF1")).isCloseTo(metrics.get("weightedF1"), within(1e-12));
    assertThat(metrics.get("logLoss"))
        .isCloseTo(-(6 * Math.log(0.8) + 2 * Math.log(0.1)) / 8, within(1e-6));
  }

  @Test
  void regressionMetricsEqualDefinitions() {
    float[] prediction = {1, 2, 3, 5};
    float[] label = {1, 3, 2, 7};
    Map<String, Double> metrics = RegressionMetrics.of(prediction, label, 4);
    assertThat(metrics.get("mse")).isEqualTo((0 + 1 + 1 + 4) / 4.0);
    assertThat(metrics.get("rmse")).isEqualTo(Math.sqrt(1.5));
    assertThat(metrics.get("mae")).isEqualTo(1.0);
    double mean = 13 / 4.0;
    double total =
        Math.pow(1 - mean, 2)
            + Math.pow(3 - mean, 2)
            + Math.pow(2 - mean, 2)
            + Math.pow(7 - mean, 2);
    assertThat(metrics.get("r2")).isCloseTo(1 - 6 / total, within(1e-12));
  }

  @Test
  void eachMetricKnowsItsDirection() {
    assertThat(MetricDirection.biggerIsBetter("auc")).isTrue();
    assertThat(MetricDirection.biggerIsBetter("logLoss")).isFalse();
    assertThat(MetricDirection.beats("logLoss", 0.3, 0.4, 0.05)).isTrue();
    assertThat(MetricDirection.beats("accuracy", 0.82, 0.8, 0.05)).isFalse();
  }
}
