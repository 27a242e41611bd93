package dev.streamlearn.operators;

import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.core.serve.EventScorer;
import dev.streamlearn.core.serve.ScoredEvent;
import dev.streamlearn.core.serve.Served;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.schemas.codec.AvroCodec;
import dev.streamlearn.store.VersionSource;
import java.io.IOException;
import java.time.Duration;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scores each record of a pipeline's topic with a model version from the store: a fixed version, or
 * the version an alias points at, looked up again every {@code refresh} (on the next record after
 * that long; {@link Duration#ZERO}: at every record), so a newly published or promoted version
 * takes over without a restart. Bytes that are not an event, and events the version cannot read, go
 * to {@link DecodeEvents#REFUSED} with their reason. With {@code source.labels}, the labels topic's
 * records go to {@link #LABELS}, to judge the predictions made earlier ({@link JudgePredictions}).
 */
public final class ScoreEvents extends ProcessFunctionWithCounters<SourceRecord, ScoredEvent> {

  public static final String STAGE_SCORE = "score";

  /** Labels of events scored without one, from the pipeline's labels topic. */
  public static final OutputTag<ScoredEvent> LABELS = new OutputTag<>("labels") {};

  private static final Logger LOG = LoggerFactory.getLogger(ScoreEvents.class);

  private final PipelineSpec spec;
  private final String models;
  private final String model;
  private final String versionOrAlias;
  private final String candidate;
  private final long refreshNanos;
  private transient Served served;
  private transient EventScorer scorer;
  private transient long lastLook;
  private transient Counter read;
  private transient Counter scored;
  private transient Counter withLabel;
  private transient Counter right;
  private transient RegressionErrors errors;
  private transient Counter swapped;
  private transient Counter deadLettered;
  private transient Histogram latency;
  private transient String labelsTopic;
  private transient Counter labelsRead;
  private transient Counter labelsUnmatched;

  /**
   * @param spec the pipeline whose topic is read (its source section)
   * @param models where the model's versions are: a store's URI, or a store server's {@code
   *     http://host:port/} ({@link VersionSource#open})
   * @param model the model to score with; for a pipeline of segments, its name scores each event
   *     with its segment's model
   * @param versionOrAlias a version number, or an alias followed as it moves
   * @param candidate where the pipeline's segments have hyper-parameter candidates, the one to
   *     score with; else null
   */
  public ScoreEvents(
      PipelineSpec spec,
      String models,
      String model,
      String versionOrAlias,
      String candidate,
      Duration refresh) {
    this.spec = spec;
    this.models = models;
    this.model = model;
    this.versionOrAlias = versionOrAlias;
    this.candidate = candidate;
    this.refreshNanos = refresh.toNanos();
  }

  @Override
  public void open(OpenContext openContext) throws IOException {
    served = Served.open(VersionSource.open(models), spec, model, versionOrAlias, candidate);
    LOG.info("Scoring with {}", served);
    scorer = new EventScorer(spec);
    lastLook = System.nanoTime();
    MetricGroup metrics = getRuntimeContext().getMetricGroup();
    read = counters.counter(metrics, PipelineCounters.SCORING_READ);
    scored = counters.counter(metrics, PipelineCounters.SCORED);
    withLabel = counters.counter(metrics, PipelineCounters.SCORED_WITH_LABEL);
    right = counters.counter(metrics, PipelineCounters.PREDICTED_RIGHT);
    errors = new RegressionErrors(metrics);
    swapped = counters.counter(metrics, PipelineCounters.VERSIONS_SWAPPED);
    deadLettered = counters.counter(metrics, PipelineCounters.SCORING_DEAD_LETTERED);
    labelsTopic = spec.source().labelsFollow() ? spec.source().labels().topic() : null;
    labelsRead = counters.counter(metrics, PipelineCounters.SCORING_LABELS_READ);
    labelsUnmatched = counters.counter(metrics, PipelineCounters.SCORING_LABELS_UNMATCHED);
    latency =
        metrics
            .addGroup(PipelineCounters.GROUP)
            .histogram(
                PipelineCounters.SCORING_LATENCY, new DescriptiveStatisticsHistogram(100_000));
  }

  @Override
  public void processElement(SourceRecord record, Context context, Collector<ScoredEvent> out) {
    if (labelsTopic != null && labelsTopic.equals(record.topic)) {
      labelsRead.inc();
      try {
        context.output(LABELS, scorer.label(record.value));
      } catch (AvroCodec.DecodeException e) {
        labelsUnmatched.inc(); // the training job dead-letters it, with the reason
      }
      return;
    }
    read.inc();
    if (System.nanoTime() - lastLook >= refreshNanos) {
      lookForANewVersion();
    }
    try {
      ScoredEvent event =
          scorer.score(record.value, record.partition, record.offset, record.timestamp, served);
      scored.inc();
      latency.update(event.scoredAt - record.timestamp);
      if (event.hasLabelItCouldPredict()) {
        withLabel.inc();
        if (event.predictedItsLabel()) {
          right.inc();
        }
        errors.judge(event, event.label);
      }
      out.collect(event);
    } catch (AvroCodec.DecodeException e) {
      refuse(context, record, DecodeEvents.STAGE_DECODE, e.getMessage());
    } catch (ExampleExtractor.RefusedException e) {
      refuse(context, record, STAGE_SCORE, e.getMessage());
    }
  }

  private void lookForANewVersion() {
    lastLook = System.nanoTime();
    try {
      if (served.refresh()) {
        swapped.inc();
        LOG.info("Scoring with {}", served);
      }
    } catch (IOException | RuntimeException e) {
      // The store may be out of reach for a moment: the version in hand goes on scoring.
      LOG.warn("Could not look for a new version of {}; scoring on with {}", model, served, e);
    }
  }

  private void refuse(Context context, SourceRecord record, String stage, String reason) {
    deadLettered.inc();
    context.output(DecodeEvents.REFUSED, Refusal.of(record, stage, reason, scorer.lastId()));
  }
}
