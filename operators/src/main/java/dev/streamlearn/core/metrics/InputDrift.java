package dev.streamlearn.core.metrics;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * How far the distribution of each raw input moved from one validation window to the next, as the
 * population stability index over the windows' held-out events (a uniform sample of each window):
 * PSI = sum over bins of (q - p) ln(q / p), p and q the earlier and the later window's shares of a
 * bin. A numeric input is binned at the earlier window's deciles, a categorical one by value (the
 * earlier window's {@value #TOP_VALUES} most frequent values, the others together); a missing value
 * has a bin of its own, so a change in how often an input is missing counts too. By the usual
 * reading, below 0.1 the input is stable, above 0.25 it has shifted; but the windows are samples,
 * and two samples of one distribution, of n events each, score about (bins - 1) x 2 / n by chance
 * alone: 0.1 at 200 held-out events a window (a numeric input has 10 bins that hold values), 0.02
 * at 1,000.
 */
public final class InputDrift {

  /** An index above this, by the usual reading, says the input has shifted. */
  public static final double SHIFTED = 0.25;

  /** Numeric bins (deciles), before the missing-value bin. */
  public static final int BINS = 10;

  /** Categorical values with a bin of their own; the others share one. */
  public static final int TOP_VALUES = 20;

  /** Windows with fewer held-out events than this are too small to compare. */
  public static final int MIN_EVENTS = 200;

  /** Added to each share, so that an empty bin costs a large but finite amount. */
  private static final double SMOOTHING = 1e-4;

  /** One window's distribution of every input: what a later window is compared with. */
  public static class Profile {
    /** Per numeric input, {@code BINS - 1} ascending cut points (equal ones where values tie). */
    public double[] edges;

    /** Per numeric input, {@code BINS + 1} shares: the bins, then missing. */
    public double[] numericShares;

    /** Per categorical input, its {@code TOP_VALUES} most frequent values (null where fewer). */
    public String[] values;

    /** Per categorical input, {@code TOP_VALUES + 2} shares: the values, the others, missing. */
    public double[] textShares;

    public Profile() {}
  }

  /**
   * The distribution of {@code rows} of raw inputs: {@code numeric} holds {@code numericCount}
   * values a row (NaN: missing), {@code text} {@code textCount} (null: missing).
   */
  public static Profile profile(
      double[] numeric, int numericCount, String[] text, int textCount, int[] rows) {
    Profile profile = new Profile();
    profile.edges = new double[numericCount * (BINS - 1)];
    profile.numericShares = new double[numericCount * (BINS + 1)];
    double[] present = new double[rows.length];
    for (int j = 0; j < numericCount; j++) {
      int n = 0;
      for (int r : rows) {
        double value = numeric[r * numericCount + j];
        if (!Double.isNaN(value)) {
          present[n++] = value;
        }
      }
      Arrays.sort(present, 0, n);
      for (int k = 1; k < BINS; k++) {
        profile.edges[j * (BINS - 1) + k - 1] = n == 0 ? 0 : present[(int) ((long) k * n / BINS)];
      }
      numericShares(profile, numeric, numericCount, j, rows, profile.numericShares, j);
    }
    profile.values = new String[textCount * TOP_VALUES];
    profile.textShares = new double[textCount * (TOP_VALUES + 2)];
    for (int j = 0; j < textCount; j++) {
      Map<String, Integer> counts = new HashMap<>();
      for (int r : rows) {
        String value = text[r * textCount + j];
        if (value != null) {
          counts.merge(value, 1, Integer::sum);
        }
      }
      String[] top =
          counts.entrySet().stream()
              .sorted(
                  Map.Entry.<String, Integer>comparingByValue()
                      .reversed()
                      .thenComparing(Map.Entry.comparingByKey()))
              .limit(TOP_VALUES)
              .map(Map.Entry::getKey)
              .toArray(String[]::new);
      System.arraycopy(top, 0, profile.values, j * TOP_VALUES, top.length);
      textShares(profile, text, textCount, j, rows, profile.textShares, j);
    }
    return profile;
  }

  /**
   * The index of each numeric input, then each categorical one, of {@code rows} against {@code
   * reference}.
   */
  public static double[] against(
      Profile reference,
      double[] numeric,
      int numericCount,
      String[] text,
      int textCount,
      int[] rows) {
    double[] index = new double[numericCount + textCount];
    double[] shares = new double[Math.max(BINS + 1, TOP_VALUES + 2)];
    for (int j = 0; j < numericCount; j++) {
      numericShares(reference, numeric, numericCount, j, rows, shares, 0);
      index[j] = psi(reference.numericShares, j * (BINS + 1), shares, BINS + 1);
    }
    for (int j = 0; j < textCount; j++) {
      textShares(reference, text, textCount, j, rows, shares, 0);
      index[numericCount + j] =
          psi(reference.textShares, j * (TOP_VALUES + 2), shares, TOP_VALUES + 2);
    }
    return index;
  }

  /** Shares of numeric input {@code j} of {@code rows} in the bins of {@code bins}' edges. */
  private static void numericShares(
      Profile bins,
      double[] numeric,
      int numericCount,
      int j,
      int[] rows,
      double[] shares,
      int at) {
    int offset = at * (BINS + 1);
    Arrays.fill(shares, offset, offset + BINS + 1, 0);
    for (int r : rows) {
      double value = numeric[r * numericCount + j];
      int bin = Double.isNaN(value) ? BINS : binOf(bins.edges, j * (BINS - 1), value);
      shares[offset + bin]++;
    }
    for (int b = 0; b <= BINS; b++) {
      shares[offset + b] /= Math.max(1, rows.length);
    }
  }

  /** The number of cut points below {@code value}: a value on a cut point is in the bin below. */
  private static int binOf(double[] edges, int from, double value) {
    int bin = 0;
    while (bin < BINS - 1 && edges[from + bin] < value) {
      bin++;
    }
    return bin;
  }

  /** Shares of categorical input {@code j} of {@code rows} over the values of {@code bins}. */
  private static void textShares(
      Profile bins, String[] text, int textCount, int j, int[] rows, double[] shares, int at) {
    int offset = at * (TOP_VALUES + 2);
    Arrays.fill(shares, offset, offset + TOP_VALUES + 2, 0);
    Map<String, Integer> slot = new HashMap<>();
    for (int v = 0; v < TOP_VALUES; v++) {
      String value = bins.values[j * TOP_VALUES + v];
      if (value != null) {
        slot.put(value, v);
      }
    }
    for (int r : rows) {
      String value = text[r * textCount + j];
      int bin = value == null ? TOP_VALUES + 1 : slot.getOrDefault(value, TOP_VALUES);
      shares[offset + bin]++;
    }
    for (int b = 0; b < TOP_VALUES + 2; b++) {
      shares[offset + b] /= Math.max(1, rows.length);
    }
  }

  /** PSI of {@code q[0..bins)} against {@code p[from..from + bins)}. */
  static double psi(double[] p, int from, double[] q, int bins) {
    double index = 0;
    for (int b = 0; b < bins; b++) {
      double before = p[from + b] + SMOOTHING;
      double after = q[b] + SMOOTHING;
      index += (after - before) * Math.log(after / before);
    }
    return index;
  }

  private InputDrift() {}
}
