package dev.streamlearn.core.metrics;

/**
 * Bounded-memory ROC and PR AUC since start: counts of positive and negative scores in equal-width
 * probability bins. Scores in one bin count as ties, so the error is at most the share of
 * positive-negative pairs that fall into the same bin. The counts are public arrays so they can
 * live in Flink state.
 */
public final class ScoreHistogram {

  public static final int BINS = 1000;

  private ScoreHistogram() {}

  public static long[] empty() {
    return new long[2 * BINS];
  }

  /**
   * Adds one scored example: {@code counts[bin]} negatives, {@code counts[BINS + bin]} positives.
   */
  public static void add(long[] counts, float probability, boolean positive) {
    int bin = Math.min(BINS - 1, Math.max(0, (int) (probability * BINS)));
    counts[(positive ? BINS : 0) + bin]++;
  }

  /** ROC AUC with ties within a bin counted one half; NaN until both classes are seen. */
  public static double rocAuc(long[] counts) {
    double negativesBelow = 0;
    double pairs = 0;
    long positives = 0;
    long negatives = 0;
    for (int bin = 0; bin < BINS; bin++) {
      long negative = counts[bin];
      long positive = counts[BINS + bin];
      pairs += positive * (negativesBelow + 0.5 * negative);
      negativesBelow += negative;
      positives += positive;
      negatives += negative;
    }
    return positives == 0 || negatives == 0 ? Double.NaN : pairs / ((double) positives * negatives);
  }

  /** Average precision over bins, from the highest scores down. */
  public static double prAuc(long[] counts) {
    long positives = 0;
    for (int bin = 0; bin < BINS; bin++) {
      positives += counts[BINS + bin];
    }
    if (positives == 0) {
      return Double.NaN;
    }
    double sum = 0;
    long truePositives = 0;
    long seen = 0;
    for (int bin = BINS - 1; bin >= 0; bin--) {
      long positive = counts[BINS + bin];
      truePositives += positive;
      seen += positive + counts[bin];
      if (positive > 0) {
        sum += positive * (truePositives / (double) seen);
      }
    }
    return sum / positives;
  }
}
