package dev.streamlearn.core.metrics;

import java.util.LinkedHashMap;
import java.util.Map;

/** Exact held-out metrics of a regressor: MSE, RMSE, MAE and R². */
public final class RegressionMetrics {

  private RegressionMetrics() {}

  public static Map<String, Double> of(float[] prediction, float[] label, int count) {
    Map<String, Double> metrics = new LinkedHashMap<>();
    metrics.put("count", (double) count);
    if (count == 0) {
      return metrics;
    }
    double mean = 0;
    for (int i = 0; i < count; i++) {
      mean += label[i];
    }
    mean /= count;
    double squared = 0;
    double absolute = 0;
    double total = 0;
    for (int i = 0; i < count; i++) {
      double residual = (double) prediction[i] - label[i];
      squared += residual * residual;
      absolute += Math.abs(residual);
      total += (label[i] - mean) * (label[i] - mean);
    }
    metrics.put("mse", squared / count);
    metrics.put("rmse", Math.sqrt(squared / count));
    metrics.put("mae", absolute / count);
    if (total > 0) {
      metrics.put("r2", 1 - squared / total);
    }
    return metrics;
  }
}
