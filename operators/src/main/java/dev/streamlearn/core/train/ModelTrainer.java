package dev.streamlearn.core.train;

import dev.streamlearn.core.backend.Backend;
import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.features.Featurizer;
import dev.streamlearn.core.metrics.BinaryMetrics;
import dev.streamlearn.core.metrics.MulticlassMetrics;
import dev.streamlearn.core.metrics.RegressionMetrics;
import dev.streamlearn.core.model.Activation;
import dev.streamlearn.core.model.Loss;
import dev.streamlearn.core.model.Network;
import dev.streamlearn.core.model.NetworkShape;
import dev.streamlearn.core.model.SplitMix64;
import dev.streamlearn.core.optim.Optimizer;
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
 * validation, never learned from; training examples fill a mini-batch that becomes one optimizer
 * step of the network on the backend. Every {@code publish.everyEvents} trained examples a version
 * is cut: validated on the held-out window and described by a manifest with its metrics and
 * lineage. All mutable data lives in the {@link TrainerState} passed in, so the caller decides
 * where it is kept.
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
  private final NetworkShape shape;
  private final Network network;
  private final Optimizer optimizer;
  private final HoldoutSplit holdout;
  private final String task;
  private final boolean regression;
  private final int batchSize;
  private final int dimension;
  private final int outputs;
  private final int windowCapacity;
  private final int[] buckets;
  private final float[] one;
  private final float[] score;
  private final float[] gradient;

  public ModelTrainer(PipelineSpec spec, Backend backend) {
    this.spec = spec;
    this.backend = backend;
    this.featurizer = new Featurizer(spec.features());
    this.task = spec.label().task();
    this.regression = task.equals("regression");
    this.batchSize = spec.training().batchSize();
    this.dimension = featurizer.dimension();
    this.windowCapacity = spec.validation().windowEvents();
    this.shape = shapeFor(spec, dimension);
    this.outputs = shape.outputs();
    this.network = new Network(shape, backend, Math.max(1, Math.max(batchSize, windowCapacity)));
    this.optimizer = new Optimizer(spec.training().optimizer(), shape.weightMask());
    this.holdout = new HoldoutSplit(spec.holdout().fraction());
    this.buckets = new int[featurizer.categoricalCount()];
    this.one = new float[dimension];
    this.score = new float[outputs];
    this.gradient = new float[shape.parameterCount()];
  }

  /** The network a spec asks for, on inputs of the featurizer's dimension. */
  public static NetworkShape shapeFor(PipelineSpec spec, int dimension) {
    PipelineSpec.Model model = spec.model();
    Loss loss =
        switch (model.loss()) {
          case "bce" -> Loss.BINARY_CROSS_ENTROPY;
          case "ce" -> Loss.CROSS_ENTROPY;
          case "huber" -> Loss.HUBER;
          default -> Loss.MSE;
        };
    int outputs = loss == Loss.CROSS_ENTROPY ? spec.label().classes().size() : 1;
    return new NetworkShape(
        dimension,
        model.hiddenLayers().stream().mapToInt(Integer::intValue).toArray(),
        Activation.valueOf(model.activation().toUpperCase()),
        model.dropout(),
        outputs,
        loss,
        model.huberDelta());
  }

  public Featurizer featurizer() {
    return featurizer;
  }

  public NetworkShape shape() {
    return shape;
  }

  public TrainerState newState() {
    TrainerState state = new TrainerState();
    state.params = shape.initialParameters(spec.training().seed());
    int slots = spec.training().optimizer().slots();
    state.moment1 = new float[slots >= 1 ? shape.parameterCount() : 0];
    state.moment2 = new float[slots >= 2 ? shape.parameterCount() : 0];
    state.randomState = spec.training().seed() * 0x9E3779B97F4A7C15L + 1;
    state.featurizer = featurizer.newState();
    state.batchX = new float[batchSize * dimension];
    state.batchY = new float[batchSize];
    state.batchWeight = new float[batchSize];
    state.heldNumeric = new double[windowCapacity * featurizer.numericCount()];
    state.heldBuckets = new int[windowCapacity * featurizer.categoricalCount()];
    state.heldLabel = new float[windowCapacity];
    state.offsetFrom = new long[0];
    state.offsetTo = new long[0];
    if (spec.model().warmStart() != null) {
      WarmStart.apply(spec, shape, featurizer, state);
    }
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
    if (regression) {
      state.batchY[state.batchRows] =
          (float) Featurizer.scaleTarget(state.featurizer, example.label);
      Featurizer.learnTarget(state.featurizer, example.label);
    } else {
      state.batchY[state.batchRows] = (float) example.label;
    }
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

  /** Trains the open batch now, full or not (the batch's maximum delay passed). */
  public void closeBatch(TrainerState state) {
    if (state.batchRows > 0) {
      step(state);
    }
  }

  /** True at a batch boundary once enough examples were trained since the last version. */
  public boolean versionDue(TrainerState state) {
    return state.batchRows == 0 && state.trainedSinceVersion >= spec.publish().everyEvents();
  }

  /** End of input: trains the open batch and cuts a last version if anything happened since. */
  public ModelSnapshot finish(TrainerState state, String topic) {
    closeBatch(state);
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
    metrics.put(
        "training", Map.of("lastBatchLoss", state.lastTrainingLoss, "steps", (double) state.steps));
    Manifest manifest =
        new Manifest(
            Manifest.FORMAT_VERSION,
            spec.name(),
            version,
            state.version == 0 ? null : state.version,
            Instant.now().toString(),
            task,
            classNames(),
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
    float[] predictions = new float[Math.max(1, count) * outputs];
    if (count > 0) {
      network.predict(state.params, x, count, predictions);
      if (regression) {
        for (int r = 0; r < count; r++) {
          predictions[r] = (float) Featurizer.unscaleTarget(state.featurizer, predictions[r]);
        }
      }
    }
    return switch (task) {
      case "binary" -> BinaryMetrics.of(predictions, state.heldLabel, count);
      case "multiclass" -> MulticlassMetrics.of(predictions, state.heldLabel, count, outputs);
      default -> RegressionMetrics.of(predictions, state.heldLabel, count);
    };
  }

  /** Predictions for raw rows, for tests and serving checks: see {@link Network#predict}. */
  public void predict(TrainerState state, Example example, float[] out) {
    featurizer.bucketsOf(example.categorical, buckets);
    featurizer.transform(state.featurizer, example.numeric, buckets, one, 0);
    network.predict(state.params, one, 1, out);
    if (regression) {
      out[0] = (float) Featurizer.unscaleTarget(state.featurizer, out[0]);
    }
  }

  private void step(TrainerState state) {
    SplitMix64 random = new SplitMix64(state.randomState);
    state.lastTrainingLoss =
        network.lossAndGradient(
            state.params,
            state.batchX,
            state.batchY,
            state.batchWeight,
            state.batchRows,
            random,
            gradient);
    state.randomState = random.state();
    state.steps++;
    optimizer.apply(
        state.params,
        gradient,
        new float[][] {state.moment1, state.moment2},
        state.steps,
        spec.training().schedule().rate(state.steps));
    state.batchRows = 0;
  }

  private void scoreHeldOut(TrainerState state, Example example) {
    featurizer.transform(state.featurizer, example.numeric, buckets, one, 0);
    network.predict(state.params, one, 1, score);
    switch (task) {
      case "binary" -> {
        double p = Math.min(1 - 1e-7, Math.max(1e-7, score[0]));
        boolean positive = example.label > 0.5;
        if ((p >= 0.5) == positive) {
          state.heldOutCorrectTotal++;
        }
        state.heldOutLogLossTotal -= positive ? Math.log(p) : Math.log(1 - p);
      }
      case "multiclass" -> {
        int truth = (int) example.label;
        int best = 0;
        for (int j = 1; j < outputs; j++) {
          if (score[j] > score[best]) {
            best = j;
          }
        }
        if (best == truth) {
          state.heldOutCorrectTotal++;
        }
        state.heldOutLogLossTotal -= Math.log(Math.max(1e-7, score[truth]));
      }
      default -> {
        double residual = Featurizer.unscaleTarget(state.featurizer, score[0]) - example.label;
        state.heldOutSquaredErrorTotal += residual * residual;
        state.heldOutAbsoluteErrorTotal += Math.abs(residual);
      }
    }
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

  private Map<String, Double> sinceStart(TrainerState state) {
    Map<String, Double> metrics = new LinkedHashMap<>();
    long count = state.heldOutTotal;
    metrics.put("count", (double) count);
    if (count > 0) {
      if (task.equals("regression")) {
        metrics.put("mse", state.heldOutSquaredErrorTotal / count);
        metrics.put("mae", state.heldOutAbsoluteErrorTotal / count);
      } else {
        metrics.put("accuracy", state.heldOutCorrectTotal / (double) count);
        metrics.put("logLoss", state.heldOutLogLossTotal / count);
      }
    }
    metrics.put("trained", (double) state.trainedTotal);
    return metrics;
  }

  private List<String> classNames() {
    if (task.equals("regression")) {
      return List.of();
    }
    return spec.label().classes().isEmpty() ? List.of("0", "1") : spec.label().classes();
  }

  private byte[] parameters(float[] params) {
    List<Tensor> tensors = new ArrayList<>();
    for (NetworkShape.TensorSlot slot : shape.tensors()) {
      tensors.add(
          new Tensor(
              slot.name(),
              slot.shape(),
              Arrays.copyOfRange(params, slot.offset(), slot.offset() + slot.size())));
    }
    Map<String, String> metadata = new LinkedHashMap<>();
    metadata.put("model", spec.model().type());
    metadata.put("task", task);
    metadata.put("hidden", spec.model().hiddenLayers().toString());
    metadata.put("activation", spec.model().activation());
    metadata.put("loss", spec.model().loss());
    metadata.put("layout", "layers.<l>.weight is [in, out]: y = x W + b");
    return Safetensors.encode(tensors, metadata);
  }

  static String inputSchemaFingerprint() {
    return String.format(
        "%016x", SchemaNormalization.parsingFingerprint64(LabeledEvent.getClassSchema()));
  }
}
