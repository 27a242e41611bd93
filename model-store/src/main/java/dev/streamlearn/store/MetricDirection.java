package dev.streamlearn.store;

import java.util.Set;

/** Whether a bigger value of a metric means a better model. */
public final class MetricDirection {

  private static final Set<String> BIGGER_IS_BETTER =
      Set.of(
          "accuracy", "auc", "prAuc", "precision", "recall", "f1", "macroF1", "weightedF1", "r2");
  private static final Set<String> SMALLER_IS_BETTER = Set.of("logLoss", "mse", "rmse", "mae");

  public static boolean biggerIsBetter(String metric) {
    if (BIGGER_IS_BETTER.contains(metric)) {
      return true;
    }
    if (SMALLER_IS_BETTER.contains(metric)) {
      return false;
    }
    throw new IllegalArgumentException("unknown metric '" + metric + "'");
  }

  public static boolean known(String metric) {
    return BIGGER_IS_BETTER.contains(metric) || SMALLER_IS_BETTER.contains(metric);
  }

  /** True when {@code candidate} beats {@code reference} by more than {@code margin}. */
  public static boolean beats(String metric, double candidate, double reference, double margin) {
    return biggerIsBetter(metric) ? candidate > reference + margin : candidate < reference - margin;
  }

  private MetricDirection() {}
}
