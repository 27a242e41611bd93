package dev.streamlearn.core.serve;

import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.core.data.ModelRouter;
import dev.streamlearn.store.VersionSource;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.apache.avro.generic.GenericRecord;

/**
 * A version of each segment model of a pipeline, each event scored by its segment's model ({@link
 * SegmentedScorer}); each model's alias is followed on its own. The segments are those the store
 * holds when it starts. Flink-free.
 */
public final class ServedSegments implements Served {

  private final List<ServedModel> models;
  private SegmentedScorer bySegment;

  /** The versions {@link #bySegment} was made of, in the order of {@link #models}. */
  private List<ModelScorer> scoring;

  private ServedSegments(List<ServedModel> models) {
    this.models = models;
    this.scoring = scorers();
    this.bySegment = SegmentedScorer.of(scoring);
  }

  /**
   * The segment models of {@code pipeline} ({@code <pipeline>.<segment>}), at {@code
   * versionOrAlias}.
   *
   * @param candidate where the segments have hyper-parameter candidates, the one to score with
   *     (each segment's model of that candidate); null where they have none
   * @throws IllegalArgumentException when the store holds no segment models of the pipeline, or the
   *     segments have candidates and {@code candidate} names none of them
   */
  public static ServedSegments open(
      VersionSource source, String pipeline, String versionOrAlias, String candidate)
      throws IOException {
    List<ServedModel> segmentModels = new ArrayList<>();
    TreeSet<String> candidates = new TreeSet<>();
    for (String name : ModelRouter.pipelineModels(pipeline, source.models())) {
      ServedModel model = new ServedModel(source, name, versionOrAlias);
      if (model.scorer().manifest().segment() == null) {
        continue;
      }
      if (model.scorer().manifest().candidate() != null) {
        candidates.add(model.scorer().manifest().candidate().name());
      }
      segmentModels.add(model);
    }
    if (segmentModels.isEmpty()) {
      throw new IllegalArgumentException(
          "no segment models " + pipeline + ".<segment> in " + source.location());
    }
    if (!candidates.isEmpty() || candidate != null) {
      if (candidate == null || !candidates.contains(candidate)) {
        throw new IllegalArgumentException(
            "the segments of "
                + pipeline
                + (candidates.isEmpty()
                    ? " have no hyper-parameter candidates; leave the candidate out"
                    : " have hyper-parameter candidates "
                        + candidates
                        + ": name one to score with"));
      }
      segmentModels.removeIf(m -> !m.scorer().manifest().candidate().name().equals(candidate));
    }
    return new ServedSegments(segmentModels);
  }

  @Override
  public SegmentedScorer.Scored score(Map<String, ?> fields, long timestamp)
      throws ExampleExtractor.RefusedException {
    return bySegment.scoreWithModel(fields, timestamp);
  }

  @Override
  public SegmentedScorer.Scored score(GenericRecord record, long timestamp)
      throws ExampleExtractor.RefusedException {
    return bySegment.scoreWithModel(record, timestamp);
  }

  /**
   * Looks again where each segment model's alias points. The segments' scorer is rebuilt when any
   * version moved, also when another model's version could not be read this time (that one is
   * looked for again next time); versions that do not go together (other classes, another segment
   * feature) leave the ones in hand scoring.
   */
  @Override
  public boolean refresh() throws IOException {
    IOException failed = null;
    for (ServedModel model : models) {
      try {
        model.refresh();
      } catch (IOException e) {
        failed = failed == null ? e : failed;
      }
    }
    List<ModelScorer> now = scorers();
    boolean moved = false;
    for (int i = 0; i < now.size(); i++) {
      moved |= now.get(i) != scoring.get(i);
    }
    if (moved) {
      try {
        bySegment = SegmentedScorer.of(now);
        scoring = now;
      } catch (IllegalArgumentException e) {
        throw new IOException("the new versions do not go together: " + e.getMessage(), e);
      }
    }
    if (failed != null) {
      throw failed;
    }
    return moved;
  }

  @Override
  public ModelScorer anyModel() {
    return bySegment.anyModel();
  }

  /** The models scored with now, one per segment. */
  public List<ModelScorer> scorers() {
    return models.stream().map(ServedModel::scorer).toList();
  }

  @Override
  public String toString() {
    return "the segment models by "
        + bySegment.feature()
        + " ("
        + String.join(", ", models.stream().map(ServedModel::toString).toList())
        + ")";
  }
}
