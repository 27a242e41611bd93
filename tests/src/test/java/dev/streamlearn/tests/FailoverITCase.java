package dev.streamlearn.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.jobs.KafkaConnectors;
import dev.streamlearn.jobs.ScoringJob;
import dev.streamlearn.jobs.StreamLearnJob;
import dev.streamlearn.jobs.runtime.EmbeddedKafka;
import dev.streamlearn.jobs.runtime.ProgressMetrics;
import dev.streamlearn.operators.PipelineCounters;
import dev.streamlearn.operators.PublishModel;
import dev.streamlearn.operators.Refusal;
import dev.streamlearn.schemas.EventLabel;
import dev.streamlearn.schemas.LabeledEvent;
import dev.streamlearn.schemas.codec.AvroCodec;
import dev.streamlearn.schemas.codec.Topics;
import dev.streamlearn.store.LocalModelStore;
import dev.streamlearn.store.ModelStore;
import dev.streamlearn.store.Safetensors;
import dev.streamlearn.store.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.api.connector.sink2.SupportsWriterState;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A job that fails mid-stream and restarts from its last checkpoint ends with exactly the
 * parameters, optimizer state effects and versions of a run that never failed: every event is
 * learned from once, in the same batches, with the same dropout masks.
 */
class FailoverITCase {

  @RegisterExtension
  static final MiniClusterExtension FLINK = RestartingCluster.withAttempts(3, "100ms");

  @TempDir Path directory;

  /**
   * On RocksDB too, where the trainer's states are written into keyed state at each checkpoint
   * rather than with every event.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"configured", "rocksdb"})
  void restoredRunEndsWithTheSameModelsAsAnUninterruptedOne(String stateBackend) throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(directory.resolve("kafka"))) {
      kafka.createTopic("fo-events", 1);
      int events = produce(kafka.bootstrapServers(), 12_000);

      Path uninterruptedStore = directory.resolve("uninterrupted");
      ProgressMetrics.reset();
      run(spec(kafka, uninterruptedStore, stateBackend), new DiscardRefusals());
      Map<String, Long> uninterruptedCounts = trainingCounts();

      Path failedStore = directory.resolve("failed");
      FailingOnce.reset();
      ProgressMetrics.reset();
      run(spec(kafka, failedStore, stateBackend), new FailingOnce<>());
      FailingOnce.assertFailedAndRestored();
      assertThat(ProgressMetrics.restarts()).isEqualTo(1);

      // The counters went on from the checkpoint: what was read again is counted once.
      assertThat(trainingCounts()).isEqualTo(uninterruptedCounts);
      assertThat(uninterruptedCounts.get(PipelineCounters.READ)).isEqualTo(12_000);
      assertThat(uninterruptedCounts.get(PipelineCounters.DEAD_LETTERED))
          .isEqualTo(12_000 - events);
      assertThat(
              uninterruptedCounts.get(PipelineCounters.TRAINED)
                  + uninterruptedCounts.get(PipelineCounters.HELD_OUT))
          .isEqualTo(events);
      assertThat(uninterruptedCounts.get(PipelineCounters.featureCounter("scaled")))
          .isEqualTo(2L * events);

      LocalModelStore expected = new LocalModelStore(uninterruptedStore);
      LocalModelStore actual = new LocalModelStore(failedStore);
      List<Long> versions = expected.versions("fo");
      assertThat(versions).hasSizeGreaterThanOrEqualTo(5);
      assertThat(actual.versions("fo")).isEqualTo(versions);
      for (long version : versions) {
        Map<String, Tensor> want =
            Safetensors.decode(expected.readFile("fo", version, ModelStore.PARAMETERS));
        Map<String, Tensor> got =
            Safetensors.decode(actual.readFile("fo", version, ModelStore.PARAMETERS));
        assertThat(got.keySet()).isEqualTo(want.keySet());
        for (String name : want.keySet()) {
          float[] a = want.get(name).data();
          float[] b = got.get(name).data();
          for (int i = 0; i < a.length; i++) {
            assertThat((double) b[i])
                .as("v%d %s[%d]", version, name, i)
                .isCloseTo(a[i], org.assertj.core.data.Offset.offset(1e-6));
          }
        }
        assertThat(actual.manifest("fo", version).orElseThrow().lineage())
            .isEqualTo(expected.manifest("fo", version).orElseThrow().lineage());
      }
      var last = actual.manifest("fo", versions.get(versions.size() - 1)).orElseThrow();
      assertThat(last.lineage().eventsTrainedTotal() + last.lineage().eventsHeldOutTotal())
          .isEqualTo(events);
    }
  }

  /**
   * Dead letters written exactly once ({@code source.dead-letter-delivery: exactly-once}), the job
   * failed mid-stream (in another sink) and restarted from its last checkpoint: a reader of
   * committed records finds each refused record on the dead-letter topic once, as many as the
   * counter says.
   */
  @Test
  void exactlyOnceDeadLettersLeaveNoSecondCopyAfterARestore() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(directory.resolve("kafka"))) {
      kafka.createTopic("fo-events", 1);
      kafka.createTopic("fo-events.dead-letter", 1);
      int events = produce(kafka.bootstrapServers(), 12_000);
      Map<String, Object> tree =
          SpecLoader.readTree(specText(kafka, directory.resolve("eo-dead-letters")), "fo.yaml");
      SpecLoader.override(tree, "source.dead-letter-delivery", "exactly-once");
      PipelineSpec spec = SpecLoader.fromTree(tree);

      FailingOnce.reset();
      ProgressMetrics.reset();
      run(spec, KafkaConnectors.deadLetterSink(spec.source()), new FailingOnce<>());
      FailingOnce.assertFailedAndRestored();

      var codec = Topics.deadLetters();
      List<Long> refusedOffsets = new java.util.ArrayList<>();
      for (var record :
          TopicReader.readToTheEnd(kafka.bootstrapServers(), "fo-events.dead-letter", true)) {
        refusedOffsets.add(codec.decode(record.value()).getOffset());
      }
      assertThat(refusedOffsets).hasSize(12_000 - events);
      assertThat(new java.util.HashSet<>(refusedOffsets)).hasSize(12_000 - events);
      assertThat(ProgressMetrics.count(PipelineCounters.DEAD_LETTERED)).isEqualTo(12_000 - events);
    }
  }

  /**
   * The scoring job with exactly-once predictions, failed mid-stream and restarted from its last
   * checkpoint: a consumer of committed records sees one prediction per event, none twice.
   */
  @Test
  void restoredScoringJobWritesEachPredictionOnce() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(directory.resolve("kafka"))) {
      kafka.createTopic("fo-events", 1);
      kafka.createTopic("fo-events.predictions", 1);
      int events = produce(kafka.bootstrapServers(), 12_000);
      PipelineSpec spec = spec(kafka, directory.resolve("scoring"));
      run(spec, new DiscardRefusals());

      FailingOnce.reset();
      ProgressMetrics.reset();
      StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
      env.setParallelism(1);
      ScoringJob job =
          new ScoringJob(
              spec,
              spec.store().uri(),
              "fo",
              "latest",
              null,
              Duration.ofSeconds(10),
              KafkaConnectors.source(ScoringJob.scoringSource(spec)),
              new FailingOnce<>(),
              KafkaConnectors.predictionSink(
                  dev.streamlearn.jobs.KafkaEndpoint.plain(kafka.bootstrapServers()),
                  "fo-events.predictions",
                  true,
                  "fo-scoring"));
      job.addTo(env);
      env.execute(job.jobName());
      FailingOnce.assertFailedAndRestored();

      assertThat(ProgressMetrics.count(PipelineCounters.SCORING_READ)).isEqualTo(12_000);
      assertThat(ProgressMetrics.count(PipelineCounters.SCORED)).isEqualTo(events);
      assertThat(ProgressMetrics.count(PipelineCounters.SCORING_DEAD_LETTERED))
          .isEqualTo(12_000 - events);

      List<String> ids =
          TopicReader.readToTheEnd(kafka.bootstrapServers(), "fo-events.predictions", true).stream()
              .map(record -> new String(record.key(), StandardCharsets.UTF_8))
              .toList();
      assertThat(new java.util.HashSet<>(ids)).hasSize(events);
      assertThat(ids).hasSize(events);
    }
  }

  /**
   * Events sent without labels and their labels on a topic of their own, the job failed mid-stream
   * and restarted from its last checkpoint: what waited in keyed state for its other half at the
   * checkpoint is joined after the restore, and every joined event is learned from (or held out)
   * exactly once.
   */
  @Test
  void restoredJobJoinsEachLabelOnce() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(directory.resolve("kafka"))) {
      kafka.createTopic("fo-events", 1);
      kafka.createTopic("fo-events.labels", 1);
      int events = 20_000;
      int joinable = produceWithLabelsApart(kafka.bootstrapServers(), events);
      Map<String, Object> tree =
          SpecLoader.readTree(specText(kafka, directory.resolve("joined")), "fo.yaml");
      SpecLoader.override(tree, "source.labels.topic", "fo-events.labels");
      PipelineSpec spec = SpecLoader.fromTree(tree);

      // The decoder's refusals and the join's go to two sinks, each this one.
      FailingOnce.reset(2);
      ProgressMetrics.reset();
      run(spec, new FailingOnce<>());
      FailingOnce.assertFailedAndRestored();

      LocalModelStore store = new LocalModelStore(directory.resolve("joined"));
      List<Long> versions = store.versions("fo");
      var last = store.manifest("fo", versions.get(versions.size() - 1)).orElseThrow();
      assertThat(last.lineage().eventsTrainedTotal() + last.lineage().eventsHeldOutTotal())
          .isEqualTo(joinable);
      int labels = joinable + events / 25;
      assertThat(ProgressMetrics.count(PipelineCounters.READ)).isEqualTo(events);
      assertThat(ProgressMetrics.count(PipelineCounters.LABELS_READ)).isEqualTo(labels);
      assertThat(ProgressMetrics.count(PipelineCounters.LABELS_JOINED)).isEqualTo(joinable);
      assertThat(ProgressMetrics.count(PipelineCounters.LABELS_DEAD_LETTERED))
          .isEqualTo(labels - joinable);
      assertThat(
              ProgressMetrics.count(PipelineCounters.TRAINED)
                  + ProgressMetrics.count(PipelineCounters.HELD_OUT))
          .isEqualTo(joinable);
    }
  }

  /** The training job's counters that account for its events, and its featurizer's, by name. */
  private static Map<String, Long> trainingCounts() {
    Map<String, Long> counts = new java.util.TreeMap<>();
    for (String name :
        List.of(
            PipelineCounters.READ,
            PipelineCounters.TRAINED,
            PipelineCounters.HELD_OUT,
            PipelineCounters.DEDUPLICATED,
            PipelineCounters.DEAD_LETTERED)) {
      counts.put(name, ProgressMetrics.count(name));
    }
    for (String name : dev.streamlearn.core.features.Featurizer.COUNTERS) {
      String counter = PipelineCounters.featureCounter(name);
      counts.put(counter, ProgressMetrics.count(counter));
    }
    return counts;
  }

  /**
   * {@code count} records as {@link #produce} makes them, but sent without their labels; the label
   * of each good event but every 50th follows on {@code fo-events.labels}, 100 ms later in event
   * time, with a malformed record every 25th there too. Returns how many events get their label.
   */
  private static int produceWithLabelsApart(String bootstrapServers, int count) {
    AvroCodec<LabeledEvent> codec = Topics.labeledEvents();
    AvroCodec<EventLabel> labels = Topics.eventLabels();
    Random random = new Random(13);
    int labeled = 0;
    try (KafkaProducer<byte[], byte[]> producer = producer(bootstrapServers)) {
      for (int i = 0; i < count; i++) {
        if (i % 25 == 24) {
          producer.send(
              new ProducerRecord<>(
                  "fo-events", null, ("not an event " + i).getBytes(StandardCharsets.UTF_8)));
          continue;
        }
        LabeledEvent event = goodEvent(i, random);
        Object label = event.getLabel();
        event.setLabel(null);
        Instant time = event.getTimestamp();
        producer.send(new ProducerRecord<>("fo-events", null, codec.encode(event)));
        if (i % 25 == 12) {
          // Refusals from both topics all along, so the dead-letter sink sees traffic throughout.
          producer.send(
              new ProducerRecord<>(
                  "fo-events.labels", null, ("not a label " + i).getBytes(StandardCharsets.UTF_8)));
        }
        if (i % 50 != 7) {
          producer.send(
              new ProducerRecord<>(
                  "fo-events.labels",
                  null,
                  labels.encode(
                      EventLabel.newBuilder()
                          .setId("fo-" + i)
                          .setTimestamp(time.plusMillis(100))
                          .setLabel(label)
                          .build())));
          labeled++;
        }
      }
    }
    return labeled;
  }

  private static PipelineSpec spec(EmbeddedKafka kafka, Path store) {
    return SpecLoader.parse(specText(kafka, store));
  }

  private static PipelineSpec spec(EmbeddedKafka kafka, Path store, String stateBackend) {
    return SpecLoader.parse(
        specText(kafka, store)
            .replace(
                "checkpoint: {interval: 100ms}",
                "checkpoint: {interval: 100ms, state-backend: " + stateBackend + "}"));
  }

  private static String specText(EmbeddedKafka kafka, Path store) {
    return String.join(
        "\n",
        "name: fo",
        "source: {bootstrap-servers: '"
            + kafka.bootstrapServers()
            + "', topic: fo-events, bounded: true,",
        "         group-id: fo-" + store.getFileName() + "}",
        "features: [{name: a, type: numeric}, {name: b, type: numeric}, {name: c, type: categorical, hash-buckets: 4}]",
        "model: {type: mlp, hidden-layers: [8], activation: tanh, dropout: 0.2}",
        "training: {batch-size: 32, learning-rate: 0.01, optimizer: {type: adam}}",
        "validation: {window: 1500ms}",
        "checkpoint: {interval: 100ms}",
        "backend: nd4j",
        "store: {uri: '" + store + "'}",
        "");
  }

  private static void run(PipelineSpec spec, Sink<Refusal> deadLetters) throws Exception {
    run(spec, deadLetters, new DiscardingSink<>());
  }

  /** The training job of {@code spec}, its refusals and window reports to these sinks. */
  private static void run(
      PipelineSpec spec,
      Sink<Refusal> deadLetters,
      Sink<dev.streamlearn.core.train.WindowReport> windowMetrics)
      throws Exception {
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(1);
    StreamLearnJob job =
        new StreamLearnJob(
            spec,
            KafkaConnectors.source(spec.source()),
            deadLetters,
            new PublishModel(spec.store().uri(), !spec.checkpoint().interval().isZero()),
            windowMetrics);
    job.addTo(env);
    env.execute(job.jobName());
  }

  /**
   * Good events with a malformed record every 25th, so the dead-letter sink sees traffic
   * throughout.
   */
  private static int produce(String bootstrapServers, int count) {
    AvroCodec<LabeledEvent> codec = Topics.labeledEvents();
    Random random = new Random(11);
    int good = 0;
    try (KafkaProducer<byte[], byte[]> producer = producer(bootstrapServers)) {
      for (int i = 0; i < count; i++) {
        byte[] value;
        if (i % 25 == 24) {
          value = ("not an event " + i).getBytes(StandardCharsets.UTF_8);
        } else {
          value = codec.encode(goodEvent(i, random));
          good++;
        }
        producer.send(new ProducerRecord<>("fo-events", null, value));
      }
    }
    return good;
  }

  /**
   * Good event {@code i} of the failover streams: features a and b drawn from {@code random}, c
   * their signs' agreement, labeled 1 when a·b > 0.2.
   */
  private static LabeledEvent goodEvent(int i, Random random) {
    double a = random.nextGaussian();
    double b = random.nextGaussian();
    Map<String, Object> features = new HashMap<>();
    features.put("a", a);
    features.put("b", b);
    features.put("c", a * b > 0 ? "same" : "different");
    return LabeledEvent.newBuilder()
        .setId("fo-" + i)
        .setTimestamp(Instant.ofEpochMilli(1_000_000L + i))
        .setLabel(a * b > 0.2 ? 1.0 : 0.0)
        .setFeatures(features)
        .build();
  }

  private static KafkaProducer<byte[], byte[]> producer(String bootstrapServers) {
    Properties properties = new Properties();
    properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    properties.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    properties.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    return new KafkaProducer<>(properties);
  }

  /** Drops refusals. */
  static final class DiscardRefusals implements Sink<Refusal> {
    @Override
    public SinkWriter<Refusal> createWriter(WriterInitContext context) {
      return new Writer<>();
    }
  }

  /**
   * Drops what it is given too (refusals, or window reports), but fails the job once: on the first
   * record after the second checkpoint's snapshot of every writer. With one checkpoint at a time,
   * the first has completed by then, so the restart restores it.
   */
  static final class FailingOnce<T> implements Sink<T>, SupportsWriterState<T, Integer> {
    static final AtomicBoolean FAILED = new AtomicBoolean();
    static final AtomicBoolean RESTORED = new AtomicBoolean();
    static final AtomicInteger SNAPSHOTS = new AtomicInteger();

    /** Writer snapshots to wait for: two per checkpoint where a job has two dead-letter sinks. */
    static volatile int snapshotsBeforeFailure = 2;

    static void reset() {
      reset(1);
    }

    /** The failure was injected, and the attempt after it restored a checkpoint. */
    static void assertFailedAndRestored() {
      assertThat(FAILED.get()).as("the failure was injected").isTrue();
      assertThat(RESTORED.get()).as("the second attempt restored a checkpoint").isTrue();
    }

    /**
     * @param writers how many of the job's sinks are this one
     */
    static void reset(int writers) {
      FAILED.set(false);
      RESTORED.set(false);
      SNAPSHOTS.set(0);
      snapshotsBeforeFailure = 2 * writers;
    }

    @Override
    public StatefulSinkWriter<T, Integer> createWriter(WriterInitContext context) {
      return new FailingWriter<>();
    }

    @Override
    public StatefulSinkWriter<T, Integer> restoreWriter(
        WriterInitContext context, Collection<Integer> recoveredState) {
      if (context.getRestoredCheckpointId().isPresent()) {
        RESTORED.set(true);
      }
      return new FailingWriter<>();
    }

    @Override
    public SimpleVersionedSerializer<Integer> getWriterStateSerializer() {
      return new SimpleVersionedSerializer<>() {
        @Override
        public int getVersion() {
          return 1;
        }

        @Override
        public byte[] serialize(Integer value) {
          return ByteBuffer.allocate(4).putInt(value).array();
        }

        @Override
        public Integer deserialize(int version, byte[] bytes) throws IOException {
          return ByteBuffer.wrap(bytes).getInt();
        }
      };
    }

    private static final class FailingWriter<T> extends Writer<T> {
      @Override
      public void write(T record, Context context) throws InterruptedException {
        // Slow enough that several checkpoints pass while the stream flows.
        Thread.sleep(2);
        if (!FAILED.get() && SNAPSHOTS.get() >= snapshotsBeforeFailure) {
          FAILED.set(true);
          throw new IllegalStateException("injected failure at " + record);
        }
      }

      @Override
      public List<Integer> snapshotState(long checkpointId) {
        SNAPSHOTS.incrementAndGet();
        return List.of(0);
      }
    }
  }

  private static class Writer<T> implements StatefulSinkWriter<T, Integer> {
    @Override
    public void write(T record, Context context) throws InterruptedException {}

    @Override
    public void flush(boolean endOfInput) {}

    @Override
    public List<Integer> snapshotState(long checkpointId) {
      return List.of();
    }

    @Override
    public void close() {}
  }
}
