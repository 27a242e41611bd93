package dev.streamlearn.core.serve;

import dev.streamlearn.core.data.ExampleExtractor;
import java.io.IOException;
import java.util.Map;
import org.apache.avro.generic.GenericRecord;

/**
 * What the scoring job scores with: one model's version ({@link ServedModel}), or a version of each
 * segment model of a pipeline ({@link ServedSegments}). Flink-free.
 */
public interface Served {

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
