package dev.streamlearn.core.serve;

import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.core.data.RecordEventDecoder;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.schemas.EventLabel;
import dev.streamlearn.schemas.LabeledEvent;
import dev.streamlearn.schemas.codec.AvroCodec;
import dev.streamlearn.schemas.codec.Topics;
import dev.streamlearn.store.Manifest;
import java.util.List;
import org.apache.avro.generic.GenericRecord;

/**
 * Scores the values of a pipeline's topic as they are on Kafka: Avro {@link LabeledEvent}s, or the
 * producers' own records where the spec maps a {@code source.schema}; labels are optional. Each
 * event's fields are read by the rules of the version that scores it, as that version's training
 * read them. Flink-free.
 */
public final class EventScorer {

  private final AvroCodec<LabeledEvent> events;
  private final AvroCodec<EventLabel> labels = Topics.eventLabels();
  private final RecordEventDecoder records;
  private final PipelineSpec.Source source;
  private String lastId;

  /** The model of the event scored last, and its class names: made once per version. */
  private ModelScorer namedModel;

  private String[] classNames;

  public EventScorer(PipelineSpec spec) {
    events = Topics.labeledEvents();
    records = spec.source().recordSchema() == null ? null : new RecordEventDecoder(spec);
    source = spec.source();
  }

  /** The id of the event scored (or refused) last, once its bytes were read; null before. */
  public String lastId() {
    return lastId;
  }

  /**
   * @param recordTimestamp the Kafka record's time: the event time of records that map none
   * @throws AvroCodec.DecodeException when the bytes are not an event
   * @throws ExampleExtractor.RefusedException when a value breaks the version's rules
   */
  public ScoredEvent score(
      byte[] value, int partition, long offset, long recordTimestamp, Served served)
      throws AvroCodec.DecodeException, ExampleExtractor.RefusedException {
    lastId = null;
    String oversized = source.oversized(value);
    if (oversized != null) {
      throw new AvroCodec.DecodeException(oversized);
    }
    ScoredEvent scored = new ScoredEvent();
    SegmentedScorer.Scored result;
    if (records != null) {
      GenericRecord record = records.read(value);
      scored.id = records.idOf(record, partition, offset);
      lastId = scored.id;
      scored.timestamp = records.timeOf(record, recordTimestamp);
      scored.label = labelText(records.labelOf(record));
      result = served.score(record, scored.timestamp);
    } else {
      LabeledEvent event = events.decode(value);
      scored.id = event.getId();
      lastId = scored.id;
      scored.timestamp = event.getTimestamp().toEpochMilli();
      scored.label = labelText(event.getLabel());
      result = served.score(event.getFeatures(), scored.timestamp);
    }
    Manifest manifest = result.model().manifest();
    scored.model = manifest.name();
    scored.version = manifest.version();
    if (result.model() != namedModel) {
      namedModel = result.model();
      classNames = classNames(manifest.task(), manifest.classes(), result.scores().length);
    }
    describe(result.scores(), classNames, scored);
    scored.scoredAt = System.currentTimeMillis();
    return scored;
  }

  /**
   * The names of a model's classes, one per probability (a binary model's one output is two): none
   * for regression; classes a manifest does not name are named by their index.
   */
  static String[] classNames(String task, List<String> classes, int outputs) {
    if ("regression".equals(task)) {
      return new String[0];
    }
    String[] names = new String[outputs == 1 ? 2 : outputs];
    for (int j = 0; j < names.length; j++) {
      names[j] = j < classes.size() ? classes.get(j) : Integer.toString(j);
    }
    return names;
  }

  /**
   * The prediction, its probability or value, and every class's probability.
   *
   * @param classes the model's {@link #classNames}, shared by the events it scores
   */
  static void describe(float[] output, String[] classes, ScoredEvent scored) {
    scored.classes = classes;
    if (classes.length == 0) {
      scored.value = output[0];
      scored.probabilities = new float[0];
      return;
    }
    scored.probabilities = output.length == 1 ? new float[] {1 - output[0], output[0]} : output;
    // A binary model's output is the probability of class 1, which wins a tie (as in scoring
    // files).
    int best = output.length == 1 ? (output[0] >= 0.5f ? 1 : 0) : 0;
    for (int j = 1; j < output.length; j++) {
      best = output[j] > output[best] ? j : best;
    }
    scored.prediction = scored.classes[best];
    scored.value = scored.probabilities[best];
  }

  /**
   * A record of the pipeline's labels topic, as a {@link ScoredEvent#labelOnly} event: id, the time
   * the label became known, the label as the class names are written.
   *
   * @throws AvroCodec.DecodeException when the bytes are not an {@code EventLabel}
   */
  public ScoredEvent label(byte[] value) throws AvroCodec.DecodeException {
    EventLabel label = labels.decode(value);
    ScoredEvent scored = new ScoredEvent();
    scored.labelOnly = true;
    scored.id = label.getId();
    scored.timestamp = label.getTimestamp().toEpochMilli();
    scored.label = labelText(label.getLabel());
    return scored;
  }

  /** A label as the class names are written: whole numbers without ".0"; null stays null. */
  static String labelText(Object label) {
    if (label == null) {
      return null;
    }
    if (label instanceof Double number && number == Math.rint(number) && Math.abs(number) < 1e15) {
      return Long.toString(number.longValue());
    }
    return label.toString();
  }
}
