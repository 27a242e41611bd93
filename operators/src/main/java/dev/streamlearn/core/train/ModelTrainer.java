package dev.streamlearn.core.train;

import dev.streamlearn.core.backend.Backend;
import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.features.Featurizer;
import dev.streamlearn.core.metrics.BinaryMetrics;
import dev.streamlearn.core.model.LogisticRegression;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.schemas.LabeledEvent;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ManifestJson;
import dev.streamlearn.store.Safetensors;
import dev.streamlearn.store.Tensor;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.SchemaNormalization;

/**
 * Learns one model from a stream of examples, Flink-free: held-out examples are scored and kept for
 * validation, never learned from; training examples fill a mini-batch that becomes one SGD step on
 * the backend. Every {@code publish.everyEvents} trained examples a version is cut: validated on
 * the held-out window and described by a manifest with its metrics and lineage. All mutable data
 * lives in the {@link TrainerState} passed in, so the caller decides where it is kept.
 */
public final class ModelTrainer {

  /** What became of an offered example. */
  public enum Outcome {
    TRAINED,
    HELD_OUT
  }

  private final PipelineSpec spec;
  private final Backend backend;
  private final Featurizer featurizer;
  private final LogisticRegression model;
  private final HoldoutSplit holdout;
  private final int batchSize;
  private final int dimension;
  private final int windowCapacity;
  private final int[] buckets;
  private final float[] one;
  private final float[] score = new float[1];

  public ModelTrainer(PipelineSpec spec, Backend backend) {
    this.spec = spec;
    this.backend = backend;
    this.featurizer = new Featurizer(spec.features());
    this.batchSize = spec.training().batchSize();
    this.dimension = featurizer.dimension();
    this.windowCapacity = spec.validation().windowEvents();
    this.model = new LogisticRegression(dimension, Math.max(batchSize, windowCapacity));
    this.holdout = new HoldoutSplit(spec.holdout().fraction());
    this.buckets = new int[featurizer.categoricalCount()];
    this.one = new float[dimension];
  }

  public Featurizer featurizer() {
    return featurizer;
  }

  public TrainerState newState() {
    TrainerState state = new TrainerState();
    state.params = model.initialParameters();
    state.featurizer = featurizer.newState();
    state.batchX = new float[batchSize * dimension];
    state.batchY = new float[batchSize];
    state.batchWeight = new float[batchSize];
    state.heldNumeric = new double[windowCapacity * featurizer.numericCount()];
    state.heldBuckets = new int[windowCapacity * featurizer.categoricalCount()];
    state.heldLabel = new float[windowCapacity];
    state.offsetFrom = new long[0];
    state.offsetTo = new long[0];
    return state;
  }

  /** Holds the example out or adds it to the mini-batch, stepping when the batch is full. */
  public Outcome offer(TrainerState state, Example example) {
    featurizer.bucketsOf(example.categorical, buckets);
    if (holdout.isHeldOut(example.id)) {
      scoreHeldOut(state, example);
      keepForValidation(state, example);
      state.heldOutTotal++;
      state.heldOutSinceVersion++;
      return Outcome.HELD_OUT;
    }
    featurizer.transform(
        state.featurizer, example.numeric, buckets, state.batchX, state.batchRows * dimension);
    featurizer.learn(state.featurizer, example.numeric);
    state.batchY[state.batchRows] = (float) example.label;
    state.batchWeight[state.batchRows] = example.weight;
    state.batchRows++;
    state.trainedTotal++;
    state.trainedSinceVersion++;
    recordLineage(state, example);
    if (state.batchRows == batchSize) {
      step(state);
    }
    return Outcome.TRAINED;
  }

  /** True at a batch boundary once enough examples were trained since the last version. */
  public boolean versionDue(TrainerState state) {
    return state.batchRows == 0 && state.trainedSinceVersion >= spec.publish().everyEvents();
  }

  /** End of input: trains the open batch and cuts a last version if anything happened since. */
  public ModelSnapshot finish(TrainerState state, String topic) {
    if (state.batchRows > 0) {
      step(state);
    }
    if (state.trainedSinceVersion == 0 && state.heldOutSinceVersion == 0) {
      return null;
    }
    return cutVersion(state, topic);
  }

  /** Validates the current parameters on the held-out window and describes them as a version. */
  public ModelSnapshot cutVersion(TrainerState state, String topic) {
    long version = state.version + 1;
    Map<String, Map<String, Double>> metrics = new LinkedHashMap<>();
    metrics.put("window", validate(state));
    metrics.put("sinceStart", sinceStart(state));
    Manifest manifest =
        new Manifest(
            Manifest.FORMAT_VERSION,
            spec.name(),
            version,
            state.version == 0 ? null : state.version,
            Instant.now().toString(),
            spec.label().task(),
            spec.label().classes().isEmpty() ? List.of("0", "1") : spec.label().classes(),
            featurizer.featureNames(),
            spec.specHash(),
            inputSchemaFingerprint(),
            backend.name(),
            backend.precision(),
            metrics,
            lineage(state, topic),
            null,
            null);
    ModelSnapshot snapshot = new ModelSnapshot();
    snapshot.model = spec.name();
    snapshot.version = version;
    snapshot.manifestJson = ManifestJson.write(manifest);
    snapshot.parameters = parameters(state.params);
    snapshot.featurizerJson = featurizer.toJson(state.featurizer);

    state.version = version;
    state.trainedSinceVersion = 0;
    state.heldOutSinceVersion = 0;
    Arrays.fill(state.offsetFrom, -1);
    Arrays.fill(state.offsetTo, -1);
    state.eventTimeFrom = Long.MAX_VALUE;
    state.eventTimeTo = Long.MIN_VALUE;
    return snapshot;
  }

  /** Metrics of the current parameters on the held-out window. */
  public Map<String, Double> validate(TrainerState state) {
    int count = state.heldCount;
    float[] x = new float[Math.max(1, count) * dimension];
    int numeric = featurizer.numericCount();
    int categorical = featurizer.categoricalCount();
    double[] rowNumeric = new double[numeric];
    int[] rowBuckets = new int[categorical];
    for (int r = 0; r < count; r++) {
      System.arraycopy(state.heldNumeric, r * numeric, rowNumeric, 0, numeric);
      System.arraycopy(state.heldBuckets, r * categorical, rowBuckets, 0, categorical);
      featurizer.transform(state.featurizer, rowNumeric, rowBuckets, x, r * dimension);
    }
    float[] probability = new float[Math.max(1, count)];
    if (count > 0) {
      model.predict(backend, state.params, x, count, probability);
    }
    return BinaryMetrics.of(probability, state.heldLabel, count);
  }

  private void step(TrainerState state) {
    model.step(
        backend,
        state.params,
        state.batchX,
        state.batchY,
        state.batchWeight,
        state.batchRows,
        spec.training().learningRate(),
        spec.training().l2());
    state.batchRows = 0;
    state.steps++;
  }

  private void scoreHeldOut(TrainerState state, Example example) {
    featurizer.transform(state.featurizer, example.numeric, buckets, one, 0);
    model.predict(backend, state.params, one, 1, score);
    double p = Math.min(1 - 1e-7, Math.max(1e-7, score[0]));
    boolean positive = example.label > 0.5;
    if ((p >= 0.5) == positive) {
      state.heldOutCorrectTotal++;
    }
    state.heldOutLogLossTotal -= positive ? Math.log(p) : Math.log(1 - p);
  }

  private void keepForValidation(TrainerState state, Example example) {
    if (windowCapacity == 0) {
      return;
    }
    int slot = state.heldNext;
    int numeric = featurizer.numericCount();
    int categorical = featurizer.categoricalCount();
    System.arraycopy(example.numeric, 0, state.heldNumeric, slot * numeric, numeric);
    System.arraycopy(buckets, 0, state.heldBuckets, slot * categorical, categorical);
    state.heldLabel[slot] = (float) example.label;
    state.heldNext = (slot + 1) % windowCapacity;
    state.heldCount = Math.min(windowCapacity, state.heldCount + 1);
  }

  private static void recordLineage(TrainerState state, Example example) {
    int partition = example.partition;
    if (partition >= state.offsetFrom.length) {
      int size = partition + 1;
      long[] from = Arrays.copyOf(state.offsetFrom, size);
      long[] to = Arrays.copyOf(state.offsetTo, size);
      Arrays.fill(from, state.offsetFrom.length, size, -1);
      Arrays.fill(to, state.offsetTo.length, size, -1);
      state.offsetFrom = from;
      state.offsetTo = to;
    }
    if (state.offsetFrom[partition] < 0 || example.offset < state.offsetFrom[partition]) {
      state.offsetFrom[partition] = example.offset;
    }
    state.offsetTo[partition] = Math.max(state.offsetTo[partition], example.offset);
    state.eventTimeFrom = Math.min(state.eventTimeFrom, example.timestamp);
    state.eventTimeTo = Math.max(state.eventTimeTo, example.timestamp);
  }

  private Manifest.Lineage lineage(TrainerState state, String topic) {
    List<Manifest.OffsetRange> ranges = new ArrayList<>();
    for (int p = 0; p < state.offsetFrom.length; p++) {
      if (state.offsetFrom[p] >= 0) {
        ranges.add(new Manifest.OffsetRange(p, state.offsetFrom[p], state.offsetTo[p]));
      }
    }
    boolean any = state.eventTimeFrom != Long.MAX_VALUE;
    return new Manifest.Lineage(
        topic,
        ranges,
        any ? state.eventTimeFrom : null,
        any ? state.eventTimeTo : null,
        state.trainedSinceVersion,
        state.heldOutSinceVersion,
        state.trainedTotal,
        state.heldOutTotal);
  }

  private static Map<String, Double> sinceStart(TrainerState state) {
    Map<String, Double> metrics = new LinkedHashMap<>();
    metrics.put("count", (double) state.heldOutTotal);
    if (state.heldOutTotal > 0) {
      metrics.put("accuracy", state.heldOutCorrectTotal / (double) state.heldOutTotal);
      metrics.put("logLoss", state.heldOutLogLossTotal / state.heldOutTotal);
    }
    metrics.put("trained", (double) state.trainedTotal);
    return metrics;
  }

  private byte[] parameters(float[] params) {
    float[] weights = Arrays.copyOf(params, dimension);
    float[] bias = {params[dimension]};
    return Safetensors.encode(
        List.of(
            new Tensor("weight", new long[] {dimension}, weights),
            new Tensor("bias", new long[] {1}, bias)),
        Map.of("model", spec.model().type(), "task", spec.label().task()));
  }

  static String inputSchemaFingerprint() {
    return String.format(
        "%016x", SchemaNormalization.parsingFingerprint64(LabeledEvent.getClassSchema()));
  }
}
