package dev.streamlearn.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamlearn.core.serve.ModelScorer;
import dev.streamlearn.core.serve.SegmentedScorer;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.jobs.FlinkJob;
import dev.streamlearn.jobs.ScoringJob;
import dev.streamlearn.jobs.StreamLearnJob;
import dev.streamlearn.jobs.runtime.EmbeddedKafka;
import dev.streamlearn.jobs.runtime.ProgressMetrics;
import dev.streamlearn.operators.PipelineCounters;
import dev.streamlearn.schemas.DeadLetter;
import dev.streamlearn.schemas.EventLabel;
import dev.streamlearn.schemas.LabeledEvent;
import dev.streamlearn.schemas.Prediction;
import dev.streamlearn.schemas.WindowMetrics;
import dev.streamlearn.schemas.codec.AvroCodec;
import dev.streamlearn.schemas.codec.Topics;
import dev.streamlearn.store.LocalModelStore;
import dev.streamlearn.store.Manifest;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole pipeline on a real KRaft broker and a Flink MiniCluster: good events are learned from
 * or held out, bad ones land in the dead-letter topic with their reason, repeats are dropped, the
 * counts add up exactly, and versions are published.
 */
class PipelineITCase {

  @RegisterExtension
  static final MiniClusterExtension FLINK =
      new MiniClusterExtension(
          new MiniClusterResourceConfiguration.Builder()
              .setNumberTaskManagers(1)
              .setNumberSlotsPerTaskManager(2)
              .setConfiguration(flinkConfiguration())
              .build());

  private static EmbeddedKafka kafka;

  /** Events are one second apart in event time, in the order they are made. */
  private static final java.util.concurrent.atomic.AtomicLong CLOCK =
      new java.util.concurrent.atomic.AtomicLong();

  @TempDir static Path temporary;

  private static Configuration flinkConfiguration() {
    Configuration conf = new Configuration();
    conf.setString(
        "metrics.reporter." + ProgressMetrics.REPORTER_NAME + ".factory.class",
        ProgressMetrics.Factory.class.getName());
    conf.setString("restart-strategy.type", "none");
    return conf;
  }

  @BeforeAll
  static void startKafka() throws Exception {
    kafka = EmbeddedKafka.start(temporary.resolve("kafka"));
  }

  @AfterAll
  static void stopKafka() throws Exception {
    kafka.close();
  }

  @Test
  void accountsForEveryRecordAndPublishes() throws Exception {
    // Event times from 0 s, whichever test ran first: the last validation window is then whole.
    CLOCK.set(0);
    // Start and configure.
    Path store = temporary.resolve("store");
    PipelineSpec spec =
        SpecLoader.parse(
            String.join(
                "\n",
                "name: it-model",
                "source: {bootstrap-servers: '" + kafka.bootstrapServers() + "', topic: it-events,",
                "         bounded: true, max-record-bytes: 65536}",
                "features:",
                "  - {name: a, type: numeric}",
                "  - {name: b, type: numeric}",
                "  - {name: kind, type: categorical, hash-buckets: 4}",
                "holdout: {fraction: 0.25}",
                "training: {batch-size: 32, learning-rate: 0.2}",
                "validation: {window: 500s}",
                "checkpoint: {interval: 1s}",
                "store: {uri: '" + store + "'}",
                ""));
    createTopics("it-events");

    // Produce: good events, repeats of some of them, and every kind of bad record.
    AvroCodec<LabeledEvent> codec = Topics.labeledEvents();
    Random random = new Random(3);
    List<byte[]> good = new ArrayList<>();
    int goodCount = 2000;
    for (int i = 0; i < goodCount; i++) {
      double a = random.nextGaussian();
      double b = random.nextGaussian();
      Map<String, Object> features = new HashMap<>();
      features.put("a", i % 50 == 0 ? null : a);
      features.put("b", b);
      features.put("kind", i % 3 == 0 ? "x" : "y");
      good.add(codec.encode(event("good-" + i, 2 * a - b > 0 ? 1.0 : 0.0, features)));
    }
    Map<String, String> expectedReasons = new HashMap<>();
    List<byte[]> bad = new ArrayList<>();
    bad.add(new byte[] {1, 2, 3, 4, 5});
    expectedReasons.put("bytes-0", "not Avro single-object encoded");
    bad.add(Arrays.copyOf(good.get(0), good.get(0).length - 4));
    expectedReasons.put("bytes-1", "malformed");
    bad.add(
        Topics.deadLetters()
            .encode(
                DeadLetter.newBuilder()
                    .setPayload(ByteBuffer.wrap(new byte[0]))
                    .setTopic("t")
                    .setPartition(0)
                    .setOffset(0)
                    .setStage("s")
                    .setReason("r")
                    .setRefusedAt(Instant.EPOCH)
                    .build()));
    expectedReasons.put("bytes-2", "schema this pipeline does not know");
    bad.add(new byte[100_000]);
    expectedReasons.put("bytes-3", "exceeds source.max-record-bytes");
    bad.add(
        codec.encode(
            LabeledEvent.newBuilder(event("bad-label-type", null, Map.of("a", 1.0)))
                .setLabel("yes")
                .build()));
    expectedReasons.put("bad-label-type", "is a string");
    bad.add(codec.encode(event("bad-label-value", 3.0, Map.of("a", 1.0))));
    expectedReasons.put("bad-label-value", "not 0 or 1");
    bad.add(codec.encode(event("no-label", null, Map.of("a", 1.0))));
    expectedReasons.put("no-label", "no label");
    bad.add(codec.encode(event("nan", 1.0, Map.of("a", Double.NaN))));
    expectedReasons.put("nan", "feature a is NaN");
    bad.add(codec.encode(event("inf", 1.0, Map.of("b", Double.NEGATIVE_INFINITY))));
    expectedReasons.put("inf", "feature b is -Infinity");
    bad.add(codec.encode(event("text", 1.0, Map.of("b", "lots"))));
    expectedReasons.put("text", "feature b = 'lots' is not a number");
    bad.add(codec.encode(event("long", 1.0, Map.of("kind", "k".repeat(5000)))));
    expectedReasons.put("long", "5000 characters long");

    int repeats = 7;
    try (KafkaProducer<byte[], byte[]> producer = producer()) {
      int b = 0;
      for (int i = 0; i < goodCount; i++) {
        producer.send(
            new ProducerRecord<>(
                "it-events", ("good-" + i).getBytes(StandardCharsets.UTF_8), good.get(i)));
        if (i % 150 == 0 && b < bad.size()) {
          producer.send(
              new ProducerRecord<>(
                  "it-events", ("bad-" + b).getBytes(StandardCharsets.UTF_8), bad.get(b++)));
        }
        if (i % 250 == 10 && i / 250 < repeats) {
          producer.send(
              new ProducerRecord<>(
                  "it-events", ("good-" + i).getBytes(StandardCharsets.UTF_8), good.get(i)));
        }
      }
      while (b < bad.size()) {
        producer.send(
            new ProducerRecord<>(
                "it-events", ("bad-" + b).getBytes(StandardCharsets.UTF_8), bad.get(b++)));
      }
    }
    int total = goodCount + bad.size() + repeats;

    runToTheEnd(spec);

    // Verify: the counts add up exactly.
    long read = ProgressMetrics.count(PipelineCounters.READ);
    long trained = ProgressMetrics.count(PipelineCounters.TRAINED);
    long heldOut = ProgressMetrics.count(PipelineCounters.HELD_OUT);
    long deduplicated = ProgressMetrics.count(PipelineCounters.DEDUPLICATED);
    long deadLettered = ProgressMetrics.count(PipelineCounters.DEAD_LETTERED);
    assertThat(read).isEqualTo(total);
    assertThat(deadLettered).isEqualTo(bad.size());
    assertThat(deduplicated).isEqualTo(repeats);
    assertThat(trained + heldOut).isEqualTo(goodCount);
    assertThat(heldOut).isBetween(400L, 600L);

    // Every refused record is in the dead-letter topic, once, with its reason.
    List<DeadLetter> letters = deadLetters("it-events.dead-letter", bad.size());
    assertThat(letters).hasSize(bad.size());
    for (DeadLetter letter : letters) {
      assertThat(letter.getTopic()).isEqualTo("it-events");
      assertThat(letter.getReason()).isNotBlank();
      assertThat(letter.getStage()).isIn("decode", "clean");
      assertThat(letter.getPayload().remaining()).isPositive();
    }
    List<String> reasons = letters.stream().map(DeadLetter::getReason).toList();
    for (Map.Entry<String, String> expected : expectedReasons.entrySet()) {
      assertThat(reasons)
          .as("a dead letter for %s", expected.getKey())
          .anyMatch(r -> r.contains(expected.getValue()));
    }
    assertThat(letters.stream().filter(l -> l.getEventId() != null).map(DeadLetter::getEventId))
        .containsExactlyInAnyOrder(
            "bad-label-type", "bad-label-value", "no-label", "nan", "inf", "text", "long");

    // Versions were published; the last one's lineage covers everything learned.
    LocalModelStore models = new LocalModelStore(store);
    List<Long> versions = models.versions("it-model");
    assertThat(versions).hasSizeGreaterThanOrEqualTo(3);
    assertThat(versions)
        .containsExactly(
            java.util.stream.LongStream.rangeClosed(1, versions.size())
                .boxed()
                .toArray(Long[]::new));
    Manifest last = models.manifest("it-model", versions.get(versions.size() - 1)).orElseThrow();
    assertThat(last.lineage().eventsTrainedTotal()).isEqualTo(trained);
    assertThat(last.lineage().eventsHeldOutTotal()).isEqualTo(heldOut);
    long trainedAcrossVersions = 0;
    for (long version : versions) {
      trainedAcrossVersions +=
          models.manifest("it-model", version).orElseThrow().lineage().eventsTrained();
    }
    assertThat(trainedAcrossVersions).isEqualTo(trained);
    Map<String, Double> window = last.metrics().get("window");
    assertThat(window.get("accuracy"))
        .isGreaterThan(0.9)
        .isGreaterThan(window.get("majorityRate") + 0.2);
    assertThat(last.files()).containsKeys("model.safetensors", "featurizer.json");
    assertThat(models.alias("it-model", "latest")).contains(last.version());
    assertThat(models.alias("it-model", "champion")).isPresent();

    // One window report per closed window, each naming the version it became.
    List<WindowMetrics> reports = windowMetrics("it-events.metrics", versions.size());
    assertThat(reports).hasSize(versions.size());
    assertThat(reports.stream().map(WindowMetrics::getPublishedVersion))
        .containsExactlyElementsOf(versions);
    assertThat(reports.stream().mapToLong(WindowMetrics::getHeldOut).sum()).isEqualTo(heldOut);
    assertThat(reports.stream().mapToLong(WindowMetrics::getTrained).sum()).isEqualTo(trained);
  }

  /**
   * A topic of the producers' own Avro records in the Confluent wire format: learned from through
   * the spec's field mapping, with the same accounting, and the published model scores those
   * records through the Flink-free scorer.
   */
  @Test
  void learnsFromTheProducersOwnAvroRecords() throws Exception {
    Schema reading =
        new Schema.Parser()
            .parse(
                """
                {"type": "record", "name": "Reading", "namespace": "com.example.plant",
                 "fields": [
                   {"name": "sensor", "type": "string"},
                   {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
                   {"name": "temperature", "type": "double"},
                   {"name": "pressure", "type": ["null", "float"], "default": null},
                   {"name": "site", "type": {"type": "record", "name": "Site", "fields": [
                     {"name": "region", "type": {"type": "enum", "name": "Region",
                                                 "symbols": ["NORTH", "SOUTH"]}},
                     {"name": "altitude", "type": "int"}]}},
                   {"name": "alarm", "type": ["null", "boolean"], "default": null}
                 ]}
                """);
    Path store = temporary.resolve("record-store");
    Map<String, Object> tree =
        SpecLoader.readTree(
            String.join(
                "\n",
                "name: plant",
                "source: {bootstrap-servers: '" + kafka.bootstrapServers() + "', topic: readings,",
                "         bounded: true}",
                "features:",
                "  - {name: temperature, type: numeric}",
                "  - {name: pressure, type: numeric}",
                "  - {name: site.region, type: categorical}",
                "  - {name: site.altitude, type: numeric}",
                "holdout: {fraction: 0.25}",
                "training: {batch-size: 32, learning-rate: 0.2}",
                "validation: {window: 500s}",
                "checkpoint: {interval: 1s}",
                "store: {uri: '" + store + "'}",
                ""),
            "test");
    SpecLoader.override(tree, "source.schema.avro", reading.toString());
    SpecLoader.override(tree, "source.schema.framing", "confluent");
    SpecLoader.override(tree, "source.schema.id", "sensor");
    SpecLoader.override(tree, "source.schema.timestamp", "at");
    SpecLoader.override(tree, "source.schema.label", "alarm");
    PipelineSpec spec = SpecLoader.fromTree(tree);
    createTopics("readings");

    Random random = new Random(5);
    Schema site = reading.getField("site").schema();
    List<GenericRecord> good = new ArrayList<>();
    int goodCount = 2000;
    for (int i = 0; i < goodCount; i++) {
      boolean north = random.nextBoolean();
      double temperature = 20 + 10 * random.nextGaussian();
      GenericRecord where = new GenericData.Record(site);
      where.put(
          "region",
          new GenericData.EnumSymbol(site.getField("region").schema(), north ? "NORTH" : "SOUTH"));
      where.put("altitude", 100 + random.nextInt(50));
      GenericRecord record = new GenericData.Record(reading);
      record.put("sensor", "s-" + i);
      record.put("at", 1_700_000_000_000L + 1000L * i);
      record.put("temperature", temperature);
      record.put("pressure", i % 40 == 0 ? null : (float) random.nextGaussian());
      record.put("site", where);
      record.put("alarm", temperature > (north ? 15 : 25));
      good.add(record);
    }
    GenericRecord unlabeled = new GenericData.Record(reading);
    good.get(0)
        .getSchema()
        .getFields()
        .forEach(f -> unlabeled.put(f.pos(), good.get(0).get(f.pos())));
    unlabeled.put("sensor", "unlabeled");
    unlabeled.put("alarm", null);
    byte[] truncated = confluent(good.get(1));
    List<byte[]> bad =
        List.of(
            Topics.labeledEvents()
                .encode(
                    LabeledEvent.newBuilder()
                        .setId("labeled-event")
                        .setTimestamp(Instant.EPOCH)
                        .setLabel(1.0)
                        .setFeatures(Map.of("temperature", 1.0))
                        .build()),
            Arrays.copyOf(truncated, truncated.length - 3),
            confluent(unlabeled));
    int repeats = 5;
    try (KafkaProducer<byte[], byte[]> producer = producer()) {
      for (int i = 0; i < goodCount; i++) {
        producer.send(new ProducerRecord<>("readings", confluent(good.get(i))));
        if (i % 400 == 7) {
          producer.send(new ProducerRecord<>("readings", confluent(good.get(i))));
          producer.send(new ProducerRecord<>("readings", bad.get(i / 400 % bad.size())));
        }
      }
    }
    int badCount = repeats;

    runToTheEnd(spec);

    long trained = ProgressMetrics.count(PipelineCounters.TRAINED);
    long heldOut = ProgressMetrics.count(PipelineCounters.HELD_OUT);
    assertThat(ProgressMetrics.count(PipelineCounters.READ))
        .isEqualTo(goodCount + repeats + badCount);
    assertThat(ProgressMetrics.count(PipelineCounters.DEDUPLICATED)).isEqualTo(repeats);
    assertThat(ProgressMetrics.count(PipelineCounters.DEAD_LETTERED)).isEqualTo(badCount);
    assertThat(trained + heldOut).isEqualTo(goodCount);
    List<String> reasons =
        deadLetters("readings.dead-letter", badCount).stream().map(DeadLetter::getReason).toList();
    assertThat(reasons).hasSize(badCount);
    assertThat(reasons).anyMatch(r -> r.startsWith("not in the Confluent wire format"));
    assertThat(reasons).anyMatch(r -> r.startsWith("malformed com.example.plant.Reading"));
    assertThat(reasons).anyMatch(r -> r.equals("event has no label"));

    LocalModelStore models = new LocalModelStore(store);
    List<Long> versions = models.versions("plant");
    assertThat(versions).isNotEmpty();
    Manifest last = models.manifest("plant", versions.get(versions.size() - 1)).orElseThrow();
    assertThat(last.inputSchemaFingerprint())
        .isEqualTo(String.format("%016x", SchemaNormalization.parsingFingerprint64(reading)));
    assertThat(last.lineage().eventsTrainedTotal()).isEqualTo(trained);
    assertThat(last.metrics().get("window").get("accuracy")).isGreaterThan(0.9);

    // The published model scores the same records, read through the same field paths.
    ModelScorer scorer =
        ModelScorer.load(store.resolve("plant").resolve(Long.toString(last.version())));
    int agree = 0;
    for (GenericRecord record : good.subList(0, 500)) {
      boolean alarm = scorer.score(record, (long) record.get("at"))[0] > 0.5f;
      agree += alarm == (Boolean) record.get("alarm") ? 1 : 0;
    }
    assertThat(agree).isGreaterThan(450);

    // The version carries the schema, so fields given as text score as the record itself does.
    assertThat(scorer.inputSchema()).contains(reading);
    GenericRecord first = good.get(0);
    GenericRecord firstSite = (GenericRecord) first.get("site");
    Map<String, Object> text = new HashMap<>();
    text.put("temperature", first.get("temperature").toString());
    text.put("pressure", first.get("pressure") == null ? "" : first.get("pressure").toString());
    text.put("site.region", firstSite.get("region").toString());
    text.put("site.altitude", firstSite.get("altitude").toString());
    assertThat(scorer.score(text, 0L)).containsExactly(scorer.score(first, 0L));
    text.put("site.region", "EAST");
    assertThatThrownBy(() -> scorer.score(text, 0L))
        .hasMessageStartingWith("field site.region = 'EAST' does not fit its type");
    // The input vector is read the same way: through the schema.
    float[] vector = new float[scorer.dimension()];
    assertThatThrownBy(() -> scorer.vectorOf(text, 0L, vector))
        .hasMessageStartingWith("field site.region = 'EAST' does not fit its type");

    // The scoring job reads the same records: every one that is a Reading is scored, labeled or
    // not (repeats too: it does not deduplicate), as the version scores the record itself.
    kafka.createTopic("readings.predictions", 1);
    kafka.createTopic("readings.predictions.dead-letter", 1);
    runToTheEnd(
        ScoringJob.fromSpec(
            spec, "plant", "latest", Duration.ofSeconds(10), "readings.predictions"));
    assertThat(ProgressMetrics.count(PipelineCounters.SCORING_READ))
        .isEqualTo(goodCount + repeats + badCount);
    assertThat(ProgressMetrics.count(PipelineCounters.SCORED)).isEqualTo(goodCount + repeats + 1);
    assertThat(ProgressMetrics.count(PipelineCounters.SCORED_WITH_LABEL))
        .isEqualTo(goodCount + repeats);
    assertThat(ProgressMetrics.count(PipelineCounters.SCORING_DEAD_LETTERED)).isEqualTo(4);
    ModelScorer latest =
        ModelScorer.load(
            store
                .resolve("plant")
                .resolve(Long.toString(models.alias("plant", "latest").orElseThrow())));
    Map<String, GenericRecord> byId = new HashMap<>();
    good.forEach(record -> byId.put(record.get("sensor").toString(), record));
    byId.put("unlabeled", unlabeled);
    List<byte[]> written = readAll("readings.predictions", goodCount + repeats + 1);
    assertThat(written).hasSize(goodCount + repeats + 1);
    for (byte[] value : written) {
      Prediction prediction = Topics.predictions().decode(value);
      GenericRecord record = byId.get(prediction.getId());
      float p = latest.score(record, (long) record.get("at"))[0];
      assertThat(prediction.getTimestamp().toEpochMilli()).isEqualTo((long) record.get("at"));
      assertThat(prediction.getProbabilities().get(latest.manifest().classes().get(1)))
          .isEqualTo((double) p);
      // A boolean label is the class it trained: false and true are the classes 0 and 1.
      List<String> classes = latest.manifest().classes();
      assertThat(prediction.getLabel())
          .isEqualTo(
              record.get("alarm") == null
                  ? null
                  : classes.get((Boolean) record.get("alarm") ? 1 : 0));
    }
  }

  /**
   * One model per region at parallelism 2: each region's events train their own model, which learns
   * a concept the other region's is the opposite of; events of no listed region are dead-lettered
   * with the reason; the counts still add up.
   */
  @Test
  void trainsAModelPerSegment() throws Exception {
    Path store = temporary.resolve("segment-store");
    PipelineSpec spec =
        regionSpec(
            "shops",
            "sales",
            store,
            "training: {batch-size: 32, learning-rate: 0.2}",
            "validation: {window: 500s}");
    createTopics("sales");

    AvroCodec<LabeledEvent> codec = Topics.labeledEvents();
    Random random = new Random(11);
    int goodCount = 3000;
    int unrouted = 0;
    Map<String, LabeledEvent> sent = new HashMap<>();
    try (KafkaProducer<byte[], byte[]> producer = producer()) {
      for (int i = 0; i < goodCount + 40; i++) {
        double x = random.nextGaussian();
        double y = random.nextGaussian();
        boolean north = random.nextBoolean();
        Map<String, Object> features = new HashMap<>();
        features.put("x", x);
        features.put("y", y);
        if (i < goodCount) {
          features.put("region", north ? "north" : "south");
        } else {
          // Belongs to no segment: another region, or none.
          features.put("region", i % 2 == 0 ? "east" : null);
          unrouted++;
        }
        double label = regionLabel(north ? "north" : "south", x, y) ? 1.0 : 0.0;
        LabeledEvent event = event("s-" + i, label, features);
        sent.put(event.getId(), event);
        producer.send(new ProducerRecord<>("sales", codec.encode(event)));
      }
    }

    runToTheEnd(spec);

    long trained = ProgressMetrics.count(PipelineCounters.TRAINED);
    long heldOut = ProgressMetrics.count(PipelineCounters.HELD_OUT);
    assertThat(ProgressMetrics.count(PipelineCounters.READ)).isEqualTo(goodCount + unrouted);
    assertThat(ProgressMetrics.count(PipelineCounters.DEAD_LETTERED)).isEqualTo(unrouted);
    assertThat(trained + heldOut).isEqualTo(goodCount);
    List<String> reasons =
        deadLetters("sales.dead-letter", unrouted).stream().map(DeadLetter::getReason).toList();
    assertThat(reasons)
        .hasSize(unrouted)
        .contains(
            "segment feature region = 'east' is not one of segments.values [north, south] and"
                + " segments.others is not set",
            "segment feature region is missing and segments.others is not set");

    LocalModelStore models = new LocalModelStore(store);
    assertThat(models.models()).containsExactlyInAnyOrder("shops.north", "shops.south");
    long learned = 0;
    for (String region : List.of("north", "south")) {
      String model = "shops." + region;
      List<Long> versions = models.versions(model);
      Manifest last = models.manifest(model, versions.get(versions.size() - 1)).orElseThrow();
      assertThat(last.segment()).isEqualTo(new Manifest.Segment("region", region, false));
      assertThat(models.alias(model, "latest")).contains(last.version());
      assertThat(last.metrics().get("window").get("accuracy")).as(model).isGreaterThan(0.9);
      learned += last.lineage().eventsTrainedTotal() + last.lineage().eventsHeldOutTotal();
    }
    assertThat(learned).isEqualTo(goodCount);
    // Every closed window of both models is reported on the metrics topic.
    long versions = models.versions("shops.north").size() + models.versions("shops.south").size();
    List<WindowMetrics> reports = windowMetrics("sales.metrics", (int) versions);
    assertThat(reports.stream().map(r -> r.getModel().toString()).distinct())
        .containsExactlyInAnyOrder("shops.north", "shops.south");

    // Serving: each row is scored by its region's model, from the CLI as from the library.
    Path rows = temporary.resolve("sales.csv");
    Path scores = temporary.resolve("sales-scores.csv");
    List<Boolean> expected = writeRegionRows(random, rows, "1.0,2.0,east,?");
    assertThat(
            dev.streamlearn.jobs.cli.StreamLearnCli.execute(
                "score",
                "--segments",
                store.resolve("shops").toString(),
                "--input",
                rows.toString(),
                "--output",
                scores.toString()))
        .isZero();
    List<String> lines = java.nio.file.Files.readAllLines(scores);
    assertThat(lines.get(0)).isEqualTo("row,model,prediction,p_0,p_1");
    assertThat(rightByRegion(lines, expected, "shops.north", "shops.south")).isGreaterThan(360);
    assertThat(lines.get(lines.size() - 1))
        .isEqualTo("400,refused: no model for region = 'east': the models are for [north; south]");

    List<ModelScorer> latest = new ArrayList<>();
    for (String region : List.of("north", "south")) {
      long version = models.alias("shops." + region, "latest").orElseThrow();
      latest.add(
          ModelScorer.load(store.resolve("shops." + region).resolve(Long.toString(version))));
    }
    SegmentedScorer bySegment = SegmentedScorer.of(latest);
    Map<String, Object> north = Map.of("x", 1.0, "y", 0.0, "region", "north");
    Map<String, Object> south = Map.of("x", 1.0, "y", 0.0, "region", "south");
    assertThat(bySegment.score(north, 0L)[0]).isGreaterThan(0.5f);
    assertThat(bySegment.score(south, 0L)[0]).isLessThan(0.5f);

    // The scoring job on the same topic, by the pipeline's name: each event by its region's
    // model; those of no region are dead-lettered with the reason.
    kafka.createTopic("sales.predictions", 1);
    kafka.createTopic("sales.predictions.dead-letter", 1);
    runToTheEnd(
        ScoringJob.fromSpec(spec, "shops", "latest", Duration.ofSeconds(10), "sales.predictions"));
    assertThat(ProgressMetrics.count(PipelineCounters.SCORED)).isEqualTo(goodCount);
    assertThat(ProgressMetrics.count(PipelineCounters.SCORING_DEAD_LETTERED)).isEqualTo(unrouted);
    Map<String, Long> byModel = new java.util.TreeMap<>();
    int checked = 0;
    for (byte[] value : readAll("sales.predictions", goodCount)) {
      Prediction prediction = Topics.predictions().decode(value);
      byModel.merge(prediction.getModel(), 1L, Long::sum);
      assertThat(prediction.getVersion())
          .isEqualTo(models.alias(prediction.getModel(), "latest").orElseThrow());
      LabeledEvent event = sent.get(prediction.getId());
      SegmentedScorer.Scored offline =
          bySegment.scoreWithModel(event.getFeatures(), event.getTimestamp().toEpochMilli());
      assertThat(prediction.getModel()).isEqualTo(offline.model().manifest().name());
      assertThat(prediction.getProbabilities().get("1")).isEqualTo((double) offline.scores()[0]);
      checked++;
    }
    assertThat(checked).isEqualTo(goodCount);
    assertThat(byModel.keySet()).containsExactly("shops.north", "shops.south");
    assertThat(ProgressMetrics.count(PipelineCounters.PREDICTED_RIGHT))
        .isGreaterThan(goodCount * 9L / 10);
    assertThat(deadLetters("sales.predictions.dead-letter", unrouted))
        .extracting(letter -> letter.getStage() + ": " + letter.getReason())
        .contains("score: no model for region = 'east': the models are for [north, south]");
  }

  /**
   * Hyper-parameter candidates at parallelism 2: every event is counted once though each candidate
   * learns from it; each candidate's model sees all of them and holds out the same ones, and the
   * ranking (in the CLI) names the one that fits the concept.
   */
  @Test
  void trainsEveryCandidateOnTheSameEvents() throws Exception {
    Path store = temporary.resolve("candidate-store");
    PipelineSpec spec =
        SpecLoader.parse(
            String.join(
                "\n",
                "name: circle",
                "source: {bootstrap-servers: '" + kafka.bootstrapServers() + "', topic: points,",
                "         bounded: true}",
                "features:",
                "  - {name: x, type: numeric}",
                "  - {name: y, type: numeric}",
                "holdout: {fraction: 0.25}",
                "training: {batch-size: 8, learning-rate: 0.2}",
                "validation: {window: 500s, metric: accuracy}",
                "candidates:",
                "  - name: linear",
                "    model: {type: logistic}",
                "  - name: mlp",
                "    model: {type: mlp, hidden-layers: [16], activation: tanh}",
                "    training: {learning-rate: 0.05, optimizer: {type: adam}}",
                "checkpoint: {interval: 1s}",
                "store: {uri: '" + store + "'}",
                ""));
    createTopics("points");

    AvroCodec<LabeledEvent> codec = Topics.labeledEvents();
    Random random = new Random(13);
    int goodCount = 3000;
    int repeats = 30;
    int malformed = 10;
    try (KafkaProducer<byte[], byte[]> producer = producer()) {
      for (int i = 0; i < goodCount; i++) {
        double x = random.nextGaussian();
        double y = random.nextGaussian();
        Map<String, Object> features = new HashMap<>();
        features.put("x", x);
        features.put("y", y);
        byte[] event = codec.encode(event("p-" + i, x * x + y * y < 1.2 ? 1.0 : 0.0, features));
        producer.send(new ProducerRecord<>("points", event));
        if (i % 100 == 0) {
          producer.send(new ProducerRecord<>("points", event));
        }
        if (i % 300 == 0) {
          producer.send(new ProducerRecord<>("points", new byte[] {7, 7, 7}));
        }
      }
    }

    runToTheEnd(spec);

    // Each event once: counted by one of its copies.
    assertThat(ProgressMetrics.count(PipelineCounters.READ))
        .isEqualTo(goodCount + repeats + malformed);
    assertThat(ProgressMetrics.count(PipelineCounters.DEDUPLICATED)).isEqualTo(repeats);
    assertThat(ProgressMetrics.count(PipelineCounters.DEAD_LETTERED)).isEqualTo(malformed);
    assertThat(
            ProgressMetrics.count(PipelineCounters.TRAINED)
                + ProgressMetrics.count(PipelineCounters.HELD_OUT))
        .isEqualTo(goodCount);

    LocalModelStore models = new LocalModelStore(store);
    assertThat(models.models()).containsExactlyInAnyOrder("circle.linear", "circle.mlp");
    Map<String, List<Manifest>> versions = new HashMap<>();
    for (String model : models.models()) {
      List<Manifest> manifests = new ArrayList<>();
      for (long version : models.versions(model)) {
        manifests.add(models.manifest(model, version).orElseThrow());
      }
      versions.put(model, manifests);
      Manifest last = manifests.get(manifests.size() - 1);
      assertThat(last.candidate().name()).isEqualTo(model.substring("circle.".length()));
      assertThat(last.lineage().eventsTrainedTotal() + last.lineage().eventsHeldOutTotal())
          .as(model)
          .isEqualTo(goodCount);
      assertThat(models.alias(model, "latest")).contains(last.version());
    }
    List<Manifest> linear = versions.get("circle.linear");
    List<Manifest> mlp = versions.get("circle.mlp");
    // Each candidate's subtask receives the two decoding subtasks' events in an order of its own,
    // yet the watermark closes their windows alike: version by version, the same window and the
    // same held-out events in it; none late.
    assertThat(ProgressMetrics.count(PipelineCounters.LATE)).isZero();
    Manifest linearLast = linear.get(linear.size() - 1);
    Manifest mlpLast = mlp.get(mlp.size() - 1);
    assertThat(linear).hasSizeGreaterThan(1).hasSameSizeAs(mlp);
    for (int v = 0; v < linear.size(); v++) {
      assertThat(mlp.get(v).validationWindow())
          .as("version %d", v + 1)
          .isEqualTo(linear.get(v).validationWindow());
      assertThat(mlp.get(v).metrics().get("window").get("count"))
          .as("version %d", v + 1)
          .isEqualTo(linear.get(v).metrics().get("window").get("count"));
    }
    assertThat(mlpLast.lineage().eventsHeldOutTotal())
        .isEqualTo(linearLast.lineage().eventsHeldOutTotal());
    assertThat(mlpLast.metrics().get("sinceStart").get("count"))
        .isEqualTo(linearLast.metrics().get("sinceStart").get("count"));
    // Judged on the newest window that holds at least 100 held-out events: the last window of a
    // bounded stream can hold a handful (11 here), where one event moves accuracy by 0.09.
    int judged = linear.size() - 1;
    while (judged > 0 && linear.get(judged).metrics().get("window").get("count") < 100) {
      judged--;
    }
    Manifest mlpJudged = mlp.get(judged);
    Manifest linearJudged = linear.get(judged);
    System.out.printf(
        "candidates: mlp v%d accuracy %.3f, linear v%d accuracy %.3f, on the %.0f held-out events"
            + " of window %s; linear on all %.0f held-out events %.3f%n",
        mlpJudged.version(),
        mlpJudged.metrics().get("window").get("accuracy"),
        linearJudged.version(),
        linearJudged.metrics().get("window").get("accuracy"),
        linearJudged.metrics().get("window").get("count"),
        linearJudged.validationWindow(),
        linearLast.metrics().get("sinceStart").get("count"),
        linearLast.metrics().get("sinceStart").get("accuracy"));
    assertThat(linearJudged.metrics().get("window").get("count")).isGreaterThanOrEqualTo(100);
    assertThat(mlpJudged.metrics().get("window").get("accuracy")).isGreaterThan(0.85);
    // Inside the circle are 45% of the points: no line does much better than saying "outside",
    // in that window or over every held-out event.
    assertThat(linearJudged.metrics().get("window").get("accuracy")).isLessThan(0.7);
    assertThat(linearLast.metrics().get("sinceStart").get("accuracy")).isLessThan(0.7);
    List<WindowMetrics> reports = windowMetrics("points.metrics", linear.size() + mlp.size());
    assertThat(reports.stream().map(r -> r.getModel().toString()).distinct())
        .containsExactlyInAnyOrder("circle.linear", "circle.mlp");

    String table =
        printedBy("models", "--store", store.toString(), "candidates", "--pipeline", "circle");
    List<String> lines = table.lines().toList();
    assertThat(lines.get(1)).startsWith("   1  circle.mlp");
    assertThat(lines.get(2)).startsWith("   2  circle.linear");
    assertThat(lines.get(1))
        .endsWith(
            "model.type=mlp, model.hidden-layers=[16], model.activation=tanh,"
                + " training.learning-rate=0.05, training.optimizer.type=adam");
    assertThat(table)
        .contains("Best on the newest window: circle.mlp (version " + mlpLast.version() + ",");
  }

  /**
   * Candidate pruning while the stream runs: the window reports come back through the metrics
   * topic, the two candidates that do not learn stop training after the first two windows, the
   * others go on, and each event is still counted once though the candidate that counted it first
   * is pruned.
   */
  @Test
  void prunesTheCandidatesThatFallBehindWhileTheStreamRuns() throws Exception {
    Path store = temporary.resolve("pruning-store");
    PipelineSpec spec =
        SpecLoader.parse(
            String.join(
                "\n",
                "name: slope",
                "source: {bootstrap-servers: '" + kafka.bootstrapServers() + "', topic: slope}",
                "features:",
                "  - {name: x, type: numeric}",
                "  - {name: y, type: numeric}",
                "holdout: {fraction: 0.25}",
                "training: {batch-size: 8}",
                "validation: {window: 100s, metric: logLoss}",
                "candidates:",
                "  - {name: frozen, training: {learning-rate: 0.0000001}}",
                "  - {name: fast, training: {learning-rate: 0.5}}",
                "  - {name: frozen-too, training: {learning-rate: 0.0000001}}",
                "  - {name: steady, training: {learning-rate: 0.1}}",
                "pruning: {windows: 2, keep: 2}",
                "checkpoint: {interval: 500ms}",
                "store: {uri: '" + store + "'}",
                ""));
    createTopics("slope");
    AvroCodec<LabeledEvent> codec = Topics.labeledEvents();
    Random random = new Random(31);
    int phase = 400;
    // Events one second apart, alternating between the two partitions, so that both move the
    // watermark on; the label is which side of a line the point lies.
    java.util.function.IntConsumer produce =
        count -> {
          try (KafkaProducer<byte[], byte[]> producer = producer()) {
            for (int i = 0; i < count; i++) {
              double x = random.nextGaussian();
              double y = random.nextGaussian();
              String id = "s-" + CLOCK.get();
              byte[] event =
                  codec.encode(event(id, x + 2 * y > 0 ? 1.0 : 0.0, Map.of("x", x, "y", y)));
              producer.send(new ProducerRecord<>("slope", i % 2, null, event));
            }
          }
        };
    produce.accept(phase);

    ProgressMetrics.reset();
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(2);
    StreamLearnJob job = StreamLearnJob.fromSpec(spec);
    job.addTo(env);
    org.apache.flink.core.execution.JobClient client = env.executeAsync(job.jobName());
    LocalModelStore models = new LocalModelStore(store);
    long counted;
    try {
      // The first round needs two windows closed by every candidate, reported on the metrics
      // topic and read back.
      long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
      while (ProgressMetrics.count(PipelineCounters.CANDIDATES_PRUNED) < 2
          && System.nanoTime() < deadline) {
        Thread.sleep(200);
      }
      assertThat(ProgressMetrics.count(PipelineCounters.CANDIDATES_PRUNED))
          .as("candidates pruned after the first events")
          .isEqualTo(2);
      // The decision reaches the copying subtasks by then (a broadcast); the next events come
      // after.
      Thread.sleep(1000);
      produce.accept(phase);
      deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
      while (countedEvents() < 2 * phase && System.nanoTime() < deadline) {
        Thread.sleep(200);
      }
      Thread.sleep(2000);
      counted = countedEvents();
      // Versions of the second phase's windows, published at checkpoints.
      deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (eventsOfNewest(models, "slope.fast") <= phase && System.nanoTime() < deadline) {
        Thread.sleep(200);
      }
    } finally {
      client.cancel().get();
    }
    // Every event once, though the candidate listed first (whose copies counted the events before)
    // trains no more.
    assertThat(counted).isEqualTo(2 * phase);
    assertThat(ProgressMetrics.count(PipelineCounters.CANDIDATES_PRUNED)).isEqualTo(2);

    // The pruned candidates learned from the first events only; the others from the second too.
    assertThat(eventsOfNewest(models, "slope.frozen")).isPositive().isLessThanOrEqualTo(phase);
    assertThat(eventsOfNewest(models, "slope.frozen-too")).isPositive().isLessThanOrEqualTo(phase);
    assertThat(eventsOfNewest(models, "slope.fast")).isGreaterThan(phase);
    assertThat(eventsOfNewest(models, "slope.steady")).isGreaterThan(phase);

    // The store says why the two stopped, and the ranking shows it beside them.
    for (String pruned : List.of("slope.frozen", "slope.frozen-too")) {
      dev.streamlearn.store.Pruning pruning = models.pruning(pruned).orElseThrow();
      assertThat(pruning.round()).isEqualTo(1);
      assertThat(pruning.reason())
          .startsWith("round 1: mean logLoss")
          .contains("over 2 windows")
          .contains("the best 2 go on");
    }
    assertThat(models.pruning("slope.fast")).isEmpty();
    assertThat(models.pruning("slope.steady")).isEmpty();
    String table =
        printedBy("models", "--store", store.toString(), "candidates", "--pipeline", "slope");
    List<String> lines = table.lines().toList();
    assertThat(lines.get(1)).startsWith("   1  slope.");
    assertThat(lines.get(2)).startsWith("   2  slope.");
    assertThat(lines.get(3)).startsWith("   -  slope.frozen");
    assertThat(lines.get(4)).startsWith("   -  slope.frozen");
    assertThat(table)
        .contains(
            "Pruned while the stream ran:\n  slope.frozen after the window to ",
            "\n  slope.frozen-too after the window to ");
    System.out.printf(
        "pruning: events learned from or held out by the newest version of each candidate: %s%n",
        models.models().stream()
            .sorted()
            .map(model -> model + " " + eventsOfNewest(models, model))
            .toList());
  }

  /** What the command line prints to standard output for {@code args}; it must exit with 0. */
  private static String printedBy(String... args) {
    java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
    java.io.PrintStream console = System.out;
    int exit;
    try {
      System.setOut(new java.io.PrintStream(printed, true, StandardCharsets.UTF_8));
      exit = dev.streamlearn.jobs.cli.StreamLearnCli.execute(args);
    } finally {
      System.setOut(console);
    }
    String out = printed.toString(StandardCharsets.UTF_8);
    assertThat(exit).as(out).isZero();
    return out;
  }

  /** Events trained on and held out, as the counters say. */
  private static long countedEvents() {
    return ProgressMetrics.count(PipelineCounters.TRAINED)
        + ProgressMetrics.count(PipelineCounters.HELD_OUT);
  }

  /** The events the newest version of {@code model} learned from or held out; 0 before one. */
  private static long eventsOfNewest(LocalModelStore models, String model) {
    try {
      if (!models.models().contains(model)) {
        return 0;
      }
      List<Long> versions = models.versions(model);
      Manifest newest = models.manifest(model, versions.get(versions.size() - 1)).orElseThrow();
      return newest.lineage().eventsTrainedTotal() + newest.lineage().eventsHeldOutTotal();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * Segments and candidates together: each region trains both candidates, each event is still
   * counted once, and scoring by segment with each segment's best candidate picks the one that
   * learned.
   */
  @Test
  void trainsEveryCandidateOfEverySegment() throws Exception {
    Path store = temporary.resolve("segment-candidate-store");
    PipelineSpec spec =
        regionSpec(
            "stores",
            "tills",
            store,
            "training: {batch-size: 16, learning-rate: 0.3}",
            "validation: {window: 500s, metric: logLoss}",
            "candidates: {grid: {training.learning-rate: [0.00001, 0.3]}}");
    createTopics("tills");
    AvroCodec<LabeledEvent> codec = Topics.labeledEvents();
    Random random = new Random(29);
    int goodCount = 3000;
    Map<String, Map<String, Object>> sent = new HashMap<>();
    try (KafkaProducer<byte[], byte[]> producer = producer()) {
      for (int i = 0; i < goodCount; i++) {
        double x = random.nextGaussian();
        double y = random.nextGaussian();
        boolean north = random.nextBoolean();
        Map<String, Object> features = new HashMap<>();
        features.put("x", x);
        features.put("y", y);
        features.put("region", north ? "north" : "south");
        double label = regionLabel(north ? "north" : "south", x, y) ? 1.0 : 0.0;
        producer.send(
            new ProducerRecord<>("tills", codec.encode(event("t-" + i, label, features))));
        sent.put("t-" + i, features);
      }
    }

    runToTheEnd(spec);

    assertThat(ProgressMetrics.count(PipelineCounters.READ)).isEqualTo(goodCount);
    assertThat(
            ProgressMetrics.count(PipelineCounters.TRAINED)
                + ProgressMetrics.count(PipelineCounters.HELD_OUT))
        .isEqualTo(goodCount);
    // The featurizer's rules, summed over the segments, once per event: x and y scaled in each.
    assertThat(ProgressMetrics.count(PipelineCounters.featureCounter("scaled")))
        .isEqualTo(2L * goodCount);
    LocalModelStore models = new LocalModelStore(store);
    assertThat(models.models())
        .containsExactlyInAnyOrder(
            "stores.north.c1", "stores.north.c2", "stores.south.c1", "stores.south.c2");
    for (String region : List.of("north", "south")) {
      long learned = -1;
      for (String candidate : List.of("c1", "c2")) {
        String model = "stores." + region + "." + candidate;
        List<Long> versions = models.versions(model);
        Manifest last = models.manifest(model, versions.get(versions.size() - 1)).orElseThrow();
        assertThat(last.segment()).isEqualTo(new Manifest.Segment("region", region, false));
        assertThat(last.candidate().name()).isEqualTo(candidate);
        long events = last.lineage().eventsTrainedTotal() + last.lineage().eventsHeldOutTotal();
        assertThat(learned).as(model).isIn(-1L, events);
        learned = events;
      }
    }

    Path rows = temporary.resolve("tills.csv");
    List<Boolean> expected = writeRegionRows(random, rows, null);
    Path scores = temporary.resolve("tills-scores.csv");
    String pipeline = store.resolve("stores").toString();
    java.io.StringWriter err = new java.io.StringWriter();
    assertThat(
            dev.streamlearn.jobs.cli.StreamLearnCli.execute(
                new java.io.PrintWriter(err, true),
                "score",
                "--segments",
                pipeline,
                "--input",
                rows.toString(),
                "--output",
                scores.toString()))
        .isEqualTo(2);
    assertThat(err.toString())
        .contains(
            "each segment has hyper-parameter candidates [c1, c2]; choose one with --candidate"
                + " NAME, or --candidate best");
    assertThat(
            dev.streamlearn.jobs.cli.StreamLearnCli.execute(
                "score",
                "--segments",
                pipeline,
                "--candidate",
                "best",
                "--input",
                rows.toString(),
                "--output",
                scores.toString()))
        .isZero();
    List<String> lines = java.nio.file.Files.readAllLines(scores);
    // From zero weights, c1's tiny steps find the boundary's direction but stay near p = 0.5: its
    // log loss is the worse in both regions, so the best is c2.
    assertThat(rightByRegion(lines, expected, "stores.north.c2", "stores.south.c2"))
        .isGreaterThan(360);

    // The scoring job with --candidate best: each event by its region's best candidate, as that
    // version's own scorer scores it.
    kafka.createTopic("tills.predictions", 1);
    kafka.createTopic("tills.predictions.dead-letter", 1);
    runToTheEnd(
        ScoringJob.fromSpec(
            spec,
            store.toString(),
            "stores",
            "latest",
            "best",
            Duration.ofSeconds(10),
            "tills.predictions",
            false));
    assertThat(ProgressMetrics.count(PipelineCounters.SCORED)).isEqualTo(goodCount);
    Map<String, ModelScorer> best = new HashMap<>();
    for (String region : List.of("north", "south")) {
      String model = "stores." + region + ".c2";
      best.put(
          region, ModelScorer.load(models, model, models.alias(model, "latest").orElseThrow()));
    }
    Map<String, Long> byModel = new java.util.TreeMap<>();
    for (byte[] value : readAll("tills.predictions", goodCount)) {
      Prediction prediction = Topics.predictions().decode(value);
      Map<String, Object> features = sent.get(prediction.getId());
      ModelScorer scorer = best.get((String) features.get("region"));
      assertThat(prediction.getModel()).isEqualTo(scorer.manifest().name());
      assertThat(prediction.getVersion()).isEqualTo(scorer.manifest().version());
      assertThat(prediction.getProbabilities().get("1"))
          .isEqualTo((double) scorer.score(features, prediction.getTimestamp().toEpochMilli())[0]);
      byModel.merge(prediction.getModel(), 1L, Long::sum);
    }
    assertThat(byModel.keySet()).containsExactly("stores.north.c2", "stores.south.c2");
    assertThat(byModel.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(goodCount);
  }

  /**
   * A pipeline of x, y and region on {@code topic} (bounded), one model per region (north, south),
   * a quarter held out, checkpoints every second; {@code lines} add to it.
   */
  private static PipelineSpec regionSpec(String name, String topic, Path store, String... lines) {
    return SpecLoader.parse(
        String.join(
                "\n",
                "name: " + name,
                "source: {bootstrap-servers: '"
                    + kafka.bootstrapServers()
                    + "', topic: "
                    + topic
                    + ",",
                "         bounded: true}",
                "features:",
                "  - {name: x, type: numeric}",
                "  - {name: y, type: numeric}",
                "  - {name: region, type: categorical}",
                "segments: {by: region, values: [north, south]}",
                "holdout: {fraction: 0.25}",
                "checkpoint: {interval: 1s}",
                "store: {uri: '" + store + "'}",
                "")
            + String.join("\n", lines)
            + "\n");
  }

  /** The concept of each region: in the north x - y/2 > 0, in the south the opposite. */
  private static boolean regionLabel(String region, double x, double y) {
    return region.equals("north") ? x - y / 2 > 0 : x - y / 2 < 0;
  }

  /**
   * 400 rows alternating north and south with unknown labels (and {@code extra}, when not null, as
   * a last row) written to {@code file}; the labels their regions' concepts give them.
   */
  private static List<Boolean> writeRegionRows(Random random, Path file, String extra)
      throws java.io.IOException {
    StringBuilder csv = new StringBuilder("x,y,region,label\n");
    List<Boolean> expected = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      double x = random.nextGaussian();
      double y = random.nextGaussian();
      String region = i % 2 == 0 ? "north" : "south";
      csv.append(x).append(',').append(y).append(',').append(region).append(",?\n");
      expected.add(regionLabel(region, x, y));
    }
    if (extra != null) {
      csv.append(extra).append('\n');
    }
    java.nio.file.Files.writeString(file, csv);
    return expected;
  }

  /**
   * How many of the scored rows ({@code row,model,prediction,...}) are right, checking that each
   * was scored by its region's model.
   */
  private static int rightByRegion(
      List<String> lines, List<Boolean> expected, String northModel, String southModel) {
    int right = 0;
    for (int i = 0; i < expected.size(); i++) {
      String[] cells = lines.get(i + 1).split(",");
      assertThat(cells[1]).isEqualTo(i % 2 == 0 ? northModel : southModel);
      right += cells[2].equals(expected.get(i) ? "1" : "0") ? 1 : 0;
    }
    return right;
  }

  /**
   * An unbounded job at parallelism 2 whose second partition receives nothing: its decoding subtask
   * is idle after {@code source.idle-timeout}, and the watermark closes the windows.
   */
  @Test
  void validatesOnTheWatermarkWhileAPartitionReceivesNothing() throws Exception {
    Path store = temporary.resolve("quiet-store");
    PipelineSpec spec =
        SpecLoader.parse(
            String.join(
                "\n",
                "name: quiet",
                "source: {bootstrap-servers: '" + kafka.bootstrapServers() + "', topic: quiet,",
                "         idle-timeout: 1s}",
                "features: [{name: x, type: numeric}]",
                "validation: {window: 200s}",
                "checkpoint: {interval: 500ms}",
                "store: {uri: '" + store + "'}",
                ""));
    createTopics("quiet");
    // A thousand events, one second apart, all in partition 0: partition 1 stays empty, and the
    // source never ends.
    try (KafkaProducer<byte[], byte[]> producer = producer()) {
      for (byte[] event : oneInputEvents("q-", 1000, 17)) {
        producer.send(new ProducerRecord<>("quiet", 0, null, event));
      }
    }

    ProgressMetrics.reset();
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(2);
    StreamLearnJob job = StreamLearnJob.fromSpec(spec);
    job.addTo(env);
    org.apache.flink.core.execution.JobClient client = env.executeAsync(job.jobName());
    LocalModelStore models = new LocalModelStore(store);
    List<Long> versions = List.of();
    try {
      // Only the watermark closes windows here, and the subtask reading partition 1 holds it back
      // until it is idle for a second. The 1,000 s of events complete at least four windows.
      long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
      while (versions.size() < 4 && System.nanoTime() < deadline) {
        Thread.sleep(200);
        versions = models.models().contains("quiet") ? models.versions("quiet") : List.of();
      }
    } finally {
      client.cancel().get();
    }
    assertThat(versions)
        .as("versions published before the end of input")
        .hasSizeGreaterThanOrEqualTo(4);
    long previousEnd = Long.MIN_VALUE;
    for (long version : versions) {
      Manifest manifest = models.manifest("quiet", version).orElseThrow();
      assertThat(manifest.validationWindow().start()).isGreaterThanOrEqualTo(previousEnd);
      assertThat(manifest.validationWindow().end() - manifest.validationWindow().start())
          .isEqualTo(200_000L);
      previousEnd = manifest.validationWindow().end();
    }
    assertThat(ProgressMetrics.count(PipelineCounters.LATE)).isZero();
  }

  /** {@code source.starting-offsets} a time: each partition is read from its first record then. */
  @Test
  void startsFromTheRecordsOfAGivenTime() throws Exception {
    Path store = temporary.resolve("from-time-store");
    Instant yesterday = Instant.parse("2026-11-22T09:00:00Z");
    Instant today = Instant.parse("2026-11-23T09:00:00Z");
    PipelineSpec spec =
        SpecLoader.parse(
            String.join(
                "\n",
                "name: from-time",
                "source: {bootstrap-servers: '" + kafka.bootstrapServers() + "', topic: dated,",
                "         bounded: true, starting-offsets: " + today + "}",
                "features: [{name: x, type: numeric}]",
                "validation: {window: 200s}",
                "store: {uri: '" + store + "'}",
                ""));
    createTopics("dated");
    List<byte[]> events = oneInputEvents("d-", 1000, 19);
    try (KafkaProducer<byte[], byte[]> producer = producer()) {
      for (int i = 0; i < events.size(); i++) {
        // The Kafka record's time: yesterday for the first 600, today for the last 400.
        Instant recorded = (i < 600 ? yesterday : today).plusMillis(i);
        producer.send(
            new ProducerRecord<>("dated", null, recorded.toEpochMilli(), null, events.get(i)));
      }
    }

    runToTheEnd(spec);

    assertThat(ProgressMetrics.count(PipelineCounters.READ)).isEqualTo(400);
    LocalModelStore models = new LocalModelStore(store);
    List<Long> versions = models.versions("from-time");
    Manifest last = models.manifest("from-time", versions.get(versions.size() - 1)).orElseThrow();
    assertThat(last.lineage().eventsTrainedTotal() + last.lineage().eventsHeldOutTotal())
        .isEqualTo(400);
  }

  /**
   * The scoring job on the topic a model was trained from, at parallelism 2: every event, labeled
   * or not, scored by the latest version as that version's own scorer scores it; records that are
   * not events dead-lettered; read = scored + dead-lettered.
   */
  @Test
  void scoresTheTopicWithTheLatestVersion() throws Exception {
    Path store = temporary.resolve("scoring-store");
    PipelineSpec spec =
        SpecLoader.parse(
            String.join(
                "\n",
                "name: scored",
                "source: {bootstrap-servers: '" + kafka.bootstrapServers() + "', topic: scoring,",
                "         bounded: true}",
                "features: [{name: x, type: numeric}]",
                "validation: {window: 200s}",
                "store: {uri: '" + store + "'}",
                ""));
    createTopics("scoring");
    kafka.createTopic("scoring.predictions", 2);
    kafka.createTopic("scoring.predictions.dead-letter", 1);
    List<byte[]> events = new ArrayList<>(oneInputEvents("s-", 1000, 23));
    try (KafkaProducer<byte[], byte[]> producer = producer()) {
      for (byte[] event : events) {
        producer.send(new ProducerRecord<>("scoring", event));
      }
    }
    runToTheEnd(spec);
    LocalModelStore models = new LocalModelStore(store);
    long latest = models.alias("scored", "latest").orElseThrow();
    assertThat(latest).isGreaterThan(1);

    // Then events without a label, as serving mostly sees them, and two records that are not
    // events.
    AvroCodec<LabeledEvent> codec = Topics.labeledEvents();
    Random random = new Random(29);
    try (KafkaProducer<byte[], byte[]> producer = producer()) {
      for (int i = 0; i < 300; i++) {
        byte[] event = codec.encode(event("u-" + i, null, Map.of("x", random.nextGaussian())));
        events.add(event);
        producer.send(new ProducerRecord<>("scoring", event));
      }
      producer.send(new ProducerRecord<>("scoring", new byte[] {1, 2, 3}));
      producer.send(new ProducerRecord<>("scoring", "{\"x\": 1}".getBytes(StandardCharsets.UTF_8)));
    }
    runToTheEnd(
        ScoringJob.fromSpec(
            spec, "scored", "latest", Duration.ofSeconds(10), "scoring.predictions"));

    assertThat(ProgressMetrics.count(PipelineCounters.SCORING_READ)).isEqualTo(1302);
    assertThat(ProgressMetrics.count(PipelineCounters.SCORED)).isEqualTo(1300);
    assertThat(ProgressMetrics.count(PipelineCounters.SCORING_DEAD_LETTERED)).isEqualTo(2);
    assertThat(ProgressMetrics.count(PipelineCounters.SCORED_WITH_LABEL)).isEqualTo(1000);
    // x's sign is the label: the model gets nearly all of them.
    assertThat(ProgressMetrics.count(PipelineCounters.PREDICTED_RIGHT)).isGreaterThan(950);

    ModelScorer scorer = ModelScorer.load(models.versionDirectory("scored", latest));
    Map<String, LabeledEvent> sent = new HashMap<>();
    for (byte[] event : events) {
      LabeledEvent decoded = codec.decode(event);
      sent.put(decoded.getId(), decoded);
    }
    AvroCodec<Prediction> predictions = Topics.predictions();
    List<byte[]> written = readAll("scoring.predictions", 1300);
    assertThat(written).hasSize(1300);
    Map<String, Prediction> byId = new HashMap<>();
    for (byte[] value : written) {
      Prediction prediction = predictions.decode(value);
      byId.put(prediction.getId(), prediction);
    }
    assertThat(byId.keySet()).isEqualTo(sent.keySet());
    for (Prediction prediction : byId.values()) {
      LabeledEvent event = sent.get(prediction.getId());
      float p = scorer.score(event.getFeatures(), event.getTimestamp().toEpochMilli())[0];
      assertThat(prediction.getModel()).isEqualTo("scored");
      assertThat(prediction.getVersion()).isEqualTo(latest);
      assertThat(prediction.getTimestamp()).isEqualTo(event.getTimestamp());
      assertThat(prediction.getProbabilities().get("1")).isEqualTo((double) p);
      assertThat(prediction.getPrediction()).isEqualTo(p >= 0.5f ? "1" : "0");
      assertThat(prediction.getLabel())
          .isEqualTo(event.getLabel() == null ? null : event.getLabel().equals(1.0) ? "1" : "0");
    }
    assertThat(deadLetters("scoring.predictions.dead-letter", 2))
        .extracting(letter -> letter.getStage() + ": " + letter.getReason())
        .allMatch(line -> line.startsWith("decode: not Avro single-object encoded"));
  }

  @Test
  void learnsFromLabelsThatArriveAfterTheirEvents() throws Exception {
    Path store = temporary.resolve("late-labels-store");
    PipelineSpec spec =
        SpecLoader.parse(
            String.join(
                "\n",
                "name: late-labels",
                "source: {bootstrap-servers: '" + kafka.bootstrapServers() + "', topic: clicks,",
                "         bounded: true, labels: {topic: conversions, max-wait: 1h}}",
                "features: [{name: x, type: numeric}]",
                "validation: {window: 300s}",
                "store: {uri: '" + store + "'}",
                ""));
    createTopics("clicks");
    kafka.createTopic("conversions", 2);

    // Events without a label (some never get one), a few that carry their own, and on the labels
    // topic: each label 30 s after its event, labels of events never sent, repeats, junk.
    AvroCodec<LabeledEvent> events = Topics.labeledEvents();
    AvroCodec<EventLabel> labels = Topics.eventLabels();
    Random random = new Random(41);
    int waiting = 2000;
    int neverLabeled = 100;
    int ownLabel = 100;
    List<EventLabel> sent = new ArrayList<>();
    try (KafkaProducer<byte[], byte[]> producer = producer()) {
      for (int i = 0; i < waiting + ownLabel; i++) {
        double x = random.nextGaussian();
        double label = x > 0 ? 1.0 : 0.0;
        boolean own = i >= waiting;
        LabeledEvent event = event("c-" + i, own ? label : null, Map.of("x", x));
        producer.send(new ProducerRecord<>("clicks", events.encode(event)));
        if (!own && i % 20 != 7) {
          sent.add(
              EventLabel.newBuilder()
                  .setId(event.getId())
                  .setTimestamp(event.getTimestamp().plusSeconds(30))
                  .setLabel(label)
                  .build());
        }
      }
      for (int i = 0; i < 20; i++) {
        sent.add(
            EventLabel.newBuilder()
                .setId("unknown-" + i)
                .setTimestamp(Instant.ofEpochMilli(1_700_000_000_000L + 1000L * i))
                .setLabel(1.0)
                .build());
      }
      for (int i = 0; i < 10; i++) {
        sent.add(sent.get(i * 3));
      }
      for (EventLabel label : sent) {
        producer.send(new ProducerRecord<>("conversions", labels.encode(label)));
      }
      producer.send(new ProducerRecord<>("conversions", new byte[] {4, 5, 6}));
      producer.send(new ProducerRecord<>("conversions", "yes".getBytes(StandardCharsets.UTF_8)));
    }
    int joinable = waiting - neverLabeled;
    assertThat(sent).hasSize(joinable + 20 + 10);
    runToTheEnd(spec);

    long trained = ProgressMetrics.count(PipelineCounters.TRAINED);
    long heldOut = ProgressMetrics.count(PipelineCounters.HELD_OUT);
    assertThat(ProgressMetrics.count(PipelineCounters.READ)).isEqualTo(waiting + ownLabel);
    assertThat(trained + heldOut).isEqualTo(joinable + ownLabel);
    assertThat(ProgressMetrics.count(PipelineCounters.DEAD_LETTERED)).isEqualTo(neverLabeled);
    assertThat(ProgressMetrics.count(PipelineCounters.DEDUPLICATED)).isZero();
    assertThat(ProgressMetrics.count(PipelineCounters.LABELS_READ)).isEqualTo(sent.size() + 2);
    assertThat(ProgressMetrics.count(PipelineCounters.LABELS_JOINED)).isEqualTo(joinable);
    assertThat(ProgressMetrics.count(PipelineCounters.LABELS_DEAD_LETTERED)).isEqualTo(20 + 10 + 2);

    List<DeadLetter> letters = deadLetters("clicks.dead-letter", neverLabeled + 32);
    assertThat(letters).hasSize(neverLabeled + 32);
    Map<String, Long> byReason = new java.util.TreeMap<>();
    for (DeadLetter letter : letters) {
      String reason =
          letter.getTopic()
              + " "
              + letter.getStage()
              + ": "
              + letter.getReason().replaceAll("(event|id) [a-z]+-[0-9]+", "$1 ID");
      byReason.merge(reason.replaceFirst("decode: .*", "decode: ..."), 1L, Long::sum);
    }
    assertThat(byReason)
        .containsEntry(
            "clicks join-labels: no label arrived on conversions before the input ended",
            (long) neverLabeled)
        .containsEntry("conversions decode: ...", 2L);
    // A repeat comes while the first label waits for its event (refused at once), or after they
    // were joined (it then waits in vain, as the labels of events never sent do).
    String inVain =
        "conversions join-labels: no event with id ID took it before the input ended (the event"
            + " never came, or was labeled already)";
    String repeated =
        "conversions join-labels: a label for event ID waits already; a repeated label is not"
            + " learned from";
    assertThat(byReason.get(inVain)).isBetween(20L, 30L);
    assertThat(byReason.get(inVain) + byReason.getOrDefault(repeated, 0L)).isEqualTo(30);
    assertThat(letters.stream().filter(l -> l.getStage().equals("join-labels")))
        .allMatch(l -> l.getPayload().remaining() == 0 && l.getEventId() != null);

    // Learned from the joined labels as from labels carried by the events.
    LocalModelStore models = new LocalModelStore(store);
    List<Long> versions = models.versions("late-labels");
    Manifest last = models.manifest("late-labels", versions.get(versions.size() - 1)).orElseThrow();
    assertThat(last.lineage().eventsTrainedTotal()).isEqualTo(trained);
    assertThat(last.metrics().get("window").get("accuracy")).isGreaterThan(0.9);

    // The scoring job predicts every event when it comes, and judges the predictions made without
    // a label by the labels that follow.
    kafka.createTopic("clicks.predictions", 2);
    kafka.createTopic("clicks.predictions.dead-letter", 1);
    runToTheEnd(
        ScoringJob.fromSpec(
            spec, "late-labels", "latest", Duration.ofSeconds(10), "clicks.predictions"));
    assertThat(ProgressMetrics.count(PipelineCounters.SCORED)).isEqualTo(waiting + ownLabel);
    assertThat(readAll("clicks.predictions", waiting + ownLabel)).hasSize(waiting + ownLabel);
    assertThat(ProgressMetrics.count(PipelineCounters.SCORING_LABELS_READ))
        .isEqualTo(sent.size() + 2);
    assertThat(ProgressMetrics.count(PipelineCounters.SCORING_LABELS_MATCHED)).isEqualTo(joinable);
    assertThat(ProgressMetrics.count(PipelineCounters.SCORING_LABELS_UNMATCHED))
        .isEqualTo(20 + 10 + 2);
    long judged = ProgressMetrics.count(PipelineCounters.SCORED_WITH_LABEL);
    assertThat(judged).isEqualTo(joinable + ownLabel);
    assertThat(ProgressMetrics.count(PipelineCounters.PREDICTED_RIGHT))
        .isGreaterThan(judged * 9 / 10);
  }

  /** {@code count} events of one numeric input x, labelled by its sign, as Avro bytes. */
  private static List<byte[]> oneInputEvents(String idPrefix, int count, long seed) {
    AvroCodec<LabeledEvent> codec = Topics.labeledEvents();
    Random random = new Random(seed);
    List<byte[]> events = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      double x = random.nextGaussian();
      events.add(codec.encode(event(idPrefix + i, x > 0 ? 1.0 : 0.0, Map.of("x", x))));
    }
    return events;
  }

  /** The source topic (two partitions) and its dead-letter and metrics topics. */
  private static void createTopics(String topic) throws Exception {
    kafka.createTopic(topic, 2);
    kafka.createTopic(topic + ".dead-letter", 1);
    kafka.createTopic(topic + ".metrics", 1);
  }

  /** Runs the spec's job at parallelism 2 until its bounded source ends, counters reset first. */
  private static void runToTheEnd(PipelineSpec spec) throws Exception {
    runToTheEnd(StreamLearnJob.fromSpec(spec));
  }

  /** Runs a job at parallelism 2 until its bounded source ends, counters reset first. */
  private static void runToTheEnd(FlinkJob job) throws Exception {
    ProgressMetrics.reset();
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(2);
    job.addTo(env);
    env.execute(job.jobName());
  }

  /** The Confluent wire format: a zero byte, a 4-byte schema id, the Avro body. */
  private static byte[] confluent(GenericRecord record) throws java.io.IOException {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    out.write(new byte[] {0, 0, 0, 0, 7});
    BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
    new GenericDatumWriter<GenericRecord>(record.getSchema()).write(record, encoder);
    encoder.flush();
    return out.toByteArray();
  }

  private static LabeledEvent event(String id, Double label, Map<String, Object> features) {
    return LabeledEvent.newBuilder()
        .setId(id)
        .setTimestamp(Instant.ofEpochMilli(1_700_000_000_000L + 1000L * CLOCK.getAndIncrement()))
        .setLabel(label)
        .setFeatures(new HashMap<>(features))
        .build();
  }

  private static KafkaProducer<byte[], byte[]> producer() {
    Properties properties = new Properties();
    properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    properties.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    properties.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    properties.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 4 << 20);
    return new KafkaProducer<>(properties);
  }

  private static List<WindowMetrics> windowMetrics(String topic, int expected) throws Exception {
    AvroCodec<WindowMetrics> codec = Topics.windowMetrics();
    List<WindowMetrics> reports = new ArrayList<>();
    for (byte[] value : readAll(topic, expected)) {
      reports.add(codec.decode(value));
    }
    return reports;
  }

  private static List<DeadLetter> deadLetters(String topic, int expected) throws Exception {
    AvroCodec<DeadLetter> codec = Topics.deadLetters();
    List<DeadLetter> letters = new ArrayList<>();
    for (byte[] value : readAll(topic, expected)) {
      letters.add(codec.decode(value));
    }
    return letters;
  }

  private static List<byte[]> readAll(String topic, int expected) {
    Properties properties = new Properties();
    properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    properties.put(ConsumerConfig.GROUP_ID_CONFIG, "it-reader-" + topic);
    properties.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    properties.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    properties.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    List<byte[]> letters = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(properties)) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      // Read until nothing more arrives for a while, so that an extra letter would be seen too.
      long quietSince = System.nanoTime();
      while (System.nanoTime() < deadline) {
        boolean any = false;
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
          letters.add(record.value());
          any = true;
        }
        if (any) {
          quietSince = System.nanoTime();
        } else if (letters.size() >= expected && System.nanoTime() - quietSince > 2_000_000_000L) {
          break;
        }
      }
    }
    return letters;
  }
}
