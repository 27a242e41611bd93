package dev.streamlearn.jobs.cli;

import dev.streamlearn.core.data.ModelRouter;
import dev.streamlearn.core.serve.Served;
import dev.streamlearn.core.serve.ServedBestCandidates;
import dev.streamlearn.core.serve.ServedModel;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.jobs.KafkaEndpoint;
import dev.streamlearn.jobs.ScoringJob;
import dev.streamlearn.jobs.runtime.ProgressMetrics;
import dev.streamlearn.operators.PipelineCounters;
import dev.streamlearn.store.VersionSource;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code streamlearn score-stream}: the scoring job against an existing Kafka cluster, on a local
 * MiniCluster.
 */
@Command(
    name = "score-stream",
    description = {
      "Scores the events of a pipeline spec's topic as they arrive, with a model version from its"
          + " store, and writes one Avro Prediction per event (keyed by event id) to a predictions"
          + " topic, on a local Flink MiniCluster, until Ctrl-C or --duration.",
      "Following an alias (latest, champion), a newly published or promoted version takes over"
          + " within --refresh. Labels are optional; where events carry one, the accuracy of the"
          + " predictions is shown as they go. Records that are not events, or that the version"
          + " cannot read, go to <predictions topic>.dead-letter with their reason.",
      "Where the spec has source.labels, a prediction made without a label is judged when its"
          + " label arrives on the labels topic, and counts in that accuracy then."
    })
final class ScoreStreamCommand implements Callable<Integer> {

  // --version names a model version here, so the standard -V/--version option is left out.
  @Mixin HelpOption help;

  @Option(names = "--spec", required = true, description = "The pipeline spec (YAML).")
  Path specFile;

  @Mixin KafkaOptions kafkaOptions;

  @Mixin MetricsOption metrics;

  @Mixin FlinkUiOption flinkUi;

  @Option(
      names = "--store",
      description =
          "Where the versions are, instead of store.uri: a store (a path, file:, s3://) or a model"
              + " store server (http://host:port/).")
  String store;

  @Option(
      names = "--model",
      description =
          "The model to score with (default: the spec's name, which for a pipeline of segments"
              + " scores each event with its segment's model; or one of a pipeline's candidate"
              + " models, e.g. digits.adam).")
  String model;

  @Option(
      names = "--candidate",
      description =
          "Where the pipeline has hyper-parameter candidates: the one to score with (of each"
              + " segment, where it has segments), by name, or 'best': whichever ranks first on"
              + " the newest held-out window, followed as the ranking moves.")
  String candidate;

  @Option(
      names = "--version",
      defaultValue = "latest",
      description =
          "A version number, or an alias followed as it moves (default ${DEFAULT-VALUE}).")
  String version;

  @Option(
      names = "--output-topic",
      description =
          "Where predictions go (default <source.topic>.predictions); created if missing.")
  String outputTopic;

  @Option(
      names = "--refresh",
      defaultValue = "10s",
      description = "How often to look where the alias points (default ${DEFAULT-VALUE}).")
  String refresh;

  @Option(
      names = "--delivery",
      defaultValue = "at-least-once",
      description =
          "at-least-once (default: each prediction as soon as it is made; after a failure, the"
              + " events since the last checkpoint are scored again) or exactly-once (in Kafka"
              + " transactions committed with each checkpoint: consumers reading committed records"
              + " see each prediction once, a checkpoint interval later).")
  String delivery;

  @Option(
      names = "--parallelism",
      defaultValue = "1",
      converter = AtLeastOne.class,
      description = "Flink parallelism (default ${DEFAULT-VALUE}).")
  int parallelism;

  @Option(
      names = "--duration",
      description = "Stops after this long (e.g. 90s, 10m); default: until Ctrl-C.")
  String duration;

  @Override
  public Integer call() throws Exception {
    int metricsPort = metrics.port();
    int webUiPort = flinkUi.port();
    Map<String, Object> tree = SpecLoader.readTree(specFile);
    kafkaOptions.override(tree);
    PipelineSpec spec = SpecLoader.fromTree(tree);
    Duration every = SpecLoader.parseDuration("--refresh", refresh);
    boolean exactlyOnce = ScoringJob.delivery(delivery);
    long deadline =
        duration == null
            ? Long.MAX_VALUE
            : System.nanoTime() + SpecLoader.parseDuration("--duration", duration).toNanos();
    String predictions =
        outputTopic != null ? outputTopic : ScoringJob.defaultPredictionsTopic(spec);
    ScoringJob.checkPredictionsTopic(spec, predictions);
    String modelsUri = store != null ? store : spec.store().uri();
    VersionSource models = VersionSource.open(modelsUri);
    String name = model != null ? model : modelOf(spec, models, candidate);
    Served served = served(models, spec, name, version, candidate);
    KafkaEndpoint endpoint = KafkaEndpoint.of(spec.source());
    try (KafkaCheck kafka = new KafkaCheck(endpoint, kafkaOptions.timeout())) {
      kafka.requireTopicsOf(spec.source());
      if (spec.source().labelsFollow()) {
        // Only the judging of predictions by later labels waits for event time.
        RunCommand.warnOfIdleReaders(
            kafka, spec.source(), parallelism, RunCommand.HeldBack.PREDICTIONS_WITHOUT_LABEL);
      }
      kafka.createTopic(predictions);
      kafka.createTopic(ScoringJob.deadLetterTopicOf(predictions));
    }
    System.out.printf(
        "Scoring %s topic %s with %s from %s -> topic %s (Ctrl-C stops)%n",
        spec.source().bootstrapServers(),
        spec.source().topic(),
        served,
        models.location(),
        predictions);
    Path state = Files.createTempDirectory("streamlearn-score-");
    LocalJobRun run =
        LocalJobRun.start(
            ScoringJob.fromSpec(
                spec, modelsUri, name, version, candidate, every, predictions, exactlyOnce),
            parallelism,
            state,
            null,
            metricsPort,
            webUiPort);
    if (metrics.where() != null) {
      System.out.println(metrics.where());
    }
    if (flinkUi.where() != null) {
      System.out.println(flinkUi.where());
    }
    boolean classification = !"regression".equals(served.anyModel().manifest().task());
    // By segment (or best candidate) the versions move on their own: the line counts the swaps.
    Progress progress =
        new Progress(
            models,
            served instanceof ServedModel one ? one.model() : null,
            version,
            served instanceof ServedBestCandidates best ? best : null,
            classification,
            run,
            System.out);
    try (BrokerWatch broker = new BrokerWatch(endpoint)) {
      if (!run.runUntil(broker.after(progress::print), Duration.ofSeconds(5), deadline)) {
        System.out.println("Stopping...");
        LocalJobRun.Stop stop = run.stopOrCancel(Duration.ofMinutes(2));
        if (stop.cancelled()) {
          System.out.printf(
              "Could not stop cleanly (%s); the job is cancelled instead.%n", stop.failure());
          System.out.println(Progress.summary(predictions, false));
          RunCommand.printLastFailure(run);
          return 1;
        }
      }
      System.out.println(Progress.summary(predictions, false));
      RunCommand.printLastFailure(run);
      return 0;
    } finally {
      run.done();
    }
  }

  /**
   * The spec's one model, or its segment models; a pipeline of candidates (without segments) must
   * name one, or choose one with --candidate.
   */
  private static String modelOf(PipelineSpec spec, VersionSource models, String candidate)
      throws IOException {
    if (spec.segments().enabled() || !spec.hasCandidates() || candidate != null) {
      return spec.name();
    }
    List<String> several = ModelRouter.pipelineModels(spec.name(), models.models());
    throw new IllegalArgumentException(
        "pipeline '"
            + spec.name()
            + "' trains a model per candidate: choose the one to score with, --candidate "
            + PipelineSpec.BEST_CANDIDATE
            + " (whichever ranks first, followed as the ranking moves) or --candidate NAME, or"
            + " --model "
            + (several.isEmpty() ? spec.name() + ".<name>" : String.join(" | ", several)));
  }

  /** The version(s) to start with; a model or alias that is not there is a clear error. */
  private static Served served(
      VersionSource models, PipelineSpec spec, String name, String version, String candidate)
      throws IOException {
    try {
      return Served.open(models, spec, name, version, candidate);
    } catch (NoSuchFileException e) {
      String holds =
          "the store holds "
              + (models.models().isEmpty() ? "no models yet" : String.join(", ", models.models()));
      if (ServedBestCandidates.isBest(candidate)) {
        throw new IllegalArgumentException(e.getMessage() + "; " + holds);
      }
      throw new IllegalArgumentException(
          "model "
              + name
              + " has no version "
              + version
              + " in "
              + models.location()
              + " ("
              + e.getMessage()
              + "); "
              + holds);
    }
  }

  /** One line every few seconds: the counters, the accuracy on labeled events, the version. */
  static final class Progress {
    private final VersionSource store;

    /** The one model scored with; null when scoring by segment. */
    private final String model;

    /**
     * With {@code --candidate best}: the choice followed as the job follows it (the same ranking
     * and settling, looked at when the line is printed); else null.
     */
    private final ServedBestCandidates best;

    private final String version;
    private final boolean classification;

    /** The job: its backlog in Kafka, its restarts and why. */
    private final LocalJobRun run;

    private final PrintStream out;
    private final long start = System.nanoTime();

    Progress(
        VersionSource store,
        String model,
        String version,
        ServedBestCandidates best,
        boolean classification,
        LocalJobRun run,
        PrintStream out) {
      this.store = store;
      this.model = model;
      this.version = version;
      this.best = best;
      this.classification = classification;
      this.run = run;
      this.out = out;
    }

    private String restarts() {
      return run.failures().progressNote();
    }

    void print() {
      if (model == null) {
        String serving = "";
        if (best != null) {
          try {
            best.refresh();
            serving = " | best -> " + best.choices();
          } catch (IOException | RuntimeException e) {
            serving = " | best unknown (" + e.getMessage() + ")";
          }
        }
        out.printf(
            "[%4ds] %s%s%s%n",
            (System.nanoTime() - start) / 1_000_000_000L,
            counts(classification, run),
            serving,
            restarts());
        out.flush();
        return;
      }
      String pointsAt;
      try {
        pointsAt =
            version.chars().allMatch(Character::isDigit)
                ? "version " + version
                : "version " + store.alias(model, version).map(String::valueOf).orElse("none");
      } catch (IOException | RuntimeException e) {
        pointsAt = "version unknown (" + e.getMessage() + ")";
      }
      out.printf(
          "[%4ds] %s | %s %s%s%n",
          (System.nanoTime() - start) / 1_000_000_000L,
          counts(classification, run),
          version.chars().allMatch(Character::isDigit) ? "scoring with" : version + " ->",
          pointsAt,
          restarts());
      out.flush();
    }

    /** The scoring job's counts, and how far behind Kafka {@code run} is (none when null). */
    static String counts(boolean classification, LocalJobRun run) {
      long read = ProgressMetrics.count(PipelineCounters.SCORING_READ);
      long scored = ProgressMetrics.count(PipelineCounters.SCORED);
      long deadLettered = ProgressMetrics.count(PipelineCounters.SCORING_DEAD_LETTERED);
      long labeled = ProgressMetrics.count(PipelineCounters.SCORED_WITH_LABEL);
      long right = ProgressMetrics.count(PipelineCounters.PREDICTED_RIGHT);
      String line =
          String.format(
              "read %,d%s | scored %,d | dead-lettered %,d | versions swapped %,d",
              read,
              ProgressPrinter.waitingInKafka(run),
              scored,
              deadLettered,
              ProgressMetrics.count(PipelineCounters.VERSIONS_SWAPPED));
      if (classification && labeled > 0) {
        line += String.format(" | accuracy %.3f on %,d labeled", (double) right / labeled, labeled);
      }
      double judged = ProgressMetrics.gaugeSum(PipelineCounters.REGRESSION_JUDGED);
      if (!classification && judged > 0) {
        // As score --label and the held-out metrics write them.
        line +=
            String.format(
                " | RMSE %.4g, MAE %.4g on %,d labeled",
                Math.sqrt(
                    ProgressMetrics.gaugeSum(PipelineCounters.REGRESSION_SQUARED_ERROR) / judged),
                ProgressMetrics.gaugeSum(PipelineCounters.REGRESSION_ABSOLUTE_ERROR) / judged,
                (long) judged);
      }
      org.apache.flink.metrics.Histogram latency =
          ProgressMetrics.histogram(PipelineCounters.SCORING_LATENCY);
      if (latency != null && latency.getCount() > 0) {
        var statistics = latency.getStatistics();
        line +=
            " | latency p50 "
                + ProgressPrinter.Counts.readable(statistics.getQuantile(0.5))
                + ", p99 "
                + ProgressPrinter.Counts.readable(statistics.getQuantile(0.99));
      }
      return line;
    }

    /**
     * The accounting line, and where the predictions are.
     *
     * @param withCounts also the labeled events' accuracy and the versions swapped, first
     */
    static String summary(String predictions, boolean withCounts) {
      long read = ProgressMetrics.count(PipelineCounters.SCORING_READ);
      long scored = ProgressMetrics.count(PipelineCounters.SCORED);
      long deadLettered = ProgressMetrics.count(PipelineCounters.SCORING_DEAD_LETTERED);
      long labelsRead = ProgressMetrics.count(PipelineCounters.SCORING_LABELS_READ);
      long matched = ProgressMetrics.count(PipelineCounters.SCORING_LABELS_MATCHED);
      long unmatched = ProgressMetrics.count(PipelineCounters.SCORING_LABELS_UNMATCHED);
      String labels =
          labelsRead == 0
              ? ""
              : String.format(
                  "%nLabels that came later: read %,d = matched with their prediction %,d +"
                      + " unmatched %,d%s",
                  labelsRead,
                  matched,
                  unmatched,
                  ProgressPrinter.Counts.verdict(labelsRead == matched + unmatched));
      return String.format(
          "%sAccounted for: read %,d = scored %,d + dead-lettered %,d%s%s%nPredictions are in"
              + " topic %s; refused records in %s.",
          withCounts ? counts(true, null) + String.format("%n") : "",
          read,
          scored,
          deadLettered,
          ProgressPrinter.Counts.verdict(read == scored + deadLettered),
          labels,
          predictions,
          ScoringJob.deadLetterTopicOf(predictions));
    }
  }
}
