package dev.streamlearn.core.train;

import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.store.MetricDirection;
import dev.streamlearn.store.Pruning;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Successive halving of hyper-parameter candidates while the stream runs ({@code pruning}): the
 * candidates of one model (the pipeline's, or a segment's: a <em>competition</em>) report each
 * validation window's {@code validation.metric}; once every candidate still training has closed
 * {@code pruning.windows} windows since the last round, they are ranked by their mean over those
 * windows and the worse half stops training, never leaving fewer than {@code pruning.keep}.
 *
 * <p>Every candidate holds out the same events, so one window's values compare like for like. A
 * window counts once every remaining candidate has reported it, or has reported a later one (a
 * candidate without events in it then has no value there). Reports come back from the metrics topic
 * at least once: a second report of a window, or one of a candidate already pruned, changes
 * nothing. A candidate whose windows had no value (a metric that was undefined on them) ranks last;
 * ties keep the candidate listed first in the spec. A standing restored under a spec that dropped a
 * candidate goes on without it; one the spec added competes from then on.
 */
public final class CandidatePruning implements Serializable {

  /** A candidate that stops training, and why. */
  public record Pruned(
      String competition, String candidate, long windowEnd, int round, String reason)
      implements Serializable {

    /** The candidate's model: {@code <competition>.<candidate>}. */
    public String model() {
      return competition + "." + candidate;
    }

    /** The decision as the model store records it beside the candidate's versions. */
    public Pruning pruning() {
      return new Pruning(windowEnd, round, reason);
    }
  }

  /**
   * Where one competition stands: plain fields, kept in Flink's keyed state between reports.
   * Candidates are named as in the spec.
   */
  public static final class Standing implements Serializable {
    /** The candidates pruned, in the order they were; the others the spec lists still train. */
    public List<String> pruned = new ArrayList<>();

    /** Windows not yet reported by every remaining candidate: end → candidate → value. */
    public TreeMap<Long, HashMap<String, Double>> open = new TreeMap<>();

    /** The end of the last window counted; reports of it or earlier ones are old. */
    public long lastCounted = Long.MIN_VALUE;

    /** This round's windows counted so far. */
    public int windows;

    /** This round's sum of each candidate's values, and how many there were. */
    public HashMap<String, Double> sums = new HashMap<>();

    public HashMap<String, Integer> counts = new HashMap<>();

    /** Rounds done. */
    public int round;

    public Standing() {}
  }

  /** Open windows kept per competition at most: beyond that the oldest counts as it stands. */
  static final int MAX_OPEN_WINDOWS = 64;

  private final String pipeline;
  private final List<String> candidates;
  private final String metric;
  private final int windows;
  private final int keep;

  public CandidatePruning(
      String pipeline, List<String> candidates, String metric, PipelineSpec.Pruning pruning) {
    if (!pruning.enabled()) {
      throw new IllegalArgumentException("pruning is off (pruning.windows 0)");
    }
    this.pipeline = pipeline;
    this.candidates = List.copyOf(candidates);
    this.metric = metric;
    this.windows = pruning.windows();
    this.keep = pruning.keep();
    MetricDirection.biggerIsBetter(metric);
  }

  /** The rules of {@code spec}'s {@code pruning}, for its candidates and validation metric. */
  public static CandidatePruning of(PipelineSpec spec) {
    return new CandidatePruning(
        spec.name(),
        spec.candidates().stream().map(PipelineSpec.Candidate::name).toList(),
        spec.validation().metric(),
        spec.pruning());
  }

  /** The competition's standing before any report: every candidate training. */
  public Standing start() {
    return new Standing();
  }

  /**
   * The candidates still training, in spec order: those the spec lists that were not pruned (so a
   * standing restored under a spec that dropped or added candidates goes on with its own).
   */
  public List<String> remaining(Standing standing) {
    return candidates.stream().filter(c -> !standing.pruned.contains(c)).toList();
  }

  /**
   * The competition and candidate of one of this pipeline's candidate models ({@code
   * <competition>.<candidate>}); null for any other model (the metrics topic may be shared).
   */
  public String[] competitionAndCandidate(String model) {
    if (model == null || !model.startsWith(pipeline + ".")) {
      return null;
    }
    int dot = model.lastIndexOf('.');
    String candidate = model.substring(dot + 1);
    if (dot < pipeline.length() || !candidates.contains(candidate)) {
      return null;
    }
    return new String[] {model.substring(0, dot), candidate};
  }

  /**
   * Takes one window report of a candidate of {@code competition}, and returns the candidates that
   * stop training because of it (often none).
   */
  public List<Pruned> report(
      Standing standing, String competition, String candidate, long windowEnd, double value) {
    List<String> remaining = remaining(standing);
    if (!remaining.contains(candidate) || windowEnd <= standing.lastCounted) {
      return List.of();
    }
    standing.open.computeIfAbsent(windowEnd, end -> new HashMap<>()).put(candidate, value);
    List<Pruned> pruned = new ArrayList<>();
    while (!standing.open.isEmpty() && countable(standing, remaining)) {
      Map.Entry<Long, HashMap<String, Double>> window = standing.open.pollFirstEntry();
      count(standing, remaining, window.getValue());
      standing.lastCounted = window.getKey();
      if (standing.windows == windows && remaining.size() > keep) {
        pruned.addAll(cut(standing, remaining, competition, window.getKey()));
        remaining = remaining(standing);
      }
    }
    return pruned;
  }

  /**
   * Whether the oldest open window can count: every remaining candidate reported it or a later one,
   * or too many windows wait behind it.
   */
  private static boolean countable(Standing standing, List<String> remaining) {
    if (standing.open.size() > MAX_OPEN_WINDOWS) {
      return true;
    }
    long first = standing.open.firstKey();
    for (String candidate : remaining) {
      boolean reported = false;
      for (Map.Entry<Long, HashMap<String, Double>> window :
          standing.open.tailMap(first, true).entrySet()) {
        if (window.getValue().containsKey(candidate)) {
          reported = true;
          break;
        }
      }
      if (!reported) {
        return false;
      }
    }
    return true;
  }

  private static void count(Standing standing, List<String> remaining, Map<String, Double> values) {
    standing.windows++;
    for (String candidate : remaining) {
      Double value = values.get(candidate);
      if (value != null && Double.isFinite(value)) {
        standing.sums.merge(candidate, value, Double::sum);
        standing.counts.merge(candidate, 1, Integer::sum);
      }
    }
  }

  /** Ranks the remaining candidates on this round's windows and prunes the worse half. */
  private List<Pruned> cut(
      Standing standing, List<String> remaining, String competition, long windowEnd) {
    boolean bigger = MetricDirection.biggerIsBetter(metric);
    Map<String, Double> means = new HashMap<>();
    for (String candidate : remaining) {
      int count = standing.counts.getOrDefault(candidate, 0);
      means.put(candidate, count == 0 ? Double.NaN : standing.sums.get(candidate) / count);
    }
    // Best first; no value last; ties in spec order (the sort is stable).
    Comparator<String> byMean =
        Comparator.comparingDouble(
            candidate -> {
              double mean = means.get(candidate);
              return Double.isNaN(mean) ? Double.POSITIVE_INFINITY : bigger ? -mean : mean;
            });
    List<String> ranked = new ArrayList<>(remaining);
    ranked.sort(byMean);
    int stay = Math.max(keep, (ranked.size() + 1) / 2);
    int round = standing.round + 1;
    List<Pruned> pruned = new ArrayList<>();
    for (int i = stay; i < ranked.size(); i++) {
      String candidate = ranked.get(i);
      pruned.add(
          new Pruned(
              competition,
              candidate,
              windowEnd,
              round,
              String.format(
                  Locale.ROOT,
                  "round %d: mean %s %s over %d windows, %d of %d; %s on (%s)",
                  round,
                  metric,
                  describe(means.get(candidate)),
                  standing.windows,
                  i + 1,
                  ranked.size(),
                  stay == 1 ? "the best goes" : "the best " + stay + " go",
                  best(ranked.subList(0, stay), means))));
    }
    for (Pruned p : pruned) {
      standing.pruned.add(p.candidate());
    }
    standing.round = round;
    standing.windows = 0;
    standing.sums.clear();
    standing.counts.clear();
    return pruned;
  }

  private static String best(List<String> stay, Map<String, Double> means) {
    List<String> parts = new ArrayList<>();
    for (String candidate : stay) {
      parts.add(candidate + " " + describe(means.get(candidate)));
    }
    return String.join(", ", parts);
  }

  private static String describe(double mean) {
    return Double.isNaN(mean) ? "undefined" : String.format(Locale.ROOT, "%.4f", mean);
  }
}
