package dev.streamlearn.core.metrics;

import java.util.Map;

/** Held-out metrics in words, as the command line and the Python scorer print them. */
public final class MetricsText {

  private MetricsText() {}

  /**
   * One set of metrics in words, e.g. {@code accuracy 0.846, AUC 0.884, log loss 0.486 on 39 events
   * (majority class 0.846)}: RMSE, MAE and R² for a regressor, accuracy, macro F1 and log loss for
   * classes, accuracy, AUC and log loss for two.
   *
   * @param counted what the count counts ({@code events}, {@code rows})
   */
  public static String describe(Map<String, Double> window, String counted) {
    if (window != null && window.containsKey("rmse")) {
      return String.format(
          "RMSE %.4g, MAE %.4g, R² %s on %,.0f %s",
          window.get("rmse"),
          window.get("mae"),
          window.containsKey("r2") ? String.format("%.3f", window.get("r2")) : "n/a",
          window.get("count"),
          counted);
    }
    if (window != null && window.containsKey("macroF1")) {
      return String.format(
          "accuracy %.3f, macro F1 %.3f, log loss %.3f on %,.0f %s (majority class %.3f)",
          window.get("accuracy"),
          window.get("macroF1"),
          window.get("logLoss"),
          window.get("count"),
          counted,
          window.get("majorityRate"));
    }
    if (window != null && window.getOrDefault("count", 0.0) == 0 && !window.isEmpty()) {
      // A window the holdout policy trained on (every holdout.every-th is held out).
      return "(its window held no events out)";
    }
    if (window == null || !window.containsKey("accuracy")) {
      return "(no held-out events yet)";
    }
    return String.format(
        "accuracy %.3f, AUC %s, log loss %.3f on %,.0f %s (majority class %.3f)",
        window.get("accuracy"),
        window.containsKey("auc") ? String.format("%.3f", window.get("auc")) : "n/a",
        window.get("logLoss"),
        window.get("count"),
        counted,
        window.get("majorityRate"));
  }
}
