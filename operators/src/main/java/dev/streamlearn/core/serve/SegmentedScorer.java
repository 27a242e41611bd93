package dev.streamlearn.core.serve;

import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.store.Manifest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import org.apache.avro.generic.GenericRecord;

/**
 * Scores raw events with the models of a segmented pipeline, each event with the model of its
 * segment: the segment feature's value read by the training rules, the model whose manifest names
 * that value, else the {@code others} segment's model; an event of no model's segment is refused.
 */
public final class SegmentedScorer {

  /** What scored an event, and its output. */
  public record Scored(ModelScorer model, float[] scores) {}

  private final String feature;
  private final Map<String, ModelScorer> bySegment = new TreeMap<>();
  private ModelScorer others;

  /** The model whose rules read each event once, for routing and, where they agree, scoring. */
  private ModelScorer reader;

  private int slot;

  /** The models that read events as {@link #reader} does: they score its cleaned values. */
  private final Set<ModelScorer> readLikeReader =
      Collections.newSetFromMap(new IdentityHashMap<>());

  private SegmentedScorer(String feature) {
    this.feature = feature;
  }

  /**
   * The segment models of one pipeline, a version of each.
   *
   * @throws IllegalArgumentException when one is not a segment's model, they are segments of
   *     different features or tasks, or two are of the same segment (e.g. two of its
   *     hyper-parameter candidates)
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
          || !Objects.equals(manifest.task(), first.task())
          || !Objects.equals(manifest.classes(), first.classes())) {
        throw new IllegalArgumentException(
            manifest.name()
                + " is not a segment by "
                + scorer.feature
                + " of a "
                + first.task()
                + " task with the classes of "
                + first.name());
      }
      ModelScorer before = segment.others() ? scorer.others : scorer.bySegment.get(segment.value());
      if (before != null) {
        throw new IllegalArgumentException(
            before.manifest().name()
                + " and "
                + manifest.name()
                + " are both models of segment "
                + segment.value()
                + (manifest.candidate() != null
                    ? ": choose one hyper-parameter candidate per segment"
                    : ""));
      }
      if (segment.others()) {
        scorer.others = model;
      } else {
        scorer.bySegment.put(segment.value(), model);
      }
    }
    scorer.reader = scorer.anyModel();
    scorer.slot = scorer.reader.categoricalSlot(scorer.feature);
    if (scorer.slot < 0) {
      throw new IllegalArgumentException(
          scorer.reader.manifest().name() + " has no categorical feature " + scorer.feature);
    }
    for (ModelScorer model : models) {
      if (model.readsLike(scorer.reader)) {
        scorer.readLikeReader.add(model);
      }
    }
    return scorer;
  }

  /** Every segment's model, the {@code others} segment's last. */
  public List<ModelScorer> models() {
    List<ModelScorer> all = new ArrayList<>(bySegment.values());
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

  /**
   * The event's segment's model and its output: the event is read by the training rules once, to
   * find its segment and to score it (read again only by a model whose rules differ).
   */
  public Scored scoreWithModel(Map<String, ?> fields, long timestamp)
      throws ExampleExtractor.RefusedException {
    ModelScorer.Cleaned cleaned = reader.clean(fields, timestamp);
    ModelScorer model = modelFor(cleaned);
    float[] scores =
        readLikeReader.contains(model) ? model.score(cleaned) : model.score(fields, timestamp);
    return new Scored(model, scores);
  }

  /**
   * The same for one of the producers' own Avro records (a pipeline with {@code source.schema}),
   * its segment read at the feature's field path as training read it.
   */
  public Scored scoreWithModel(GenericRecord record, long timestamp)
      throws ExampleExtractor.RefusedException {
    ModelScorer.Cleaned cleaned = reader.clean(record, timestamp);
    ModelScorer model = modelFor(cleaned);
    float[] scores =
        readLikeReader.contains(model) ? model.score(cleaned) : model.score(record, timestamp);
    return new Scored(model, scores);
  }

  /** The model of an event's segment, from its cleaned values. */
  private ModelScorer modelFor(ModelScorer.Cleaned cleaned)
      throws ExampleExtractor.RefusedException {
    String value = cleaned.text()[slot];
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
    return scoreWithModel(fields, timestamp).scores();
  }
}
