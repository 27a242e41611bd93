package dev.streamlearn.operators;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.ModelRouter;
import dev.streamlearn.core.data.RawFeatures;
import dev.streamlearn.core.device.HostDeviceOps;
import dev.streamlearn.core.device.Precision;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.core.train.ModelSnapshot;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ManifestJson;
import dev.streamlearn.store.Safetensors;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * One model per segment in the trainer operator: each segment learns its own concept, keeps its own
 * versions and state, and trains on a shared device exactly as it would alone.
 */
class SegmentedTrainingTest {

  /**
   * In the north the label is 1 when x + y/2 > 0, in the south when it is below 0, elsewhere (east,
   * or no region) as in the north: a linear model of x, y and the region's one-hot can learn one of
   * the two, not both.
   */
  static final String PIPELINE =
      String.join(
          "\n",
          "name: m",
          "features:",
          "  - {name: x, type: numeric}",
          "  - {name: y, type: numeric}",
          "  - {name: region, type: categorical}",
          "training: {batch-size: 16, learning-rate: 0.3}",
          "validation: {window: 200s}",
          "");

  static final String SEGMENTS =
      "segments: {by: region, values: [north, south], others: elsewhere}\n";

  @Test
  void eachSegmentLearnsItsOwnConceptWhereOneModelCannot() throws Exception {
    PipelineSpec segmented = SpecLoader.parse(PIPELINE + SEGMENTS + "backend: reference\n");
    PipelineSpec single = SpecLoader.parse(PIPELINE + "backend: reference\n");
    List<Example> input = examples(segmented, 6000);

    Map<String, List<Manifest>> byModel = new LinkedHashMap<>();
    for (ModelSnapshot version :
        TrainModelTest.run(new TrainModel(segmented), segmented, input, -1)) {
      Manifest manifest = ManifestJson.read(version.manifestJson);
      assertThat(manifest.name()).isEqualTo(version.model);
      byModel.computeIfAbsent(version.model, m -> new ArrayList<>()).add(manifest);
    }
    List<ModelSnapshot> one = TrainModelTest.run(new TrainModel(single), single, input, -1);

    assertThat(byModel).containsOnlyKeys("m.north", "m.south", "m.elsewhere");
    long accounted = 0;
    for (Map.Entry<String, List<Manifest>> model : byModel.entrySet()) {
      List<Manifest> versions = model.getValue();
      for (int v = 0; v < versions.size(); v++) {
        assertThat(versions.get(v).version()).isEqualTo(v + 1);
      }
      Manifest last = versions.get(versions.size() - 1);
      String segment = model.getKey().substring(2);
      assertThat(last.segment())
          .isEqualTo(new Manifest.Segment("region", segment, segment.equals("elsewhere")));
      double accuracy = last.metrics().get("sinceStart").get("accuracy");
      System.out.printf(
          "%s: %d versions, held-out accuracy since the start %.3f%n",
          model.getKey(), versions.size(), accuracy);
      assertThat(accuracy).as(model.getKey()).isGreaterThan(0.9);
      accounted += last.lineage().eventsTrainedTotal() + last.lineage().eventsHeldOutTotal();
    }
    assertThat(accounted).isEqualTo(input.size());

    Manifest global = ManifestJson.read(one.get(one.size() - 1).manifestJson);
    double globalAccuracy = global.metrics().get("sinceStart").get("accuracy");
    System.out.printf(
        "one model for every region: accuracy since the start %.3f%n", globalAccuracy);
    assertThat(global.name()).isEqualTo("m");
    assertThat(global.segment()).isNull();
    assertThat(globalAccuracy).isLessThan(0.8);
  }

  /**
   * Segments interleaved on one device, with a checkpoint and a restore in the middle, end with the
   * parameters of each segment trained alone, uninterrupted: switching models on the device and
   * restoring several keyed states lose and mix nothing.
   */
  @Test
  void segmentsSharingADeviceAndARestoreTrainAsEachWouldAlone() throws Exception {
    PipelineSpec spec =
        SpecLoader.parse(
            PIPELINE
                + SEGMENTS
                + "model: {type: mlp, hidden-layers: [8], activation: tanh}\n"
                + "backend: cuda\ncuda: {cpu-backend: java}\n");
    TrainModel.DeviceFactory host =
        (backend, index, precision) -> new HostDeviceOps(Precision.FP32);
    List<Example> input = examples(spec, 3000);
    ModelRouter router = new ModelRouter(spec);

    List<ModelSnapshot> together =
        TrainModelTest.run(new TrainModel(spec, host), spec, input, 1234);
    Map<String, List<Example>> alone = new LinkedHashMap<>();
    for (Example example : input) {
      alone.computeIfAbsent(router.modelOf(example), m -> new ArrayList<>()).add(example);
    }
    for (Map.Entry<String, List<Example>> model : alone.entrySet()) {
      List<ModelSnapshot> expected =
          TrainModelTest.run(new TrainModel(spec, host), spec, model.getValue(), -1);
      List<ModelSnapshot> actual =
          together.stream().filter(v -> v.model.equals(model.getKey())).toList();
      assertThat(actual).as(model.getKey()).hasSameSizeAs(expected).hasSizeGreaterThan(1);
      for (int v = 0; v < expected.size(); v++) {
        assertThat(actual.get(v).version).isEqualTo(expected.get(v).version);
        assertThat(Safetensors.decode(actual.get(v).parameters))
            .as("%s version %d", model.getKey(), expected.get(v).version)
            .isEqualTo(Safetensors.decode(expected.get(v).parameters));
        assertThat(actual.get(v).featurizerJson).isEqualTo(expected.get(v).featurizerJson);
      }
      assertThat(ManifestJson.read(actual.get(actual.size() - 1).manifestJson).backend())
          .isEqualTo("host");
    }
  }

  /** Examples of the three regions (and some with none), read through the spec's rules. */
  static List<Example> examples(PipelineSpec spec, int count) throws Exception {
    Random random = new Random(17);
    RawFeatures rules = new RawFeatures(spec);
    String[] regions = {"north", "south", "north", "south", "east", null};
    List<Example> examples = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      double x = random.nextGaussian();
      double y = random.nextGaussian();
      String region = regions[random.nextInt(regions.length)];
      Map<String, Object> fields = new HashMap<>();
      fields.put("x", x);
      fields.put("y", y);
      fields.put("region", region);
      double side = x + y / 2;
      double label = ("south".equals(region) ? side < 0 : side > 0) ? 1 : 0;
      examples.add(TrainModelTest.example(rules, fields, i, label));
    }
    return examples;
  }
}
