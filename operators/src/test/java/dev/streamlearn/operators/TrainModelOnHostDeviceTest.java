package dev.streamlearn.operators;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.ModelTrainerTest;
import dev.streamlearn.core.data.CsvEvents;
import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.device.HostDeviceOps;
import dev.streamlearn.core.device.Precision;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.train.ModelSnapshot;
import java.util.List;
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
   * RocksDB serializes the state on every update, not at the snapshot as the heap backend does: the
   * trainer copies the device's steps back before each update there, and the versions are those of
   * the heap backend.
   */
  @Test
  void aStateBackendThatSerializesOnUpdateGetsEveryStepOfTheDevice() throws Exception {
    CsvEvents rows = ModelTrainerTest.digits();
    PipelineSpec spec = ModelTrainerTest.specFor(rows, DIGITS, "cuda");
    List<Example> examples = examples(rows, spec).subList(0, 2 * rows.size());

    List<ModelSnapshot> onHeap = run(spec, examples, false);
    List<ModelSnapshot> inRocksDb = run(spec, examples, true);

    assertThat(inRocksDb).hasSameSizeAs(onHeap).hasSizeGreaterThan(1);
    for (int v = 0; v < onHeap.size(); v++) {
      assertThat(parameters(inRocksDb.get(v)))
          .as("parameters of version %d", onHeap.get(v).version)
          .containsExactly(parameters(onHeap.get(v)));
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
