package dev.streamlearn.jobs;

import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.ModelRouter;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.core.train.CandidatePruning;
import dev.streamlearn.core.train.ModelSnapshot;
import dev.streamlearn.core.train.WindowReport;
import dev.streamlearn.operators.CopyForCandidates;
import dev.streamlearn.operators.CopyForRemainingCandidates;
import dev.streamlearn.operators.DecodeEvents;
import dev.streamlearn.operators.DeduplicateEvents;
import dev.streamlearn.operators.ExampleSerializer;
import dev.streamlearn.operators.JoinLabels;
import dev.streamlearn.operators.PruneCandidates;
import dev.streamlearn.operators.PublishModel;
import dev.streamlearn.operators.RecordPruningInStore;
import dev.streamlearn.operators.Refusal;
import dev.streamlearn.operators.SourceRecord;
import dev.streamlearn.operators.TrainModel;
import dev.streamlearn.operators.TrainModelOperator;
import dev.streamlearn.store.ModelStores;
import java.nio.file.Path;
import java.util.List;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamUtils;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The pipeline, assembled from its spec: source, decode and clean, deduplicate, train and validate,
 * publish. It takes its source and sinks as arguments, so tests run exactly what {@link #main} runs
 * with other ends plugged in.
 */
public final class StreamLearnJob implements FlinkJob {

  private final PipelineSpec spec;
  private final Source<SourceRecord, ?, ?> source;
  private final Sink<Refusal> deadLetters;
  private final Sink<ModelSnapshot> models;
  private final Sink<WindowReport> windowMetrics;

  /** The window reports read back, for candidate pruning; null: none (no pruning). */
  private Source<WindowReport, ?, ?> windowReports;

  public StreamLearnJob(
      PipelineSpec spec,
      Source<SourceRecord, ?, ?> source,
      Sink<Refusal> deadLetters,
      Sink<ModelSnapshot> models,
      Sink<WindowReport> windowMetrics) {
    this.spec = spec;
    this.source = source;
    this.deadLetters = deadLetters;
    this.models = models;
    this.windowMetrics = windowMetrics;
  }

  /**
   * The job reading the spec's Kafka topic and publishing to the spec's store; with {@code
   * pruning}, reading its window reports back from the metrics topic.
   */
  public static StreamLearnJob fromSpec(PipelineSpec spec) {
    StreamLearnJob job =
        new StreamLearnJob(
            spec,
            KafkaConnectors.source(spec.source()),
            KafkaConnectors.deadLetterSink(spec.source()),
            new PublishModel(spec.store().uri(), !spec.checkpoint().interval().isZero())
                .keepNewest(spec.store().keep()),
            KafkaConnectors.metricsSink(spec.source()));
    if (spec.pruning().enabled()) {
      job.withWindowReportsFrom(
          KafkaConnectors.windowReportsSource(spec.source(), System.currentTimeMillis()));
    }
    return job;
  }

  /**
   * Where candidate pruning reads the window reports back from: the records the window metrics sink
   * wrote, e.g. the metrics topic.
   */
  public StreamLearnJob withWindowReportsFrom(Source<WindowReport, ?, ?> reports) {
    this.windowReports = reports;
    return this;
  }

  /** Adds the pipeline's operators to {@code env} and sets its checkpointing. */
  @Override
  public void addTo(StreamExecutionEnvironment env) {
    FlinkJob.configure(env, spec.checkpoint());
    DataStream<SourceRecord> records =
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "read-events").uid("read-events");

    SingleOutputStreamOperator<Example> examples =
        records
            .process(new DecodeEvents(spec), ExampleSerializer.TYPE)
            .name("decode-events")
            .uid("decode-events");
    // Exactly once, the refusals of decoding and of the label join go to one sink: two writing in
    // transactions to the same topic under one name would fence each other.
    boolean oneDeadLetterSink = spec.source().deadLettersExactlyOnce();
    DataStream<Refusal> refusals = examples.getSideOutput(DecodeEvents.REFUSED);
    if (!oneDeadLetterSink) {
      refusals.sinkTo(deadLetters).name("dead-letters").uid("dead-letters");
    }

    WatermarkStrategy<Example> eventTime =
        WatermarkStrategy.<Example>forBoundedOutOfOrderness(spec.source().maxOutOfOrderness())
            .withTimestampAssigner((example, previous) -> example.timestamp);
    if (!spec.source().idleTimeout().isZero()) {
      // A decoding subtask without events for this long holds the watermark back no more.
      eventTime = eventTime.withIdleness(spec.source().idleTimeout());
    }
    DataStream<Example> timed =
        examples.assignTimestampsAndWatermarks(eventTime).name("event-time").uid("event-time");

    // With one subtask every event id belongs to it already: deduplication then runs in the
    // decoding thread, without a shuffle that would serialize every example once more.
    boolean single = env.getParallelism() == 1;
    DataStream<Example> unique = timed;
    if (spec.dedup().enabled()) {
      KeyedStream<Example, String> byId =
          single
              ? DataStreamUtils.reinterpretAsKeyedStream(timed, example -> example.id, Types.STRING)
              : timed.keyBy(example -> example.id);
      unique =
          byId.process(new DeduplicateEvents(spec.dedup().ttl()), ExampleSerializer.TYPE)
              .name("deduplicate-events")
              .uid("deduplicate-events");
    }

    // Events sent without a label wait for it, keyed by id: after deduplication the stream is
    // partitioned by id already, so the join needs no second shuffle.
    if (spec.source().labelsFollow()) {
      KeyedStream<Example, String> byId =
          single || spec.dedup().enabled()
              ? DataStreamUtils.reinterpretAsKeyedStream(
                  unique, example -> example.id, Types.STRING)
              : unique.keyBy(example -> example.id);
      SingleOutputStreamOperator<Example> labeled =
          byId.process(new JoinLabels(spec.source()), ExampleSerializer.TYPE)
              .name("join-labels")
              .uid("join-labels");
      if (oneDeadLetterSink) {
        refusals = refusals.union(labeled.getSideOutput(JoinLabels.REFUSED));
      } else {
        // A sink of its own rather than a union with the decoder's: each chains to its operator.
        labeled
            .getSideOutput(JoinLabels.REFUSED)
            .sinkTo(deadLetters)
            .name("join-dead-letters")
            .uid("join-dead-letters");
      }
      unique = labeled;
    }
    if (oneDeadLetterSink) {
      refusals.sinkTo(deadLetters).name("dead-letters").uid("dead-letters");
    }

    // One model, one per segment, or one per hyper-parameter candidate (every event copied to
    // each): each key is a model, trained by one subtask. With several subtasks a trainer's events
    // come from several decoding subtasks, interleaved anyhow: only the watermark (the smallest of
    // theirs) says when a validation window is complete, so every candidate's windows hold the
    // same held-out events.
    ModelRouter router = new ModelRouter(spec);
    DataStream<Example> routed = unique;
    if (spec.pruning().enabled()) {
      routed =
          unique
              .connect(candidatesPruned(env).broadcast())
              .transform(
                  "copy-for-remaining-candidates",
                  ExampleSerializer.TYPE,
                  new CopyForRemainingCandidates.EventTimeOperator(router))
              .uid("copy-for-remaining-candidates");
    } else if (spec.hasCandidates()) {
      routed =
          unique
              .flatMap(new CopyForCandidates(router.copiesPerEvent()), ExampleSerializer.TYPE)
              .name("copy-for-candidates")
              .uid("copy-for-candidates");
    }
    SingleOutputStreamOperator<ModelSnapshot> versions =
        (single
                ? DataStreamUtils.reinterpretAsKeyedStream(routed, router::modelOf, Types.STRING)
                : routed.keyBy(router::modelOf))
            .transform(
                "train-model",
                org.apache.flink.api.common.typeinfo.TypeInformation.of(ModelSnapshot.class),
                new TrainModelOperator(new TrainModel(spec).closeWindowsOnWatermarkOnly(!single)))
            .uid("train-model");
    versions.sinkTo(models).name("publish-model").uid("publish-model");
    versions
        .getSideOutput(TrainModel.WINDOWS)
        .sinkTo(windowMetrics)
        .name("window-metrics")
        .uid("window-metrics");
  }

  /**
   * Candidate pruning's decisions: the window reports read back (the trainers' own, through the
   * metrics topic: Flink has no loops), keyed by the model whose candidates compete. Each decision
   * is recorded in the store beside the pruned candidate's versions, too.
   */
  private DataStream<CandidatePruning.Pruned> candidatesPruned(StreamExecutionEnvironment env) {
    if (windowReports == null) {
      throw new IllegalStateException(
          "pruning: the job reads no window reports back (withWindowReportsFrom)");
    }
    PruneCandidates prune = new PruneCandidates(spec);
    DataStream<CandidatePruning.Pruned> decisions =
        env.fromSource(windowReports, WatermarkStrategy.noWatermarks(), "read-window-reports")
            .uid("read-window-reports")
            .keyBy(prune.byCompetition())
            .process(prune)
            .name("prune-candidates")
            .uid("prune-candidates");
    String store = spec.store().uri();
    decisions
        .sinkTo(new RecordPruningInStore(() -> ModelStores.open(store)))
        .name("record-pruning-in-store")
        .uid("record-pruning-in-store");
    return decisions;
  }

  @Override
  public String jobName() {
    return "streamlearn-" + spec.name();
  }

  /** {@code flink run streamlearn-job.jar --spec pipeline.yaml}. */
  public static void main(String[] args) throws Exception {
    Path specFile = null;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--spec") && i + 1 < args.length) {
        specFile = Path.of(args[++i]);
      }
    }
    if (specFile == null) {
      System.err.println("usage: flink run streamlearn-job.jar --spec pipeline.yaml");
      System.exit(2);
    }
    PipelineSpec spec = SpecLoader.load(specFile);
    StreamLearnJob job = fromSpec(spec);
    KafkaEndpoint.of(spec.source())
        .createMissing(List.of(spec.source().deadLetterTopic(), spec.source().metricsTopic()));
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    job.addTo(env);
    env.execute(job.jobName());
  }
}
