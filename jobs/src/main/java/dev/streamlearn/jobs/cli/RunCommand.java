package dev.streamlearn.jobs.cli;

import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.jobs.KafkaEndpoint;
import dev.streamlearn.jobs.StreamLearnJob;
import dev.streamlearn.store.ModelStore;
import dev.streamlearn.store.ModelStores;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code streamlearn run}: the job against an existing Kafka cluster, on a local MiniCluster. */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description =
        "Runs a pipeline spec against an existing Kafka cluster on a local Flink MiniCluster, until Ctrl-C (or, for a bounded source, the end of input).")
final class RunCommand implements Callable<Integer> {

  @Option(names = "--spec", required = true, description = "The pipeline spec (YAML).")
  Path specFile;

  @Mixin KafkaOptions kafkaOptions;

  @Mixin MetricsOption metrics;

  @Mixin FlinkUiOption flinkUi;

  @Option(names = "--store", description = "Overrides store.uri.")
  String store;

  @Option(
      names = "--parallelism",
      defaultValue = "1",
      converter = AtLeastOne.class,
      description = "Flink parallelism (default ${DEFAULT-VALUE}).")
  int parallelism;

  @Option(
      names = "--state-dir",
      description =
          "Where checkpoints and the savepoint taken at a stop go (default: a new directory under"
              + " the system's temporary directory).")
  Path stateDir;

  @Option(
      names = "--from-savepoint",
      description =
          "Starts from the savepoint an earlier run stopped with (its path, as that run printed"
              + " it): every model, its featurizer and optimizer state, and the Kafka offsets go on"
              + " from there. The spec's training settings may differ from that run's; its network"
              + " and features may not.")
  String fromSavepoint;

  @Option(
      names = "--duration",
      description =
          "Stops after this long (e.g. 90s, 10m), with a savepoint, as Ctrl-C does (default: until"
              + " Ctrl-C, or the end of a bounded source).")
  String duration;

  @Option(
      names = "--stop-timeout",
      defaultValue = "2m",
      description =
          "How long a stop (Ctrl-C, --duration) waits for its savepoint before it cancels the job"
              + " instead (default ${DEFAULT-VALUE}).")
  String stopTimeout;

  @Override
  public Integer call() throws Exception {
    int metricsPort = metrics.port();
    int webUiPort = flinkUi.port();
    Map<String, Object> tree = SpecLoader.readTree(specFile);
    kafkaOptions.override(tree);
    if (store != null) {
      SpecLoader.override(tree, "store.uri", store);
    }
    PipelineSpec spec = SpecLoader.fromTree(tree);
    Duration savepointTimeout = SpecLoader.parseDuration("--stop-timeout", stopTimeout);
    long deadline =
        duration == null
            ? Long.MAX_VALUE
            : System.nanoTime() + SpecLoader.parseDuration("--duration", duration).toNanos();
    if (fromSavepoint != null) {
      checkSavepoint(fromSavepoint);
    }
    ModelStore models = ModelStores.open(spec.store().uri());
    try {
      models.checkWritable();
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException(
          "store.uri " + spec.store().uri() + ": cannot publish versions there: " + e.getMessage(),
          e);
    }
    Duration timeout = kafkaOptions.timeout();
    KafkaEndpoint endpoint = KafkaEndpoint.of(spec.source());
    try (KafkaCheck kafka = new KafkaCheck(endpoint, timeout)) {
      kafka.requireTopicsOf(spec.source());
      warnOfIdleReaders(kafka, spec.source(), parallelism, HeldBack.VALIDATION_WINDOWS);
      // The topics the job writes, as score-stream creates its own: a broker that does not create
      // topics on first write would otherwise fail the job at its first dead letter or report.
      kafka.createTopic(spec.source().deadLetterTopic());
      kafka.createTopic(spec.source().metricsTopic());
    }
    System.out.printf(
        "Running '%s': %s topic %s -> store %s (Ctrl-C stops cleanly)%n",
        spec.name(), spec.source().bootstrapServers(), spec.source().topic(), models.location());
    if (fromSavepoint != null) {
      System.out.println("Starting from the savepoint " + fromSavepoint);
    } else {
      StoreSummary.printVersionsBefore(System.out, spec, models);
    }
    if (metrics.where() != null) {
      System.out.println(metrics.where());
    }
    if (flinkUi.where() != null) {
      System.out.println(flinkUi.where());
    }
    Path state = stateDir != null ? stateDir : Files.createTempDirectory("streamlearn-run-");
    LocalJobRun run =
        LocalJobRun.start(
            StreamLearnJob.fromSpec(spec),
            parallelism,
            state,
            fromSavepoint,
            metricsPort,
            webUiPort);
    try (BrokerWatch broker = new BrokerWatch(endpoint)) {
      if (!run.runUntil(
          broker.after(ProgressPrinter.of(spec, models, System.out).following(run)::print),
          Duration.ofSeconds(5),
          deadline)) {
        System.out.println("Stopping cleanly...");
        if (broker.check() != null) {
          System.out.println(
              "  no Kafka broker answers: the savepoint may not be taken (waiting for it up to"
                  + " --stop-timeout "
                  + stopTimeout
                  + ")");
        }
        LocalJobRun.Stop stop = run.stopOrCancel(savepointTimeout);
        if (stop.cancelled()) {
          System.out.printf(
              "Could not stop with a savepoint (%s); the job is cancelled instead. The versions"
                  + " published so far are in %s; there is no savepoint to resume from.%n",
              stop.timedOut() ? "none within --stop-timeout " + stopTimeout : stop.failure(),
              models.location());
          System.out.println(ProgressPrinter.Counts.of(run).summary());
          printLastFailure(run);
          printStore(spec, models);
          return 1;
        }
        String savepoint = stop.savepoint();
        if (savepoint != null) {
          System.out.printf(
              "Stopped with a savepoint at %s%nResume with: %s%n",
              savepoint, resumeCommand(savepoint));
        }
      }
      System.out.println(ProgressPrinter.Counts.of(run).summary());
      printLastFailure(run);
      printStore(spec, models);
      return 0;
    } finally {
      run.done();
    }
  }

  /**
   * What a reader without a partition holds back, by holding the event-time watermark back: for a
   * while (until it has been idle for {@code source.idle-timeout}), and for ever (with {@code 0s}).
   */
  record HeldBack(String meanwhile, String forEver) {
    static final HeldBack VALIDATION_WINDOWS =
        new HeldBack(
            "no validation window closes",
            "no validation window would close, and no version be published, before the job is"
                + " stopped");
    static final HeldBack PREDICTIONS_WITHOUT_LABEL =
        new HeldBack(
            "no prediction whose label does not come is given up on",
            "every prediction whose label never comes would wait in state");
  }

  /**
   * What a parallelism above the source's partitions does: a reader without a partition holds the
   * event-time watermark back until it has been idle for {@code source.idle-timeout}; with no idle
   * timeout and a source that does not end, for ever (refused). Null when every reader has a
   * partition, or the source ends (a reader without one ends at once).
   */
  static String idleReaders(
      PipelineSpec.Source source, int parallelism, int partitions, HeldBack heldBack) {
    if (parallelism <= partitions || source.bounded()) {
      return null;
    }
    String topics =
        source.labelsFollow() ? source.topic() + " and " + source.labels().topic() : source.topic();
    String what =
        String.format(
            "--parallelism %d is more than the %d partition%s of %s: %d of the job's readers read"
                + " nothing",
            parallelism, partitions, partitions == 1 ? "" : "s", topics, parallelism - partitions);
    if (source.idleTimeout().isZero()) {
      throw new IllegalArgumentException(
          what
              + ", and with source.idle-timeout 0s they would hold the event-time watermark back"
              + " for ever: "
              + heldBack.forEver()
              + ". Set source.idle-timeout (e.g. 30s), or --parallelism "
              + partitions
              + " or less, or give the topic more partitions ("
              + MORE_PARTITIONS
              + ")");
    }
    return "Warning: "
        + what
        + "; until they have been idle for source.idle-timeout ("
        + KafkaCheck.seconds(source.idleTimeout())
        + ") they hold the event-time watermark back, and "
        + heldBack.meanwhile()
        + ". As many partitions as readers avoid it: "
        + MORE_PARTITIONS
        + ".";
  }

  /** How a topic gets as many partitions as the job has readers. */
  private static final String MORE_PARTITIONS =
      "streamlearn produce --partitions N creates a topic with N, and Kafka's kafka-topics.sh"
          + " --alter --partitions N adds to one that exists";

  /**
   * Says {@link #idleReaders} for the partitions of the topics {@code source} reads (its events',
   * and its labels'), as Kafka has them now; refuses what it refuses.
   */
  static void warnOfIdleReaders(
      KafkaCheck kafka, PipelineSpec.Source source, int parallelism, HeldBack heldBack) {
    int partitions = kafka.partitions(source.topic());
    if (source.labelsFollow()) {
      partitions += kafka.partitions(source.labels().topic());
    }
    String warning = idleReaders(source, parallelism, partitions, heldBack);
    if (warning != null) {
      System.out.println(warning);
    }
  }

  /** After restarts, the failure behind the last one, as Flink tells it. */
  static void printLastFailure(LocalJobRun run) {
    String line = run.failures().summaryLine();
    if (line != null) {
      System.out.println(line);
    }
  }

  /** What the store holds of the spec's models now, or that it holds none yet. */
  private static void printStore(PipelineSpec spec, ModelStore models) throws java.io.IOException {
    if (StoreSummary.versionCount(models, spec) == 0) {
      System.out.printf("No version of '%s' is in %s yet.%n", spec.name(), models.location());
      return;
    }
    new StoreSummary(System.out, null).print(spec, models);
  }

  /**
   * The command that goes on from {@code savepoint}: this run's spec and the overrides it was given
   * (Kafka, store, parallelism, state directory), so that it reads the same cluster and publishes
   * to the same store.
   */
  String resumeCommand(String savepoint) {
    List<String> arguments = new ArrayList<>(List.of("--spec", specFile.toString()));
    arguments.addAll(kafkaOptions.arguments());
    if (store != null) {
      arguments.addAll(List.of("--store", store));
    }
    if (parallelism != 1) {
      arguments.addAll(List.of("--parallelism", Integer.toString(parallelism)));
    }
    if (stateDir != null) {
      arguments.addAll(List.of("--state-dir", stateDir.toString()));
    }
    arguments.addAll(List.of("--from-savepoint", savepoint));
    StringBuilder command = new StringBuilder("./streamlearn run");
    for (String argument : arguments) {
      command.append(' ').append(shellWord(argument));
    }
    return command.toString();
  }

  /** {@code word} as a POSIX shell reads it back: as it is when safe, else in single quotes. */
  static String shellWord(String word) {
    if (!word.isEmpty() && word.matches("[A-Za-z0-9_./:=,@%+-]+")) {
      return word;
    }
    return "'" + word.replace("'", "'\\''") + "'";
  }

  /** A savepoint on this machine must be a directory holding Flink's {@code _metadata}. */
  private static void checkSavepoint(String path) {
    String local = path.startsWith("file:") ? java.net.URI.create(path).getPath() : path;
    if (path.contains("://") && !path.startsWith("file:")) {
      return; // On a file system Flink reads, not this one.
    }
    if (!Files.isRegularFile(Path.of(local).resolve("_metadata"))) {
      throw new IllegalArgumentException(
          "--from-savepoint "
              + path
              + ": no savepoint there (a directory holding Flink's _metadata file, as a run"
              + " stopped with Ctrl-C or --duration prints it)");
    }
  }
}
