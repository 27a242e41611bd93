package dev.streamlearn.core.serve;

import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.store.VersionSource;
import java.io.IOException;
import java.util.Map;
import org.apache.avro.generic.GenericRecord;

/**
 * What the scoring job scores with: one model's version ({@link ServedModel}), or a version of each
 * segment model of a pipeline ({@link ServedSegments}). Flink-free.
 */
public interface Served {

  /**
   * What to score with: {@code model}'s version, or, where {@code model} is the name of a pipeline
   * of segments, each segment model's ({@link #bySegment}).
   *
   * @param candidate where the segments have hyper-parameter candidates, the one to score with
   * @throws java.nio.file.NoSuchFileException when the model has no such version or alias (yet)
   */
  static Served open(
      VersionSource source,
      PipelineSpec spec,
      String model,
      String versionOrAlias,
      String candidate)
      throws IOException {
    return bySegment(spec, model)
        ? ServedSegments.open(source, model, versionOrAlias, candidate)
        : new ServedModel(source, model, versionOrAlias);
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
