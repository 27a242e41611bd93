package dev.streamlearn.operators;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.ModelTrainerTest;
import dev.streamlearn.core.data.CsvEvents;
import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.train.ModelSnapshot;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ManifestJson;
import dev.streamlearn.store.Safetensors;
import dev.streamlearn.store.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The trainer operator with its steps on a device: a job on a Flink MiniCluster trains on
 * digits.csv to the CPU's held-out accuracy, and a checkpoint taken mid-run restores onto the
 * device and onto a task manager without one. Subclasses name the device.
 */
abstract class TrainingOnDeviceContract {

  @RegisterExtension
  static final MiniClusterExtension CLUSTER =
      new MiniClusterExtension(
          new MiniClusterResourceConfiguration.Builder()
              .setNumberTaskManagers(1)
              .setNumberSlotsPerTaskManager(1)
              .build());

  /** The MLP of the device contract's digits run; a version every 10 minutes of event time. */
  static final String DIGITS =
      "name: digits\n"
          + ModelTrainerTest.DIGITS_MLP
          + "validation: {window: 10m, max-window-events: 400}\n"
          + "cuda: {cpu-backend: java}\n";

  private static final int PASSES = 4;

  /** Opens the device the trainer under test steps on. */
  abstract TrainModel.DeviceFactory devices();

  /** What manifests record as the backend of versions trained on that device. */
  abstract String deviceName();

  @Test
  void aJobOnAMiniClusterTrainsOnTheDeviceToTheCpuAccuracy() throws Exception {
    CsvEvents rows = ModelTrainerTest.digits();
    List<Example> examples = examples(rows, ModelTrainerTest.specFor(rows, DIGITS, "java"));

    List<ModelSnapshot> onDevice =
        runJob(examples, new TrainModel(ModelTrainerTest.specFor(rows, DIGITS, "cuda"), devices()));
    List<ModelSnapshot> onCpu =
        runJob(examples, new TrainModel(ModelTrainerTest.specFor(rows, DIGITS, "java")));

    Manifest device = ManifestJson.read(onDevice.get(onDevice.size() - 1).manifestJson);
    Manifest cpu = ManifestJson.read(onCpu.get(onCpu.size() - 1).manifestJson);
    double deviceAccuracy = device.metrics().get("window").get("accuracy");
    double cpuAccuracy = cpu.metrics().get("window").get("accuracy");
    System.out.printf(
        "digits job on a MiniCluster, %d versions: held-out accuracy %.4f on %s (%s), %.4f on the"
            + " CPU%n",
        onDevice.size(), deviceAccuracy, device.backend(), device.precision(), cpuAccuracy);
    assertThat(device.backend()).isEqualTo(deviceName());
    assertThat(cpu.backend()).isEqualTo("java");
    assertThat(onDevice).hasSameSizeAs(onCpu).hasSizeGreaterThan(1);
    // Every event is trained on or held out, on the device as on the CPU.
    assertThat(device.lineage().eventsTrainedTotal() + device.lineage().eventsHeldOutTotal())
        .isEqualTo(examples.size());
    assertThat(device.lineage()).isEqualTo(cpu.lineage());
    assertThat(deviceAccuracy).isGreaterThanOrEqualTo(cpuAccuracy - 0.01);
  }

  @Test
  void aCheckpointTakenOnTheDeviceRestoresOntoTheDeviceAndOntoATaskManagerWithoutOne()
      throws Exception {
    CsvEvents rows = ModelTrainerTest.digits();
    PipelineSpec spec = ModelTrainerTest.specFor(rows, DIGITS, "cuda");
    List<Example> examples = examples(rows, spec);
    // Mid-window (windows of 600 events start at examples.size() / 2), about nine steps after the
    // last validation: the device is ahead of the host when the checkpoint is taken.
    int cut = examples.size() / 2 + 301;

    List<ModelSnapshot> withoutCheckpoint;
    try (var harness = TrainModelTest.harness(new TrainModel(spec, devices()))) {
      harness.open();
      TrainModelTest.feed(harness, examples);
      harness.processWatermark(Long.MAX_VALUE);
      withoutCheckpoint = TrainModelTest.outputs(harness);
    }
    List<ModelSnapshot> uninterrupted;
    OperatorSubtaskState checkpoint;
    try (var harness = TrainModelTest.harness(new TrainModel(spec, devices()))) {
      harness.open();
      TrainModelTest.feed(harness, examples.subList(0, cut));
      checkpoint = harness.snapshot(1, 1);
      TrainModelTest.feed(harness, examples.subList(cut, examples.size()));
      harness.processWatermark(Long.MAX_VALUE);
      uninterrupted = TrainModelTest.outputs(harness);
    }
    List<ModelSnapshot> onDevice =
        resume(new TrainModel(spec, devices()), checkpoint, examples, cut);
    List<ModelSnapshot> onCpu =
        resume(
            new TrainModel(spec, (backend, index, precision) -> null), checkpoint, examples, cut);

    ModelSnapshot expected = uninterrupted.get(uninterrupted.size() - 1);
    Manifest expectedManifest = ManifestJson.read(expected.manifestJson);
    assertThat(expectedManifest.metrics().get("window").get("accuracy"))
        .as("held-out accuracy of the uninterrupted run on the device")
        .isGreaterThan(0.9);
    for (List<ModelSnapshot> resumed : List.of(onDevice, onCpu)) {
      ModelSnapshot last = resumed.get(resumed.size() - 1);
      Manifest manifest = ManifestJson.read(last.manifestJson);
      assertThat(last.version).isEqualTo(expected.version);
      assertThat(manifest.lineage()).isEqualTo(expectedManifest.lineage());
      assertThat(manifest.metrics().get("window").get("accuracy"))
          .as("accuracy after a restore on %s", manifest.backend())
          .isGreaterThanOrEqualTo(expectedManifest.metrics().get("window").get("accuracy") - 0.02);
    }
    assertThat(ManifestJson.read(onCpu.get(onCpu.size() - 1).manifestJson).backend())
        .isEqualTo("java");
    // On the device the run after the restore, and the run that went on after the checkpoint, are
    // the run that took none: the checkpoint held the parameters and optimizer state of the last
    // step, not of an earlier one, and taking it changed nothing.
    float[] expectedParams = parameters(withoutCheckpoint.get(withoutCheckpoint.size() - 1));
    assertCloseToLargest(
        "after a restore onto the device", parameters(last(onDevice)), expectedParams);
    assertCloseToLargest("after a checkpoint", parameters(expected), expectedParams);
  }

  private static ModelSnapshot last(List<ModelSnapshot> versions) {
    return versions.get(versions.size() - 1);
  }

  /** Each parameter within 1e-3 of the largest expected one. */
  private static void assertCloseToLargest(String when, float[] actual, float[] expected) {
    double scale = 1e-3;
    for (float p : expected) {
      scale = Math.max(scale, Math.abs(p));
    }
    for (int i = 0; i < expected.length; i++) {
      assertThat(Math.abs(actual[i] - expected[i]) / scale)
          .as("parameter %d %s", i, when)
          .isLessThan(1e-3);
    }
  }

  private static List<ModelSnapshot> resume(
      TrainModel trainer, OperatorSubtaskState checkpoint, List<Example> examples, int cut)
      throws Exception {
    try (var harness = TrainModelTest.harness(trainer)) {
      harness.initializeState(checkpoint);
      harness.open();
      TrainModelTest.feed(harness, examples.subList(cut, examples.size()));
      harness.processWatermark(Long.MAX_VALUE);
      return TrainModelTest.outputs(harness);
    }
  }

  private static List<ModelSnapshot> runJob(List<Example> examples, TrainModel trainer)
      throws Exception {
    Configuration configuration = new Configuration();
    configuration.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
    StreamExecutionEnvironment env =
        StreamExecutionEnvironment.getExecutionEnvironment(configuration);
    env.setParallelism(1);
    List<ModelSnapshot> versions = new ArrayList<>();
    try (var results =
        env.fromData(examples, ExampleSerializer.TYPE)
            .keyBy(example -> "m")
            .process(trainer)
            .executeAndCollect()) {
      results.forEachRemaining(versions::add);
    }
    return versions;
  }

  static float[] parameters(ModelSnapshot snapshot) throws java.io.IOException {
    Map<String, Tensor> tensors = Safetensors.decode(snapshot.parameters);
    float[] all = new float[tensors.values().stream().mapToInt(t -> t.data().length).sum()];
    int at = 0;
    for (Tensor tensor : tensors.values()) {
      System.arraycopy(tensor.data(), 0, all, at, tensor.data().length);
      at += tensor.data().length;
    }
    return all;
  }

  /** The rows {@link #PASSES} times over, through the spec's extractor, one second apart. */
  static List<Example> examples(CsvEvents rows, PipelineSpec spec) throws Exception {
    ExampleExtractor extractor = new ExampleExtractor(spec);
    List<Example> examples = new ArrayList<>();
    for (int i = 0; i < rows.size() * PASSES; i++) {
      int pass = i / rows.size();
      long start = 1000L * rows.size() * pass;
      examples.add(
          extractor.extract(rows.event(i % rows.size(), "pass-" + pass + "-", start), 0, i));
    }
    return examples;
  }
}
