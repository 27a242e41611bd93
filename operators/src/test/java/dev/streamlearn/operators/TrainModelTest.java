package dev.streamlearn.operators;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.core.train.ModelSnapshot;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ManifestJson;
import dev.streamlearn.store.Safetensors;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

class TrainModelTest {

  private static final PipelineSpec SPEC =
      SpecLoader.parse(
          String.join(
              "\n",
              "name: m",
              "features: [{name: a, type: numeric}, {name: c, type: categorical, hash-buckets: 4}]",
              "training: {batch-size: 16, learning-rate: 0.3}",
              "validation: {window: 50s}",
              "backend: reference",
              ""));

  @Test
  void restoresParametersAndVersionCounterAfterFailover() throws Exception {
    List<Example> input = examples(1000);

    List<ModelSnapshot> uninterrupted;
    try (var harness = harness()) {
      harness.open();
      feed(harness, input.subList(0, 1000));
      harness.processWatermark(Long.MAX_VALUE);
      uninterrupted = outputs(harness);
    }

    List<ModelSnapshot> resumed = new ArrayList<>();
    OperatorSubtaskState snapshot;
    try (var harness = harness()) {
      harness.open();
      feed(harness, input.subList(0, 437));
      snapshot = harness.snapshot(1, 1);
      resumed.addAll(outputs(harness));
      // Work after the checkpoint is lost with the failure.
      feed(harness, input.subList(437, 600));
    }
    try (var harness = harness()) {
      harness.initializeState(snapshot);
      harness.open();
      feed(harness, input.subList(437, 1000));
      harness.processWatermark(Long.MAX_VALUE);
      resumed.addAll(outputs(harness));
    }

    assertThat(resumed).hasSameSizeAs(uninterrupted).hasSizeGreaterThan(5);
    for (int i = 0; i < uninterrupted.size(); i++) {
      ModelSnapshot expected = uninterrupted.get(i);
      ModelSnapshot actual = resumed.get(i);
      assertThat(actual.version).isEqualTo(i + 1).isEqualTo(expected.version);
      assertThat(Safetensors.decode(actual.parameters))
          .isEqualTo(Safetensors.decode(expected.parameters));
      assertThat(actual.featurizerJson).isEqualTo(expected.featurizerJson);
      Manifest expectedManifest = ManifestJson.read(expected.manifestJson);
      Manifest actualManifest = ManifestJson.read(actual.manifestJson);
      assertThat(actualManifest.lineage()).isEqualTo(expectedManifest.lineage());
      assertThat(actualManifest.metrics()).isEqualTo(expectedManifest.metrics());
    }
  }

  @Test
  void closesABatchThatIsNotFullAfterItsMaximumDelay() throws Exception {
    PipelineSpec spec =
        SpecLoader.parse(
            String.join(
                "\n",
                "name: m",
                "features: [{name: a, type: numeric}, {name: c, type: categorical, hash-buckets: 4}]",
                "holdout: {fraction: 0.0}",
                "training: {batch-size: 64, max-batch-delay: 100ms}",
                "validation: {window: 1d}",
                "backend: reference",
                ""));
    List<Example> input = examples(6);
    try (var harness =
        new KeyedOneInputStreamOperatorTestHarness<>(
            new KeyedProcessOperator<>(new TrainModel(spec)),
            (Example example) -> "m",
            Types.STRING)) {
      harness.open();
      harness.setProcessingTime(1_000);
      feed(harness, input.subList(0, 3));
      assertThat(harness.numProcessingTimeTimers()).isEqualTo(1);
      harness.setProcessingTime(1_099);
      harness.setProcessingTime(1_100);
      // The first three were trained as a batch of their own when the delay passed.
      feed(harness, input.subList(3, 6));
      harness.processWatermark(Long.MAX_VALUE);
      List<ModelSnapshot> versions = outputs(harness);
      assertThat(versions).hasSize(1);
      Manifest manifest = ManifestJson.read(versions.get(0).manifestJson);
      assertThat(manifest.metrics().get("training").get("steps")).isEqualTo(2.0);
      assertThat(manifest.lineage().eventsTrained()).isEqualTo(6);
    }
  }

  @Test
  void keepsOneStateEntryPerModel() throws Exception {
    try (var harness = harness()) {
      harness.open();
      feed(harness, examples(50));
      assertThat(harness.numKeyedStateEntries()).isEqualTo(1);
      assertThat(harness.numEventTimeTimers()).isEqualTo(1);
    }
  }

  private static KeyedOneInputStreamOperatorTestHarness<String, Example, ModelSnapshot> harness()
      throws Exception {
    return new KeyedOneInputStreamOperatorTestHarness<>(
        new KeyedProcessOperator<>(new TrainModel(SPEC)), example -> "m", Types.STRING);
  }

  private static void feed(
      KeyedOneInputStreamOperatorTestHarness<String, Example, ModelSnapshot> harness,
      List<Example> examples)
      throws Exception {
    for (Example example : examples) {
      harness.processElement(new StreamRecord<>(example, example.timestamp));
    }
  }

  private static List<ModelSnapshot> outputs(
      KeyedOneInputStreamOperatorTestHarness<String, Example, ModelSnapshot> harness) {
    List<ModelSnapshot> snapshots = new ArrayList<>(harness.extractOutputValues());
    harness.getOutput().clear();
    return snapshots;
  }

  private static List<Example> examples(int count) {
    Random random = new Random(5);
    List<Example> examples = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Example example = new Example();
      example.id = "e" + i;
      example.timestamp = 1000L * i;
      double a = random.nextGaussian();
      example.numeric = new double[] {a};
      example.categorical = new String[] {random.nextBoolean() ? "u" : null};
      example.label = a > 0.3 ? 1 : 0;
      example.partition = i % 2;
      example.offset = i / 2;
      examples.add(example);
    }
    return examples;
  }
}
