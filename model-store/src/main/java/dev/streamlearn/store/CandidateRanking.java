package dev.streamlearn.store;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Ranks a pipeline's hyper-parameter candidates (of one segment, where the pipeline has segments),
 * each by its newest version, on the held-out metric they are compared by (the manifests' {@code
 * candidate.metric}). Candidates learn from the same events and hold out the same ones, so versions
 * validated on the same window compare like for like: those on the newest window rank first, best
 * first; a candidate whose newest version was validated on an older window (it was not published
 * since, e.g. gated or pruned) ranks after them. A candidate pruned while the stream ran is shown
 * with its {@link Pruning} once the others have moved past its newest window: until then it is
 * still publishing what it learned before the decision reached it, and a record left by an earlier
 * run is not taken for this run's while the candidate keeps up.
 */
public final class CandidateRanking {

  /**
   * One candidate's place.
   *
   * @param value its newest version's held-out {@code metric} on its validation window; NaN when
   *     that window held nothing out
   * @param heldOut how many held-out events the value is over
   * @param current its window is the newest window among the candidates
   * @param sinceStart the metric over every held-out event since the start, each scored on arrival
   *     by the model of that moment (NaN when the manifest has none): the long run, beside the
   *     newest window
   * @param pruned why it stopped training, where it was pruned while the stream ran and has not
   *     published on the newest window; null otherwise
   */
  public record Entry(
      String model,
      String candidate,
      Map<String, String> settings,
      long version,
      Manifest.ValidationWindow window,
      long heldOut,
      double value,
      boolean current,
      double sinceStart,
      Pruning pruned) {}

  private final String metric;
  private final List<Entry> entries;

  private CandidateRanking(String metric, List<Entry> entries) {
    this.metric = metric;
    this.entries = entries;
  }

  /**
   * Ranks the candidates whose newest versions' manifests are {@code newest}.
   *
   * @throws IllegalArgumentException when a manifest is not a candidate's, or the candidates are
   *     compared by different metrics
   */
  public static CandidateRanking of(Collection<Manifest> newest) {
    return of(newest, Map.of());
  }

  /**
   * Ranks the candidates whose newest versions' manifests are {@code newest}; {@code pruned} holds,
   * by model name, the candidates that were pruned while the stream ran ({@link #prunings}).
   *
   * @throws IllegalArgumentException when a manifest is not a candidate's, or the candidates are
   *     compared by different metrics
   */
  public static CandidateRanking of(Collection<Manifest> newest, Map<String, Pruning> pruned) {
    if (newest.isEmpty()) {
      throw new IllegalArgumentException("no candidate models to rank");
    }
    String metric = null;
    long newestEnd = Long.MIN_VALUE;
    for (Manifest manifest : newest) {
      if (manifest.candidate() == null) {
        throw new IllegalArgumentException(
            "model " + manifest.name() + " is not a hyper-parameter candidate");
      }
      if (!java.util.Objects.equals(manifest.segment(), newest.iterator().next().segment())) {
        throw new IllegalArgumentException(
            "candidates of different segments: rank each segment's candidates on their own ("
                + manifest.name()
                + ")");
      }
      String its = manifest.candidate().metric();
      if (metric != null && !metric.equals(its)) {
        throw new IllegalArgumentException(
            "candidates compared by different metrics: " + metric + " and " + its);
      }
      metric = its;
      if (manifest.validationWindow() != null) {
        newestEnd = Math.max(newestEnd, manifest.validationWindow().end());
      }
    }
    List<Entry> entries = new ArrayList<>();
    for (Manifest manifest : newest) {
      Map<String, Double> window =
          manifest.metrics() == null ? null : manifest.metrics().get("window");
      double value =
          window == null ? Double.NaN : window.getOrDefault(metric, Double.NaN).doubleValue();
      long heldOut = window == null ? 0 : window.getOrDefault("count", 0.0).longValue();
      Map<String, Double> all =
          manifest.metrics() == null ? null : manifest.metrics().get("sinceStart");
      double sinceStart =
          all == null ? Double.NaN : all.getOrDefault(metric, Double.NaN).doubleValue();
      Manifest.ValidationWindow span = manifest.validationWindow();
      boolean current = span != null && span.end() == newestEnd;
      entries.add(
          new Entry(
              manifest.name(),
              manifest.candidate().name(),
              manifest.candidate().settings(),
              manifest.version(),
              span,
              heldOut,
              value,
              current,
              sinceStart,
              current ? null : pruned.get(manifest.name())));
    }
    boolean bigger = MetricDirection.biggerIsBetter(metric);
    Comparator<Entry> byValue =
        Comparator.comparing((Entry e) -> Double.isNaN(e.value()))
            .thenComparingDouble(e -> bigger ? -e.value() : e.value());
    entries.sort(
        Comparator.comparing((Entry e) -> !e.current())
            .thenComparing(
                (Entry e) -> e.window() == null ? Long.MIN_VALUE : e.window().end(),
                Comparator.reverseOrder())
            .thenComparing(byValue)
            .thenComparing(Entry::model));
    return new CandidateRanking(metric, List.copyOf(entries));
  }

  /** The metric the candidates are compared by. */
  public String metric() {
    return metric;
  }

  /** Best first. */
  public List<Entry> entries() {
    return entries;
  }

  /**
   * The newest version's manifest of every candidate model of pipeline {@code pipeline} ({@code
   * <pipeline>.<candidate>}, or {@code <pipeline>.<segment>.<candidate>}) in {@code store}, in name
   * order.
   */
  public static List<Manifest> newestCandidates(ModelStore store, String pipeline)
      throws java.io.IOException {
    List<Manifest> newest = new ArrayList<>();
    for (String model : store.models().stream().sorted().toList()) {
      if (!model.startsWith(pipeline + ".")) {
        continue;
      }
      List<Long> versions = store.versions(model);
      if (versions.isEmpty()) {
        continue;
      }
      store
          .manifest(model, versions.get(versions.size() - 1))
          .filter(manifest -> manifest.candidate() != null)
          .ifPresent(newest::add);
    }
    return newest;
  }

  /** The prunings the source records for the candidates of {@code newest}, by model name. */
  public static Map<String, Pruning> prunings(VersionSource source, Collection<Manifest> newest)
      throws java.io.IOException {
    Map<String, Pruning> prunings = new java.util.HashMap<>();
    for (Manifest manifest : newest) {
      source.pruning(manifest.name()).ifPresent(pruning -> prunings.put(manifest.name(), pruning));
    }
    return prunings;
  }

  /**
   * The newest versions of candidates grouped by segment (one group, keyed by null, without
   * segments), each group ranked; segments in the order they first appear.
   */
  public static Map<Manifest.Segment, CandidateRanking> bySegment(Collection<Manifest> newest) {
    return bySegment(newest, Map.of());
  }

  /** The same, with the prunings of the candidates pruned while the stream ran, by model name. */
  public static Map<Manifest.Segment, CandidateRanking> bySegment(
      Collection<Manifest> newest, Map<String, Pruning> pruned) {
    Map<Manifest.Segment, List<Manifest>> groups = new java.util.LinkedHashMap<>();
    for (Manifest manifest : newest) {
      groups.computeIfAbsent(manifest.segment(), s -> new ArrayList<>()).add(manifest);
    }
    Map<Manifest.Segment, CandidateRanking> rankings = new java.util.LinkedHashMap<>();
    groups.forEach((segment, group) -> rankings.put(segment, of(group, pruned)));
    return rankings;
  }

  /** The best candidate on the newest window; empty when none has a value there. */
  public java.util.Optional<Entry> best() {
    Entry first = entries.get(0);
    return first.current() && !Double.isNaN(first.value())
        ? java.util.Optional.of(first)
        : java.util.Optional.empty();
  }
}
