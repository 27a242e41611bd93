package dev.streamlearn.core.serve;

import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.core.data.ModelRouter;
import dev.streamlearn.store.CandidateRanking;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.VersionSource;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.apache.avro.generic.GenericRecord;

/**
 * The best of a pipeline's hyper-parameter candidates (each segment's best, where it has segments),
 * followed as the ranking moves. At every {@link #refresh} each candidate model's {@code latest}
 * version is ranked ({@link CandidateRanking}: on the newest validation window, by the metric the
 * candidates are compared by), and the first one scores once the newest window's ranking is
 * <em>settled</em>: every candidate has a version validated on it, or the last look saw the same
 * newest window with the same candidates on it (a candidate that stopped publishing, gated or
 * stopped early, then holds the choice back for one look, not for good). The candidates' trainers
 * close a window at the same watermark and publish one after another, so a ranking caught halfway
 * through does not swap the model. Segments that appear later (their first versions) are scored
 * from then on. Flink-free.
 */
public final class ServedBestCandidates implements Served {

  /** What a look saw of a segment's ranking: its newest window's end and who is on it. */
  private record Seen(long newestEnd, List<String> onNewest) {}

  /** Why a version scores: the entry of the ranking it was chosen from. */
  private record Choice(ModelScorer scorer, CandidateRanking.Entry entry, String metric) {}

  private final VersionSource source;
  private final String pipeline;
  private final boolean segments;

  /** Each segment's choice (one, keyed by null, without segments), in the order they came. */
  private Map<Manifest.Segment, Choice> chosen = new LinkedHashMap<>();

  private final Map<Manifest.Segment, Seen> lastSeen = new LinkedHashMap<>();

  /** The segments' scorer, rebuilt when a choice moves; null without segments. */
  private SegmentedScorer bySegment;

  private ServedBestCandidates(VersionSource source, String pipeline, boolean segments) {
    this.source = source;
    this.pipeline = pipeline;
    this.segments = segments;
  }

  /**
   * The best candidate of {@code pipeline} now (of each of its segments, with {@code segments}):
   * the first of the ranking on the newest window, settled or not.
   *
   * @throws NoSuchFileException when the store has no candidate model of the pipeline with a {@code
   *     latest} version (yet)
   * @throws IllegalArgumentException when the candidates cannot be ranked together (different
   *     metrics), or segments are expected and the candidates are none's (or the other way round)
   */
  public static ServedBestCandidates open(VersionSource source, String pipeline, boolean segments)
      throws IOException {
    ServedBestCandidates served = new ServedBestCandidates(source, pipeline, segments);
    Map<Manifest.Segment, CandidateRanking> rankings = served.rank();
    if (rankings.isEmpty()) {
      throw new NoSuchFileException(
          "no hyper-parameter candidate models "
              + pipeline
              + (segments ? ".<segment>" : "")
              + ".<candidate> with a latest version in "
              + source.location());
    }
    served.choose(rankings);
    return served;
  }

  /** Each segment's candidates ranked on their {@code latest} versions. */
  private Map<Manifest.Segment, CandidateRanking> rank() throws IOException {
    List<Manifest> newest = new ArrayList<>();
    for (String model : ModelRouter.pipelineModels(pipeline, source.models())) {
      Optional<Long> latest = source.alias(model, "latest");
      if (latest.isEmpty()) {
        continue;
      }
      Optional<Manifest> manifest = source.manifest(model, latest.get());
      if (manifest.isEmpty() || manifest.get().candidate() == null) {
        continue;
      }
      if ((manifest.get().segment() != null) != segments) {
        throw new IllegalArgumentException(
            model
                + (segments
                    ? " is a candidate of no segment, and the pipeline has segments"
                    : " is a segment's candidate, and the pipeline has no segments"));
      }
      newest.add(manifest.get());
    }
    return newest.isEmpty() ? Map.of() : CandidateRanking.bySegment(newest);
  }

  /**
   * Takes each segment's settled best, loading the versions that moved.
   *
   * @return true when a version scored with changed
   */
  private boolean choose(Map<Manifest.Segment, CandidateRanking> rankings) throws IOException {
    Map<Manifest.Segment, Choice> next = new LinkedHashMap<>(chosen);
    boolean moved = false;
    for (Map.Entry<Manifest.Segment, CandidateRanking> segment : rankings.entrySet()) {
      CandidateRanking ranking = segment.getValue();
      Choice inHand = chosen.get(segment.getKey());
      Seen now = seen(ranking);
      boolean settled =
          now.onNewest().size() == ranking.entries().size()
              || now.equals(lastSeen.get(segment.getKey()));
      lastSeen.put(segment.getKey(), now);
      Optional<CandidateRanking.Entry> best = ranking.best();
      CandidateRanking.Entry pick;
      if (inHand == null) {
        pick = best.orElse(ranking.entries().get(0));
      } else if (settled && best.isPresent()) {
        pick = best.get();
      } else {
        continue;
      }
      if (inHand != null
          && inHand.entry().model().equals(pick.model())
          && inHand.entry().version() == pick.version()) {
        continue;
      }
      next.put(
          segment.getKey(),
          new Choice(
              ModelScorer.load(source, pick.model(), pick.version()), pick, ranking.metric()));
      moved = true;
    }
    if (moved) {
      if (segments) {
        try {
          bySegment = SegmentedScorer.of(next.values().stream().map(Choice::scorer).toList());
        } catch (IllegalArgumentException e) {
          throw new IOException("the new versions do not go together: " + e.getMessage(), e);
        }
      }
      chosen = next;
    }
    return moved;
  }

  private static Seen seen(CandidateRanking ranking) {
    List<String> onNewest = new ArrayList<>();
    long newestEnd = Long.MIN_VALUE;
    for (CandidateRanking.Entry entry : ranking.entries()) {
      if (entry.current()) {
        onNewest.add(entry.model());
        newestEnd = entry.window().end();
      }
    }
    onNewest.sort(null);
    return new Seen(newestEnd, onNewest);
  }

  /**
   * Ranks the candidates again and takes the settled best; the versions in hand go on scoring until
   * the new ones are read whole.
   *
   * @return true when a version scored with changed
   * @throws IOException when the store cannot be read, or a chosen version does not match its
   *     manifest (the versions in hand stay)
   */
  @Override
  public boolean refresh() throws IOException {
    try {
      return choose(rank());
    } catch (IllegalArgumentException e) {
      throw new IOException(
          "the candidates of " + pipeline + " cannot be ranked: " + e.getMessage(), e);
    }
  }

  @Override
  public SegmentedScorer.Scored score(Map<String, ?> fields, long timestamp)
      throws ExampleExtractor.RefusedException {
    if (bySegment != null) {
      return bySegment.scoreWithModel(fields, timestamp);
    }
    ModelScorer scorer = only();
    return new SegmentedScorer.Scored(scorer, scorer.score(fields, timestamp));
  }

  @Override
  public SegmentedScorer.Scored score(GenericRecord record, long timestamp)
      throws ExampleExtractor.RefusedException {
    if (bySegment != null) {
      return bySegment.scoreWithModel(record, timestamp);
    }
    ModelScorer scorer = only();
    return new SegmentedScorer.Scored(scorer, scorer.score(record, timestamp));
  }

  private ModelScorer only() {
    return chosen.values().iterator().next().scorer();
  }

  @Override
  public ModelScorer anyModel() {
    return only();
  }

  /** The versions scored with now: one, or one per segment. */
  public List<ModelScorer> scorers() {
    return chosen.values().stream().map(Choice::scorer).toList();
  }

  /**
   * {@code the best candidate of m: m.mlp version 7 (held-out accuracy 0.9120 on 250 events)}, or
   * each segment's, for logs.
   */
  @Override
  public String toString() {
    List<String> each = new ArrayList<>();
    for (Choice choice : chosen.values()) {
      CandidateRanking.Entry entry = choice.entry();
      each.add(
          String.format(
              "%s version %d (held-out %s %.4f on %,d events)",
              entry.model(), entry.version(), choice.metric(), entry.value(), entry.heldOut()));
    }
    return (segments ? "each segment's best candidate of " : "the best candidate of ")
        + pipeline
        + ": "
        + String.join(", ", each);
  }

  /** The versions chosen, {@code digits.mlp version 7}, each segment's with segments. */
  public String choices() {
    List<String> each = new ArrayList<>();
    for (Choice choice : chosen.values()) {
      each.add(choice.entry().model() + " version " + choice.entry().version());
    }
    return String.join(", ", each);
  }

  /** True when {@code candidate} asks for the best candidate rather than one by name. */
  public static boolean isBest(String candidate) {
    return Objects.equals(candidate, dev.streamlearn.core.spec.PipelineSpec.BEST_CANDIDATE);
  }
}
