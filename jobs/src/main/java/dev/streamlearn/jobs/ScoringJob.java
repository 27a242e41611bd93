package dev.streamlearn.jobs;

import dev.streamlearn.core.serve.ScoredEvent;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.operators.DecodeEvents;
import dev.streamlearn.operators.JudgePredictions;
import dev.streamlearn.operators.Refusal;
import dev.streamlearn.operators.ScoreEvents;
import dev.streamlearn.operators.SourceRecord;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

/**
 * Scores a pipeline's topic as it arrives, with a version of one of its models from the store, and
 * writes a {@code Prediction} per event to a predictions topic: read, score, write. Following an
 * alias ({@code latest}, {@code champion}), each newly published or promoted version takes over
 * within {@link #DEFAULT_REFRESH} without a restart. Records that are not events, or that the
 * version cannot read, go to the predictions topic's dead-letter topic with their reason.
 */
public final class ScoringJob implements FlinkJob {

  public static final Duration DEFAULT_REFRESH = Duration.ofSeconds(10);

  private final PipelineSpec spec;
  private final String models;
  private final String model;
  private final String versionOrAlias;
  private final String candidate;
  private final Duration refresh;
  private final Source<SourceRecord, ?, ?> source;
  private final Sink<Refusal> deadLetters;
  private final Sink<ScoredEvent> predictions;

  /**
   * @param models where the versions are: a store's URI, or a store server's {@code
   *     http://host:port/}
   */
  public ScoringJob(
      PipelineSpec spec,
      String models,
      String model,
      String versionOrAlias,
      String candidate,
      Duration refresh,
      Source<SourceRecord, ?, ?> source,
      Sink<Refusal> deadLetters,
      Sink<ScoredEvent> predictions) {
    this.spec = spec;
    this.models = models;
    this.model = model;
    this.versionOrAlias = versionOrAlias;
    this.candidate = candidate;
    this.refresh = refresh;
    this.source = source;
    this.deadLetters = deadLetters;
    this.predictions = predictions;
  }

  /**
   * The job reading the spec's topic (as a consumer group of its own, {@code
   * <source.group-id>-scoring}) and writing to {@code predictionsTopic} and its dead-letter topic,
   * with versions from the spec's store.
   */
  public static ScoringJob fromSpec(
      PipelineSpec spec,
      String model,
      String versionOrAlias,
      Duration refresh,
      String predictionsTopic) {
    return fromSpec(
        spec, spec.store().uri(), model, versionOrAlias, null, refresh, predictionsTopic, false);
  }

  /**
   * The same, with versions from {@code models} (a store's URI, or a server's URL). The pipeline's
   * own name, where it trains a model per segment, scores each event with its segment's model.
   * Where it trains hyper-parameter candidates, {@code candidate} names the one to score with (each
   * segment's), or is {@code best}: whichever ranks first, followed as the ranking moves; else
   * null.
   */
  public static ScoringJob fromSpec(
      PipelineSpec spec,
      String models,
      String model,
      String versionOrAlias,
      String candidate,
      Duration refresh,
      String predictionsTopic,
      boolean exactlyOnce) {
    checkPredictionsTopic(spec, predictionsTopic);
    if (exactlyOnce && spec.checkpoint().interval().isZero()) {
      throw new IllegalArgumentException(
          "exactly-once predictions are committed with each checkpoint, and checkpoint.interval"
              + " is 0s (no checkpoints): set an interval, or write predictions at least once");
    }
    PipelineSpec.Source in = spec.source();
    KafkaEndpoint kafka = KafkaEndpoint.of(in);
    // Two scoring jobs writing exactly once must not share transactional ids.
    String transactionalIds =
        String.join(
            "-",
            "streamlearn-score",
            model,
            versionOrAlias,
            candidate == null ? "" : candidate,
            predictionsTopic);
    return new ScoringJob(
        spec,
        models,
        model,
        versionOrAlias,
        candidate,
        refresh,
        KafkaConnectors.source(scoringSource(spec)),
        KafkaConnectors.deadLetterSink(
            kafka,
            deadLetterTopicOf(predictionsTopic),
            in.deadLettersExactlyOnce(),
            transactionalIds + "-dead-letters"),
        KafkaConnectors.predictionSink(kafka, predictionsTopic, exactlyOnce, transactionalIds));
  }

  /**
   * Predictions may not go to the topic the job reads (they would come back as records to score) or
   * to the training job's own topics.
   */
  public static void checkPredictionsTopic(PipelineSpec spec, String predictionsTopic) {
    PipelineSpec.Source in = spec.source();
    List<String> pipelineTopics =
        new ArrayList<>(List.of(in.topic(), in.deadLetterTopic(), in.metricsTopic()));
    if (in.labelsFollow()) {
      pipelineTopics.add(in.labels().topic());
    }
    for (String taken : pipelineTopics) {
      if (taken.equals(predictionsTopic)) {
        throw new IllegalArgumentException(
            "--output-topic "
                + predictionsTopic
                + " is one of the pipeline's own topics (source.topic "
                + in.topic()
                + " and its dead-letter, metrics and labels topics); predictions need a topic of"
                + " their own, e.g. "
                + defaultPredictionsTopic(spec));
      }
    }
  }

  /**
   * The spec's source read as a consumer group of its own, {@code <source.group-id>-scoring}, with
   * its labels topic where it has one (to judge the predictions made without a label).
   */
  public static PipelineSpec.Source scoringSource(PipelineSpec spec) {
    PipelineSpec.Source in = spec.source();
    return new PipelineSpec.Source(
        in.bootstrapServers(),
        in.topic(),
        in.groupId() + "-scoring",
        in.startingOffsets(),
        in.bounded(),
        in.deadLetterTopic(),
        in.metricsTopic(),
        in.maxOutOfOrderness(),
        in.idleTimeout(),
        in.maxRecordBytes(),
        in.unknownFields(),
        in.recordSchema(),
        in.labels(),
        in.kafka(),
        in.deadLetterDelivery());
  }

  /** Where predictions go unless told: {@code <source.topic>.predictions}. */
  public static String defaultPredictionsTopic(PipelineSpec spec) {
    return spec.source().topic() + ".predictions";
  }

  /** Where the scoring job's refusals go: {@code <predictions topic>.dead-letter}. */
  public static String deadLetterTopicOf(String predictionsTopic) {
    return predictionsTopic + ".dead-letter";
  }

  @Override
  public void addTo(StreamExecutionEnvironment env) {
    FlinkJob.configure(env, spec.checkpoint());
    SingleOutputStreamOperator<ScoredEvent> scored =
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "read-events")
            .uid("read-events")
            .process(
                new ScoreEvents(spec, models, model, versionOrAlias, candidate, refresh),
                TypeInformation.of(ScoredEvent.class))
            .name("score-events")
            .uid("score-events");
    scored.sinkTo(predictions).name("predictions").uid("predictions");
    scored
        .getSideOutput(DecodeEvents.REFUSED)
        .sinkTo(deadLetters)
        .name("dead-letters")
        .uid("dead-letters");
    if (spec.source().labelsFollow()) {
      judgeWithLaterLabels(scored);
    }
  }

  /**
   * Predictions made without a label meet the labels that follow on the labels topic, keyed by
   * event id, so the job's accuracy covers them ({@link JudgePredictions}); event time is the
   * events' and the labels' own, as in the training job.
   */
  private void judgeWithLaterLabels(SingleOutputStreamOperator<ScoredEvent> scored) {
    WatermarkStrategy<ScoredEvent> eventTime =
        WatermarkStrategy.<ScoredEvent>forBoundedOutOfOrderness(spec.source().maxOutOfOrderness())
            .withTimestampAssigner((event, previous) -> event.timestamp);
    if (!spec.source().idleTimeout().isZero()) {
      eventTime = eventTime.withIdleness(spec.source().idleTimeout());
    }
    scored
        .filter(event -> event.label == null)
        .name("predictions-without-label")
        .uid("predictions-without-label")
        .union(scored.getSideOutput(ScoreEvents.LABELS))
        .assignTimestampsAndWatermarks(eventTime)
        .name("event-time")
        .uid("event-time")
        .keyBy(event -> event.id)
        .process(new JudgePredictions(spec.source()), Types.VOID)
        .name("judge-predictions")
        .uid("judge-predictions")
        .sinkTo(new DiscardingSink<>())
        .name("judged")
        .uid("judged");
  }

  @Override
  public String jobName() {
    return "streamlearn-score-" + model;
  }

  /** {@code --delivery}: true for {@code exactly-once}. */
  public static boolean delivery(String value) {
    return switch (value) {
      case "exactly-once" -> true;
      case "at-least-once" -> false;
      default ->
          throw new IllegalArgumentException(
              "--delivery " + value + ": at-least-once or exactly-once");
    };
  }

  /**
   * {@code flink run -c dev.streamlearn.jobs.ScoringJob streamlearn-job.jar --spec pipeline.yaml
   * [--model NAME] [--version latest] [--output-topic T] [--refresh 10s] [--store
   * URI|http://host:port/]}.
   */
  public static void main(String[] args) throws Exception {
    Path specFile = null;
    String model = null;
    String version = "latest";
    String outputTopic = null;
    String store = null;
    String candidate = null;
    boolean exactlyOnce = false;
    Duration refresh = DEFAULT_REFRESH;
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--spec" -> specFile = Path.of(args[i + 1]);
        case "--model" -> model = args[i + 1];
        case "--version" -> version = args[i + 1];
        case "--output-topic" -> outputTopic = args[i + 1];
        case "--store" -> store = args[i + 1];
        case "--candidate" -> candidate = args[i + 1];
        case "--delivery" -> exactlyOnce = delivery(args[i + 1]);
        case "--refresh" -> refresh = SpecLoader.parseDuration("--refresh", args[i + 1]);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    if (specFile == null || args.length % 2 != 0) {
      System.err.println(
          "usage: flink run -c dev.streamlearn.jobs.ScoringJob streamlearn-job.jar --spec"
              + " pipeline.yaml [--model NAME] [--version latest|champion|N] [--output-topic T]"
              + " [--refresh 10s] [--store URI|http://host:port/] [--candidate NAME|best]"
              + " [--delivery at-least-once|exactly-once]");
      System.exit(2);
    }
    PipelineSpec spec = SpecLoader.load(specFile);
    String predictions = outputTopic == null ? defaultPredictionsTopic(spec) : outputTopic;
    ScoringJob job =
        fromSpec(
            spec,
            store == null ? spec.store().uri() : store,
            model == null ? spec.name() : model,
            version,
            candidate,
            refresh,
            predictions,
            exactlyOnce);
    KafkaEndpoint.of(spec.source())
        .createMissing(List.of(predictions, deadLetterTopicOf(predictions)));
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    job.addTo(env);
    env.execute(job.jobName());
  }
}
