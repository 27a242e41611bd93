package dev.streamlearn.core.drift;

import java.io.Serializable;
import java.util.Arrays;

/**
 * Watches a stream of per-event errors (0/1 misclassification, or squared error) for an increase in
 * their mean. {@code page-hinkley}: Page and Hinkley's cumulative test. {@code adwin}: Bifet and
 * Gavaldà's adaptive window, which keeps an exponential histogram of the recent errors and cuts the
 * old part when the two parts' means differ by more than a variance-aware bound at confidence
 * {@code delta}. The detector keeps no state of its own: it reads and updates a {@link DriftState}.
 */
public final class DriftDetector implements Serializable {

  private static final int MAX_BUCKETS_PER_SIZE = 5;
  private static final int MIN_SIDE = 5;
  private static final int CHECK_EVERY = 32;

  /**
   * Page-Hinkley forgets old deviations slowly, so a long stationary stream does not random-walk
   * into an alarm.
   */
  private static final double FADING = 0.9999;

  private final String type;
  private final double delta;
  private final double alpha;
  private final double threshold;
  private final long minEvents;

  /**
   * @param delta adwin: confidence
   * @param alpha page-hinkley: tolerated increase
   * @param threshold page-hinkley: alarm level
   * @param minEvents no alarm before this many errors are seen
   */
  public DriftDetector(String type, double delta, double alpha, double threshold, long minEvents) {
    this.type = type;
    this.delta = delta;
    this.alpha = alpha;
    this.threshold = threshold;
    this.minEvents = minEvents;
  }

  @Override
  public String toString() {
    return type;
  }

  /** Adds one error; true when it signals that the error has increased. */
  public boolean add(DriftState state, double error) {
    state.count++;
    boolean drift = type.equals("adwin") ? adwin(state, error) : pageHinkley(state, error);
    if (drift) {
      state.detections++;
      state.lastDetectionAt = state.count;
    }
    return drift;
  }

  /** Forgets the past (after an alarm or a reaction), keeping the counts of errors and alarms. */
  public static void restart(DriftState state) {
    state.sinceRestart = 0;
    state.mean = 0;
    state.cumulative = 0;
    state.minimum = 0;
    state.buckets = 0;
    state.width = 0;
    state.total = 0;
    state.variance = 0;
    state.sinceCheck = 0;
  }

  private boolean pageHinkley(DriftState state, double error) {
    long n = ++state.sinceRestart;
    state.mean += (error - state.mean) / n;
    state.cumulative = FADING * state.cumulative + (error - state.mean - alpha);
    state.minimum = Math.min(state.minimum, state.cumulative);
    if (n >= minEvents && state.cumulative - state.minimum > threshold) {
      restart(state);
      return true;
    }
    return false;
  }

  private boolean adwin(DriftState state, double error) {
    insert(state, error);
    if (++state.sinceCheck < CHECK_EVERY || state.width < minEvents) {
      return false;
    }
    state.sinceCheck = 0;
    boolean increased = false;
    boolean cut = true;
    while (cut && state.buckets > 1) {
      cut = false;
      long n0 = 0;
      double total0 = 0;
      // Oldest buckets form W0; try each boundary from the oldest side.
      for (int b = state.buckets - 1; b > 0; b--) {
        n0 += state.bucketSize[b];
        total0 += state.bucketTotal[b];
        long n1 = state.width - n0;
        if (n0 < MIN_SIDE || n1 < MIN_SIDE) {
          continue;
        }
        double mean0 = total0 / n0;
        double mean1 = (state.total - total0) / n1;
        double m = 1.0 / (n0 - MIN_SIDE + 1) + 1.0 / (n1 - MIN_SIDE + 1);
        double dd = Math.log(2 * Math.log(state.width) / delta);
        double v = state.variance / state.width;
        double epsilon = Math.sqrt(2 * m * v * dd) + 2.0 / 3 * dd * m;
        if (Math.abs(mean1 - mean0) > epsilon) {
          increased |= mean1 > mean0;
          dropOldest(state);
          cut = true;
          break;
        }
      }
    }
    return increased;
  }

  private static void insert(DriftState state, double value) {
    ensureCapacity(state, state.buckets + 1);
    System.arraycopy(state.bucketSize, 0, state.bucketSize, 1, state.buckets);
    System.arraycopy(state.bucketTotal, 0, state.bucketTotal, 1, state.buckets);
    System.arraycopy(state.bucketVariance, 0, state.bucketVariance, 1, state.buckets);
    state.bucketSize[0] = 1;
    state.bucketTotal[0] = value;
    state.bucketVariance[0] = 0;
    state.buckets++;
    state.width++;
    if (state.width > 1) {
      double previousMean = state.total / (state.width - 1);
      state.variance +=
          (state.width - 1) * (value - previousMean) * (value - previousMean) / state.width;
    }
    state.total += value;
    compress(state);
  }

  /**
   * Merges the two oldest buckets of any size that has too many. Sizes grow from newest to oldest.
   */
  private static void compress(DriftState state) {
    int start = 0;
    while (start < state.buckets) {
      int end = start;
      while (end < state.buckets && state.bucketSize[end] == state.bucketSize[start]) {
        end++;
      }
      if (end - start > MAX_BUCKETS_PER_SIZE) {
        int a = end - 2;
        int b = end - 1;
        long n1 = state.bucketSize[a];
        long n2 = state.bucketSize[b];
        double mean1 = state.bucketTotal[a] / n1;
        double mean2 = state.bucketTotal[b] / n2;
        double merged =
            state.bucketVariance[a]
                + state.bucketVariance[b]
                + (double) n1 * n2 / (n1 + n2) * (mean1 - mean2) * (mean1 - mean2);
        state.bucketSize[a] = n1 + n2;
        state.bucketTotal[a] += state.bucketTotal[b];
        state.bucketVariance[a] = merged;
        remove(state, b);
        start = a;
        continue;
      }
      start = end;
    }
  }

  private static void dropOldest(DriftState state) {
    int last = state.buckets - 1;
    long n1 = state.bucketSize[last];
    double total1 = state.bucketTotal[last];
    long n0 = state.width - n1;
    double mean0 = (state.total - total1) / n0;
    double mean1 = total1 / n1;
    state.variance -=
        state.bucketVariance[last]
            + (double) n0 * n1 / (n0 + n1) * (mean0 - mean1) * (mean0 - mean1);
    state.variance = Math.max(0, state.variance);
    state.width -= n1;
    state.total -= total1;
    state.buckets--;
  }

  private static void remove(DriftState state, int index) {
    int tail = state.buckets - index - 1;
    System.arraycopy(state.bucketSize, index + 1, state.bucketSize, index, tail);
    System.arraycopy(state.bucketTotal, index + 1, state.bucketTotal, index, tail);
    System.arraycopy(state.bucketVariance, index + 1, state.bucketVariance, index, tail);
    state.buckets--;
  }

  private static void ensureCapacity(DriftState state, int needed) {
    if (state.bucketSize.length >= needed) {
      return;
    }
    int size = Math.max(16, needed * 2);
    state.bucketSize = Arrays.copyOf(state.bucketSize, size);
    state.bucketTotal = Arrays.copyOf(state.bucketTotal, size);
    state.bucketVariance = Arrays.copyOf(state.bucketVariance, size);
  }
}
