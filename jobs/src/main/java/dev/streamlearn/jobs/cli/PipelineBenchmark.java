package dev.streamlearn.jobs.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.streamlearn.core.backend.Backend;
import dev.streamlearn.core.backend.Backends;
import dev.streamlearn.core.data.DirectEventDecoder;
import dev.streamlearn.core.features.Featurizer;
import dev.streamlearn.core.features.FeaturizerState;
import dev.streamlearn.core.model.Network;
import dev.streamlearn.core.model.NetworkShape;
import dev.streamlearn.core.optim.Optimizer;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.core.train.ModelTrainer;
import dev.streamlearn.jobs.FlinkJob;
import dev.streamlearn.jobs.ScoringJob;
import dev.streamlearn.jobs.StreamLearnJob;
import dev.streamlearn.jobs.runtime.EmbeddedKafka;
import dev.streamlearn.jobs.runtime.ProgressMetrics;
import dev.streamlearn.operators.PipelineCounters;
import dev.streamlearn.schemas.EventLabel;
import dev.streamlearn.schemas.LabeledEvent;
import dev.streamlearn.schemas.codec.AvroCodec;
import dev.streamlearn.schemas.codec.Topics;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.Callable;
import org.apache.flink.metrics.Histogram;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code streamlearn bench pipeline}: the pipeline's throughput beside two limits measured in the
 * same run (Avro consumption alone; the training step alone), its latencies and its memory.
 */
@Command(
    name = "pipeline",
    mixinStandardHelpOptions = true,
    description = {
      "The pipeline end to end against its limits: throughput, latency, memory.",
      "Measures, on the embedded runtime: (1) raw consumption of the topic with Avro decoding,",
      "(2) the training step alone over the same vectors, (3) the pipeline end to end with",
      "checkpointing, in steady state, (4) latency from an event's Kafka timestamp to its training",
      "step and from a version's newest event to its publication, at a fraction of the pipeline's rate,",
      "(5) peak heap and resident set, and the size of a checkpoint; also the pipeline with labels that follow their events on",
      "a topic of their own (joined by id), and the scoring job. Events are produced before any",
      "clock starts."
    })
final class PipelineBenchmark implements Callable<Integer> {

  @Option(
      names = "--spec",
      description =
          "Pipeline spec (default: 32 numeric and 8 categorical features, logistic regression, batch 512).")
  Path specFile;

  @Option(
      names = "--events",
      defaultValue = "400000",
      converter = AtLeastOne.class,
      description = "Events for the throughput runs (default ${DEFAULT-VALUE}).")
  int events;

  @Option(
      names = "--parallelism",
      defaultValue = "1",
      converter = AtLeastOne.class,
      description = "Flink parallelism and topic partitions (default ${DEFAULT-VALUE}).")
  int parallelism;

  @Option(names = "--backend", description = "Overrides the spec's backend.")
  String backend;

  @Option(
      names = "--latency-seconds",
      defaultValue = "15",
      description = "Length of the latency run (default ${DEFAULT-VALUE}).")
  int latencySeconds;

  @Option(
      names = "--latency-load",
      defaultValue = "0.25",
      description =
          "The latency run's event rate as a fraction of the measured pipeline rate (default"
              + " ${DEFAULT-VALUE}: on a small machine the producer and the broker share its cores).")
  double latencyLoad;

  @Option(
      names = "--output",
      description = "JSON results file (default target/bench/pipeline-<time>.json).")
  Path output;

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  @Override
  public Integer call() throws Exception {
    Map<String, Object> tree =
        specFile == null
            ? SpecLoader.readTree(defaultSpec(), "default benchmark spec")
            : SpecLoader.readTree(specFile);
    if (backend != null) {
      SpecLoader.override(tree, "backend", backend);
    }
    Path work = Files.createTempDirectory("streamlearn-bench-");
    SpecLoader.override(tree, "store.uri", work.resolve("models").toString());
    SpecLoader.override(tree, "source.topic", "bench-events");
    Map<String, Object> results = new LinkedHashMap<>();
    System.out.println("StreamLearn pipeline benchmark: starting an embedded Kafka broker...");
    try (EmbeddedKafka kafka = EmbeddedKafka.start(work.resolve("kafka"))) {
      SpecLoader.override(tree, "source.bootstrap-servers", kafka.bootstrapServers());
      SpecLoader.override(tree, "source.bounded", true);
      PipelineSpec spec = SpecLoader.fromTree(tree);
      kafka.createTopic(spec.source().topic(), parallelism);
      kafka.createTopic(spec.source().deadLetterTopic(), 1);
      kafka.createTopic(spec.source().metricsTopic(), 1);
      results.put(
          "spec",
          Map.of(
              "numeric",
              spec.numericCount(),
              "categorical",
              spec.categoricalCount(),
              "model",
              spec.model().type(),
              "batchSize",
              spec.training().batchSize(),
              "backend",
              spec.backend()));
      results.put("events", events);
      results.put("parallelism", parallelism);

      System.out.printf("Producing %,d events (before any clock starts)...%n", events);
      long produceStart = System.nanoTime();
      produce(kafka.bootstrapServers(), spec, events, 0, 0);
      System.out.printf("  %.1f s%n", (System.nanoTime() - produceStart) / 1e9);

      System.out.println(
          "Limit 1: consuming the topic with Avro decoding only (the pipeline's decoder)...");
      double consume = consumeAndDecode(kafka.bootstrapServers(), spec, events, true);
      results.put("limitConsumeDecodeEventsPerSecond", consume);
      double generic = consumeAndDecode(kafka.bootstrapServers(), spec, events, false);
      results.put("consumeDecodeWithAvroReaderEventsPerSecond", generic);

      System.out.println("Limit 2: the training step alone, over the same vectors...");
      double step = trainingStepOnly(spec, events);
      results.put("limitTrainingStepExamplesPerSecond", step);

      System.out.println(
          "Pipeline: Kafka -> decode -> dedup -> clean -> features -> train -> held-out metrics, checkpointing on...");
      double pipeline = pipeline(spec, work.resolve("flink-throughput"));
      results.put("pipelineEventsPerSecond", pipeline);

      System.out.println(
          "Pipeline with labels apart: events without labels, each label 1 s later (event time) on"
              + " a labels topic, joined by id...");
      double joined = labelsApart(kafka, tree, work.resolve("flink-labels"));
      results.put("pipelineLabelsApartEventsPerSecond", joined);

      System.out.println(
          "Scoring job: Kafka -> decode -> features -> score with the latest version -> predictions topic...");
      String predictions = ScoringJob.defaultPredictionsTopic(spec);
      kafka.createTopic(predictions, parallelism);
      kafka.createTopic(ScoringJob.deadLetterTopicOf(predictions), 1);
      double scoring =
          steadyRate(
              ScoringJob.fromSpec(
                  spec,
                  spec.store().uri(),
                  spec.name(),
                  "latest",
                  // Candidates: the one that ranks first, as score-stream --candidate best.
                  spec.hasCandidates() ? PipelineSpec.BEST_CANDIDATE : null,
                  ScoringJob.DEFAULT_REFRESH,
                  predictions,
                  false),
              PipelineCounters.SCORING_READ,
              work.resolve("flink-scoring"));
      results.put("scoringEventsPerSecond", scoring);

      System.out.printf(
          "Latency: events produced at %,.0f/s (%.0f %% of the pipeline's rate) for %d s...%n",
          pipeline * latencyLoad, latencyLoad * 100, latencySeconds);
      Map<String, Double> latency =
          latency(kafka, tree, pipeline * latencyLoad, work.resolve("flink-latency"));
      results.put("latency", latency);

      Map<String, Double> memory = memory();
      results.put("memory", memory);
      double lower = Math.min(consume, step);
      results.put("pipelineOverConsumeDecode", pipeline / consume);
      results.put("pipelineOverTrainingStep", pipeline / step);
      results.put("pipelineOverLowerLimit", pipeline / lower);
      results.put("commit", gitCommit());
      results.put("when", Instant.now().toString());

      System.out.println();
      System.out.printf("%-58s %,14.0f%n", "limit: consume + Avro decode (events/s)", consume);
      System.out.printf(
          "%-58s %,14.0f%n", "  (with Avro's generic reader instead, events/s)", generic);
      System.out.printf("%-58s %,14.0f%n", "limit: training step alone (examples/s)", step);
      System.out.printf(
          "%-58s %,14.0f%n", "pipeline, steady state, checkpointing on (events/s)", pipeline);
      System.out.printf("%-58s %,14.0f%n", "pipeline, labels apart and joined (events/s)", joined);
      System.out.printf(
          "%-58s %,14.0f%n", "scoring job, latest version, steady state (events/s)", scoring);
      System.out.printf("%-58s %14.2f%n", "pipeline / consume + decode", pipeline / consume);
      System.out.printf("%-58s %14.2f%n", "pipeline / training step", pipeline / step);
      System.out.printf("%-58s %14.2f%n", "pipeline / lower limit", pipeline / lower);
      System.out.printf(
          "%-58s %14.0f / %.0f%n",
          "latency Kafka timestamp -> training step, p50 / p99 (ms)",
          latency.get("trainingP50Ms"),
          latency.get("trainingP99Ms"));
      if (latency.get("versions") > 0) {
        System.out.printf(
            "%-58s %14.0f / %.0f%n",
            "latency version's newest event -> published, p50 / p99 (ms)",
            latency.get("versionP50Ms"),
            latency.get("versionP99Ms"));
      } else {
        System.out.printf(
            "%-58s %14s%n",
            "latency version's newest event -> published",
            "none published within --latency-seconds " + latencySeconds);
      }
      System.out.printf(
          "%-58s %,14.0f%n",
          "last checkpoint of the latency run, in all (bytes)", latency.get("lastCheckpointBytes"));
      System.out.printf("%-58s %14.0f%n", "peak heap (MiB)", memory.get("peakHeapMiB"));
      System.out.printf("%-58s %14.0f%n", "peak resident set (MiB)", memory.get("peakResidentMiB"));
      Path file =
          output != null
              ? output
              : Path.of("target", "bench", "pipeline-" + System.currentTimeMillis() + ".json");
      Files.createDirectories(file.toAbsolutePath().getParent());
      Files.write(file, JSON.writeValueAsBytes(results));
      System.out.println("Results written to " + file);
    }
    return 0;
  }

  static String defaultSpec() {
    StringBuilder yaml = new StringBuilder("name: bench\nfeatures:\n");
    for (int i = 0; i < 32; i++) {
      yaml.append("  - {name: n").append(i).append(", type: numeric}\n");
    }
    for (int i = 0; i < 8; i++) {
      yaml.append("  - {name: c").append(i).append(", type: categorical, hash-buckets: 16}\n");
    }
    yaml.append("dedup: {enabled: true, ttl: 1h}\n");
    yaml.append("holdout: {fraction: 0.2}\n");
    yaml.append("model: {type: logistic}\n");
    yaml.append("training: {batch-size: 512, learning-rate: 0.1}\n");
    yaml.append("validation: {window: 100s}\n");
    yaml.append("checkpoint: {interval: 5s}\n");
    return yaml.toString();
  }

  /** Events with the spec's features; event time 1 ms apart from {@code startMillis}. */
  static void produce(
      String bootstrapServers, PipelineSpec spec, int count, long startMillis, double rate) {
    List<byte[]> values = encode(spec, count, startMillis, rate);
    long begin = System.nanoTime();
    try (KafkaProducer<byte[], byte[]> producer = DemoCommand.producer(bootstrapServers)) {
      for (int i = 0; i < count; i++) {
        if (rate > 0) {
          // Sleep, not spin: the producer must not take a core from the pipeline it measures.
          long ahead = begin + (long) (i / rate * 1e9) - System.nanoTime();
          if (ahead > 1_000_000) {
            try {
              Thread.sleep(ahead / 1_000_000);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              return;
            }
          }
        }
        producer.send(new ProducerRecord<>(spec.source().topic(), null, values.get(i)));
        values.set(i, null);
      }
      producer.flush();
    }
  }

  /**
   * The pipeline's steady rate, events/s, when the same events come without their labels and each
   * label follows 1 s later in event time on {@code <topic>.labels}, the job joining them by id.
   */
  private double labelsApart(EmbeddedKafka kafka, Map<String, Object> base, Path state)
      throws Exception {
    Map<String, Object> tree = SpecLoader.readTree(JSON.writeValueAsString(base), "benchmark spec");
    SpecLoader.override(tree, "source.topic", "bench-late");
    SpecLoader.override(tree, "source.labels.topic", "bench-late.labels");
    SpecLoader.override(tree, "store.uri", state.resolve("models").toString());
    PipelineSpec spec = SpecLoader.fromTree(tree);
    kafka.createTopic(spec.source().topic(), parallelism);
    kafka.createTopic(spec.source().labels().topic(), parallelism);
    kafka.createTopic(spec.source().deadLetterTopic(), 1);
    kafka.createTopic(spec.source().metricsTopic(), 1);
    AvroCodec<LabeledEvent> codec = Topics.labeledEvents();
    AvroCodec<EventLabel> labels = Topics.eventLabels();
    java.util.ArrayDeque<EventLabel> pending = new java.util.ArrayDeque<>();
    try (KafkaProducer<byte[], byte[]> producer = DemoCommand.producer(kafka.bootstrapServers())) {
      for (byte[] value : encode(spec, events, 0, 0)) {
        LabeledEvent event = codec.decode(value);
        pending.add(
            EventLabel.newBuilder()
                .setId(event.getId())
                .setTimestamp(event.getTimestamp().plusSeconds(1))
                .setLabel(event.getLabel())
                .build());
        event.setLabel(null);
        producer.send(new ProducerRecord<>(spec.source().topic(), null, codec.encode(event)));
        while (!pending.isEmpty() && !pending.peek().getTimestamp().isAfter(event.getTimestamp())) {
          producer.send(
              new ProducerRecord<>(
                  spec.source().labels().topic(), null, labels.encode(pending.poll())));
        }
      }
      for (EventLabel label : pending) {
        producer.send(
            new ProducerRecord<>(spec.source().labels().topic(), null, labels.encode(label)));
      }
      producer.flush();
    }
    double rate = steadyRate(StreamLearnJob.fromSpec(spec), PipelineCounters.READ, state);
    System.out.printf(
        "  (stopped at 90%% of the events) events read %,d, labels read %,d, joined %,d; events"
            + " trained on %,d, held out %,d%n",
        ProgressMetrics.count(PipelineCounters.READ),
        ProgressMetrics.count(PipelineCounters.LABELS_READ),
        ProgressMetrics.count(PipelineCounters.LABELS_JOINED),
        ProgressMetrics.count(PipelineCounters.TRAINED),
        ProgressMetrics.count(PipelineCounters.HELD_OUT));
    return rate;
  }

  /**
   * The events, encoded before any sending starts, so that producing at a rate costs only the send.
   * With a rate, event time follows the planned send times.
   */
  static List<byte[]> encode(PipelineSpec spec, int count, long startMillis, double rate) {
    AvroCodec<LabeledEvent> codec = Topics.labeledEvents();
    Random random = new Random(7);
    List<byte[]> values = new java.util.ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      Map<String, Object> features = new HashMap<>();
      double logit = 0;
      int n = 0;
      long eventTime = rate > 0 ? startMillis + (long) (i / rate * 1000) : startMillis + i;
      for (PipelineSpec.Feature feature : spec.features()) {
        switch (feature.type()) {
          case PipelineSpec.Feature.NUMERIC -> {
            double value = random.nextGaussian();
            features.put(feature.name(), value);
            logit += (n++ % 3 - 1) * value;
          }
          case PipelineSpec.Feature.DATETIME -> {
            for (String field : feature.rawFields()) {
              features.put(field, (double) eventTime);
            }
          }
          default -> {
            for (String field : feature.rawFields()) {
              features.putIfAbsent(field, "v" + random.nextInt(20));
            }
          }
        }
      }
      values.add(
          codec.encode(
              LabeledEvent.newBuilder()
                  .setId("b-" + startMillis + "-" + i)
                  .setTimestamp(Instant.ofEpochMilli(eventTime))
                  .setLabel(random.nextDouble() < 1 / (1 + Math.exp(-logit)) ? 1.0 : 0.0)
                  .setFeatures(features)
                  .build()));
    }
    return values;
  }

  /**
   * Events/s of a consumer that only decodes: with the pipeline's {@link DirectEventDecoder}, or
   * with Avro's generic reader into {@code LabeledEvent} objects.
   */
  static double consumeAndDecode(
      String bootstrapServers, PipelineSpec spec, int expected, boolean direct) throws Exception {
    String topic = spec.source().topic();
    DirectEventDecoder decoder = new DirectEventDecoder(spec);
    Properties properties = new Properties();
    properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    properties.put(ConsumerConfig.GROUP_ID_CONFIG, "bench-consume-" + System.nanoTime());
    properties.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    properties.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    properties.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    properties.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
    AvroCodec<LabeledEvent> codec = Topics.labeledEvents();
    long seen = 0;
    long start = 0;
    long warm = expected / 10;
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(properties)) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
      while (seen < expected && System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
          if (direct) {
            decoder.decode(record.value(), record.partition(), record.offset());
          } else {
            codec.decode(record.value());
          }
          if (++seen == warm) {
            start = System.nanoTime();
          }
        }
      }
    }
    return (seen - warm) / ((System.nanoTime() - start) / 1e9);
  }

  /** The trainer's step on vectors featurized from the same events, in a tight loop. */
  static double trainingStepOnly(PipelineSpec spec, int events) throws Exception {
    Featurizer featurizer = new Featurizer(spec.features());
    FeaturizerState stats = featurizer.newState();
    int dimension = featurizer.dimension();
    int batch = spec.training().batchSize();
    int rows = Math.min(events, 64 * batch);
    float[] x = new float[rows * dimension];
    float[] y = new float[rows];
    float[] weight = new float[batch];
    java.util.Arrays.fill(weight, 1f);
    Random random = new Random(3);
    for (int r = 0; r < rows; r++) {
      double[] numeric = new double[featurizer.numericCount()];
      String[] categorical = new String[featurizer.categoricalCount()];
      for (int i = 0; i < numeric.length; i++) {
        numeric[i] = random.nextGaussian();
      }
      for (int i = 0; i < categorical.length; i++) {
        categorical[i] = "v" + random.nextInt(20);
      }
      featurizer.transform(stats, numeric, categorical, x, r * dimension, true);
      featurizer.learn(stats, numeric, categorical);
      if ((r + 1) % batch == 0) {
        featurizer.refresh(stats);
      }
      y[r] = random.nextBoolean() ? 1 : 0;
    }
    NetworkShape shape = ModelTrainer.shapeFor(spec, dimension);
    try (Backend backend = Backends.create(spec.cpuBackend())) {
      Network network = new Network(shape, backend, batch);
      Optimizer optimizer = new Optimizer(spec.training().optimizer(), shape.weightMask());
      float[] params = shape.initialParameters(1);
      float[] gradient = new float[params.length];
      float[][] slots = {new float[params.length], new float[params.length]};
      float[] batchX = new float[batch * dimension];
      float[] batchY = new float[batch];
      int batches = rows / batch;
      return BenchCommand.Training.examplesPerSecond(
          batch,
          0.5,
          3.0,
          step -> {
            int b = (int) ((step - 1) % batches);
            System.arraycopy(x, b * batch * dimension, batchX, 0, batch * dimension);
            System.arraycopy(y, b * batch, batchY, 0, batch);
            network.lossAndGradient(params, batchX, batchY, weight, batch, null, gradient);
            optimizer.apply(params, gradient, slots, step, 0.1);
          });
    }
  }

  /** Steady-state events/s of the bounded job: the read rate between 20% and 90% of the input. */
  private double pipeline(PipelineSpec spec, Path state) throws Exception {
    return steadyRate(StreamLearnJob.fromSpec(spec), PipelineCounters.READ, state);
  }

  /**
   * The read rate of a bounded job between 20% and 90% of the input, events/s, by its counter of
   * records read.
   */
  private double steadyRate(FlinkJob job, String readCounter, Path state) throws Exception {
    LocalJobRun run = LocalJobRun.start(job, parallelism, state);
    long from = events / 5;
    long to = events * 9L / 10;
    long fromTime = 0;
    long toTime = 0;
    long fromCount = 0;
    long toCount = 0;
    try {
      while (toTime == 0) {
        // Asked before the count, which is then final for a job that has ended.
        boolean ended = run.ended();
        long read = ProgressMetrics.count(readCounter);
        long now = System.nanoTime();
        if (fromTime == 0 && read >= from) {
          fromTime = now;
          fromCount = read;
        } else if (fromTime != 0 && read >= to) {
          toTime = now;
          toCount = read;
        } else if (ended) {
          throw new IllegalStateException(
              String.format(
                  "the job ended after reading %,d of %,d events, before 90%% of them",
                  read, events));
        }
        Thread.sleep(20);
      }
      run.stopDraining();
    } finally {
      run.done();
    }
    return (toCount - fromCount) / ((toTime - fromTime) / 1e9);
  }

  private Map<String, Double> latency(
      EmbeddedKafka kafka, Map<String, Object> tree, double rate, Path state) throws Exception {
    Map<String, Object> latencyTree = new LinkedHashMap<>(tree);
    SpecLoader.override(latencyTree, "source.topic", "bench-latency");
    SpecLoader.override(latencyTree, "source.bounded", false);
    SpecLoader.override(latencyTree, "source.group-id", "bench-latency");
    // Event time runs at the producer's rate, so a version closes every few seconds.
    SpecLoader.override(latencyTree, "validation.window", "2s");
    PipelineSpec spec = SpecLoader.fromTree(latencyTree);
    kafka.createTopic(spec.source().topic(), parallelism);
    LocalJobRun run = LocalJobRun.start(StreamLearnJob.fromSpec(spec), parallelism, state);
    try {
      Thread.sleep(3000);
      int count = (int) (rate * latencySeconds);
      // Encoding takes a while: plan the event times from when sending will start.
      long encodeStart = System.currentTimeMillis();
      encode(spec, Math.min(count, 1000), encodeStart, rate);
      long estimate =
          (System.currentTimeMillis() - encodeStart) * count / Math.max(1, Math.min(count, 1000));
      produce(kafka.bootstrapServers(), spec, count, System.currentTimeMillis() + estimate, rate);
      Thread.sleep(2000);
      Histogram training = ProgressMetrics.histogram(PipelineCounters.TRAINING_LATENCY);
      Histogram versions = ProgressMetrics.histogram(PipelineCounters.VERSION_LATENCY);
      Map<String, Double> latency = new LinkedHashMap<>();
      latency.put("rateEventsPerSecond", rate);
      latency.put("trainingP50Ms", training.getStatistics().getQuantile(0.5));
      latency.put("trainingP99Ms", training.getStatistics().getQuantile(0.99));
      latency.put(
          "versionP50Ms",
          versions == null ? Double.NaN : versions.getStatistics().getQuantile(0.5));
      latency.put(
          "versionP99Ms",
          versions == null ? Double.NaN : versions.getStatistics().getQuantile(0.99));
      latency.put("versions", versions == null ? 0.0 : versions.getCount());
      // Windows open and models trained: the state a restore reads, as checkpoints go.
      latency.put(
          "lastCheckpointBytes",
          (double) ProgressMetrics.lastCheckpointBytes(run.jobId()).orElse(-1));
      run.stopDraining();
      return latency;
    } finally {
      run.done();
    }
  }

  static Map<String, Double> memory() throws IOException {
    long peakHeap = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP && pool.getPeakUsage() != null) {
        peakHeap += pool.getPeakUsage().getUsed();
      }
    }
    double resident = Double.NaN;
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmHWM:")) {
        resident = Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
      }
    }
    Map<String, Double> memory = new LinkedHashMap<>();
    memory.put("peakHeapMiB", peakHeap / 1048576.0);
    memory.put("peakResidentMiB", resident);
    return memory;
  }

  private static String gitCommit() {
    try {
      Process process =
          new ProcessBuilder("git", "rev-parse", "--short", "HEAD")
              .redirectErrorStream(true)
              .start();
      String text =
          new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      return process.waitFor() == 0 ? text : "unknown";
    } catch (IOException | InterruptedException e) {
      return "unknown";
    }
  }
}
