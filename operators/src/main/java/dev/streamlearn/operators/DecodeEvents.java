package dev.streamlearn.operators;

import dev.streamlearn.core.data.DirectEventDecoder;
import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.core.data.ModelRouter;
import dev.streamlearn.core.data.RecordEventDecoder;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.schemas.EventLabel;
import dev.streamlearn.schemas.LabeledEvent;
import dev.streamlearn.schemas.codec.AvroCodec;
import dev.streamlearn.schemas.codec.Topics;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Decodes Avro {@link LabeledEvent}s and cleans them into {@link Example}s: records of this build's
 * schema straight into the example ({@link DirectEventDecoder}), others through Avro's schema
 * resolution and the {@link ExampleExtractor}; or, where the spec names the producers' own record
 * schema, those records ({@link RecordEventDecoder}). Oversized, malformed or foreign-schema bytes,
 * and events the spec cannot learn from (no label, a label of the wrong type, NaN or infinite
 * values, no segment where the spec trains one model per segment), go to {@link #REFUSED} with
 * their reason; the stream goes on. With {@code source.labels}, an event without a label passes on
 * to wait for it, and the records of the labels topic become {@link Example#labelOnly} examples
 * (counted apart from the events: {@link PipelineCounters#LABELS_READ}).
 */
public final class DecodeEvents extends ProcessFunctionWithCounters<SourceRecord, Example> {

  public static final OutputTag<Refusal> REFUSED = new OutputTag<>("refused") {};
  public static final String STAGE_DECODE = "decode";
  public static final String STAGE_CLEAN = "clean";

  private final PipelineSpec spec;
  private transient AvroCodec<LabeledEvent> codec;
  private transient AvroCodec<EventLabel> labelCodec;
  private transient String labelsTopic;
  private transient ExampleExtractor extractor;
  private transient DirectEventDecoder direct;
  private transient RecordEventDecoder records;
  private transient ModelRouter segments;
  private transient Counter read;
  private transient Counter deadLettered;
  private transient Counter labelsRead;
  private transient Counter labelsDeadLettered;

  public DecodeEvents(PipelineSpec spec) {
    this.spec = spec;
  }

  @Override
  public void open(OpenContext openContext) {
    codec = Topics.labeledEvents();
    labelCodec = Topics.eventLabels();
    labelsTopic = spec.source().labelsFollow() ? spec.source().labels().topic() : null;
    extractor = new ExampleExtractor(spec);
    direct = new DirectEventDecoder(spec);
    records = spec.source().recordSchema() == null ? null : new RecordEventDecoder(spec);
    segments = new ModelRouter(spec);
    read = counters.counter(getRuntimeContext().getMetricGroup(), PipelineCounters.READ);
    deadLettered =
        counters.counter(getRuntimeContext().getMetricGroup(), PipelineCounters.DEAD_LETTERED);
    labelsRead =
        counters.counter(getRuntimeContext().getMetricGroup(), PipelineCounters.LABELS_READ);
    labelsDeadLettered =
        counters.counter(
            getRuntimeContext().getMetricGroup(), PipelineCounters.LABELS_DEAD_LETTERED);
  }

  @Override
  public void processElement(SourceRecord record, Context context, Collector<Example> out) {
    if (labelsTopic != null && labelsTopic.equals(record.topic)) {
      decodeLabel(record, context, out);
      return;
    }
    read.inc();
    String oversized = spec.source().oversized(record.value);
    if (oversized != null) {
      refuse(context, record, STAGE_DECODE, oversized, null);
      return;
    }
    if (records != null) {
      try {
        Example example =
            records.decode(record.value, record.partition, record.offset, record.timestamp);
        route(example, record, context, out);
      } catch (AvroCodec.DecodeException e) {
        refuse(context, record, STAGE_DECODE, e.getMessage(), null);
      } catch (ExampleExtractor.RefusedException e) {
        refuse(context, record, STAGE_CLEAN, e.getMessage(), records.lastId());
      }
      return;
    }
    if (DirectEventDecoder.canRead(record.value)) {
      try {
        Example example = direct.decode(record.value, record.partition, record.offset);
        route(example, record, context, out);
      } catch (AvroCodec.DecodeException e) {
        refuse(context, record, STAGE_DECODE, e.getMessage(), null);
      } catch (ExampleExtractor.RefusedException e) {
        refuse(context, record, STAGE_CLEAN, e.getMessage(), direct.lastId());
      }
      return;
    }
    LabeledEvent event;
    try {
      event = codec.decode(record.value);
    } catch (AvroCodec.DecodeException e) {
      refuse(context, record, STAGE_DECODE, e.getMessage(), null);
      return;
    }
    try {
      Example example = extractor.extract(event, record.partition, record.offset);
      route(example, record, context, out);
    } catch (ExampleExtractor.RefusedException e) {
      refuse(context, record, STAGE_CLEAN, e.getMessage(), event.getId());
    }
  }

  /** A record of the labels topic: the label of an event sent earlier without one. */
  private void decodeLabel(SourceRecord record, Context context, Collector<Example> out) {
    labelsRead.inc();
    String reason = spec.source().oversized(record.value);
    String stage = STAGE_DECODE;
    String eventId = null;
    if (reason == null) {
      try {
        EventLabel label = labelCodec.decode(record.value);
        eventId = label.getId();
        stage = STAGE_CLEAN;
        Example example = extractor.extractLabel(label, record.partition, record.offset);
        example.ingestTime = record.timestamp;
        out.collect(example);
        return;
      } catch (AvroCodec.DecodeException | ExampleExtractor.RefusedException e) {
        reason = e.getMessage();
      }
    }
    labelsDeadLettered.inc();
    context.output(REFUSED, Refusal.of(record, stage, reason, eventId));
  }

  /** Passes a clean example on, unless it belongs to no segment of the spec's. */
  private void route(
      Example example, SourceRecord record, Context context, Collector<Example> out) {
    try {
      segments.check(example);
    } catch (ExampleExtractor.RefusedException e) {
      refuse(context, record, STAGE_CLEAN, e.getMessage(), example.id);
      return;
    }
    example.ingestTime = record.timestamp;
    out.collect(example);
  }

  private void refuse(
      Context context, SourceRecord record, String stage, String reason, String eventId) {
    deadLettered.inc();
    context.output(REFUSED, Refusal.of(record, stage, reason, eventId));
  }
}
