package dev.streamlearn.jobs.cli;

import dev.streamlearn.core.data.CsvEvents;
import dev.streamlearn.core.data.CsvReader;
import dev.streamlearn.core.data.ModelRouter;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.jobs.KafkaEndpoint;
import dev.streamlearn.jobs.ScoringJob;
import dev.streamlearn.jobs.StreamLearnJob;
import dev.streamlearn.jobs.runtime.EmbeddedKafka;
import dev.streamlearn.jobs.runtime.ProgressMetrics;
import dev.streamlearn.jobs.runtime.SyntheticEvents;
import dev.streamlearn.operators.PipelineCounters;
import dev.streamlearn.schemas.EventLabel;
import dev.streamlearn.schemas.codec.AvroCodec;
import dev.streamlearn.schemas.codec.Topics;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ModelStore;
import dev.streamlearn.store.ModelStores;
import dev.streamlearn.store.http.ModelStoreServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code streamlearn demo}: everything in one process. An embedded KRaft broker, the job on a local
 * MiniCluster, and either a synthetic drifting stream for {@code --duration}, or the rows of a CSV
 * file read once.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the pipeline on an embedded Kafka broker and a local Flink MiniCluster.",
      "Without --input: a synthetic binary stream whose concept drifts, with missing values,",
      "outliers, repeated ids and malformed records, for --duration.",
      "With --input: the rows of a CSV file in file order; prints the final held-out metrics."
    })
final class DemoCommand implements Callable<Integer> {

  @Option(
      names = "--duration",
      defaultValue = "60s",
      description = "How long the synthetic stream runs (default ${DEFAULT-VALUE}).")
  String duration;

  @Option(
      names = "--store",
      defaultValue = "models",
      description = "Model store directory (default ${DEFAULT-VALUE}).")
  Path store;

  @Option(
      names = "--input",
      description = "A CSV file with a header row to learn from instead of the synthetic stream.")
  Path input;

  @Option(names = "--label", description = "With --input: the label column.")
  String label;

  @Option(
      names = "--segment-by",
      description = "With --input: one model per value of this categorical column (segments.by).")
  String segmentBy;

  @Option(
      names = "--try",
      paramLabel = "KEY=V1,V2",
      description = {
        "Hyper-parameter candidates without a spec: a model. or training. key and the values to",
        "try (repeatable; every combination is a candidate), e.g. --try training.learning-rate=0.01,0.1"
      })
  List<String> tries;

  @Option(
      names = "--prune",
      paramLabel = "WINDOWS",
      description = {
        "With candidates on the synthetic stream: successive halving while it runs; every WINDOWS",
        "validation windows the worse half of the candidates stops training, until one is left",
        "(pruning.windows; the spec's pruning: settings say more)."
      })
  Integer pruneWindows;

  @Option(
      names = "--task",
      description =
          "With --input: binary, multiclass or regression (default: the spec's, else inferred from the label column).")
  String task;

  private String inputTask;

  @Option(
      names = "--spec",
      description = "A pipeline spec (YAML); features it does not list are inferred from the file.")
  Path specFile;

  @Option(
      names = "--rate",
      defaultValue = "3000",
      converter = AtLeastOne.class,
      description = "Synthetic events per second (default ${DEFAULT-VALUE}).")
  int rate;

  @Option(
      names = "--parallelism",
      defaultValue = "1",
      converter = AtLeastOne.class,
      description = "Flink parallelism (default ${DEFAULT-VALUE}).")
  int parallelism;

  @Option(
      names = "--port",
      defaultValue = "8080",
      description =
          "Port of the model store server the demo starts (default ${DEFAULT-VALUE}; 0: any free"
              + " port; -1: no server).")
  int port;

  @Option(
      names = "--score",
      description =
          "Also run the scoring job beside the training job, from its first version on: every"
              + " event of the topic scored by the latest version as it arrives (each new version"
              + " taking over within 5 s), predictions to <topic>.predictions.")
  boolean score;

  @Option(
      names = "--labels-after",
      paramLabel = "DURATION",
      description =
          "Send each synthetic event without its label, and the label DURATION later in event"
              + " time (events are 10 ms apart) to <topic>.labels; 1%% of the events never get"
              + " one. The pipeline joins them (source.labels, max-wait three times DURATION).")
  String labelsAfter;

  @Mixin MetricsOption metrics;

  @Mixin FlinkUiOption flinkUi;

  private final PrintStream out = System.out;

  @Override
  public Integer call() throws Exception {
    metrics.port();
    flinkUi.port();
    if (input != null && label == null) {
      throw new IllegalArgumentException(
          "--input needs --label COLUMN, the column that holds the label");
    }
    if (input != null && pruneWindows != null) {
      throw new IllegalArgumentException(
          "--prune works with the synthetic stream: a file is read to its end, and pruning decides"
              + " while the stream runs");
    }
    if (input != null && labelsAfter != null) {
      throw new IllegalArgumentException(
          "--labels-after works with the synthetic stream; for a file, send its events without"
              + " labels and then `./streamlearn produce --labels` to a spec with source.labels");
    }
    Duration labelDelay =
        labelsAfter == null ? null : SpecLoader.parseDuration("--labels-after", labelsAfter);
    if (labelDelay != null && (labelDelay.isZero() || labelDelay.isNegative())) {
      throw new IllegalArgumentException(
          "--labels-after " + labelsAfter + ": a positive duration such as 2s");
    }
    Duration runFor = SpecLoader.parseDuration("--duration", duration);
    CsvEvents rows = input == null ? null : readInput();
    Path work = Files.createTempDirectory("streamlearn-demo-");
    Files.createDirectories(store);
    out.println("StreamLearn demo: starting an embedded Kafka broker (KRaft)...");
    try (EmbeddedKafka kafka = EmbeddedKafka.start(work.resolve("kafka"));
        ModelStoreServer server = startServer()) {
      out.println("  broker at " + kafka.bootstrapServers());
      if (server != null) {
        out.println(
            "  model store server at "
                + server.url()
                + " (versions and learning curves; API under "
                + server.url()
                + "api/v1/models)");
      }
      int exit =
          rows == null ? synthetic(kafka, runFor, work, labelDelay) : fromFile(kafka, work, rows);
      if (server != null) {
        out.println(
            "The server stops with the demo; `./streamlearn models serve --store "
                + store
                + "` serves the models again.");
      }
      return exit;
    }
  }

  /** The model store server on {@code --port}, or on a free port when that one is taken. */
  private ModelStoreServer startServer() throws IOException {
    if (port < 0) {
      return null;
    }
    ModelStore models = ModelStores.open(store.toAbsolutePath().toString());
    try {
      return ModelStoreServer.start(models, new InetSocketAddress(port), null);
    } catch (java.net.BindException e) {
      out.println("  port " + port + " is taken; the model store server takes a free one");
      return ModelStoreServer.start(models, new InetSocketAddress(0), null);
    }
  }

  private int synthetic(EmbeddedKafka kafka, Duration runFor, Path work, Duration labelDelay)
      throws Exception {
    Map<String, Object> tree;
    try (InputStream resource = DemoCommand.class.getResourceAsStream("/demo-pipeline.yaml")) {
      tree =
          SpecLoader.readTree(
              new String(resource.readAllBytes(), StandardCharsets.UTF_8), "demo-pipeline.yaml");
    }
    if (specFile != null) {
      tree = SpecLoader.readTree(specFile);
    }
    SpecLoader.override(tree, "source.bootstrap-servers", kafka.bootstrapServers());
    SpecLoader.override(tree, "store.uri", store.toAbsolutePath().toString());
    addTries(tree);
    if (pruneWindows != null) {
      SpecLoader.override(tree, "pruning.windows", pruneWindows);
    }
    if (labelDelay != null) {
      SpecLoader.override(
          tree, "source.labels.max-wait", labelDelay.multipliedBy(3).toMillis() + "ms");
    }
    PipelineSpec spec = SpecLoader.fromTree(tree);
    kafka.createTopic(spec.source().topic(), 2);
    kafka.createTopic(spec.source().deadLetterTopic(), 1);
    kafka.createTopic(spec.source().metricsTopic(), 1);
    out.printf(
        "  topics %s (2 partitions), %s, %s%n",
        spec.source().topic(), spec.source().deadLetterTopic(), spec.source().metricsTopic());
    if (spec.source().labelsFollow()) {
      kafka.createTopic(spec.source().labels().topic(), 2);
      out.printf(
          "  labels topic %s (2 partitions): each event's label %s after it, in event time; an"
              + " event waits for it up to %s%n",
          spec.source().labels().topic(),
          labelDelay == null ? "sent" : labelDelay.toString().substring(2).toLowerCase(),
          spec.source().labels().maxWait().toString().substring(2).toLowerCase());
    }

    ModelStore models = ModelStores.open(spec.store().uri());
    StoreSummary.printVersionsBefore(out, spec, models);
    LocalJobRun run = startTraining(spec, work);
    out.printf(
        "Running job '%s' on a local Flink MiniCluster for %s; synthetic stream at %,d events/s, concept drift every %,d events.%n",
        spec.name(), duration, rate, DRIFT_EVERY);
    SyntheticProducer producer =
        new SyntheticProducer(
            kafka.bootstrapServers(),
            spec.source().topic(),
            rate,
            labelDelay == null ? null : spec.source().labels().topic(),
            labelDelay);
    Thread producing = new Thread(producer, "synthetic-producer");
    producing.start();
    ProgressPrinter progress = ProgressPrinter.of(spec, models, out).following(run);
    long deadline = System.nanoTime() + runFor.toNanos();
    LocalJobRun scoring = null;
    Runnable print = progress::print;
    try {
      if (score) {
        scoring = startScoring(kafka, spec, models, run, progress, deadline, work);
        LocalJobRun scoringRun = scoring;
        print =
            () -> {
              progress.print();
              out.println(
                  "        scoring: " + ScoreStreamCommand.Progress.counts(true, scoringRun));
            };
      }
      run.runUntil(print, Duration.ofSeconds(5), deadline);
      out.println(
          run.interrupted()
              ? "Ctrl-C: stopping cleanly..."
              : "Time is up: stopping the producer and draining the job...");
      producer.stop();
      producing.join();
      long sent = producer.sent.get();
      long labelsSent = producer.labelsSent.get();
      run.await(
          () -> {
            ProgressPrinter.Counts counts = ProgressPrinter.Counts.now();
            return counts.read() >= sent && counts.labelsRead() >= labelsSent;
          },
          print,
          Duration.ofSeconds(60));
      if (scoring != null) {
        scoring.await(
            () -> ProgressMetrics.count(PipelineCounters.SCORING_READ) >= sent,
            print,
            Duration.ofSeconds(60));
        scoring.stopDraining();
      }
      run.stopDraining();
      print.run();
      ProgressPrinter.Counts counts = ProgressPrinter.Counts.of(run);
      out.println();
      out.printf(
          "Produced %,d records: %,d good, %,d repeated ids, %,d malformed.%n",
          sent, producer.good.get(), producer.duplicates.get(), producer.malformed.get());
      if (labelDelay != null) {
        out.printf(
            "Produced %,d labels, each %s after its event; %,d good events got none.%n",
            labelsSent,
            labelDelay.toString().substring(2).toLowerCase(),
            producer.good.get() - labelsSent);
      }
      out.println(counts.summary());
      if (!ProgressPrinter.Counts.features().isEmpty()) {
        out.println(ProgressPrinter.Counts.features());
      }
      // Read once: what it holds is counted, and its kinds of reason listed below.
      DeadLetterTopic.Contents deadLetters =
          DeadLetterTopic.read(
              KafkaEndpoint.plain(kafka.bootstrapServers()), spec.source().deadLetterTopic());
      out.printf(
          "Dead-letter topic %s holds %,d records; metrics topic %s holds %,d window reports.%n",
          spec.source().deadLetterTopic(),
          deadLetters.refused().size() + deadLetters.unreadable().size(),
          spec.source().metricsTopic(),
          countRecords(kafka.bootstrapServers(), spec.source().metricsTopic()));
      List<DeadLetterTopic.Refused> refused = deadLetters.refused();
      if (!refused.isEmpty()) {
        DeadLettersCommand.printKinds(refused, 8, false, out);
      }
      if (scoring != null) {
        out.println(
            "Scoring job: "
                + ScoreStreamCommand.Progress.summary(
                    ScoringJob.defaultPredictionsTopic(spec), true)
                + String.format(
                    "%n  (the predictions topic holds %s)",
                    predictionsByModel(
                        kafka.bootstrapServers(), ScoringJob.defaultPredictionsTopic(spec))));
      }
      new StoreSummary(out, null).print(spec, models);
      return counts.addsUp() ? 0 : 1;
    } finally {
      producer.stop();
      if (scoring != null) {
        scoring.done();
      }
      run.done();
    }
  }

  /**
   * {@code 119,518 records, by model: demo.c2 117,902 (accuracy 0.801), demo.c1 1,616 (accuracy
   * 0.640)}: the predictions topic's records, counted by the model that made each, most first, with
   * the accuracy of those whose event carried its label, one of the model's classes
   * (classification).
   */
  static String predictionsByModel(String bootstrapServers, String topic) {
    Map<String, long[]> byModel = new java.util.TreeMap<>(); // records, labeled, right
    long[] records = {0};
    AvroCodec<dev.streamlearn.schemas.Prediction> codec = Topics.predictions();
    DeadLetterTopic.readToEnd(
        KafkaEndpoint.plain(bootstrapServers),
        topic,
        "predictions topic",
        record -> {
          records[0]++;
          try {
            dev.streamlearn.schemas.Prediction prediction = codec.decode(record.value());
            long[] counts = byModel.computeIfAbsent(prediction.getModel(), m -> new long[3]);
            counts[0]++;
            // A label that is none of the model's classes (the demo's "yes") judges nothing.
            if (prediction.getLabel() != null
                && prediction.getPrediction() != null
                && prediction.getProbabilities().containsKey(prediction.getLabel())) {
              counts[1]++;
              counts[2] += prediction.getLabel().equals(prediction.getPrediction()) ? 1 : 0;
            }
          } catch (AvroCodec.DecodeException e) {
            byModel.computeIfAbsent("(not a prediction)", m -> new long[3])[0]++;
          }
        });
    List<String> each =
        byModel.entrySet().stream()
            .sorted(Comparator.comparingLong((Map.Entry<String, long[]> e) -> -e.getValue()[0]))
            .map(
                e ->
                    String.format("%s %,d", e.getKey(), e.getValue()[0])
                        + (e.getValue()[1] == 0
                            ? ""
                            : String.format(
                                " (accuracy %.3f)", (double) e.getValue()[2] / e.getValue()[1])))
            .toList();
    return String.format("%,d records", records[0])
        + (each.isEmpty() ? "" : ", by model: " + String.join(", ", each));
  }

  /**
   * {@code --score}: the scoring job beside the training job once the first version is out, on the
   * same topic from its start, following the alias {@code latest} every 5 s (with candidates, the
   * best candidate, each segment's with segments).
   */
  private LocalJobRun startScoring(
      EmbeddedKafka kafka,
      PipelineSpec spec,
      ModelStore models,
      LocalJobRun training,
      ProgressPrinter progress,
      long deadline,
      Path work)
      throws Exception {
    if (spec.segments().enabled() && !spec.hasCandidates()) {
      throw new IllegalArgumentException(
          "--score scores with the pipeline's one model, or its best candidate; this spec trains"
              + " a model per segment (run ./streamlearn score-stream beside it instead)");
    }
    // With candidates, whichever ranks first scores, followed as the ranking moves.
    String candidate = spec.hasCandidates() ? PipelineSpec.BEST_CANDIDATE : null;
    String predictions = ScoringJob.defaultPredictionsTopic(spec);
    kafka.createTopic(predictions, 2);
    kafka.createTopic(ScoringJob.deadLetterTopicOf(predictions), 1);
    out.println("Waiting for the first version before the scoring job starts...");
    java.util.function.BooleanSupplier published =
        () -> {
          try {
            if (candidate == null) {
              return models.alias(spec.name(), "latest").isPresent();
            }
            for (String model : ModelRouter.pipelineModels(spec.name(), models.models())) {
              if (models.alias(model, "latest").isPresent()) {
                return true;
              }
            }
            return false;
          } catch (IOException e) {
            return false;
          }
        };
    if (!training.await(
        published, progress::print, Duration.ofNanos(Math.max(0, deadline - System.nanoTime())))) {
      out.println("  no version within the run: the scoring job does not start");
      return null;
    }
    LocalJobRun scoring =
        LocalJobRun.startBeside(
            ScoringJob.fromSpec(
                spec,
                spec.store().uri(),
                spec.name(),
                "latest",
                candidate,
                Duration.ofSeconds(5),
                predictions,
                false),
            parallelism,
            work.resolve("flink-scoring"));
    out.printf(
        "Scoring job: topic %s scored by %s as events arrive -> topic %s%n",
        spec.source().topic(),
        candidate == null
            ? spec.name() + "'s latest version"
            : "the best of " + spec.name() + "'s candidates (on the newest window)",
        predictions);
    return scoring;
  }

  /** {@code --try KEY=V1,V2}: a grid of candidates, each value read as YAML reads it. */
  private void addTries(Map<String, Object> tree) {
    if (tries == null || tries.isEmpty()) {
      return;
    }
    if (tree.containsKey("candidates")) {
      throw new IllegalArgumentException(
          "--try and the spec's candidates: give the candidates in one place");
    }
    Map<String, Object> grid = new LinkedHashMap<>();
    for (String given : tries) {
      int equals = given.indexOf('=');
      if (equals <= 0 || equals == given.length() - 1) {
        throw new IllegalArgumentException(
            "--try '"
                + given
                + "': KEY=VALUE,VALUE..., e.g. --try training.learning-rate=0.01,0.1");
      }
      Object values =
          SpecLoader.readTree("values: [" + given.substring(equals + 1) + "]", "--try " + given)
              .get("values");
      grid.put(given.substring(0, equals).trim(), values);
    }
    tree.put("candidates", Map.of("grid", grid));
  }

  /** Reads the input file and settles the task and its classes before anything starts. */
  private CsvEvents readInput() throws IOException {
    if (!Files.isReadable(input)) {
      throw new IllegalArgumentException("--input " + input + " is not a readable file");
    }
    CsvEvents rows = new CsvEvents(CsvReader.read(input), label);
    Map<String, Object> tree =
        specFile == null ? new LinkedHashMap<>() : SpecLoader.readTree(specFile);
    Object specTask =
        tree.get("label") instanceof Map<?, ?> labelTree ? labelTree.get("task") : null;
    inputTask =
        task != null ? task : specTask != null ? String.valueOf(specTask) : rows.inferTask();
    List<String> values = rows.labelValues();
    switch (inputTask) {
      case "binary" -> {
        if (values.size() != 2) {
          throw new IllegalArgumentException(
              String.format(
                  "label column '%s' has %d distinct values (%s); a binary task needs exactly two (try --task multiclass or regression)",
                  label,
                  values.size(),
                  values.stream().limit(12).collect(Collectors.joining(", "))));
        }
        return rows;
      }
      case "multiclass" -> {
        if (values.size() < 2) {
          throw new IllegalArgumentException(
              "label column '" + label + "' has fewer than two distinct values: " + values);
        }
        return rows.withNumericLabels(false);
      }
      case "regression" -> {
        CsvEvents numbers = rows.withNumbersForLabels();
        List<String> texts = numbers.labelsThatAreNotNumbers();
        if (new java.util.HashSet<>(texts).containsAll(values)) {
          throw new IllegalArgumentException(
              "label column '" + label + "' holds text, not numbers; a regression learns numbers");
        }
        if (!texts.isEmpty()) {
          out.println(ProduceCommand.labelsNotNumbers(texts, label, "regression"));
        }
        return numbers;
      }
      default ->
          throw new IllegalArgumentException(
              "--task '" + inputTask + "': one of binary, multiclass, regression");
    }
  }

  private int fromFile(EmbeddedKafka kafka, Path work, CsvEvents rows) throws Exception {
    List<String> classes =
        switch (inputTask) {
          case "binary" -> rows.labelClasses();
          case "multiclass" -> rows.labelValues();
          default -> List.of();
        };
    Map<String, Object> tree =
        specFile == null ? new LinkedHashMap<>() : SpecLoader.readTree(specFile);
    mergeInferredFeatures(tree, rows);
    SpecLoader.override(tree, "label.task", inputTask);
    if (!(tree.get("label") instanceof Map<?, ?> labelTree) || !labelTree.containsKey("classes")) {
      SpecLoader.override(tree, "label.classes", classes);
    }
    tree.putIfAbsent("name", modelName(input));
    if (!(tree.get("validation") instanceof Map<?, ?> validation)
        || !validation.containsKey("window")) {
      // Rows are one second apart in event time: five validation windows over the file.
      SpecLoader.override(tree, "validation.window", Math.max(100, (rows.size() + 4) / 5) + "s");
    }
    SpecLoader.override(tree, "source.bootstrap-servers", kafka.bootstrapServers());
    SpecLoader.override(tree, "source.bounded", true);
    SpecLoader.override(tree, "store.uri", store.toAbsolutePath().toString());
    if (segmentBy != null) {
      SpecLoader.override(tree, "segments.by", segmentBy);
    }
    addTries(tree);
    PipelineSpec spec = SpecLoader.fromTree(tree);

    kafka.createTopic(spec.source().topic(), 1);
    kafka.createTopic(spec.source().deadLetterTopic(), 1);
    kafka.createTopic(spec.source().metricsTopic(), 1);
    out.printf(
        "Producing %,d rows of %s to %s (%d numeric, %d categorical features; label '%s', %s)...%n",
        rows.size(),
        input,
        spec.source().topic(),
        spec.numericCount(),
        spec.categoricalCount(),
        label,
        inputTask.equals("regression")
            ? "regression"
            : inputTask + " " + (classes.isEmpty() ? "[0, 1]" : classes));
    try (KafkaProducer<byte[], byte[]> producer = producer(kafka.bootstrapServers())) {
      var codec = dev.streamlearn.schemas.codec.Topics.labeledEvents();
      // Rows are one second apart, starting on a window boundary, so the windows split the file
      // evenly; under the windows holdout policy on the first of a cycle of holdout.every
      // windows, so the same windows of the file are held out in every run (the every-th, ...).
      long window = spec.validation().window().toMillis();
      if (spec.holdout().policy().equals("windows")) {
        window *= spec.holdout().every();
      }
      long start = Math.floorDiv(System.currentTimeMillis() - rows.size() * 1000L, window) * window;
      for (int i = 0; i < rows.size(); i++) {
        var event = rows.event(i, spec.name() + "-", start);
        producer.send(
            new ProducerRecord<>(
                spec.source().topic(),
                event.getId().getBytes(StandardCharsets.UTF_8),
                codec.encode(event)));
      }
      producer.flush();
    }
    ModelStore models = ModelStores.open(spec.store().uri());
    long versionsBefore = StoreSummary.versionCount(models, spec);
    StoreSummary.printVersionsBefore(out, spec, models);
    LocalJobRun run = startTraining(spec, work);
    out.printf(
        "Running job '%s' on a local Flink MiniCluster until it has read every row...%n",
        spec.name());
    ProgressPrinter progress = ProgressPrinter.of(spec, models, out).following(run);
    try {
      boolean ended = run.runUntil(progress::print, Duration.ofSeconds(5), Long.MAX_VALUE);
      if (!ended) {
        out.println("Ctrl-C: stopping cleanly...");
        run.stopDraining();
      }
      ProgressPrinter.Counts counts = ProgressPrinter.Counts.of(run);
      out.println();
      out.println(counts.summary());
      if (!ProgressPrinter.Counts.features().isEmpty()) {
        out.println(ProgressPrinter.Counts.features());
      }
      if (StoreSummary.versionCount(models, spec) <= versionsBefore) {
        out.println("No version was published.");
        return 1;
      }
      if (spec.hasCandidates() || spec.segments().enabled()) {
        new StoreSummary(out, label).print(spec, models);
        return counts.addsUp() ? 0 : 1;
      }
      List<Long> versions = models.versions(spec.name());
      Manifest last = models.manifest(spec.name(), versions.get(versions.size() - 1)).orElseThrow();
      Manifest validated = newestValidated(models, spec.name(), versions).orElse(last);
      out.println(
          "Final held-out metrics (v"
              + validated.version()
              + (validated.version() == last.version()
                  ? ", its validation window): "
                  : ", the newest version validated on held-out events; v"
                      + last.version()
                      + "'s window held none out): ")
              + ProgressPrinter.describeMetrics(java.util.Optional.of(validated)));
      Map<String, Double> sinceStart = last.metrics().get("sinceStart");
      if (sinceStart != null && sinceStart.containsKey("accuracy")) {
        out.printf(
            "Every held-out event, scored on arrival by the model of the moment: accuracy %.3f on %,.0f events.%n",
            sinceStart.get("accuracy"), sinceStart.get("count"));
      } else if (sinceStart != null && sinceStart.containsKey("rmse")) {
        out.printf(
            "Every held-out event, scored on arrival by the model of the moment: RMSE %.4g, MAE %.4g on %,.0f events.%n",
            sinceStart.get("rmse"), sinceStart.get("mae"), sinceStart.get("count"));
      }
      new StoreSummary(out, label).print(spec, models);
      return counts.addsUp() ? 0 : 1;
    } finally {
      run.done();
    }
  }

  /**
   * The newest of {@code versions} whose validation window held events out: under the {@code
   * windows} policy most windows hold none, and the last version's may be one of them.
   */
  static java.util.Optional<Manifest> newestValidated(
      ModelStore models, String model, List<Long> versions) throws IOException {
    for (int i = versions.size() - 1; i >= 0; i--) {
      java.util.Optional<Manifest> manifest = models.manifest(model, versions.get(i));
      Map<String, Double> window = manifest.map(m -> m.metrics().get("window")).orElse(Map.of());
      if (window != null && window.getOrDefault("count", 0.0) > 0) {
        return manifest;
      }
    }
    return java.util.Optional.empty();
  }

  /** Features the spec lists keep their settings; the other columns are inferred. */
  @SuppressWarnings("unchecked")
  private static void mergeInferredFeatures(Map<String, Object> tree, CsvEvents rows) {
    List<Object> listed =
        tree.get("features") instanceof List<?> list ? new ArrayList<>(list) : new ArrayList<>();
    Set<String> named =
        listed.stream()
            .filter(Map.class::isInstance)
            .map(feature -> String.valueOf(((Map<String, Object>) feature).get("name")))
            .collect(Collectors.toSet());
    for (PipelineSpec.Feature feature : rows.inferFeatures()) {
      if (!named.contains(feature.name())) {
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("name", feature.name());
        entry.put("type", feature.type());
        listed.add(entry);
      }
    }
    tree.put("features", listed);
  }

  private static String modelName(Path file) {
    String base = file.getFileName().toString().replaceFirst("\\.[^.]*$", "");
    String cleaned = base.replaceAll("[^A-Za-z0-9._-]", "-").replaceFirst("^[^A-Za-z0-9]+", "");
    return cleaned.isEmpty() ? "model" : cleaned;
  }

  /**
   * The training job on a MiniCluster of its own, its metrics served where --metrics-port says and
   * Flink's web UI where --flink-ui says.
   */
  private LocalJobRun startTraining(PipelineSpec spec, Path work) throws Exception {
    LocalJobRun run =
        LocalJobRun.start(
            StreamLearnJob.fromSpec(spec),
            parallelism,
            work.resolve("flink"),
            null,
            metrics.port(),
            flinkUi.port());
    if (metrics.where() != null) {
      out.println(metrics.where());
    }
    if (flinkUi.where() != null) {
      out.println(flinkUi.where());
    }
    return run;
  }

  static KafkaProducer<byte[], byte[]> producer(String bootstrapServers) {
    return producer(KafkaEndpoint.plain(bootstrapServers));
  }

  static KafkaProducer<byte[], byte[]> producer(KafkaEndpoint kafka) {
    Properties properties = kafka.properties();
    properties.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    properties.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    properties.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    properties.put(ProducerConfig.ACKS_CONFIG, "all");
    return new KafkaProducer<>(properties);
  }

  static long countRecords(String bootstrapServers, String topic) {
    Properties properties = new Properties();
    properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    properties.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    properties.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(properties)) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      Map<TopicPartition, Long> begin = consumer.beginningOffsets(partitions);
      return partitions.stream().mapToLong(p -> end.get(p) - begin.get(p)).sum();
    }
  }

  static final long DRIFT_EVERY = 120_000;

  /**
   * Sends the synthetic stream at a steady rate until stopped; with a labels topic, each good
   * event's label goes there once the stream's event time has passed the event's by the delay.
   */
  private static final class SyntheticProducer implements Runnable {
    private final String bootstrapServers;
    private final String topic;
    private final int rate;
    private final String labelsTopic;
    private final Duration labelDelay;
    private final java.util.ArrayDeque<EventLabel> pendingLabels = new java.util.ArrayDeque<>();
    private final Random neverLabeled = new Random(7);
    private final AvroCodec<EventLabel> labels = Topics.eventLabels();
    final AtomicLong labelsSent = new AtomicLong();
    private final AtomicBoolean running = new AtomicBoolean(true);
    final AtomicLong sent = new AtomicLong();
    final AtomicLong good = new AtomicLong();
    final AtomicLong duplicates = new AtomicLong();
    final AtomicLong malformed = new AtomicLong();

    SyntheticProducer(
        String bootstrapServers, String topic, int rate, String labelsTopic, Duration labelDelay) {
      this.bootstrapServers = bootstrapServers;
      this.topic = topic;
      this.rate = rate;
      this.labelsTopic = labelsTopic;
      this.labelDelay = labelDelay;
    }

    /** Keeps a good event's label to send later; one in a hundred is never sent. */
    private void holdLabel(EventLabel label) {
      if (neverLabeled.nextDouble() >= 0.01) {
        label.setTimestamp(label.getTimestamp().plus(labelDelay));
        pendingLabels.add(label);
      }
    }

    /** Sends the labels whose time has come by {@code until} (every one when null). */
    private void sendLabels(KafkaProducer<byte[], byte[]> producer, java.time.Instant until) {
      while (!pendingLabels.isEmpty()
          && (until == null || !pendingLabels.peek().getTimestamp().isAfter(until))) {
        EventLabel label = pendingLabels.poll();
        producer.send(
            new ProducerRecord<>(
                labelsTopic, label.getId().getBytes(StandardCharsets.UTF_8), labels.encode(label)));
        labelsSent.incrementAndGet();
      }
    }

    void stop() {
      running.set(false);
    }

    @Override
    public void run() {
      long startMillis = System.currentTimeMillis();
      SyntheticEvents events = new SyntheticEvents(42, DRIFT_EVERY, startMillis);
      if (labelsTopic != null) {
        events.labelsApart();
      }
      long start = System.nanoTime();
      try (KafkaProducer<byte[], byte[]> producer = producer(bootstrapServers)) {
        while (running.get()) {
          long due = (System.nanoTime() - start) * rate / 1_000_000_000L;
          while (sent.get() < due && running.get()) {
            SyntheticEvents.Next next = events.next();
            producer.send(
                new ProducerRecord<>(
                    topic, next.id().getBytes(StandardCharsets.UTF_8), next.value()));
            sent.incrementAndGet();
            switch (next.kind()) {
              case GOOD -> good.incrementAndGet();
              case DUPLICATE -> duplicates.incrementAndGet();
              case MALFORMED -> malformed.incrementAndGet();
            }
            if (next.label() != null) {
              java.time.Instant now = next.label().getTimestamp();
              holdLabel(next.label());
              sendLabels(producer, now);
            }
          }
          Thread.sleep(5);
        }
        // The labels still due are known by the end of the stream.
        sendLabels(producer, null);
        producer.flush();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
