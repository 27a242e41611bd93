package dev.streamlearn.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.streamlearn.core.serve.ScoredEvent;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.train.WindowReport;
import dev.streamlearn.operators.Refusal;
import dev.streamlearn.operators.SourceRecord;
import dev.streamlearn.schemas.DeadLetter;
import dev.streamlearn.schemas.Prediction;
import dev.streamlearn.schemas.WindowMetrics;
import dev.streamlearn.schemas.codec.AvroCodec;
import dev.streamlearn.schemas.codec.Topics;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.flink.util.function.SerializableFunction;
import org.apache.flink.util.function.SerializableSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.clients.producer.ProducerRecord;

/** The Kafka ends of the jobs: the event source, the dead-letter, metrics and predictions sinks. */
public final class KafkaConnectors {

  /** Dead letters keep at most this much of the refused payload, so they fit in a Kafka record. */
  static final int MAX_DEAD_LETTER_PAYLOAD = 256 * 1024;

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * Reads raw record values, of the labels topic too where the spec has one; offsets live in Flink
   * checkpoints (and are committed on completion).
   */
  public static KafkaSource<SourceRecord> source(PipelineSpec.Source spec) {
    KafkaSourceBuilder<SourceRecord> builder =
        KafkaSource.<SourceRecord>builder()
            // The servers and the spec's client settings (source.kafka).
            .setProperties(KafkaEndpoint.of(spec).properties())
            .setTopics(
                spec.labelsFollow()
                    ? List.of(spec.topic(), spec.labels().topic())
                    : List.of(spec.topic()))
            .setGroupId(spec.groupId())
            .setStartingOffsets(startingOffsets(spec.startingOffsets()))
            .setDeserializer(new RawRecords())
            .setProperty("commit.offsets.on.checkpoint", "true");
    if (spec.bounded()) {
      builder.setBounded(OffsetsInitializer.latest());
    }
    return builder.build();
  }

  /**
   * The training job's refusals, to {@code source.dead-letter-topic}, delivered as {@code
   * source.dead-letter-delivery} says (exactly once: in transactions named {@code
   * <source.group-id>-dead-letters}).
   */
  public static KafkaSink<Refusal> deadLetterSink(PipelineSpec.Source spec) {
    return deadLetterSink(
        KafkaEndpoint.of(spec),
        spec.deadLetterTopic(),
        spec.deadLettersExactlyOnce(),
        spec.groupId() + "-dead-letters");
  }

  /**
   * Refusals as Avro {@link DeadLetter}s keyed by event id: at least once, or exactly once (in
   * Kafka transactions committed with each checkpoint, named from {@code transactionalIdPrefix}).
   */
  public static KafkaSink<Refusal> deadLetterSink(
      KafkaEndpoint kafka, String topic, boolean exactlyOnce, String transactionalIdPrefix) {
    return delivered(
        KafkaSink.<Refusal>builder()
            .setKafkaProducerConfig(kafka.properties())
            .setRecordSerializer(
                new AvroRecords<>(
                    topic,
                    Topics::deadLetters,
                    (Refusal refusal) -> refusal.eventId,
                    KafkaConnectors::toDeadLetter)),
        exactlyOnce,
        transactionalIdPrefix);
  }

  /** The sink {@code builder} makes, at least once or exactly once. */
  private static <T> KafkaSink<T> delivered(
      org.apache.flink.connector.kafka.sink.KafkaSinkBuilder<T> builder,
      boolean exactlyOnce,
      String transactionalIdPrefix) {
    if (!exactlyOnce) {
      return builder.setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE).build();
    }
    return builder
        .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
        .setTransactionalIdPrefix(transactionalIdPrefix)
        // Within the broker's transaction.max.timeout.ms (15 minutes by default).
        .setProperty("transaction.timeout.ms", "900000")
        .build();
  }

  /**
   * The scoring job's output, Avro {@link Prediction}s keyed by event id: at least once, or exactly
   * once (in Kafka transactions committed with each checkpoint, named from {@code
   * transactionalIdPrefix}; consumers that read committed records only see each prediction once).
   */
  public static KafkaSink<ScoredEvent> predictionSink(
      KafkaEndpoint kafka, String topic, boolean exactlyOnce, String transactionalIdPrefix) {
    return delivered(
        KafkaSink.<ScoredEvent>builder()
            .setKafkaProducerConfig(kafka.properties())
            .setRecordSerializer(
                new AvroRecords<>(
                    topic,
                    Topics::predictions,
                    (ScoredEvent event) -> event.id,
                    KafkaConnectors::toPrediction)),
        exactlyOnce,
        transactionalIdPrefix);
  }

  /** Per-window validation metrics as Avro {@link WindowMetrics}, keyed by model name. */
  public static KafkaSink<WindowReport> metricsSink(PipelineSpec.Source spec) {
    return KafkaSink.<WindowReport>builder()
        .setKafkaProducerConfig(KafkaEndpoint.of(spec).properties())
        .setRecordSerializer(
            new AvroRecords<>(
                spec.metricsTopic(),
                Topics::windowMetrics,
                (WindowReport report) -> report.model,
                KafkaConnectors::toWindowMetrics))
        .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE)
        .build();
  }

  /**
   * The window reports read back from the metrics topic, for candidate pruning: on a first start
   * from the records written at or after {@code fromMillis} (the reports of this run), after a
   * restore from the offsets in the checkpoint. A record that does not decode is passed over with a
   * warning: the topic is the job's own output, not events to account for.
   */
  public static KafkaSource<WindowReport> windowReportsSource(
      PipelineSpec.Source spec, long fromMillis) {
    return KafkaSource.<WindowReport>builder()
        .setProperties(KafkaEndpoint.of(spec).properties())
        // A pattern, so that a topic not created yet (before the first report) is no error.
        .setTopicPattern(
            java.util.regex.Pattern.compile(java.util.regex.Pattern.quote(spec.metricsTopic())))
        .setGroupId(spec.groupId() + "-window-reports")
        .setProperty("partition.discovery.interval.ms", "5000")
        .setStartingOffsets(OffsetsInitializer.timestamp(fromMillis))
        .setDeserializer(new WindowReports())
        .build();
  }

  /** Window metrics records back into the {@link WindowReport} fields pruning reads. */
  static final class WindowReports implements KafkaRecordDeserializationSchema<WindowReport> {
    private static final org.slf4j.Logger LOG =
        org.slf4j.LoggerFactory.getLogger(WindowReports.class);
    private transient AvroCodec<WindowMetrics> codec;

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<WindowReport> out) {
      if (codec == null) {
        codec = Topics.windowMetrics();
      }
      WindowMetrics metrics;
      try {
        metrics = codec.decode(record.value());
      } catch (RuntimeException | AvroCodec.DecodeException e) {
        LOG.warn(
            "window report at {}-{} offset {} passed over: {}",
            record.topic(),
            record.partition(),
            record.offset(),
            e.getMessage());
        return;
      }
      WindowReport report = new WindowReport();
      report.model = metrics.getModel().toString();
      report.windowStart = metrics.getWindowStart().toEpochMilli();
      report.windowEnd = metrics.getWindowEnd().toEpochMilli();
      report.trained = metrics.getTrained();
      report.heldOut = metrics.getHeldOut();
      report.metric = metrics.getMetric().toString();
      report.candidateValue = metrics.getCandidate() == null ? Double.NaN : metrics.getCandidate();
      report.championValue = metrics.getChampion() == null ? Double.NaN : metrics.getChampion();
      out.collect(report);
    }

    @Override
    public TypeInformation<WindowReport> getProducedType() {
      return TypeInformation.of(WindowReport.class);
    }
  }

  static OffsetsInitializer startingOffsets(String name) {
    return switch (name) {
      case "earliest" -> OffsetsInitializer.earliest();
      case "latest" -> OffsetsInitializer.latest();
      case "committed" -> OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST);
      // A time, checked by the spec loader: each partition from its first record at or after it.
      default -> OffsetsInitializer.timestamp(java.time.Instant.parse(name).toEpochMilli());
    };
  }

  /** Passes each record's bytes on with its coordinates; decoding is the next operator's job. */
  static final class RawRecords implements KafkaRecordDeserializationSchema<SourceRecord> {
    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<SourceRecord> out) {
      out.collect(
          new SourceRecord(
              record.value(),
              record.topic(),
              record.partition(),
              record.offset(),
              record.timestamp()));
    }

    @Override
    public TypeInformation<SourceRecord> getProducedType() {
      return TypeInformation.of(SourceRecord.class);
    }
  }

  /**
   * Writes values as Avro records of one type: keyed by {@code keyOf} (null: no key), converted by
   * {@code toRecord}, encoded with the codec {@code codecOf} makes (made once per writer, since
   * codecs are not serializable).
   */
  static final class AvroRecords<T, R extends SpecificRecord>
      implements KafkaRecordSerializationSchema<T> {
    private final String topic;
    private final SerializableSupplier<AvroCodec<R>> codecOf;
    private final SerializableFunction<T, String> keyOf;
    private final SerializableFunction<T, R> toRecord;
    private transient AvroCodec<R> codec;

    AvroRecords(
        String topic,
        SerializableSupplier<AvroCodec<R>> codecOf,
        SerializableFunction<T, String> keyOf,
        SerializableFunction<T, R> toRecord) {
      this.topic = topic;
      this.codecOf = codecOf;
      this.keyOf = keyOf;
      this.toRecord = toRecord;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(
        T value, KafkaSinkContext context, Long timestamp) {
      if (codec == null) {
        codec = codecOf.get();
      }
      String key = keyOf.apply(value);
      return new ProducerRecord<>(
          topic,
          key == null ? null : key.getBytes(StandardCharsets.UTF_8),
          codec.encode(toRecord.apply(value)));
    }
  }

  public static Prediction toPrediction(ScoredEvent event) {
    Map<String, Double> probabilities = new HashMap<>();
    for (int j = 0; j < event.classes.length; j++) {
      probabilities.put(event.classes[j], (double) event.probabilities[j]);
    }
    return Prediction.newBuilder()
        .setId(event.id)
        .setTimestamp(Instant.ofEpochMilli(event.timestamp))
        .setModel(event.model)
        .setVersion(event.version)
        .setPrediction(event.prediction)
        .setValue(event.value)
        .setProbabilities(probabilities)
        .setLabel(event.label)
        .setScoredAt(Instant.ofEpochMilli(event.scoredAt))
        .build();
  }

  public static WindowMetrics toWindowMetrics(WindowReport report) {
    Map<String, Double> metrics = new HashMap<>();
    Map<String, Double> inputDrift = new HashMap<>();
    try {
      JSON.readTree(report.metricsJson)
          .fields()
          .forEachRemaining(e -> metrics.put(e.getKey(), e.getValue().asDouble()));
      JSON.readTree(report.inputDriftJson)
          .fields()
          .forEachRemaining(e -> inputDrift.put(e.getKey(), e.getValue().asDouble()));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return WindowMetrics.newBuilder()
        .setModel(report.model)
        .setWindowStart(Instant.ofEpochMilli(report.windowStart))
        .setWindowEnd(Instant.ofEpochMilli(report.windowEnd))
        .setTrained(report.trained)
        .setHeldOut(report.heldOut)
        .setMetric(report.metric)
        .setCandidate(Double.isFinite(report.candidateValue) ? report.candidateValue : null)
        .setChampion(Double.isFinite(report.championValue) ? report.championValue : null)
        .setMetrics(metrics)
        .setPublishedVersion(report.publishedVersion > 0 ? report.publishedVersion : null)
        .setChampionMoved(report.championMoved)
        .setChallengerPromoted(report.challengerPromoted)
        .setDriftDetections(report.driftDetections)
        .setLearningRateScale(report.learningRateScale)
        .setStopped(report.stopped)
        .setLate(report.late)
        .setInputDrift(inputDrift)
        .build();
  }

  public static DeadLetter toDeadLetter(Refusal refusal) {
    byte[] payload = refusal.payload;
    String reason = refusal.reason;
    if (payload.length > MAX_DEAD_LETTER_PAYLOAD) {
      reason +=
          " (payload cut to its first "
              + MAX_DEAD_LETTER_PAYLOAD
              + " of "
              + payload.length
              + " bytes)";
      payload = Arrays.copyOf(payload, MAX_DEAD_LETTER_PAYLOAD);
    }
    return DeadLetter.newBuilder()
        .setPayload(ByteBuffer.wrap(payload))
        .setTopic(refusal.topic)
        .setPartition(refusal.partition)
        .setOffset(refusal.offset)
        .setStage(refusal.stage)
        .setReason(reason)
        .setEventId(refusal.eventId)
        .setRefusedAt(Instant.ofEpochMilli(refusal.refusedAt))
        .build();
  }

  private KafkaConnectors() {}
}
