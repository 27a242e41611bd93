package dev.streamlearn.core.serve;

import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.store.VersionSource;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.apache.avro.generic.GenericRecord;

/**
 * What the scoring job scores with: one model's version ({@link ServedModel}), or a version of each
 * segment model of a pipeline ({@link ServedSegments}). Flink-free.
 */
public interface Served {

  /**
   * What to score with: {@code model}'s version, or, where {@code model} is the name of a pipeline
   * of segments, each segment model's ({@link #bySegment}). Where the spec's pipeline trains
   * hyper-parameter candidates, {@code candidate} names the one to score with (the model {@code
   * <pipeline>.<candidate>}, or that candidate of each segment), or is {@value
   * PipelineSpec#BEST_CANDIDATE}: whichever ranks first, followed as the ranking moves ({@link
   * ServedBestCandidates}).
   *
   * @param candidate a candidate's name, {@value PipelineSpec#BEST_CANDIDATE}, or null
   * @throws java.nio.file.NoSuchFileException when the model has no such version or alias (yet)
   * @throws IllegalArgumentException when a candidate is named where it cannot be (another model
   *     than the pipeline's, a spec without candidates, a version other than {@code latest} with
   *     {@value PipelineSpec#BEST_CANDIDATE}), or a candidate the spec does not list
   */
  static Served open(
      VersionSource source,
      PipelineSpec spec,
      String model,
      String versionOrAlias,
      String candidate)
      throws IOException {
    boolean best = ServedBestCandidates.isBest(candidate);
    boolean segmented = bySegment(spec, model);
    if (candidate != null && !segmented && !model.equals(spec.name())) {
      throw new IllegalArgumentException(
          "a candidate ("
              + candidate
              + ") is chosen among the candidates of the spec's pipeline "
              + spec.name()
              + ", not of the model "
              + model
              + ": leave the model out");
    }
    // (Segments whose models have candidates the spec no longer lists: ServedSegments decides.)
    if (candidate != null && (best || !segmented) && !spec.hasCandidates()) {
      throw new IllegalArgumentException(
          "pipeline "
              + spec.name()
              + " has no hyper-parameter candidates: leave the candidate ("
              + candidate
              + ") out");
    }
    if (best) {
      if (!versionOrAlias.equals("latest")) {
        throw new IllegalArgumentException(
            "the best candidate is chosen among the candidates' latest versions: leave the"
                + " version ("
                + versionOrAlias
                + ") out");
      }
      return ServedBestCandidates.open(source, model, spec.segments().enabled());
    }
    if (segmented) {
      return ServedSegments.open(source, model, versionOrAlias, candidate);
    }
    if (candidate != null) {
      List<String> names = spec.candidates().stream().map(PipelineSpec.Candidate::name).toList();
      if (!names.contains(candidate)) {
        throw new IllegalArgumentException(
            "no candidate '"
                + candidate
                + "' in pipeline "
                + spec.name()
                + ": its candidates are "
                + String.join(", ", names)
                + ", or "
                + PipelineSpec.BEST_CANDIDATE);
      }
      return new ServedModel(source, model + "." + candidate, versionOrAlias);
    }
    return new ServedModel(source, model, versionOrAlias);
  }

  /** True when the model named is a pipeline of segments: each event goes to its segment's. */
  static boolean bySegment(PipelineSpec spec, String model) {
    return spec.segments().enabled() && model.equals(spec.name());
  }

  /** The output for a {@code LabeledEvent}'s features, and the version that gave it. */
  SegmentedScorer.Scored score(Map<String, ?> fields, long timestamp)
      throws ExampleExtractor.RefusedException;

  /** The output for one of the producers' own records, and the version that gave it. */
  SegmentedScorer.Scored score(GenericRecord record, long timestamp)
      throws ExampleExtractor.RefusedException;

  /** One of the versions scored with now, for what they all share (task, classes). */
  ModelScorer anyModel();

  /**
   * Looks again where the aliases point, and loads what moved.
   *
   * @return true when a version scored with changed
   */
  boolean refresh() throws IOException;
}
