package dev.streamlearn.operators;

import dev.streamlearn.core.backend.Backend;
import dev.streamlearn.core.backend.Backends;
import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.ModelRouter;
import dev.streamlearn.core.device.DeviceOps;
import dev.streamlearn.core.features.Featurizer;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.train.ModelSnapshot;
import dev.streamlearn.core.train.ModelTrainer;
import dev.streamlearn.core.train.TrainerState;
import dev.streamlearn.core.train.WindowReport;
import org.apache.flink.api.common.externalresource.ExternalResourceInfo;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MeterView;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.runtime.state.heap.AbstractHeapState;
import org.apache.flink.streaming.api.TimeDomain;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains one model per key (the pipeline's model, or each segment's or candidate's: see {@link
 * ModelRouter}) with a {@link ModelTrainer} (one per candidate), keeping its whole {@link
 * TrainerState} in keyed state, and emits a {@link ModelSnapshot} whenever a version is due. A
 * batch that is not full closes after {@code training.max-batch-delay} (processing time) when that
 * is set. A validation window closes when an event more than {@code source.max-out-of-orderness}
 * past its end reaches the model, or when the watermark passes its end (a model whose events have
 * stopped; with {@link #closeWindowsOnWatermarkOnly}, only then). At end of input (the final
 * watermark) it trains the open batch and emits the last version.
 *
 * <p>On a device the parameters and optimizer state run ahead of the state's host arrays between
 * snapshots ({@link dev.streamlearn.core.device.DeviceTrainingStep}): they are copied back before
 * every checkpoint, and after every update when the state backend serializes the state on update
 * (anything but the heap backend).
 */
public final class TrainModel
    extends KeyedProcessFunctionWithCounters<String, Example, ModelSnapshot> {

  /** One report per closed validation window, for the metrics topic. */
  public static final OutputTag<WindowReport> WINDOWS = new OutputTag<>("windows") {};

  private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
      new com.fasterxml.jackson.databind.ObjectMapper();

  /**
   * Opens the device a subtask trains on, or returns null for the CPU: given the spec's backend
   * name, the device index and the precision. The default is {@link Backends#openDevice}.
   */
  @FunctionalInterface
  public interface DeviceFactory extends java.io.Serializable {
    DeviceOps open(String backend, int deviceIndex, String precision);
  }

  private final PipelineSpec spec;
  private static final Logger LOG = LoggerFactory.getLogger(TrainModel.class);

  private final DeviceFactory deviceFactory;

  /** Whether only the watermark closes validation windows (several inputs), not events too. */
  private boolean closeWindowsOnWatermarkOnly;

  private transient Backend backend;
  private transient DeviceOps device;

  /** One trainer per hyper-parameter candidate (one without candidates), by candidate index. */
  private transient ModelTrainer[] trainers;

  private transient java.util.Map<String, Integer> candidateIndex;

  /** Each candidate's {@code training.max-batch-delay}, by candidate index. */
  private transient long[] batchDelayMillis;

  private transient ValueState<TrainerState> state;

  /**
   * The state backend keeps the state object itself until a snapshot (the heap backend), so the
   * device may run ahead of its arrays until then; other backends copy it on every update.
   */
  private transient boolean stateHeldOnHeap;

  /**
   * Whether {@link TrainModelOperator} runs this function and writes {@link #unwritten} into keyed
   * state at each checkpoint; set before the function is shipped.
   */
  private boolean writesBehind;

  /**
   * On a backend that serializes on update: each model's state changed since it was last written,
   * kept as an object between checkpoints instead of serialized (and read back) with every event.
   */
  private transient java.util.Map<String, TrainerState> unwritten;

  /**
   * The most states kept unwritten, which bounds the heap they take (a model with full validation
   * windows holds megabytes); the state of a model beyond them is written with each update.
   */
  static final int MOST_UNWRITTEN = 128;

  /** The key of the element or timer at hand. */
  private transient String currentKey;

  private transient Counter trained;
  private transient Counter heldOut;
  private transient Counter late;
  private transient volatile long currentVersion;

  /**
   * What the featurizer's rules did, summed over the subtask's models (segments) for the copy of
   * each event that counts it; the featurizers' own counters, in each model's state, before an
   * event.
   */
  private transient Counter[] featureCounters;

  private transient long[] featureCountsBefore;

  /** The last closed window's metrics, for the gauges. */
  private transient volatile com.fasterxml.jackson.databind.JsonNode lastWindow;

  /**
   * Each model's gauges in the group {@code model} (label {@code model} in Prometheus), registered
   * when this subtask first sees the model: its newest version and its last window's metrics.
   */
  private transient java.util.Map<String, ModelGauges> gaugesByModel;

  private transient org.apache.flink.metrics.MetricGroup streamlearnGroup;

  /** What one model's gauges read. */
  private static final class ModelGauges {
    volatile long version;
    volatile com.fasterxml.jackson.databind.JsonNode window;
  }

  public TrainModel(PipelineSpec spec) {
    this(spec, Backends::openDevice);
  }

  /** A trainer whose device comes from {@code deviceFactory} (e.g. another {@link DeviceOps}). */
  public TrainModel(PipelineSpec spec, DeviceFactory deviceFactory) {
    this.spec = spec;
    this.deviceFactory = deviceFactory;
  }

  /**
   * Validation windows close only when the watermark passes them, not also when an event more than
   * {@code source.max-out-of-orderness} past their end arrives: for a trainer fed by several
   * subtasks, whose events interleave in an order of their own at each trainer subtask, where the
   * watermark (the smallest of its inputs') still says when a window is complete. Events alone
   * decide otherwise, so that a replay closes the same windows at the same events.
   */
  public TrainModel closeWindowsOnWatermarkOnly(boolean onWatermarkOnly) {
    this.closeWindowsOnWatermarkOnly = onWatermarkOnly;
    return this;
  }

  /**
   * The trainers (one per candidate) on the device opened; with {@code backend: auto}, on the CPU
   * when the models do not fit on the device (its memory is too small or taken), with a warning
   * that says so.
   */
  private ModelTrainer[] trainersOnDeviceOrCpu() {
    int count = Math.max(1, spec.candidates().size());
    ModelTrainer[] made = new ModelTrainer[count];
    try {
      for (int i = 0; i < count; i++) {
        made[i] = new ModelTrainer(candidateSpec(i), backend, device);
      }
      return made;
    } catch (RuntimeException e) {
      if (device == null || !spec.backend().equals("auto")) {
        throw e;
      }
      LOG.warn(
          "backend auto: training on the CPU: the model does not fit on {}: {}",
          device.description(),
          e.toString());
      for (ModelTrainer trainer : made) {
        if (trainer != null) {
          trainer.closeDevice();
        }
      }
      device.close();
      device = null;
      for (int i = 0; i < count; i++) {
        made[i] = new ModelTrainer(candidateSpec(i), backend, null);
      }
      return made;
    }
  }

  private PipelineSpec candidateSpec(int index) {
    return spec.hasCandidates() ? spec.forCandidate(index) : spec;
  }

  /**
   * The trainer of a state's model: its candidate's; null for a candidate the spec no longer lists
   * (a state restored from a run of an earlier spec).
   */
  private ModelTrainer trainerOf(TrainerState state) {
    if (state.candidate == null) {
      return trainers[0];
    }
    Integer index = candidateIndex.get(state.candidate);
    return index == null ? null : trainers[index];
  }

  @Override
  public void open(OpenContext openContext) {
    backend = Backends.create(spec.cpuBackend());
    device = deviceFactory.open(spec.backend(), deviceIndex(), spec.cuda().precision());
    trainers = trainersOnDeviceOrCpu();
    candidateIndex = new java.util.HashMap<>();
    for (int i = 0; i < spec.candidates().size(); i++) {
      candidateIndex.put(spec.candidates().get(i).name(), i);
    }
    batchDelayMillis = new long[trainers.length];
    for (int i = 0; i < trainers.length; i++) {
      batchDelayMillis[i] = candidateSpec(i).training().maxBatchDelay().toMillis();
    }
    Histogram latency =
        getRuntimeContext()
            .getMetricGroup()
            .addGroup(PipelineCounters.GROUP)
            .histogram(
                PipelineCounters.TRAINING_LATENCY, new DescriptiveStatisticsHistogram(100_000));
    for (ModelTrainer trainer : trainers) {
      trainer.recordLatency(latency::update);
    }
    state =
        getRuntimeContext()
            .getState(
                new ValueStateDescriptor<>("trainer", TypeInformation.of(TrainerState.class)));
    stateHeldOnHeap = state instanceof AbstractHeapState;
    unwritten = new java.util.HashMap<>();
    var metrics = getRuntimeContext().getMetricGroup();
    trained = counters.counter(metrics, PipelineCounters.TRAINED);
    heldOut = counters.counter(metrics, PipelineCounters.HELD_OUT);
    late = counters.counter(metrics, PipelineCounters.LATE);
    var group = metrics.addGroup(PipelineCounters.GROUP);
    versionAndWindowGauges(group, () -> currentVersion, () -> lastWindow);
    // The rate of this run's training: a counter continued from a checkpoint would start it high.
    long trainedBefore = trained.getCount();
    group.meter(
        "eventsPerSecond",
        new MeterView(new SuppliedCounter(() -> trained.getCount() - trainedBefore), 10));
    streamlearnGroup = group;
    gaugesByModel = new java.util.concurrent.ConcurrentHashMap<>();
    if (device != null) {
      DeviceOps ops = device;
      group.gauge("deviceBytesUploaded", (Gauge<Long>) ops::bytesUploaded);
      group.gauge("deviceBytesDownloaded", (Gauge<Long>) ops::bytesDownloaded);
    }
    featureCounters = new Counter[Featurizer.COUNTERS.size()];
    for (int i = 0; i < featureCounters.length; i++) {
      featureCounters[i] =
          counters.counter(metrics, PipelineCounters.featureCounter(Featurizer.COUNTERS.get(i)));
    }
    featureCountsBefore = new long[featureCounters.length];
  }

  @Override
  public void processElement(Example example, Context context, Collector<ModelSnapshot> out)
      throws Exception {
    currentKey = context.getCurrentKey();
    TrainerState current = read();
    ModelTrainer trainer = trainers[example.candidate];
    if (current == null) {
      current = trainer.newState(example);
      context.timerService().registerEventTimeTimer(Long.MAX_VALUE);
    } else {
      resume(trainer, current);
      if (current.endOfInputReached) {
        // Drained to a savepoint, started from it: the end-of-input timer fired in the last run.
        current.endOfInputReached = false;
        context.timerService().registerEventTimeTimer(Long.MAX_VALUE);
      }
    }
    // Every candidate sees the same events; one copy of each counts it.
    boolean counts = ModelRouter.countsEvent(example);
    if (counts) {
      System.arraycopy(
          current.featurizer.counters, 0, featureCountsBefore, 0, featureCountsBefore.length);
    }
    long[] openBefore = current.openWindows;
    long lateBefore = current.lateEvents;
    ModelTrainer.Output output = output(context, out);
    ModelTrainer.Outcome outcome;
    if (closeWindowsOnWatermarkOnly) {
      // An event at or behind the watermark is late: its window is over.
      trainer.closeWindowsThrough(current, context.timerService().currentWatermark(), output);
      outcome = trainer.accept(current, example, output);
    } else {
      outcome = trainer.offer(current, example, output);
    }
    if (current.openWindows != openBefore) {
      // A window opened (or closed): each open one closes at the latest when the watermark passes.
      for (long window : current.openWindows) {
        context.timerService().registerEventTimeTimer(trainer.lastMillisOf(window));
      }
    }
    if (current.lateEvents > lateBefore && counts) {
      late.inc();
    }
    if (outcome == ModelTrainer.Outcome.TRAINED) {
      if (counts) {
        trained.inc();
      }
      // The candidate's own setting: candidates may batch differently.
      long delay = batchDelayMillis[example.candidate];
      if (delay > 0 && current.batchRows == 1) {
        current.batchDeadline = context.timerService().currentProcessingTime() + delay;
        context.timerService().registerProcessingTimeTimer(current.batchDeadline);
      }
    } else if (counts) {
      heldOut.inc();
    }
    currentVersion = current.version;
    gaugesOf(current.model).version = current.version;
    if (counts) {
      long[] featureCounts = current.featurizer.counters;
      for (int i = 0; i < featureCounters.length; i++) {
        featureCounters[i].inc(featureCounts[i] - featureCountsBefore[i]);
      }
    }
    update(current);
  }

  private ModelGauges gaugesOf(String model) {
    return gaugesByModel.computeIfAbsent(
        model,
        name -> {
          ModelGauges gauges = new ModelGauges();
          versionAndWindowGauges(
              streamlearnGroup.addGroup("model", name), () -> gauges.version, () -> gauges.window);
          return gauges;
        });
  }

  /**
   * The newest version and the last closed window's held-out metrics, as gauges of {@code group}.
   */
  private static void versionAndWindowGauges(
      org.apache.flink.metrics.MetricGroup group,
      java.util.function.LongSupplier version,
      java.util.function.Supplier<com.fasterxml.jackson.databind.JsonNode> window) {
    group.gauge(PipelineCounters.CURRENT_VERSION, (Gauge<Long>) version::getAsLong);
    group.gauge("heldOutLoss", (Gauge<Double>) () -> metricOf(window.get(), "logLoss"));
    group.gauge("heldOutAccuracy", (Gauge<Double>) () -> metricOf(window.get(), "accuracy"));
    group.gauge("heldOutAuc", (Gauge<Double>) () -> metricOf(window.get(), "auc"));
    group.gauge("heldOutMse", (Gauge<Double>) () -> metricOf(window.get(), "mse"));
  }

  /**
   * A state from a checkpoint of another spec: adapted to this one's training settings and to the
   * versions the store holds, or refused when its network or features differ (see {@link
   * ModelTrainer#resume}).
   */
  private void resume(ModelTrainer trainer, TrainerState current) throws java.io.IOException {
    String changed = trainer.resume(current);
    if (changed != null) {
      LOG.info("restored state adapted to this job: {}", changed);
      update(current);
    }
  }

  /** The state of the model at hand: as last changed, written or not. */
  private TrainerState read() throws java.io.IOException {
    TrainerState changed = unwritten.get(currentKey);
    return changed != null ? changed : state.value();
  }

  private void update(TrainerState current) throws java.io.IOException {
    if (stateHeldOnHeap) {
      // The heap backend keeps the object: nothing is copied.
      state.update(current);
    } else if (writesBehind
        && (unwritten.size() < MOST_UNWRITTEN || unwritten.containsKey(currentKey))) {
      unwritten.put(currentKey, current);
    } else {
      trainerOf(current).syncFromDevice();
      state.update(current);
    }
  }

  /** Runs this function with its states written into keyed state at checkpoints only. */
  TrainModel writingBehind() {
    writesBehind = true;
    return this;
  }

  /**
   * Writes the states changed since the last checkpoint into keyed state, each under its key, which
   * {@code switchTo} makes the current one; the devices' last steps first.
   */
  void writeUnwritten(java.util.function.Consumer<String> switchTo) throws Exception {
    if (unwritten == null || unwritten.isEmpty()) {
      return;
    }
    for (ModelTrainer trainer : trainers) {
      trainer.syncFromDevice();
    }
    for (java.util.Map.Entry<String, TrainerState> changed : unwritten.entrySet()) {
      switchTo.accept(changed.getKey());
      state.update(changed.getValue());
    }
    unwritten.clear();
  }

  /**
   * The state's host arrays are brought up to date with the device before Flink copies them; the
   * counters go along.
   */
  @Override
  public void snapshotState(FunctionSnapshotContext context) throws Exception {
    for (ModelTrainer trainer : trainers) {
      trainer.syncFromDevice();
    }
    super.snapshotState(context);
  }

  private ModelTrainer.Output output(Context context, Collector<ModelSnapshot> out) {
    return new ModelTrainer.Output() {
      @Override
      public void version(ModelSnapshot snapshot) {
        out.collect(snapshot);
      }

      @Override
      public void window(WindowReport report) {
        // Parsed once per window here, not on every gauge read.
        try {
          lastWindow = JSON.readTree(report.metricsJson);
          gaugesOf(report.model).window = lastWindow;
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
        context.output(WINDOWS, report);
      }
    };
  }

  @Override
  public void onTimer(long timestamp, OnTimerContext context, Collector<ModelSnapshot> out)
      throws Exception {
    currentKey = context.getCurrentKey();
    TrainerState current = read();
    if (current == null) {
      return;
    }
    if (trainerOf(current) == null) {
      // Restored from a run whose spec had this candidate; this spec has not: it trains no more.
      LOG.warn(
          "model {} is of candidate {}, which the spec no longer lists: left as it was",
          current.model,
          current.candidate);
      return;
    }
    resume(trainerOf(current), current);
    if (context.timeDomain() == TimeDomain.PROCESSING_TIME) {
      if (timestamp == current.batchDeadline && current.batchRows > 0) {
        trainerOf(current).closeBatch(current);
        update(current);
      }
      return;
    }
    if (timestamp != Long.MAX_VALUE) {
      // The watermark passed a window's end: the window closes, unless this is the end of input,
      // where the timer at Long.MAX_VALUE closes every open window, the last as the final one.
      if (context.timerService().currentWatermark() != Long.MAX_VALUE) {
        trainerOf(current).closeWindowsThrough(current, timestamp, output(context, out));
        currentVersion = current.version;
        gaugesOf(current.model).version = current.version;
        update(current);
      }
      return;
    }
    trainerOf(current).finish(current, output(context, out));
    current.endOfInputReached = true;
    currentVersion = current.version;
    gaugesOf(current.model).version = current.version;
    update(current);
  }

  /** A window's metric by name; NaN before the first window, or where the task has none. */
  private static double metricOf(com.fasterxml.jackson.databind.JsonNode window, String name) {
    return window == null ? Double.NaN : window.path(name).asDouble(Double.NaN);
  }

  /** A counter whose count another supplies. */
  private record SuppliedCounter(java.util.function.LongSupplier count) implements Counter {
    @Override
    public void inc() {}

    @Override
    public void inc(long n) {}

    @Override
    public void dec() {}

    @Override
    public void dec(long n) {}

    @Override
    public long getCount() {
      return count.getAsLong();
    }
  }

  /**
   * The GPU this subtask trains on: the task manager's {@code gpu} external resource on a cluster
   * that offers one, else {@code cuda.device} plus the subtask's index (one trainer per GPU).
   */
  private int deviceIndex() {
    for (ExternalResourceInfo gpu : getRuntimeContext().getExternalResourceInfos("gpu")) {
      java.util.Optional<String> index = gpu.getProperty("index");
      if (index.isPresent()) {
        return Integer.parseInt(index.get().trim());
      }
    }
    return spec.cuda().device() + getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
  }

  @Override
  public void close() {
    if (trainers != null) {
      for (ModelTrainer trainer : trainers) {
        trainer.closeDevice();
      }
    }
    if (device != null) {
      device.close();
    }
    if (backend != null) {
      backend.close();
    }
  }
}
