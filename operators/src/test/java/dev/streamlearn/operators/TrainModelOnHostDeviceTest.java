package dev.streamlearn.operators;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamlearn.core.ModelTrainerTest;
import dev.streamlearn.core.data.CsvEvents;
import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.device.HostDeviceOps;
import dev.streamlearn.core.device.Precision;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.train.ModelSnapshot;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ManifestJson;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.junit.jupiter.api.Test;

/** The trainer operator stepping on the device's CPU emulation, in every build. */
class TrainModelOnHostDeviceTest extends TrainingOnDeviceContract {

  @Override
  TrainModel.DeviceFactory devices() {
    return (backend, index, precision) -> new HostDeviceOps(Precision.of(precision));
  }

  @Override
  String deviceName() {
    return "host";
  }

  /**
   * RocksDB serializes the state when it is written, not at the snapshot as the heap backend does:
   * the trainer copies the device's steps back before it writes a model's state at a checkpoint (or
   * on an update, where {@link TrainModelOperator} does not run it), and the versions are those of
   * the heap backend, restored from a checkpoint mid-stream or not.
   */
  @Test
  void aStateBackendThatSerializesStateGetsEveryStepOfTheDevice() throws Exception {
    CsvEvents rows = ModelTrainerTest.digits();
    PipelineSpec spec = ModelTrainerTest.specFor(rows, DIGITS, "cuda");
    List<Example> examples = examples(rows, spec).subList(0, 2 * rows.size());

    List<ModelSnapshot> onHeap = run(spec, examples, false);
    List<ModelSnapshot> inRocksDb = run(spec, examples, true);
    List<ModelSnapshot> restoredInRocksDb =
        TrainModelTest.run(
            new TrainModel(spec, devices()),
            spec,
            examples,
            // Two and a half batches past the close of a window (which syncs the device).
            1300,
            new EmbeddedRocksDBStateBackend());
    List<ModelSnapshot> updatedInRocksDb;
    try (var harness =
        new org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness<>(
            new org.apache.flink.streaming.api.operators.KeyedProcessOperator<>(
                new TrainModel(spec, devices())),
            example -> "m",
            org.apache.flink.api.common.typeinfo.Types.STRING)) {
      // Run by another operator, the trainer writes its state on every update.
      harness.setStateBackend(new EmbeddedRocksDBStateBackend());
      harness.open();
      TrainModelTest.feed(harness, examples);
      harness.processWatermark(Long.MAX_VALUE);
      updatedInRocksDb = TrainModelTest.outputs(harness);
    }

    assertThat(inRocksDb).hasSameSizeAs(onHeap).hasSizeGreaterThan(1);
    for (List<ModelSnapshot> other : List.of(inRocksDb, restoredInRocksDb, updatedInRocksDb)) {
      assertThat(other).hasSameSizeAs(onHeap);
      for (int v = 0; v < onHeap.size(); v++) {
        assertThat(parameters(other.get(v)))
            .as("parameters of version %d", onHeap.get(v).version)
            .containsExactly(parameters(onHeap.get(v)));
      }
    }
  }

  /** The devices that {@link #tooSmall} opened, to see what they hold after the trainer gave up. */
  private static final List<HostDeviceOps> SMALL_DEVICES = new CopyOnWriteArrayList<>();

  /** How many floats {@link #tooSmall} devices have room for. */
  private static volatile long smallMemory;

  private static HostDeviceOps tooSmall(String backend, int index, String precision) {
    HostDeviceOps device = new HostDeviceOps(Precision.of(precision), smallMemory);
    SMALL_DEVICES.add(device);
    return device;
  }

  /**
   * A model that does not fit on the device: {@code auto} trains it on the CPU backend, every event
   * accounted for, and gives the device back what it took; {@code cuda} fails with the device's
   * error. The digits MLP has 4,874 parameters; the trainer's two networks (the model and its
   * challenger) take about 33,000 floats each with Adam at batch 32: a device of 1,000 floats holds
   * nothing, one of 12,000 the parameters and gradient of the first, one of 50,000 the first
   * network and part of the second.
   */
  @Test
  void autoTrainsOnTheCpuAModelThatDoesNotFitOnTheDevice() throws Exception {
    CsvEvents rows = ModelTrainerTest.digits();
    PipelineSpec auto = ModelTrainerTest.specFor(rows, DIGITS, "auto");
    List<Example> examples = examples(rows, auto).subList(0, rows.size());

    for (long memory : new long[] {1_000, 12_000, 50_000}) {
      SMALL_DEVICES.clear();
      smallMemory = memory;
      List<ModelSnapshot> versions;
      try (var harness =
          TrainModelTest.harness(new TrainModel(auto, TrainModelOnHostDeviceTest::tooSmall))) {
        harness.open();
        TrainModelTest.feed(harness, examples);
        harness.processWatermark(Long.MAX_VALUE);
        versions = TrainModelTest.outputs(harness);
      }
      assertThat(versions).hasSizeGreaterThan(1);
      Manifest last = ManifestJson.read(versions.get(versions.size() - 1).manifestJson);
      assertThat(last.backend()).isEqualTo("java");
      assertThat(last.lineage().eventsTrainedTotal() + last.lineage().eventsHeldOutTotal())
          .isEqualTo(examples.size());
      assertThat(SMALL_DEVICES).hasSize(1);
      assertThat(SMALL_DEVICES.get(0).allocatedFloats())
          .as("floats left allocated on a device of %d", memory)
          .isZero();

      PipelineSpec cuda = ModelTrainerTest.specFor(rows, DIGITS, "cuda");
      try (var harness =
          TrainModelTest.harness(new TrainModel(cuda, TrainModelOnHostDeviceTest::tooSmall))) {
        assertThatThrownBy(harness::open)
            .isInstanceOf(IllegalStateException.class)
            .hasMessageContaining("out of memory");
      }
    }
  }

  private List<ModelSnapshot> run(PipelineSpec spec, List<Example> examples, boolean rocksDb)
      throws Exception {
    try (var harness = TrainModelTest.harness(new TrainModel(spec, devices()))) {
      if (rocksDb) {
        harness.setStateBackend(new EmbeddedRocksDBStateBackend());
      }
      harness.open();
      TrainModelTest.feed(harness, examples);
      harness.processWatermark(Long.MAX_VALUE);
      return TrainModelTest.outputs(harness);
    }
  }
}
