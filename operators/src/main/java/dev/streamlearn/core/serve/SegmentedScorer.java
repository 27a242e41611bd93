package dev.streamlearn.core.serve;

import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.store.Manifest;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Scores raw events with the models of a segmented pipeline, each event with the model of its
 * segment: the segment feature's value read by the training rules, the model whose manifest names
 * that value, else the {@code others} segment's model; an event of no model's segment is refused.
 */
public final class SegmentedScorer {

  private final String feature;
  private final Map<String, ModelScorer> bySegment = new TreeMap<>();
  private ModelScorer others;

  private SegmentedScorer(String feature) {
    this.feature = feature;
  }

  /**
   * The segment models of one pipeline, a version of each.
   *
   * @throws IllegalArgumentException when one is not a segment's model, or they are segments of
   *     different features or tasks
   */
  public static SegmentedScorer of(List<ModelScorer> models) {
    if (models.isEmpty()) {
      throw new IllegalArgumentException("no segment models to score with");
    }
    Manifest first = models.get(0).manifest();
    if (first.segment() == null) {
      throw new IllegalArgumentException(first.name() + " is not a segment's model");
    }
    SegmentedScorer scorer = new SegmentedScorer(first.segment().feature());
    for (ModelScorer model : models) {
      Manifest manifest = model.manifest();
      Manifest.Segment segment = manifest.segment();
      if (segment == null
          || !segment.feature().equals(scorer.feature)
          || !java.util.Objects.equals(manifest.task(), first.task())
          || !java.util.Objects.equals(manifest.classes(), first.classes())) {
        throw new IllegalArgumentException(
            manifest.name()
                + " is not a segment by "
                + scorer.feature
                + " of a "
                + first.task()
                + " task with the classes of "
                + first.name());
      }
      if (segment.others()) {
        scorer.others = model;
      } else {
        scorer.bySegment.put(segment.value(), model);
      }
    }
    return scorer;
  }

  /** Every segment's model, the {@code others} segment's last. */
  public List<ModelScorer> models() {
    List<ModelScorer> all = new java.util.ArrayList<>(bySegment.values());
    if (others != null) {
      all.add(others);
    }
    return all;
  }

  /** One of the models, for what they all share (task, classes). */
  public ModelScorer anyModel() {
    return others != null ? others : bySegment.values().iterator().next();
  }

  /** The feature whose value picks the model. */
  public String feature() {
    return feature;
  }

  /** The model an event's segment is scored with. */
  public ModelScorer modelFor(Map<String, ?> fields, long timestamp)
      throws ExampleExtractor.RefusedException {
    String value = anyModel().categoricalValue(fields, timestamp, feature);
    ModelScorer model = value == null || value.isBlank() ? null : bySegment.get(value);
    if (model == null) {
      model = others;
    }
    if (model == null) {
      throw new ExampleExtractor.RefusedException(
          "no model for "
              + feature
              + (value == null || value.isBlank() ? " missing" : " = '" + value + "'")
              + ": the models are for "
              + bySegment.keySet());
    }
    return model;
  }

  /** The output of the event's segment's model (see {@link ModelScorer#score(Map, long)}). */
  public float[] score(Map<String, ?> fields, long timestamp)
      throws ExampleExtractor.RefusedException {
    return modelFor(fields, timestamp).score(fields, timestamp);
  }
}
