package dev.streamlearn.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.jobs.KafkaConnectors;
import dev.streamlearn.jobs.StreamLearnJob;
import dev.streamlearn.jobs.runtime.EmbeddedKafka;
import dev.streamlearn.operators.PublishModel;
import dev.streamlearn.operators.Refusal;
import dev.streamlearn.schemas.LabeledEvent;
import dev.streamlearn.schemas.codec.AvroCodec;
import dev.streamlearn.schemas.codec.Topics;
import dev.streamlearn.store.LocalModelStore;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ModelStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.LongStream;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
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
 * Publication is exactly once under failure: the store fails at scheduled points (before a version
 * is staged, after it is staged but before the checkpoint commits it, before and after the commit's
 * rename) across many checkpoints, and the job restarts from its last checkpoint each time.
 * Afterwards the versions run from 1 without a gap, each is complete, and their lineage ranges tile
 * the input without overlap.
 */
class ExactlyOnceITCase {

  @RegisterExtension
  static final MiniClusterExtension FLINK = RestartingCluster.withAttempts(50, "50ms");

  @TempDir Path directory;

  /** Where the store fails. */
  enum Point {
    BEFORE_STAGING,
    AFTER_STAGING,
    BEFORE_COMMIT,
    AFTER_COMMIT
  }

  @Test
  void versionsAreContiguousCompleteAndTileTheInputDespiteFailures() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(directory.resolve("kafka"))) {
      kafka.createTopic("eo-events", 1);
      int events = produce(kafka.bootstrapServers(), 16_000);
      Path store = directory.resolve("store");
      FlakyStore.schedule(new Random(23));

      PipelineSpec spec = spec(kafka, store);
      StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
      env.setParallelism(1);
      StreamLearnJob job =
          new StreamLearnJob(
              spec,
              KafkaConnectors.source(spec.source()),
              new SlowRefusals(),
              new PublishModel(opener(store.toString()), true),
              new DiscardingSink<>());
      job.addTo(env);
      env.execute(job.jobName());

      System.out.println("injected failures: " + FlakyStore.INJECTED);
      assertThat(FlakyStore.INJECTED.keySet()).as("every failure point was hit").hasSize(4);

      LocalModelStore models = new LocalModelStore(store);
      List<Long> versions = models.versions("eo");
      assertThat(versions.size()).isGreaterThanOrEqualTo(20);
      assertThat(versions)
          .as("contiguous from 1")
          .isEqualTo(LongStream.rangeClosed(1, versions.size()).boxed().toList());
      assertThat(models.alias("eo", "latest")).contains((long) versions.size());

      TreeMap<Long, Long> ranges = new TreeMap<>();
      long trained = 0;
      long heldOut = 0;
      for (long version : versions) {
        Manifest manifest = models.manifest("eo", version).orElseThrow();
        // Complete: every file the manifest lists is there with its size and sha256.
        assertThat(manifest.files()).containsKeys(ModelStore.PARAMETERS, ModelStore.FEATURIZER);
        for (var file : manifest.files().entrySet()) {
          byte[] bytes = models.readFile("eo", version, file.getKey());
          assertThat(bytes.length).isEqualTo(file.getValue().size());
          assertThat(sha256(bytes)).isEqualTo(file.getValue().sha256());
        }
        for (Manifest.OffsetRange range : manifest.lineage().offsets()) {
          assertThat(range.partition()).isZero();
          Long previous = ranges.put(range.from(), range.to());
          assertThat(previous).as("v%d starts a range twice", version).isNull();
        }
        trained += manifest.lineage().eventsTrained();
        heldOut += manifest.lineage().eventsHeldOut();
      }
      // The ranges follow each other without overlap.
      long next = -1;
      for (var range : ranges.entrySet()) {
        assertThat(range.getKey()).as("no overlap").isGreaterThan(next);
        next = range.getValue();
      }
      assertThat(trained + heldOut).as("every good event in exactly one version").isEqualTo(events);
      // Leftovers of failed attempts are staging directories that readers never list.
      try (var children = Files.list(store.resolve("eo"))) {
        assertThat(
                children
                    .map(p -> p.getFileName().toString())
                    .filter(name -> !name.matches("\\d+|aliases")))
            .allMatch(name -> name.startsWith(".staging-"));
      }
    }
  }

  private static PublishModel.StoreOpener opener(String root) {
    return () -> new FlakyStore(new LocalModelStore(Path.of(root)));
  }

  private static PipelineSpec spec(EmbeddedKafka kafka, Path store) {
    return SpecLoader.parse(
        String.join(
            "\n",
            "name: eo",
            "source: {bootstrap-servers: '"
                + kafka.bootstrapServers()
                + "', topic: eo-events, bounded: true, group-id: eo}",
            "features: [{name: a, type: numeric}, {name: c, type: categorical}]",
            "training: {batch-size: 32, learning-rate: 0.05}",
            "validation: {window: 400ms}",
            "checkpoint: {interval: 100ms}",
            "backend: java",
            "store: {uri: '" + store + "'}",
            ""));
  }

  private static int produce(String bootstrapServers, int count) {
    Properties properties = new Properties();
    properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    properties.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    properties.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    AvroCodec<LabeledEvent> codec = Topics.labeledEvents();
    Random random = new Random(5);
    int good = 0;
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(properties)) {
      for (int i = 0; i < count; i++) {
        byte[] value;
        if (i % 20 == 19) {
          value = ("not an event " + i).getBytes(StandardCharsets.UTF_8);
        } else {
          double a = random.nextGaussian();
          Map<String, Object> features = new HashMap<>();
          features.put("a", a);
          features.put("c", random.nextBoolean() ? "x" : "y");
          value =
              codec.encode(
                  LabeledEvent.newBuilder()
                      .setId("eo-" + i)
                      .setTimestamp(Instant.ofEpochMilli(1_000_000L + i))
                      .setLabel(a > 0 ? 1.0 : 0.0)
                      .setFeatures(features)
                      .build());
          good++;
        }
        producer.send(new ProducerRecord<>("eo-events", null, value));
      }
    }
    return good;
  }

  private static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  /** Slows the stream (one refusal in 20 records) so that many checkpoints pass during the run. */
  static final class SlowRefusals implements Sink<Refusal> {
    @Override
    public SinkWriter<Refusal> createWriter(WriterInitContext context) {
      return new SinkWriter<>() {
        @Override
        public void write(Refusal refusal, Context context) throws InterruptedException {
          Thread.sleep(3);
        }

        @Override
        public void flush(boolean endOfInput) {}

        @Override
        public void close() {}
      };
    }
  }

  /**
   * A local store that fails once at each scheduled call: the n-th call to stage or commit, counted
   * over the whole run (across restarts), fails at the point scheduled for it.
   */
  static final class FlakyStore implements ModelStore {
    static final Map<Point, Integer> INJECTED = new ConcurrentHashMap<>();
    private static final AtomicInteger STAGE_CALLS = new AtomicInteger();
    private static final AtomicInteger COMMIT_CALLS = new AtomicInteger();
    private static final Map<Integer, Point> STAGE_FAILURES = new ConcurrentHashMap<>();
    private static final Map<Integer, Point> COMMIT_FAILURES = new ConcurrentHashMap<>();

    private final LocalModelStore store;

    FlakyStore(LocalModelStore store) {
      this.store = store;
    }

    /** Two failures at each point, at random calls among the first 24 stages and commits. */
    static void schedule(Random random) {
      INJECTED.clear();
      STAGE_CALLS.set(0);
      COMMIT_CALLS.set(0);
      STAGE_FAILURES.clear();
      COMMIT_FAILURES.clear();
      List<Integer> calls = new ArrayList<>();
      for (int i = 1; i <= 24; i++) {
        calls.add(i);
      }
      java.util.Collections.shuffle(calls, random);
      for (int i = 0; i < 2; i++) {
        STAGE_FAILURES.put(calls.get(i), Point.BEFORE_STAGING);
        STAGE_FAILURES.put(calls.get(2 + i), Point.AFTER_STAGING);
        COMMIT_FAILURES.put(calls.get(4 + i), Point.BEFORE_COMMIT);
        COMMIT_FAILURES.put(calls.get(6 + i), Point.AFTER_COMMIT);
      }
    }

    private static void fail(Point point) throws IOException {
      INJECTED.merge(point, 1, Integer::sum);
      throw new IOException("injected failure " + point);
    }

    @Override
    public Staged stage(Manifest manifest, Map<String, byte[]> files) throws IOException {
      Point point = STAGE_FAILURES.remove(STAGE_CALLS.incrementAndGet());
      if (point == Point.BEFORE_STAGING) {
        fail(point);
      }
      Staged staged = store.stage(manifest, files);
      if (point == Point.AFTER_STAGING) {
        fail(point);
      }
      return staged;
    }

    @Override
    public boolean commit(Staged staged) throws IOException {
      Point point = COMMIT_FAILURES.remove(COMMIT_CALLS.incrementAndGet());
      if (point == Point.BEFORE_COMMIT) {
        fail(point);
      }
      boolean made = store.commit(staged);
      if (point == Point.AFTER_COMMIT) {
        fail(point);
      }
      return made;
    }

    @Override
    public void discard(Staged staged) throws IOException {
      store.discard(staged);
    }

    @Override
    public int sweepStaged(String model, java.time.Duration age) throws IOException {
      return store.sweepStaged(model, age);
    }

    @Override
    public void markPruned(String model, dev.streamlearn.store.Pruning pruning) throws IOException {
      store.markPruned(model, pruning);
    }

    @Override
    public java.util.Optional<dev.streamlearn.store.Pruning> pruning(String model)
        throws IOException {
      return store.pruning(model);
    }

    @Override
    public List<String> models() throws IOException {
      return store.models();
    }

    @Override
    public List<Long> versions(String model) throws IOException {
      return store.versions(model);
    }

    @Override
    public Optional<Manifest> manifest(String model, long version) throws IOException {
      return store.manifest(model, version);
    }

    @Override
    public byte[] readFile(String model, long version, String file) throws IOException {
      return store.readFile(model, version, file);
    }

    @Override
    public Optional<Long> alias(String model, String alias) throws IOException {
      return store.alias(model, alias);
    }

    @Override
    public void setAlias(String model, String alias, long version) throws IOException {
      store.setAlias(model, alias, version);
    }

    @Override
    public boolean compareAndSetAlias(String model, String alias, Long expected, long version)
        throws IOException {
      return store.compareAndSetAlias(model, alias, expected, version);
    }

    @Override
    public Map<String, Long> aliases(String model) throws IOException {
      return store.aliases(model);
    }

    @Override
    public void delete(String model, long version) throws IOException {
      store.delete(model, version);
    }

    @Override
    public String location() {
      return store.location();
    }
  }
}
