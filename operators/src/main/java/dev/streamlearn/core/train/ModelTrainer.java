package dev.streamlearn.core.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.streamlearn.core.backend.Backend;
import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.ModelRouter;
import dev.streamlearn.core.data.RecordEventDecoder;
import dev.streamlearn.core.device.DeviceOps;
import dev.streamlearn.core.device.DeviceTrainingStep;
import dev.streamlearn.core.drift.DriftDetector;
import dev.streamlearn.core.drift.DriftState;
import dev.streamlearn.core.features.Featurizer;
import dev.streamlearn.core.metrics.BinaryMetrics;
import dev.streamlearn.core.metrics.InputDrift;
import dev.streamlearn.core.metrics.MulticlassMetrics;
import dev.streamlearn.core.metrics.RegressionMetrics;
import dev.streamlearn.core.metrics.ScoreHistogram;
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
import dev.streamlearn.store.MetricDirection;
import dev.streamlearn.store.ModelStore;
import dev.streamlearn.store.ModelStores;
import dev.streamlearn.store.Safetensors;
import dev.streamlearn.store.Tensor;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.DoubleConsumer;
import org.apache.avro.Schema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Learns one model from a stream of examples, Flink-free: held-out examples are scored and kept for
 * validation, never learned from; training examples fill a mini-batch that becomes one optimizer
 * step of the network on the backend. Every {@code publish.everyEvents} trained examples a version
 * is cut: validated on the held-out window and described by a manifest with its metrics and
 * lineage. All mutable data lives in the {@link TrainerState} passed in, so the caller decides
 * where it is kept.
 */
public final class ModelTrainer {

  /**
   * At most this many validation windows are open at once; a new one beyond closes the oldest early
   * (its later events are late).
   */
  public static final int MAX_OPEN_WINDOWS = 64;

  /** What became of an offered example. */
  public enum Outcome {
    TRAINED,
    HELD_OUT
  }

  /** Where versions and window reports go. */
  public interface Output {
    void version(ModelSnapshot snapshot);

    void window(WindowReport report);
  }

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Logger LOG = LoggerFactory.getLogger(ModelTrainer.class);

  private final PipelineSpec spec;

  /** {@code input-schema.avsc} of every version: the spec's own record schema; null without. */
  private final String inputSchema;

  /** The fingerprint of what producers write: the spec's own record schema, or LabeledEvent. */
  private final String inputSchemaFingerprint;

  private final ModelRouter router;
  private final Backend backend;
  private final DeviceOps device;
  private final DeviceTrainingStep deviceStep;
  private final DeviceTrainingStep challengerDeviceStep;
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
  private final long windowMillis;
  private final String holdoutPolicy;
  private final String topic;
  private final String metric;
  private final DriftDetector drift;
  private final float[] one;
  private final float[] score;

  /** Queued events are scored together, at most this many at a time (the batch size). */
  private final int scoreBatch;

  private final float[] candidateScores;
  private final float[] championScores;
  private final float[] challengerScores;
  private final float[] gradient;
  private final long labelDelayMillis;

  /** How far out of event-time order events may arrive and still count in their own window. */
  private final long outOfOrdernessMillis;

  private final int labelDelayCapacity;
  private final Example scratch = new Example();

  /**
   * The names of the raw inputs whose drift is measured, numeric slots then text slots: a numeric
   * or categorical feature's name; null for a datetime (its time always moves) or a cross.
   */
  private final String[] inputNames;

  /** The spec's features section, hashed: a restored state must have been made with the same. */
  private final String featuresFingerprint;

  /** The store the versions go to, opened on first use: what it holds, and warm starts. */
  private ModelStore store;

  /** The models whose state this trainer has compared with what the store holds. */
  private final Set<String> checkedAgainstStore = new HashSet<>();

  public ModelTrainer(PipelineSpec spec, Backend backend) {
    this(spec, backend, null);
  }

  /**
   * A trainer whose steps run on {@code device} when it is set (see {@link DeviceTrainingStep});
   * scoring and validation stay on the CPU backend.
   */
  public ModelTrainer(PipelineSpec spec, Backend backend, DeviceOps device) {
    this.spec = spec;
    Schema recordSchema =
        spec.source().recordSchema() == null
            ? null
            : RecordEventDecoder.parse(spec.source().recordSchema());
    this.inputSchema = recordSchema == null ? null : recordSchema.toString(true);
    this.inputSchemaFingerprint =
        RecordEventDecoder.fingerprint(
            recordSchema == null ? LabeledEvent.getClassSchema() : recordSchema);
    this.router = new ModelRouter(spec);
    this.backend = backend;
    this.featurizer = new Featurizer(spec.features());
    this.task = spec.label().task();
    this.regression = task.equals("regression");
    this.batchSize = spec.training().batchSize();
    this.dimension = featurizer.dimension();
    this.windowCapacity = spec.validation().maxWindowEvents();
    this.windowMillis = Math.max(1, spec.validation().window().toMillis());
    this.holdoutPolicy = spec.holdout().policy();
    this.topic = spec.source().topic();
    this.metric = spec.validation().metric();
    PipelineSpec.Control control = spec.control();
    this.drift =
        control.driftDetector().equals("none")
            ? null
            : new DriftDetector(
                control.driftDetector(),
                control.driftDelta(),
                control.driftAlpha(),
                control.driftThreshold(),
                control.driftMinEvents());
    this.shape = shapeFor(spec, dimension);
    this.outputs = shape.outputs();
    this.network = new Network(shape, backend, Math.max(1, Math.max(batchSize, windowCapacity)));
    this.optimizer = new Optimizer(spec.training().optimizer(), shape.weightMask());
    this.holdout = new HoldoutSplit(spec.holdout().fraction());
    this.one = new float[dimension];
    this.score = new float[outputs];
    this.scoreBatch = Math.max(1, batchSize);
    this.candidateScores = new float[scoreBatch * outputs];
    this.championScores = new float[scoreBatch * outputs];
    this.challengerScores = new float[scoreBatch * outputs];
    this.gradient = new float[shape.parameterCount()];
    this.labelDelayMillis = spec.holdout().labelDelay().toMillis();
    this.outOfOrdernessMillis = spec.source().maxOutOfOrderness().toMillis();
    this.featuresFingerprint = fingerprint(spec.features().toString());
    this.inputNames = inputNames(spec);
    this.labelDelayCapacity = spec.holdout().maxPending();
    this.device = device;
    if (device != null) {
      int rows = Math.max(1, batchSize);
      this.deviceStep = new DeviceTrainingStep(shape, spec.training().optimizer(), device, rows);
      try {
        this.challengerDeviceStep =
            new DeviceTrainingStep(shape, spec.training().optimizer(), device, rows);
      } catch (RuntimeException e) {
        deviceStep.close();
        throw e;
      }
    } else {
      this.deviceStep = null;
      this.challengerDeviceStep = null;
    }
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

  /** The state of the pipeline's one model (a spec without segments). */
  public TrainerState newState() {
    return newState(spec.name(), null);
  }

  /** The state of the model that {@code first}, the first example of its model, trains. */
  public TrainerState newState(Example first) {
    TrainerState state = newState(router.modelOf(first), router.describe(first));
    Manifest.Candidate candidate = router.candidateOf(first);
    state.candidate = candidate == null ? null : candidate.name();
    return state;
  }

  private TrainerState newState(String model, Manifest.Segment segment) {
    TrainerState state = new TrainerState();
    state.model = model;
    if (segment != null) {
      state.segmentFeature = segment.feature();
      state.segmentValue = segment.value();
      state.otherSegment = segment.others();
    }
    state.featuresFingerprint = featuresFingerprint;
    state.params = shape.initialParameters(spec.training().seed());
    int slots = spec.training().optimizer().slots();
    state.moment1 = new float[slots >= 1 ? shape.parameterCount() : 0];
    state.moment2 = new float[slots >= 2 ? shape.parameterCount() : 0];
    state.randomState = spec.training().seed() * 0x9E3779B97F4A7C15L + 1;
    state.featurizer = featurizer.newState();
    state.batchX = new float[batchSize * dimension];
    state.batchY = new float[batchSize];
    state.batchWeight = new float[batchSize];
    state.batchIngest = new long[batchSize];
    // Every policy keeps each window's first events raw: for validation (hash, windows) and for
    // the input drift index (all). The rows grow with what is kept (up to
    // validation.max-window-events a window), so a checkpoint writes what the windows hold, not
    // their bound.
    state.heldNumeric = new double[0];
    state.heldCategorical = new String[0];
    state.heldLabel = new float[0];
    state.heldWindow = new long[0];
    state.offsetFrom = new long[0];
    state.offsetTo = new long[0];
    state.arrivalCandidate = new float[0];
    state.arrivalChampion = new float[0];
    state.arrivalChallenger = new float[0];
    state.arrivalLabel = new float[0];
    state.arrivalWindow = new long[0];
    state.scoreHistogram = task.equals("binary") ? ScoreHistogram.empty() : new long[0];
    state.confusion = new long[regression ? 0 : outputs == 1 ? 4 : outputs * outputs];
    state.championParams = new float[0];
    state.challengerParams = new float[0];
    state.challengerMoment1 = new float[0];
    state.challengerMoment2 = new float[0];
    state.drift = new DriftState();
    if (spec.model().warmStart() != null) {
      WarmStart.apply(spec, shape, featurizer, state, store());
    }
    state.storedBefore = StoredVersions.newest(store(), model);
    checkedAgainstStore.add(model);
    if (state.storedBefore > state.version) {
      LOG.info(
          "{} already has versions up to {} in {}: this job's versions of it begin at {}",
          model,
          state.storedBefore,
          store().location(),
          state.storedBefore + 1);
    }
    return state;
  }

  /**
   * Makes a state restored from a checkpoint (or savepoint) trainable under this trainer's spec,
   * which may differ from the spec it was made with: the training settings may change (learning
   * rate, schedule, batch size, optimizer: a new optimizer's moments start from zero), the network
   * and the features may not, and a state of another network or other features is refused with an
   * {@link IllegalStateException} that says so. The first time this trainer sees a model's state it
   * also compares it with the store: versions there that the state did not make are numbered after,
   * not over. Returns what it changed, or null when nothing.
   */
  public String resume(TrainerState state) {
    if (state.params.length != shape.parameterCount()) {
      throw new IllegalStateException(
          String.format(
              "model %s was restored from a checkpoint with %,d parameters, but the spec's network"
                  + " has %,d (model.type %s, hidden-layers %s, %d inputs): a checkpoint cannot"
                  + " continue a model whose network or features changed. Start the job without"
                  + " the checkpoint, or give the changed model another name (the spec's name,"
                  + " or the candidate's) and start from it with model.warm-start",
              modelName(state),
              state.params.length,
              shape.parameterCount(),
              spec.model().type(),
              spec.model().hiddenLayers(),
              dimension));
    }
    if (state.featuresFingerprint != null
        && !state.featuresFingerprint.equals(featuresFingerprint)) {
      throw new IllegalStateException(
          String.format(
              "model %s was restored from a checkpoint of a spec whose features differ from this"
                  + " spec's: its featurizer statistics, vocabularies and parameters belong to"
                  + " those features. Start the job without the checkpoint, or give the changed"
                  + " model another name (the spec's name, or the candidate's)",
              modelName(state)));
    }
    List<String> changed = new ArrayList<>();
    int slots = spec.training().optimizer().slots();
    int moment1 = slots >= 1 ? shape.parameterCount() : 0;
    int moment2 = slots >= 2 ? shape.parameterCount() : 0;
    if (state.moment1.length != moment1 || state.moment2.length != moment2) {
      syncFromDevice();
      state.moment1 = new float[moment1];
      state.moment2 = new float[moment2];
      state.optimizerSteps = 0;
      if (deviceStep != null) {
        deviceStep.hostChanged();
      }
      changed.add("optimizer state started anew for " + spec.training().optimizer().type());
    }
    if (state.batchY.length != batchSize) {
      int previous = state.batchY.length;
      rebatch(state);
      changed.add(String.format("batch size %d -> %d", previous, batchSize));
    }
    if (checkedAgainstStore.add(modelName(state))) {
      // After a failure the store holds at most what the restored state published. Newer versions
      // come from another job that used the store since this savepoint was taken: the state's next
      // numbers are theirs.
      long newest = StoredVersions.newest(store(), modelName(state));
      if (newest > Math.max(state.version, state.storedBefore)) {
        state.storedBefore = newest;
        changed.add(
            String.format(
                "the store holds versions up to %d that this state did not make (another job"
                    + " published them since): its versions follow them, from %d, with %s as"
                    + " parent",
                newest, newest + 1, state.version == 0 ? "no version" : "v" + state.version));
      }
    }
    return changed.isEmpty() ? null : modelName(state) + ": " + String.join("; ", changed);
  }

  /** Moves the open batch's rows into batches of this trainer's size, stepping on full ones. */
  private void rebatch(TrainerState state) {
    int rows = state.batchRows;
    float[] x = state.batchX;
    float[] y = state.batchY;
    float[] weight = state.batchWeight;
    long[] ingest = state.batchIngest;
    state.batchX = new float[batchSize * dimension];
    state.batchY = new float[batchSize];
    state.batchWeight = new float[batchSize];
    state.batchIngest = new long[batchSize];
    state.batchRows = 0;
    for (int r = 0; r < rows; r++) {
      int to = state.batchRows++;
      System.arraycopy(x, r * dimension, state.batchX, to * dimension, dimension);
      state.batchY[to] = y[r];
      state.batchWeight[to] = weight[r];
      state.batchIngest[to] = ingest[r];
      if (state.batchRows == batchSize) {
        step(state);
      }
    }
  }

  private static String fingerprint(String text) {
    try {
      byte[] digest =
          java.security.MessageDigest.getInstance("SHA-256")
              .digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return java.util.HexFormat.of().formatHex(digest, 0, 8);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Closes the validation windows the example shows to be complete, then {@link #accept}s it: an
   * example more than {@code source.max-out-of-orderness} past the end of an open window closes
   * that window first, so events may arrive that much out of event-time order and still count in
   * their own window. This is what a watermark of the same delay does on one input, but decided by
   * the events alone: a replay of the same events closes the same windows at the same events.
   */
  public Outcome offer(TrainerState state, Example example, Output out) {
    long latest = Math.max(state.latestEventTime, example.timestamp);
    closeWindowsThrough(state, saturatedMinus(latest, outOfOrdernessMillis + 1), out);
    return accept(state, example, out);
  }

  /**
   * Holds the example out or adds it to the mini-batch, stepping when the batch is full. It counts
   * in the validation window of its event time ({@link #windowOf}), which opens if it is not open;
   * nothing closes (see {@link #closeWindowsThrough} and {@link #offer}).
   */
  public Outcome accept(TrainerState state, Example example, Output out) {
    state.latestEventTime = Math.max(state.latestEventTime, example.timestamp);
    long window = windowOf(state, example);
    int open = ValidationWindows.indexOf(state, window);
    if (open < 0) {
      if (state.openWindows.length >= MAX_OPEN_WINDOWS) {
        // Events far apart in time, and a watermark (or an allowance) that has not closed what
        // they opened: the oldest window closes now, so that a model's state stays bounded; the
        // example may be late now.
        closeWindow(state, out, false);
        window = windowOf(state, example);
      }
      open = ValidationWindows.open(state, window);
    }
    if (isLate(state, example)) {
      state.lateEvents++;
      state.openWindowLate[open]++;
    }
    if (isHeldOut(window, example)) {
      featurizer.transform(state.featurizer, example.numeric, example.categorical, one, 0, true);
      queueForScoring(state, example, window, false);
      keepForValidation(state, example, open);
      state.heldOutTotal++;
      state.heldOutSinceVersion++;
      return Outcome.HELD_OUT;
    }
    state.openWindowTrained[open]++;
    if (holdoutPolicy.equals("prequential")) {
      featurizer.transform(state.featurizer, example.numeric, example.categorical, one, 0, true);
      // The window's first events: kept raw, and scored on arrival for its validation.
      boolean kept = keepForValidation(state, example, open);
      queueForScoring(state, example, window, kept);
      if (labelDelayMillis > 0) {
        LabelDelayQueue.push(
            state,
            example,
            labelDelayCapacity,
            featurizer.numericCount(),
            featurizer.categoricalCount(),
            this::learn);
        LabelDelayQueue.releaseUntil(
            state, state.latestEventTime - labelDelayMillis, scratch, this::learn);
        return Outcome.TRAINED;
      }
    }
    learn(state, example);
    return Outcome.TRAINED;
  }

  /** Learns from a training example: its vector joins the open batch, a step when it is full. */
  private void learn(TrainerState state, Example example) {
    // The example's own values join the running statistics before it is scaled by them: scaled by
    // the statistics of the examples before it alone, the stream's first values were divided by a
    // deviation not yet known (1) and reached the network in their own units where no cap held
    // them (outliers none, or winsorize before its first quantiles).
    featurizer.learn(state.featurizer, example.numeric, example.categorical);
    // A prequential event's rules were counted when it was featurized to be scored on arrival.
    featurizer.transform(
        state.featurizer,
        example.numeric,
        example.categorical,
        state.batchX,
        state.batchRows * dimension,
        !holdoutPolicy.equals("prequential"));
    // A regression label stays in its own units until the step scales it (scaleBatchTargets).
    state.batchY[state.batchRows] = (float) example.label;
    if (regression) {
      Featurizer.learnTarget(state.featurizer, example.label);
    }
    state.batchWeight[state.batchRows] = example.weight;
    state.batchIngest[state.batchRows] = example.ingestTime;
    state.lastIngestSinceVersion = Math.max(state.lastIngestSinceVersion, example.ingestTime);
    state.batchRows++;
    state.trainedTotal++;
    state.trainedSinceVersion++;
    recordLineage(state, example);
    if (state.batchRows == batchSize) {
      step(state);
    }
  }

  /** Trains the open batch now, full or not (the batch's maximum delay passed). */
  public void closeBatch(TrainerState state) {
    if (state.batchRows > 0) {
      step(state);
    }
  }

  /** End of input: closes the open windows, oldest first, training the open batch. */
  public void finish(TrainerState state, Output out) {
    // The labels still on their way arrive before the end.
    LabelDelayQueue.releaseUntil(state, Long.MAX_VALUE, scratch, this::learn);
    while (state.openWindows.length > 0) {
      closeWindow(state, out, state.openWindows.length == 1);
    }
  }

  /**
   * Closes, oldest first, every open window that a watermark of {@code watermark} completes: those
   * whose last millisecond is at or before it. Events of any window it completes are late from now
   * on.
   */
  public void closeWindowsThrough(TrainerState state, long watermark, Output out) {
    while (state.openWindows.length > 0 && lastMillisOf(state.openWindows[0]) <= watermark) {
      closeWindow(state, out, false);
    }
    if (watermark > Long.MIN_VALUE && watermark < Long.MAX_VALUE) {
      // Windows the watermark has passed are over, whether they held events or not: an event of
      // one of them is late.
      long completed = Math.floorDiv(watermark + 1, windowMillis) - 1;
      state.closedWindow = Math.max(state.closedWindow, completed);
    }
  }

  /**
   * The validation window an example counts in: that of its event time, or, when that window has
   * closed already (the example is late), the oldest open window (the one after the closed ones
   * when none is open).
   */
  public long windowOf(TrainerState state, Example example) {
    long own = Math.floorDiv(example.timestamp, windowMillis);
    if (!isLate(state, example)) {
      return own;
    }
    return state.openWindows.length > 0 ? state.openWindows[0] : state.closedWindow + 1;
  }

  /** Whether the example's own validation window has closed already. */
  public boolean isLate(TrainerState state, Example example) {
    return state.closedWindow != Long.MIN_VALUE
        && Math.floorDiv(example.timestamp, windowMillis) <= state.closedWindow;
  }

  private static long saturatedMinus(long time, long millis) {
    return time < Long.MIN_VALUE + millis ? Long.MIN_VALUE : time - millis;
  }

  /** The last millisecond of event time in {@code window}: a watermark there closes it. */
  public long lastMillisOf(long window) {
    long start = window * windowMillis;
    if (window >= Long.MAX_VALUE / windowMillis - 1) {
      return Long.MAX_VALUE - 1;
    }
    return start + windowMillis - 1;
  }

  private boolean isHeldOut(long window, Example example) {
    return switch (holdoutPolicy) {
      case "hash" -> holdout.isHeldOut(example.id);
      case "windows" -> {
        int every = spec.holdout().every();
        yield Math.floorMod(window, every) == every - 1;
      }
      default -> false;
    };
  }

  /**
   * Closes the oldest open window: validates the candidate on the window's held-out events, beside
   * the champion and any challenger; promotes a better challenger; applies plateau and early
   * stopping; and publishes by the policy.
   */
  void closeWindow(TrainerState state, Output out, boolean endOfInput) {
    scoreQueued(state);
    closeBatch(state);
    syncFromDevice();
    ValidationWindows.Closed closed = ValidationWindows.closeOldest(state);
    long window = closed.window();
    boolean prequential = holdoutPolicy.equals("prequential");
    int[] rows =
        prequential
            ? ValidationWindows.rowsOf(state.arrivalWindow, state.arrivalCount, window)
            : ValidationWindows.rowsOf(state.heldWindow, state.heldCount, window);
    int count = rows.length;
    Map<String, Double> inputDrift =
        inputDrift(
            state,
            prequential
                ? ValidationWindows.rowsOf(state.heldWindow, state.heldCount, window)
                : rows);
    float[] labels =
        ValidationWindows.gather(prequential ? state.arrivalLabel : state.heldLabel, rows, 1);
    boolean hasChampion = state.championParams.length > 0;
    Map<String, Double> candidate =
        prequential
            ? arrivalMetrics(state.arrivalCandidate, rows, labels)
            : evaluate(state, state.params, rows);
    Map<String, Double> champion = null;
    if (hasChampion) {
      champion =
          prequential
              ? arrivalMetrics(state.arrivalChampion, rows, labels)
              : evaluate(state, state.championParams, rows);
    }
    boolean promoted = false;
    PipelineSpec.Publish publish = spec.publish();
    if (state.challengerActive && count > 0) {
      Map<String, Double> challenger =
          prequential
              ? arrivalMetrics(state.arrivalChallenger, rows, labels)
              : evaluate(state, state.challengerParams, rows);
      if (MetricDirection.beats(metric, value(challenger), value(candidate), publish.margin())) {
        state.params = state.challengerParams;
        state.moment1 = state.challengerMoment1;
        state.moment2 = state.challengerMoment2;
        state.optimizerSteps = state.challengerSteps;
        state.challengerActive = false;
        state.challengerParams = new float[0];
        state.challengerMoment1 = new float[0];
        state.challengerMoment2 = new float[0];
        candidate = challenger;
        promoted = true;
      }
    }
    double value = value(candidate);
    if (count > 0 && !Double.isNaN(value)) {
      control(state, value);
    }
    state.boostScale = Math.max(1.0, state.boostScale * 0.5);

    boolean enough = count >= publish.minHeldOut();
    boolean beatsChampion =
        !hasChampion || MetricDirection.beats(metric, value, value(champion), publish.margin());
    boolean publishIt;
    boolean moveChampion;
    if (publish.policy().equals("gated")) {
      publishIt = !state.stopped && count > 0 && enough && beatsChampion;
      moveChampion = publishIt;
    } else {
      // At end of input the last model is published even when its window held nothing out.
      publishIt = !state.stopped && (count > 0 || endOfInput && state.trainedSinceVersion > 0);
      moveChampion = publishIt && count > 0 && enough && beatsChampion;
    }
    double inputThreshold = spec.control().inputDriftThreshold();
    if (inputThreshold > 0 && inputDrift.values().stream().anyMatch(v -> v > inputThreshold)) {
      // An input shifted: react as to drift of the error, before the error shows it.
      state.drift.detections++;
      react(state, spec.control().inputDriftReaction());
    }
    WindowReport report = new WindowReport();
    report.model = modelName(state);
    report.windowStart = window * windowMillis;
    report.windowEnd = report.windowStart + windowMillis;
    report.trained = closed.trained();
    report.late = closed.late();
    report.heldOut = count;
    report.metric = metric;
    report.candidateValue = value;
    report.championValue = hasChampion ? value(champion) : Double.NaN;
    report.metricsJson = json(candidate);
    report.inputDriftJson = json(inputDrift);
    report.challengerPromoted = promoted;
    report.driftDetections = state.drift.detections;
    report.learningRateScale = state.plateauScale * state.boostScale;
    report.stopped = state.stopped;
    if (publishIt) {
      if (moveChampion) {
        state.championParams = state.params.clone();
        state.championVersion = nextVersion(state);
      }
      ModelSnapshot snapshot = cutVersion(state, candidate, champion, inputDrift);
      snapshot.champion = moveChampion;
      report.publishedVersion = snapshot.version;
      report.championMoved = moveChampion;
      out.version(snapshot);
    }
    out.window(report);
    removeRows(state, window);
  }

  /**
   * How far each input moved between the last profiled window and the held-out {@code rows} of the
   * one closing (empty when either is too small); the closing window becomes the one to compare the
   * next with.
   */
  private Map<String, Double> inputDrift(TrainerState state, int[] rows) {
    if (rows.length < InputDrift.MIN_EVENTS) {
      return Map.of();
    }
    int numeric = featurizer.numericCount();
    int text = featurizer.categoricalCount();
    Map<String, Double> drift = new LinkedHashMap<>();
    if (state.inputProfile != null) {
      double[] index =
          InputDrift.against(
              state.inputProfile, state.heldNumeric, numeric, state.heldCategorical, text, rows);
      for (int i = 0; i < index.length; i++) {
        if (inputNames[i] != null) {
          drift.put(inputNames[i], index[i]);
        }
      }
    }
    state.inputProfile =
        InputDrift.profile(state.heldNumeric, numeric, state.heldCategorical, text, rows);
    return drift;
  }

  private static String[] inputNames(PipelineSpec spec) {
    List<String> numeric = new ArrayList<>();
    List<String> text = new ArrayList<>();
    for (PipelineSpec.Feature feature : spec.features()) {
      if (!feature.readsRaw()) {
        continue;
      }
      boolean named =
          feature.type().equals(PipelineSpec.Feature.NUMERIC)
              || feature.type().equals(PipelineSpec.Feature.CATEGORICAL);
      (feature.readsNumber() ? numeric : text).add(named ? feature.name() : null);
    }
    numeric.addAll(text);
    return numeric.toArray(String[]::new);
  }

  /** Forgets the rows kept for {@code window}, which has closed: raw, and (prequential) scored. */
  private void removeRows(TrainerState state, long window) {
    state.heldCount =
        ValidationWindows.removeRows(
            state.heldWindow,
            state.heldCount,
            window,
            new Object[] {state.heldNumeric, state.heldCategorical, state.heldLabel},
            new int[] {featurizer.numericCount(), featurizer.categoricalCount(), 1});
    if (holdoutPolicy.equals("prequential")) {
      state.arrivalCount =
          ValidationWindows.removeRows(
              state.arrivalWindow,
              state.arrivalCount,
              window,
              new Object[] {
                state.arrivalCandidate,
                state.arrivalChampion,
                state.arrivalChallenger,
                state.arrivalLabel
              },
              new int[] {outputs, outputs, outputs, 1});
    }
    // What the closed window held is gone: the arrays shrink with it.
    int held = ValidationWindows.shrunk(state.heldLabel.length, state.heldCount);
    if (held < state.heldLabel.length) {
      resizeHeld(state, held);
    }
    int arrivals = ValidationWindows.shrunk(state.arrivalLabel.length, state.arrivalCount);
    if (arrivals < state.arrivalLabel.length) {
      resizeArrivals(state, arrivals);
    }
  }

  /** Metrics of the arrival predictions of {@code rows} (prequential windows). */
  private Map<String, Double> arrivalMetrics(float[] predictions, int[] rows, float[] labels) {
    return metricsOf(ValidationWindows.gather(predictions, rows, outputs), labels, rows.length);
  }

  private void control(TrainerState state, double value) {
    PipelineSpec.Control control = spec.control();
    if (Double.isNaN(state.bestValue)
        || MetricDirection.beats(metric, value, state.bestValue, control.minDelta())) {
      state.bestValue = value;
      state.windowsWithoutImprovement = 0;
      return;
    }
    state.windowsWithoutImprovement++;
    if (control.plateauPatience() > 0
        && state.windowsWithoutImprovement % control.plateauPatience() == 0) {
      double floor = control.minLearningRate() / spec.training().schedule().base();
      state.plateauScale = Math.max(floor, state.plateauScale * control.plateauFactor());
    }
    if (control.earlyStoppingPatience() > 0
        && state.windowsWithoutImprovement >= control.earlyStoppingPatience()) {
      state.stopped = true;
    }
  }

  /**
   * Reacts to detected drift by {@code reaction}, and forgets what no longer holds: the best value,
   * early stopping.
   */
  private void react(TrainerState state, String reaction) {
    switch (reaction) {
      case "reset-optimizer" -> {
        if (deviceStep != null) {
          deviceStep.sync();
        }
        Arrays.fill(state.moment1, 0f);
        Arrays.fill(state.moment2, 0f);
        if (deviceStep != null) {
          deviceStep.hostChanged();
        }
        state.optimizerSteps = 0;
      }
      case "raise-learning-rate" -> state.boostScale = spec.control().raiseFactor();
      default -> {
        state.challengerActive = true;
        state.challengerParams =
            shape.initialParameters(spec.training().seed() + state.drift.detections);
        state.challengerMoment1 = new float[state.moment1.length];
        state.challengerMoment2 = new float[state.moment2.length];
        state.challengerSteps = 0;
      }
    }
    state.stopped = false;
    state.bestValue = Double.NaN;
    state.windowsWithoutImprovement = 0;
  }

  private double value(Map<String, Double> metrics) {
    return metrics == null ? Double.NaN : metrics.getOrDefault(metric, Double.NaN);
  }

  private static String json(Map<String, Double> metrics) {
    try {
      return JSON.writeValueAsString(finite(metrics));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Describes the current parameters as the next version, with the window's metrics. */
  private ModelSnapshot cutVersion(
      TrainerState state,
      Map<String, Double> window,
      Map<String, Double> champion,
      Map<String, Double> inputDrift) {
    long version = nextVersion(state);
    Map<String, Map<String, Double>> metrics = new LinkedHashMap<>();
    metrics.put("window", finite(window));
    if (champion != null) {
      metrics.put("champion", finite(champion));
    }
    if (!inputDrift.isEmpty()) {
      metrics.put("inputDrift", finite(inputDrift));
    }
    metrics.put("sinceStart", sinceStart(state));
    Map<String, Double> training = new LinkedHashMap<>();
    training.put("lastBatchLoss", state.lastTrainingLoss);
    training.put("steps", (double) state.steps);
    training.put(
        "learningRate",
        spec.training().schedule().rate(Math.max(1, state.steps))
            * state.plateauScale
            * state.boostScale);
    metrics.put("training", finite(training));
    Map<String, Double> control = new LinkedHashMap<>();
    control.put("driftDetections", (double) state.drift.detections);
    control.put("lastDriftAtError", (double) state.drift.lastDetectionAt);
    control.put("challengerActive", state.challengerActive ? 1.0 : 0.0);
    control.put("stopped", state.stopped ? 1.0 : 0.0);
    control.put("plateauScale", state.plateauScale);
    control.put("boostScale", state.boostScale);
    control.put("championVersion", (double) state.championVersion);
    metrics.put("control", control);
    Manifest manifest =
        new Manifest(
            Manifest.FORMAT_VERSION,
            modelName(state),
            state.segmentFeature == null
                ? null
                : new Manifest.Segment(
                    state.segmentFeature, state.segmentValue, state.otherSegment),
            state.candidate == null ? null : router.candidate(state.candidate),
            version,
            state.version == 0 ? null : state.version,
            Instant.now().toString(),
            task,
            classNames(),
            featurizer.featureNames(state.featurizer),
            spec.specHash(),
            inputSchemaFingerprint,
            device != null ? device.name() : backend.name(),
            device != null ? device.precision().id() : backend.precision(),
            metrics,
            state.closedWindow == Long.MIN_VALUE
                ? null
                : new Manifest.ValidationWindow(
                    state.closedWindow * windowMillis, (state.closedWindow + 1) * windowMillis),
            lineage(state, topic),
            null,
            null);
    ModelSnapshot snapshot = new ModelSnapshot();
    snapshot.model = modelName(state);
    snapshot.version = version;
    snapshot.manifestJson = ManifestJson.write(manifest);
    snapshot.parameters = parameters(state.params);
    snapshot.featurizerJson = featurizer.toJson(state.featurizer);
    snapshot.inputSchema = inputSchema;
    snapshot.lastIngestTime = state.lastIngestSinceVersion;
    state.lastIngestSinceVersion = 0;

    state.version = version;
    state.trainedSinceVersion = 0;
    state.heldOutSinceVersion = 0;
    Arrays.fill(state.offsetFrom, -1);
    Arrays.fill(state.offsetTo, -1);
    state.eventTimeFrom = Long.MAX_VALUE;
    state.eventTimeTo = Long.MIN_VALUE;
    return snapshot;
  }

  /** The store the versions go to, opened on first use. */
  private ModelStore store() {
    if (store == null) {
      store = ModelStores.open(spec.store().uri());
    }
    return store;
  }

  /** The number of the state's next version: after its last, and after the store's newest. */
  private static long nextVersion(TrainerState state) {
    return Math.max(state.version, state.storedBefore) + 1;
  }

  /** The model a state trains (a state restored from before segments has none: the spec's). */
  private String modelName(TrainerState state) {
    return state.model == null ? spec.name() : state.model;
  }

  /**
   * Metrics of the current parameters on the held-out events kept for the open windows (at most
   * {@code validation.max-window-events} of them). Under the prequential policy the rows kept are
   * the windows' first events, which the model has learned from.
   */
  public Map<String, Double> validate(TrainerState state) {
    syncFromDevice();
    int[] rows = new int[Math.min(state.heldCount, windowCapacity)];
    Arrays.setAll(rows, r -> r);
    return evaluate(state, state.params, rows);
  }

  /** Metrics of {@code params} on the held-out {@code rows}. */
  private Map<String, Double> evaluate(TrainerState state, float[] params, int[] rows) {
    int count = rows.length;
    float[] x = new float[Math.max(1, count) * dimension];
    int numeric = featurizer.numericCount();
    int categorical = featurizer.categoricalCount();
    double[] rowNumeric = new double[numeric];
    String[] rowText = new String[categorical];
    for (int i = 0; i < count; i++) {
      int r = rows[i];
      System.arraycopy(state.heldNumeric, r * numeric, rowNumeric, 0, numeric);
      System.arraycopy(state.heldCategorical, r * categorical, rowText, 0, categorical);
      featurizer.transform(state.featurizer, rowNumeric, rowText, x, i * dimension, false);
    }
    float[] predictions = new float[Math.max(1, count) * outputs];
    if (count > 0) {
      network.predict(params, x, count, predictions);
      if (regression) {
        for (int r = 0; r < count; r++) {
          predictions[r] = (float) Featurizer.unscaleTarget(state.featurizer, predictions[r]);
        }
      }
    }
    return metricsOf(predictions, ValidationWindows.gather(state.heldLabel, rows, 1), count);
  }

  private Map<String, Double> metricsOf(float[] predictions, float[] labels, int count) {
    return switch (task) {
      case "binary" -> BinaryMetrics.of(predictions, labels, count);
      case "multiclass" -> MulticlassMetrics.of(predictions, labels, count, outputs);
      default -> RegressionMetrics.of(predictions, labels, count);
    };
  }

  private static Map<String, Double> finite(Map<String, Double> metrics) {
    Map<String, Double> kept = new LinkedHashMap<>();
    metrics.forEach(
        (k, v) -> {
          if (Double.isFinite(v)) {
            kept.put(k, v);
          }
        });
    return kept;
  }

  /**
   * Regression: the batch's labels into the units the network learns, by the label statistics that
   * include every one of them. Scaled as each arrived, the first labels of a stream were divided by
   * a deviation not yet known (1, or that of two values) and reached thousands of units on a label
   * such as an amount: the first steps' gradients threw the weights far off.
   */
  private static void scaleBatchTargets(TrainerState state) {
    double mean = state.featurizer.targetMean;
    double deviation = Featurizer.targetDeviation(state.featurizer);
    for (int r = 0; r < state.batchRows; r++) {
      state.batchY[r] = (float) Featurizer.scaleTarget(state.batchY[r], mean, deviation);
    }
  }

  private void step(TrainerState state) {
    scoreQueued(state);
    // The batch's rows are featurized already: its raw values now join the sketches and
    // vocabularies, for the rows that come after.
    featurizer.refresh(state.featurizer);
    if (regression) {
      scaleBatchTargets(state);
    }
    SplitMix64 random = new SplitMix64(state.randomState);
    state.steps++;
    double rate = spec.training().schedule().rate(state.steps);
    trainOn(
        deviceStep,
        state,
        state.params,
        state.moment1,
        state.moment2,
        random,
        ++state.optimizerSteps,
        rate * state.plateauScale * state.boostScale,
        loss -> state.lastTrainingLoss = loss);
    if (state.challengerActive) {
      trainOn(
          challengerDeviceStep,
          state,
          state.challengerParams,
          state.challengerMoment1,
          state.challengerMoment2,
          random,
          ++state.challengerSteps,
          rate,
          null);
    }
    state.randomState = random.state();
    if (latency != null) {
      long now = System.currentTimeMillis();
      for (int r = 0; r < state.batchRows; r++) {
        if (state.batchIngest[r] > 0) {
          latency.trained(now - state.batchIngest[r]);
        }
      }
    }
    state.batchRows = 0;
  }

  /**
   * One step of one set of parameters on the open batch, on the device or the CPU. {@code loss}
   * (when set) receives the batch's loss: at once on the CPU, at the device's next sync there.
   */
  private void trainOn(
      DeviceTrainingStep onDevice,
      TrainerState state,
      float[] params,
      float[] firstMoment,
      float[] secondMoment,
      SplitMix64 random,
      long optimizerStep,
      double rate,
      DoubleConsumer loss) {
    if (onDevice != null) {
      onDevice.step(
          params,
          firstMoment,
          secondMoment,
          state.batchX,
          state.batchY,
          state.batchWeight,
          state.batchRows,
          random,
          optimizerStep,
          rate,
          loss);
      return;
    }
    double batchLoss =
        network.lossAndGradient(
            params,
            state.batchX,
            state.batchY,
            state.batchWeight,
            state.batchRows,
            random,
            gradient);
    optimizer.apply(
        params, gradient, new float[][] {firstMoment, secondMoment}, optimizerStep, rate);
    if (loss != null) {
      loss.accept(batchLoss);
    }
  }

  /**
   * Brings the host arrays of the state the device trained last up to date: parameters, optimizer
   * state and the last batch's loss. A step on a device leaves them behind (see {@link
   * DeviceTrainingStep}); call this before the state is copied or written anywhere (a snapshot, a
   * state backend that serializes on update). Does nothing on the CPU, or when the host is up to
   * date.
   */
  public void syncFromDevice() {
    if (deviceStep != null) {
      deviceStep.sync();
      challengerDeviceStep.sync();
    }
  }

  /**
   * Releases the device's memory, if the trainer has one. The host arrays keep what they were last
   * brought up to date with: {@link #syncFromDevice} first to keep the device's last steps.
   */
  public void closeDevice() {
    if (deviceStep != null) {
      deviceStep.close();
      challengerDeviceStep.close();
    }
  }

  /** Receives, for every trained example, the milliseconds from its Kafka timestamp to its step. */
  public interface LatencyRecorder {
    void trained(long millis);
  }

  private LatencyRecorder latency;

  public void recordLatency(LatencyRecorder recorder) {
    this.latency = recorder;
  }

  /**
   * Queues an example to be scored by the model of the moment, before anything learns from it.
   * Expects {@code one} to hold its input vector. The model changes only at a step or a window's
   * close, which score the queue first, so each queued example is scored by the model it arrived
   * under; the queue is scored in one product for many rows, on the device that holds the model
   * when there is one.
   */
  private void queueForScoring(TrainerState state, Example example, long window, boolean kept) {
    int row = state.unscoredCount;
    if (row >= state.unscoredLabel.length) {
      int capacity = Math.max(scoreBatch, row + 1);
      state.unscoredX = Arrays.copyOf(state.unscoredX, capacity * dimension);
      state.unscoredLabel = Arrays.copyOf(state.unscoredLabel, capacity);
      state.unscoredTargetMean = Arrays.copyOf(state.unscoredTargetMean, capacity);
      state.unscoredTargetDeviation = Arrays.copyOf(state.unscoredTargetDeviation, capacity);
    }
    if (row >= state.unscoredWindow.length) {
      state.unscoredWindow = Arrays.copyOf(state.unscoredWindow, state.unscoredLabel.length);
      state.unscoredKept = Arrays.copyOf(state.unscoredKept, state.unscoredLabel.length);
    }
    System.arraycopy(one, 0, state.unscoredX, row * dimension, dimension);
    state.unscoredLabel[row] = example.label;
    state.unscoredWindow[row] = window;
    state.unscoredKept[row] = kept;
    if (regression) {
      state.unscoredTargetMean[row] = state.featurizer.targetMean;
      state.unscoredTargetDeviation[row] = Featurizer.targetDeviation(state.featurizer);
    }
    state.unscoredCount++;
    if (state.unscoredCount >= scoreBatch) {
      scoreQueued(state);
    }
  }

  /**
   * Scores the queued examples in arrival order: since-start metrics, the drift detector's error
   * (and its reaction), and for prequential windows the arrival predictions of candidate, champion
   * and challenger.
   */
  private void scoreQueued(TrainerState state) {
    int rows = state.unscoredCount;
    if (rows == 0) {
      return;
    }
    state.unscoredCount = 0;
    float[] x = state.unscoredX;
    predict(deviceStep, state.params, x, rows, candidateScores);
    boolean prequential = holdoutPolicy.equals("prequential");
    if (prequential && state.championParams.length > 0) {
      network.predict(state.championParams, x, rows, championScores);
    }
    // A drift reaction may start a challenger part-way through the queue.
    float[] challengerScored = null;
    for (int r = 0; r < rows; r++) {
      if (prequential && state.challengerActive && state.challengerParams != challengerScored) {
        predict(challengerDeviceStep, state.challengerParams, x, rows, challengerScores);
        challengerScored = state.challengerParams;
      }
      System.arraycopy(candidateScores, r * outputs, score, 0, outputs);
      recordScore(
          state,
          r,
          state.unscoredLabel[r],
          state.unscoredTargetMean[r],
          state.unscoredTargetDeviation[r]);
    }
  }

  /** Predictions of {@code params}: on the device when it holds them (nothing copied back). */
  private void predict(
      DeviceTrainingStep onDevice, float[] params, float[] x, int rows, float[] predictions) {
    if (onDevice == null || !onDevice.predictIfHolding(params, x, rows, predictions)) {
      network.predict(params, x, rows, predictions);
    }
  }

  /**
   * Counts one queued example's score ({@code score}, the candidate's): {@code targetMean} and
   * {@code targetDeviation} are the regression target's scaling when it arrived.
   */
  private void recordScore(
      TrainerState state, int row, double label, double targetMean, double targetDeviation) {
    double error;
    switch (task) {
      case "binary" -> {
        double p = Math.min(1 - 1e-7, Math.max(1e-7, score[0]));
        boolean positive = label > 0.5;
        boolean predicted = score[0] >= 0.5f;
        if (predicted == positive) {
          state.heldOutCorrectTotal++;
        }
        state.heldOutLogLossTotal -= positive ? Math.log(p) : Math.log(1 - p);
        ScoreHistogram.add(state.scoreHistogram, score[0], positive);
        state.confusion[(positive ? 2 : 0) + (predicted ? 1 : 0)]++;
        error = predicted == positive ? 0 : 1;
      }
      case "multiclass" -> {
        int truth = (int) label;
        int best = argmax(score);
        if (best == truth) {
          state.heldOutCorrectTotal++;
        }
        state.heldOutLogLossTotal -= Math.log(Math.max(1e-7, score[truth]));
        state.confusion[truth * outputs + best]++;
        error = best == truth ? 0 : 1;
      }
      default -> {
        double scaled = Featurizer.scaleTarget(label, targetMean, targetDeviation);
        double residual = Featurizer.unscaleTarget(score[0], targetMean, targetDeviation) - label;
        state.heldOutSquaredErrorTotal += residual * residual;
        state.heldOutAbsoluteErrorTotal += Math.abs(residual);
        state.heldOutLabelSum += label;
        state.heldOutLabelSquaredSum += label * label;
        error = (score[0] - scaled) * (score[0] - scaled);
      }
    }
    if (holdoutPolicy.equals("prequential") && state.unscoredKept[row]) {
      if (state.arrivalCount == state.arrivalLabel.length) {
        resizeArrivals(state, ValidationWindows.grown(state.arrivalLabel.length));
      }
      int slot = state.arrivalCount++;
      state.arrivalWindow[slot] = state.unscoredWindow[row];
      System.arraycopy(score, 0, state.arrivalCandidate, slot * outputs, outputs);
      if (state.championParams.length > 0) {
        System.arraycopy(
            championScores, row * outputs, state.arrivalChampion, slot * outputs, outputs);
      }
      if (state.challengerActive) {
        System.arraycopy(
            challengerScores, row * outputs, state.arrivalChallenger, slot * outputs, outputs);
      }
      if (regression) {
        for (float[] predictions :
            new float[][] {
              state.arrivalCandidate, state.arrivalChampion, state.arrivalChallenger
            }) {
          predictions[slot] =
              (float) Featurizer.unscaleTarget(predictions[slot], targetMean, targetDeviation);
        }
      }
      state.arrivalLabel[slot] = (float) label;
    }
    if (drift != null && drift.add(state.drift, error)) {
      react(state, spec.control().driftReaction());
    }
  }

  private static int argmax(float[] values) {
    int best = 0;
    for (int j = 1; j < values.length; j++) {
      if (values[j] > values[best]) {
        best = j;
      }
    }
    return best;
  }

  /**
   * Keeps a held-out example for its window's validation: the window's first ones, up to the cap.
   */
  private boolean keepForValidation(TrainerState state, Example example, int open) {
    if (state.openWindowKept[open] >= windowCapacity) {
      return false;
    }
    state.openWindowKept[open]++;
    int numeric = featurizer.numericCount();
    int categorical = featurizer.categoricalCount();
    if (state.heldCount == state.heldLabel.length) {
      resizeHeld(state, ValidationWindows.grown(state.heldLabel.length));
    }
    int slot = state.heldCount++;
    System.arraycopy(example.numeric, 0, state.heldNumeric, slot * numeric, numeric);
    System.arraycopy(
        example.categorical, 0, state.heldCategorical, slot * categorical, categorical);
    state.heldLabel[slot] = (float) example.label;
    state.heldWindow[slot] = state.openWindows[open];
    return true;
  }

  /** The rows kept raw, in arrays of {@code rows}. */
  private void resizeHeld(TrainerState state, int rows) {
    state.heldNumeric = Arrays.copyOf(state.heldNumeric, rows * featurizer.numericCount());
    state.heldCategorical =
        Arrays.copyOf(state.heldCategorical, rows * featurizer.categoricalCount());
    state.heldLabel = Arrays.copyOf(state.heldLabel, rows);
    state.heldWindow = Arrays.copyOf(state.heldWindow, rows);
  }

  /** The arrival predictions, in arrays of {@code rows}. */
  private void resizeArrivals(TrainerState state, int rows) {
    state.arrivalCandidate = Arrays.copyOf(state.arrivalCandidate, rows * outputs);
    state.arrivalChampion = Arrays.copyOf(state.arrivalChampion, rows * outputs);
    state.arrivalChallenger = Arrays.copyOf(state.arrivalChallenger, rows * outputs);
    state.arrivalLabel = Arrays.copyOf(state.arrivalLabel, rows);
    state.arrivalWindow = Arrays.copyOf(state.arrivalWindow, rows);
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
    long count = holdoutPolicy.equals("prequential") ? state.trainedTotal : state.heldOutTotal;
    metrics.put("count", (double) count);
    if (count > 0) {
      if (task.equals("regression")) {
        metrics.put("mse", state.heldOutSquaredErrorTotal / count);
        metrics.put("rmse", Math.sqrt(state.heldOutSquaredErrorTotal / count));
        metrics.put("mae", state.heldOutAbsoluteErrorTotal / count);
        double mean = state.heldOutLabelSum / count;
        double total = state.heldOutLabelSquaredSum - count * mean * mean;
        if (total > 0) {
          metrics.put("r2", 1 - state.heldOutSquaredErrorTotal / total);
        }
      } else {
        metrics.put("accuracy", state.heldOutCorrectTotal / (double) count);
        metrics.put("logLoss", state.heldOutLogLossTotal / count);
      }
      if (task.equals("multiclass")) {
        MulticlassMetrics.putF1(metrics, state.confusion, outputs);
      }
      if (task.equals("binary")) {
        long[] c = state.confusion;
        BinaryMetrics.putCounts(metrics, c[3], c[1], c[0], c[2]);
        double auc = ScoreHistogram.rocAuc(state.scoreHistogram);
        if (!Double.isNaN(auc)) {
          metrics.put("auc", auc);
          metrics.put("prAuc", ScoreHistogram.prAuc(state.scoreHistogram));
        }
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
}
