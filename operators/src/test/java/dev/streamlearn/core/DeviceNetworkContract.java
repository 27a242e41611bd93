package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.streamlearn.core.backend.Backend;
import dev.streamlearn.core.backend.JavaBackend;
import dev.streamlearn.core.data.CsvEvents;
import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.core.device.DeviceCheck;
import dev.streamlearn.core.device.DeviceNetwork;
import dev.streamlearn.core.device.DeviceOps;
import dev.streamlearn.core.device.Precision;
import dev.streamlearn.core.model.NetworkShape;
import dev.streamlearn.core.model.ReferenceNetwork;
import dev.streamlearn.core.model.SplitMix64;
import dev.streamlearn.core.optim.Optimizer;
import dev.streamlearn.core.optim.OptimizerSettings;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.train.ModelTrainer;
import dev.streamlearn.core.train.TrainerState;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.junit.jupiter.api.Test;

/**
 * What every {@link DeviceOps} must do: matrix products, kernels and whole training steps equal to
 * the float64 reference within a tolerance per precision. Run on the CPU emulation in every build
 * and on a CUDA device where there is one.
 */
abstract class DeviceNetworkContract {

  /** Largest error allowed, relative to the scale of the values compared. */
  static double tolerance(Precision precision) {
    return switch (precision) {
      case FP32 -> 1e-4;
      case TF32 -> 5e-2;
      case BF16 -> 5e-2;
    };
  }

  /**
   * Largest error in parameters after three steps, relative to the largest move. Adaptive
   * optimizers divide by the gradient's running size, so an entry summed with cancellation moves by
   * a rounded ratio: their tolerance is wider.
   */
  static double parameterTolerance(Precision precision, boolean adaptive) {
    return switch (precision) {
      case FP32 -> adaptive ? 1e-4 : 1e-5;
      case TF32 -> adaptive ? 1e-1 : 5e-3;
      case BF16 -> adaptive ? 3e-1 : 5e-2;
    };
  }

  /** Gradient entries this small, relative to the largest, may change sign by rounding. */
  static double noiseFloor(Precision precision) {
    return switch (precision) {
      case FP32 -> 0;
      case TF32 -> 0x1p-5;
      case BF16 -> 0x1p-3;
    };
  }

  abstract DeviceOps open(Precision precision);

  static List<OptimizerSettings> optimizers() {
    List<OptimizerSettings> all = new ArrayList<>();
    all.add(new OptimizerSettings("sgd", 0, false, 0.9, 0.999, 1e-8, 0, 0, 0, 0));
    all.add(new OptimizerSettings("sgd", 0.9, true, 0.9, 0.999, 1e-8, 0.01, 0.02, 0, 0.5));
    all.add(new OptimizerSettings("adam", 0, false, 0.9, 0.999, 1e-8, 0, 0, 0.01, 0));
    all.add(new OptimizerSettings("adamw", 0, false, 0.9, 0.99, 1e-8, 0, 0.01, 0.05, 1.0));
    all.add(new OptimizerSettings("rmsprop", 0, false, 0.9, 0.9, 1e-8, 0, 0, 0.01, 0));
    all.add(new OptimizerSettings("adagrad", 0, false, 0.9, 0.999, 1e-8, 0.001, 0, 0, 0));
    return all;
  }

  @Test
  void matrixProductsMatchFloat64WithTransposesAndOffsets() {
    Random random = new Random(5);
    for (Precision precision : Precision.values()) {
      try (DeviceOps ops = open(precision)) {
        for (boolean ta : new boolean[] {false, true}) {
          for (boolean tb : new boolean[] {false, true}) {
            int m = 37;
            int n = 29;
            int k = 53;
            float[] a = DeviceCheck.gaussians(random, 3 + m * k);
            float[] b = DeviceCheck.gaussians(random, 5 + k * n);
            float[] c = DeviceCheck.gaussians(random, 2 + m * n);
            float[] actual = DeviceCheck.product(ops, ta, tb, m, n, k, a, 3, b, 5, 0.5f, c, 2);
            for (int i = 0; i < m; i++) {
              for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int p = 0; p < k; p++) {
                  sum +=
                      (double) a[3 + (ta ? p * m + i : i * k + p)]
                          * b[5 + (tb ? j * k + p : p * n + j)];
                }
                double expected = sum + 0.5 * c[2 + i * n + j];
                assertThat(Math.abs(actual[2 + i * n + j] - expected) / Math.sqrt(k))
                    .as("%s gemm(%s, %s)[%d][%d]", precision, ta, tb, i, j)
                    .isLessThan(tolerance(precision));
              }
            }
            assertThat(actual[0]).isEqualTo(c[0]);
          }
        }
      }
    }
  }

  /**
   * Uploads queue without waiting until their staging is full, then the device waits and the
   * staging grows; a download waits for everything before it. Values must land where they were sent
   * whatever the sizes: none, one, runs of small uploads past the staging's size, and one larger
   * than all.
   */
  @Test
  void transfersOfEverySizeLandWhereTheyWereSent() {
    Random random = new Random(7);
    try (DeviceOps ops = open(Precision.FP32)) {
      int small = 1000;
      int runs = 300;
      int large = 20_000_003;
      float[] values = DeviceCheck.gaussians(random, large);
      DeviceOps.Buffer target = ops.allocate(large + 8);
      float[] back = new float[large + 8];

      ops.upload(values, 0, target, 0, 0);
      ops.download(target, 0, back, 0, 0);
      ops.upload(values, 5, target, 3, 1);
      ops.download(target, 3, back, 0, 1);
      assertThat(back[0]).isEqualTo(values[5]);

      for (int run = 0; run < runs; run++) {
        ops.upload(values, run * small, target, 8 + (long) run * small, small);
      }
      ops.download(target, 8, back, 0, runs * small);
      for (int i = 0; i < runs * small; i++) {
        assertThat(back[i]).as("entry %d of %d small uploads", i, runs).isEqualTo(values[i]);
      }

      ops.upload(values, 0, target, 8, large);
      ops.upload(values, 0, target, 0, 8);
      ops.download(target, 0, back, 0, large + 8);
      for (int i = 0; i < large + 8; i++) {
        float expected = i < 8 ? values[i] : values[i - 8];
        if (back[i] != expected) {
          assertThat(back[i]).as("entry %d after a large upload", i).isEqualTo(expected);
        }
      }
      assertThat(ops.bytesUploaded()).isEqualTo(4L * (1 + runs * small + large + 8));
      assertThat(ops.bytesDownloaded()).isEqualTo(4L * (1 + runs * small + large + 8));
      ops.free(target);
    }
  }

  @Test
  void reductionsOverManyBlocksMatchFloat64() {
    Random random = new Random(6);
    try (DeviceOps ops = open(Precision.FP32)) {
      int n = 3_000_001;
      float[] v = new float[n];
      double sum = 0;
      double squares = 0;
      for (int i = 0; i < n; i++) {
        v[i] = random.nextFloat() - 0.25f;
        sum += v[i];
        squares += (double) v[i] * v[i];
      }
      DeviceOps.Buffer dv = ops.allocate(n);
      DeviceOps.Buffer result = ops.allocate(3);
      ops.upload(v, 0, dv, 0, n);
      ops.sum(dv, 0, n, false, result, 0);
      ops.sum(dv, 0, n, true, result, 1);
      float[] got = new float[2];
      ops.download(result, 0, got, 0, 2);
      assertThat(Math.abs(got[0] - sum) / Math.sqrt(squares)).isLessThan(1e-4);
      assertThat(Math.abs(got[1] - squares) / squares).isLessThan(1e-4);

      int rows = 5003;
      int cols = 3;
      ops.columnSums(dv, rows, cols, result, 0);
      float[] columns = new float[3];
      ops.download(result, 0, columns, 0, 3);
      for (int c = 0; c < 3; c++) {
        double expected = 0;
        for (int r = 0; r < rows; r++) {
          expected += v[r * cols + c];
        }
        assertThat(Math.abs(columns[c] - expected)).as("column %d", c).isLessThan(1e-2);
      }
      ops.free(dv);
      ops.free(result);
    }
  }

  /** The largest errors seen, printed after the step test: the margins under each tolerance. */
  private static final java.util.Map<String, Double> LARGEST = new java.util.TreeMap<>();

  @Test
  void everyModelLossAndOptimizerStepMatchesFloat64Reference() {
    for (Precision precision : Precision.values()) {
      try (DeviceOps ops = open(precision)) {
        Random random = new Random(3);
        for (NetworkShape shape : NetworkCases.all(0.25)) {
          for (OptimizerSettings settings : optimizers()) {
            assertStepsAgree(ops, precision, shape, settings, random);
          }
        }
      }
    }
    System.out.println(getClass().getSimpleName() + " largest relative errors: " + LARGEST);
  }

  private static void assertStepsAgree(
      DeviceOps ops,
      Precision precision,
      NetworkShape shape,
      OptimizerSettings settings,
      Random random) {
    int rows = 16;
    float[] start = NetworkCases.randomParameters(shape, random);
    int slots = settings.slots();
    float[] params = start.clone();
    float[] m1 = new float[slots >= 1 ? params.length : 0];
    float[] m2 = new float[slots >= 2 ? params.length : 0];
    float[] expected = start.clone();
    float[][] expectedSlots = {m1.clone(), m2.clone()};
    Optimizer optimizer = new Optimizer(settings, shape.weightMask());
    ReferenceNetwork reference = new ReferenceNetwork(shape);
    SplitMix64 deviceRandom = new SplitMix64(11);
    SplitMix64 referenceRandom = new SplitMix64(11);
    // Adaptive optimizers divide by the gradient's own size, so an entry whose gradient is within
    // the precision's rounding of zero may move either way: those entries are left out (and
    // counted), the rest compared.
    boolean[] belowNoise = new boolean[start.length];
    boolean adaptive = !settings.type().equals("sgd");
    try (DeviceNetwork network = new DeviceNetwork(shape, settings, ops, rows)) {
      network.upload(params, m1, m2);
      for (int step = 1; step <= 3; step++) {
        NetworkCases.Batch batch = NetworkCases.batch(shape, rows, random);
        double loss =
            network.step(batch.x(), batch.y(), batch.weight(), rows, deviceRandom, step, 0.05);
        double[] p = new double[expected.length];
        for (int i = 0; i < p.length; i++) {
          p[i] = expected[i];
        }
        double[] gradient = new double[p.length];
        double expectedLoss =
            reference.lossAndGradient(
                p,
                batch.xRows(shape.inputs()),
                batch.yDouble(),
                batch.weightDouble(),
                referenceRandom,
                gradient);
        float[] g = new float[gradient.length];
        double largest = 0;
        for (int i = 0; i < g.length; i++) {
          g[i] = (float) gradient[i];
          largest = Math.max(largest, Math.abs(gradient[i]));
        }
        for (int i = 0; i < g.length; i++) {
          if (Math.abs(gradient[i]) <= noiseFloor(precision) * largest) {
            belowNoise[i] = true;
          }
        }
        optimizer.apply(expected, g, expectedSlots, step, 0.05);
        double lossError = Math.abs(loss - expectedLoss) / Math.max(1, Math.abs(expectedLoss));
        LARGEST.merge(precision + " loss", lossError, Math::max);
        assertThat(lossError)
            .as("%s %s %s loss at step %d", precision, shape, settings.type(), step)
            .isLessThan(tolerance(precision));
      }
      assertThat(deviceRandom.state()).isEqualTo(referenceRandom.state());
      network.download(params, m1, m2);
    }
    double moved = 1e-3;
    for (int i = 0; i < start.length; i++) {
      moved = Math.max(moved, Math.abs(expected[i] - start[i]));
    }
    int leftOut = 0;
    for (int i = 0; i < params.length; i++) {
      double error = Math.abs(params[i] - expected[i]) / moved;
      if (error >= parameterTolerance(precision, adaptive)
          && adaptive
          && precision != Precision.FP32
          && belowNoise[i]) {
        leftOut++;
        continue;
      }
      LARGEST.merge(
          precision + (adaptive ? " adaptive" : " sgd") + " parameters", error, Math::max);
      assertThat(error)
          .as("%s %s %s parameter %d", precision, shape, settings.type(), i)
          .isLessThan(parameterTolerance(precision, adaptive));
    }
    LARGEST.merge(precision + " share left out", (double) leftOut / params.length, Math::max);
    assertThat(leftOut)
        .as("%s %s %s entries left out", precision, shape, settings.type())
        .isLessThanOrEqualTo(2 + params.length / 5);
  }

  @Test
  void predictionsMatchFloat64Reference() {
    Random random = new Random(8);
    try (DeviceOps ops = open(Precision.FP32)) {
      for (NetworkShape shape : NetworkCases.all(0.25)) {
        OptimizerSettings settings = OptimizerSettings.sgd(0);
        int rows = 9;
        float[] params = NetworkCases.randomParameters(shape, random);
        NetworkCases.Batch batch = NetworkCases.batch(shape, rows, random);
        float[] predictions = new float[rows * shape.outputs()];
        try (DeviceNetwork network = new DeviceNetwork(shape, settings, ops, rows)) {
          network.upload(params, new float[0], new float[0]);
          network.predict(batch.x(), rows, predictions);
        }
        double[] p = new double[params.length];
        for (int i = 0; i < p.length; i++) {
          p[i] = params[i];
        }
        double[][] x = batch.xRows(shape.inputs());
        ReferenceNetwork reference = new ReferenceNetwork(shape);
        for (int r = 0; r < rows; r++) {
          double[] expected = reference.predict(p, x[r]);
          for (int j = 0; j < expected.length; j++) {
            assertThat(Math.abs(predictions[r * shape.outputs() + j] - expected[j]))
                .as("%s row %d output %d", shape, r, j)
                .isLessThan(1e-4 * Math.max(1, Math.abs(expected[j])));
          }
        }
      }
    }
  }

  private static final String DIGITS_SPEC =
      ModelTrainerTest.DIGITS_MLP + "validation: {window: 1d, max-window-events: 400}\n";

  /** Streams the rows through a trainer (on the device when set); held-out metrics at the end. */
  private static Map<String, Double> trainDigits(
      PipelineSpec spec, CsvEvents rows, DeviceOps device, int passes) throws Exception {
    try (Backend cpu = new JavaBackend()) {
      ModelTrainer trainer = new ModelTrainer(spec, cpu, device);
      TrainerState state = trainer.newState();
      offer(trainer, state, spec, rows, 0, rows.size() * passes);
      trainer.closeBatch(state);
      Map<String, Double> metrics = trainer.validate(state);
      trainer.closeDevice();
      return metrics;
    }
  }

  private static void offer(
      ModelTrainer trainer, TrainerState state, PipelineSpec spec, CsvEvents rows, int from, int to)
      throws Exception {
    ExampleExtractor extractor = new ExampleExtractor(spec);
    for (int i = from; i < to; i++) {
      trainer.offer(
          state, extractor.extract(rows.event(i % rows.size(), "row-", 0), 0, i), new Outputs());
    }
  }

  @Test
  void digitsTrainingReachesTheCpuAccuracy() throws Exception {
    CsvEvents rows = ModelTrainerTest.digits();
    PipelineSpec spec = ModelTrainerTest.specFor(rows, DIGITS_SPEC);
    double cpu = trainDigits(spec, rows, null, 4).get("accuracy");
    for (Precision precision : Precision.values()) {
      try (DeviceOps ops = open(precision)) {
        double accuracy = trainDigits(spec, rows, ops, 4).get("accuracy");
        System.out.printf(
            "digits, MLP 64-64-10, 4 passes: held-out accuracy %.4f on %s, %.4f on the CPU%n",
            accuracy, ops.description(), cpu);
        assertThat(accuracy).as("%s accuracy", precision).isGreaterThanOrEqualTo(cpu - 0.01);
      }
    }
  }

  /**
   * Steps are not waited for and held-out events are scored on the device: losses, parameters and
   * optimizer state stay ahead on the device until the host needs them (here at each window's
   * validation), and the versions, their losses and the held-out scores are those of a trainer that
   * copies everything back after every event.
   */
  @Test
  void stepsRunAheadOfTheHostUntilItNeedsTheirResults() throws Exception {
    CsvEvents rows = ModelTrainerTest.digits();
    PipelineSpec spec =
        ModelTrainerTest.specFor(
            rows,
            ModelTrainerTest.DIGITS_MLP + "validation: {window: 10m, max-window-events: 600}\n");
    ExampleExtractor extractor = new ExampleExtractor(spec);
    try (Backend cpu = new JavaBackend();
        DeviceOps lazy = open(Precision.FP32);
        DeviceOps eager = open(Precision.FP32)) {
      ModelTrainer lazyTrainer = new ModelTrainer(spec, cpu, lazy);
      ModelTrainer eagerTrainer = new ModelTrainer(spec, cpu, eager);
      TrainerState lazyState = lazyTrainer.newState();
      TrainerState eagerState = eagerTrainer.newState();
      Outputs lazyOut = new Outputs();
      Outputs eagerOut = new Outputs();
      for (int i = 0; i < 2 * rows.size(); i++) {
        int pass = i / rows.size();
        var event = rows.event(i % rows.size(), "pass-" + pass + "-", 1000L * rows.size() * pass);
        lazyTrainer.offer(lazyState, extractor.extract(event, 0, i), lazyOut);
        eagerTrainer.offer(eagerState, extractor.extract(event, 0, i), eagerOut);
        eagerTrainer.syncFromDevice();
      }
      lazyTrainer.finish(lazyState, lazyOut);
      eagerTrainer.finish(eagerState, eagerOut);

      long stateBytes = 3L * Float.BYTES * lazyTrainer.shape().parameterCount();
      long steps = lazyState.steps;
      int windows = lazyOut.windows.size();
      long predictionBytes =
          (long) Float.BYTES * lazyTrainer.shape().outputs() * lazyState.heldOutTotal;
      System.out.printf(
          "%d steps, %d held out, %d windows: %d bytes copied back with copies on demand, %d"
              + " after every step (%s)%n",
          steps,
          lazyState.heldOutTotal,
          windows,
          lazy.bytesDownloaded(),
          eager.bytesDownloaded(),
          lazy.description());
      assertThat(steps).isGreaterThan(10L * windows);
      assertThat(lazyState.heldOutTotal).isGreaterThan(steps);
      assertThat(lazy.bytesDownloaded())
          .as(
              "bytes copied back: held-out predictions, at most a loss per step and the state once"
                  + " per window")
          .isLessThanOrEqualTo(Float.BYTES * steps + predictionBytes + windows * stateBytes);
      assertThat(eager.bytesDownloaded()).isGreaterThanOrEqualTo(steps * stateBytes);

      assertThat(lazyOut.versions).hasSameSizeAs(eagerOut.versions).hasSizeGreaterThan(1);
      assertThat(lazyState.version).isEqualTo(eagerState.version);
      for (int v = 0; v < lazyOut.versions.size(); v++) {
        double lazyLoss = training(lazyOut.versions.get(v)).get("lastBatchLoss");
        double eagerLoss = training(eagerOut.versions.get(v)).get("lastBatchLoss");
        assertThat(lazyLoss).as("last batch loss of version %d", v + 1).isPositive();
        assertThat(lazyLoss).isCloseTo(eagerLoss, within(1e-6 * eagerLoss));
      }
      // Held-out events were scored by the model of their arrival, wherever it was.
      Map<String, Double> lazyScores = sinceStart(lazyOut);
      Map<String, Double> eagerScores = sinceStart(eagerOut);
      assertThat(lazyScores.keySet()).isEqualTo(eagerScores.keySet()).contains("logLoss");
      lazyScores.forEach(
          (name, value) ->
              assertThat(value).as(name).isCloseTo(eagerScores.get(name), within(1e-6)));
      assertCloseRelativeToLargest("parameter", lazyState.params, eagerState.params);
      assertCloseRelativeToLargest("first moment", lazyState.moment1, eagerState.moment1);
      assertCloseRelativeToLargest("second moment", lazyState.moment2, eagerState.moment2);
      lazyTrainer.closeDevice();
      eagerTrainer.closeDevice();
    }
  }

  /** The since-start metrics (held-out events scored on arrival) of the last version. */
  private static Map<String, Double> sinceStart(Outputs out) throws java.io.IOException {
    String manifest = out.versions.get(out.versions.size() - 1).manifestJson;
    return dev.streamlearn.store.ManifestJson.read(manifest).metrics().get("sinceStart");
  }

  /** A version's training metrics (last batch loss, steps, learning rate). */
  private static Map<String, Double> training(dev.streamlearn.core.train.ModelSnapshot version)
      throws java.io.IOException {
    return dev.streamlearn.store.ManifestJson.read(version.manifestJson).metrics().get("training");
  }

  /** Each value within 1e-3 of the largest expected one. */
  private static void assertCloseRelativeToLargest(String what, float[] actual, float[] expected) {
    assertThat(actual).hasSameSizeAs(expected);
    double scale = Float.MIN_NORMAL;
    for (float value : expected) {
      scale = Math.max(scale, Math.abs(value));
    }
    for (int i = 0; i < expected.length; i++) {
      assertThat(Math.abs(actual[i] - expected[i]) / scale).as("%s %d", what, i).isLessThan(1e-3);
    }
  }

  @Test
  void aStateHandedOverMidRunContinuesOnAnotherDeviceOrTheCpu() throws Exception {
    CsvEvents rows = ModelTrainerTest.digits();
    PipelineSpec spec = ModelTrainerTest.specFor(rows, DIGITS_SPEC);
    TypeSerializer<TrainerState> serializer =
        TypeInformation.of(TrainerState.class).createSerializer(new SerializerConfigImpl());
    int half = rows.size();
    try (Backend cpu = new JavaBackend();
        DeviceOps first = open(Precision.FP32);
        DeviceOps second = open(Precision.FP32)) {
      ModelTrainer trainer = new ModelTrainer(spec, cpu, first);
      TrainerState state = trainer.newState();
      offer(trainer, state, spec, rows, 0, half);
      // The host arrays, which checkpoints hold, follow the device once synced (as before a
      // snapshot): beside the same events trained on the CPU, not where they started.
      trainer.syncFromDevice();
      ModelTrainer cpuOnly = new ModelTrainer(spec, cpu);
      TrainerState cpuState = cpuOnly.newState();
      offer(cpuOnly, cpuState, spec, rows, 0, half);
      float[] initial = trainer.newState().params;
      double moved = 0;
      double apart = 0;
      for (int i = 0; i < initial.length; i++) {
        moved = Math.max(moved, Math.abs(cpuState.params[i] - initial[i]));
        apart = Math.max(apart, Math.abs(cpuState.params[i] - state.params[i]));
      }
      assertThat(apart / moved).as("host parameters against the CPU's").isLessThan(1e-2);
      // What a checkpoint holds: the state as the host sees it, synced, after the last event.
      TrainerState onAnotherDevice = serializer.copy(state);
      TrainerState onTheCpu = serializer.copy(state);
      offer(trainer, state, spec, rows, half, 2 * half);

      ModelTrainer restored = new ModelTrainer(spec, cpu, second);
      offer(restored, onAnotherDevice, spec, rows, half, 2 * half);
      trainer.syncFromDevice();
      restored.syncFromDevice();
      assertCloseRelativeToLargest(
          "after a restore onto another device, parameter", onAnotherDevice.params, state.params);

      ModelTrainer onCpu = new ModelTrainer(spec, cpu);
      offer(onCpu, onTheCpu, spec, rows, half, 2 * half);
      assertThat(onCpu.validate(onTheCpu).get("accuracy"))
          .as("accuracy after a restore onto the CPU")
          .isGreaterThanOrEqualTo(trainer.validate(state).get("accuracy") - 0.02);
      trainer.closeDevice();
      restored.closeDevice();
    }
  }
}
