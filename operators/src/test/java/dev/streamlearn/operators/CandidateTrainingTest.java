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
import dev.streamlearn.store.CandidateRanking;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ManifestJson;
import dev.streamlearn.store.Safetensors;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.util.Collector;
import org.junit.jupiter.api.Test;

/**
 * Hyper-parameter candidates in the trainer operator: every candidate sees every event, trains
 * exactly as its own settings would alone, and is validated on the same held-out events as the
 * others.
 */
class CandidateTrainingTest {

  /** The label is 1 inside the unit circle: an MLP can learn it, a linear model cannot. */
  static final String PIPELINE =
      String.join(
          "\n",
          "name: m",
          "features:",
          "  - {name: x, type: numeric}",
          "  - {name: y, type: numeric}",
          "validation: {window: 200s, metric: accuracy}",
          "backend: cuda",
          "cuda: {cpu-backend: java}",
          "");

  static final String BASE =
      "model: {type: logistic}\ntraining: {batch-size: 16, learning-rate: 0.3, seed: 5}\n";

  static final String CANDIDATES =
      String.join(
          "\n",
          "candidates:",
          "  - name: slow",
          "    training: {learning-rate: 0.001}",
          "  - name: adam",
          "    training: {optimizer: {type: adam, beta2: 0.99}, learning-rate: 0.02}",
          "  - name: mlp",
          "    model: {type: mlp, hidden-layers: [16], activation: tanh}",
          "    training: {optimizer: {type: adam}, learning-rate: 0.02}",
          "");

  /** Each candidate's settings written out in full by hand, as a spec without candidates. */
  private static final Map<String, String> ALONE =
      Map.of(
          "slow",
          "model: {type: logistic}\ntraining: {batch-size: 16, learning-rate: 0.001, seed: 5}\n",
          "adam",
          "model: {type: logistic}\ntraining: {batch-size: 16, learning-rate: 0.02, seed: 5,"
              + " optimizer: {type: adam, beta2: 0.99}}\n",
          "mlp",
          "model: {type: mlp, hidden-layers: [16], activation: tanh}\ntraining: {batch-size: 16,"
              + " learning-rate: 0.02, seed: 5, optimizer: {type: adam}}\n");

  static final TrainModel.DeviceFactory HOST =
      (backend, index, precision) -> new HostDeviceOps(Precision.FP32);

  /**
   * The candidates' copies of each event, interleaved on one device with a checkpoint and a restore
   * in the middle, end with the parameters of each candidate's settings trained alone on the
   * events, uninterrupted; every candidate's version k was validated on the same window and the
   * same held-out events; and the ranking puts the one model that can fit the concept first.
   */
  @Test
  void everyCandidateTrainsAsItsSettingsWouldAloneOnTheSameEvents() throws Exception {
    PipelineSpec spec = SpecLoader.parse(PIPELINE + BASE + CANDIDATES);
    assertThat(spec.candidates())
        .extracting(PipelineSpec.Candidate::name)
        .containsExactly("slow", "adam", "mlp");
    List<Example> events = examples(spec, 4000);
    List<Example> copies = new ArrayList<>();
    CopyForCandidates fanOut = new CopyForCandidates(3);
    for (Example event : events) {
      fanOut.flatMap(event, collectInto(copies));
    }
    assertThat(copies).hasSize(3 * events.size());

    List<ModelSnapshot> together =
        TrainModelTest.run(new TrainModel(spec, HOST), spec, copies, 2500);
    Map<String, List<Manifest>> manifests = new LinkedHashMap<>();
    for (ModelSnapshot version : together) {
      manifests
          .computeIfAbsent(version.model, m -> new ArrayList<>())
          .add(ManifestJson.read(version.manifestJson));
    }
    assertThat(manifests).containsOnlyKeys("m.slow", "m.adam", "m.mlp");

    for (PipelineSpec.Candidate candidate : spec.candidates()) {
      PipelineSpec alone = SpecLoader.parse(PIPELINE + ALONE.get(candidate.name()));
      List<ModelSnapshot> expected =
          TrainModelTest.run(new TrainModel(alone, HOST), alone, events, -1);
      String model = "m." + candidate.name();
      List<ModelSnapshot> actual = together.stream().filter(v -> v.model.equals(model)).toList();
      assertThat(actual).as(model).hasSameSizeAs(expected).hasSizeGreaterThan(5);
      for (int v = 0; v < expected.size(); v++) {
        assertThat(actual.get(v).version).isEqualTo(expected.get(v).version);
        assertThat(Safetensors.decode(actual.get(v).parameters))
            .as("%s version %d", model, expected.get(v).version)
            .isEqualTo(Safetensors.decode(expected.get(v).parameters));
        assertThat(actual.get(v).featurizerJson).isEqualTo(expected.get(v).featurizerJson);
        Manifest mine = ManifestJson.read(actual.get(v).manifestJson);
        Manifest its = ManifestJson.read(expected.get(v).manifestJson);
        assertThat(mine.metrics().get("window")).isEqualTo(its.metrics().get("window"));
        assertThat(mine.specHash()).isNotEqualTo(spec.specHash());
      }
      Manifest last = manifests.get(model).get(manifests.get(model).size() - 1);
      assertThat(last.candidate().name()).isEqualTo(candidate.name());
      assertThat(last.candidate().settings()).isEqualTo(candidate.settings());
      assertThat(last.candidate().metric()).isEqualTo("accuracy");
      assertThat(last.lineage().eventsTrainedTotal() + last.lineage().eventsHeldOutTotal())
          .isEqualTo(events.size());
    }
    assertThat(spec.candidates().get(1).settings())
        .containsExactly(
            Map.entry("training.optimizer.type", "adam"),
            Map.entry("training.optimizer.beta2", "0.99"),
            Map.entry("training.learning-rate", "0.02"));

    // Version k of every candidate: the same window, the same held-out events.
    List<Manifest> first = manifests.get("m.slow");
    for (List<Manifest> versions : manifests.values()) {
      assertThat(versions).hasSameSizeAs(first);
      for (int v = 0; v < versions.size(); v++) {
        assertThat(versions.get(v).validationWindow())
            .isNotNull()
            .isEqualTo(first.get(v).validationWindow());
        assertThat(versions.get(v).metrics().get("window").get("count"))
            .isEqualTo(first.get(v).metrics().get("window").get("count"));
      }
    }

    List<Manifest> newest =
        manifests.values().stream().map(versions -> versions.get(versions.size() - 1)).toList();
    CandidateRanking ranking = CandidateRanking.of(newest);
    for (CandidateRanking.Entry entry : ranking.entries()) {
      System.out.printf(
          "%s: newest version %d, held-out accuracy %.3f on %d events%n",
          entry.model(), entry.version(), entry.value(), entry.heldOut());
    }
    assertThat(ranking.best()).get().extracting(CandidateRanking.Entry::model).isEqualTo("m.mlp");
    assertThat(ranking.best().get().value()).isGreaterThan(0.9);
    assertThat(ranking.entries().get(2).value()).isLessThan(0.8);
  }

  /**
   * A job restarted from a checkpoint with a spec that dropped a candidate: the others go on, the
   * dropped one's model is left as it was (its end-of-input timer does not fail the job).
   */
  @Test
  void aRestartWithoutACandidateLeavesItsModelAsItWas() throws Exception {
    PipelineSpec three = SpecLoader.parse(PIPELINE + BASE + CANDIDATES);
    PipelineSpec two =
        SpecLoader.parse(
            PIPELINE + BASE + CANDIDATES.substring(0, CANDIDATES.indexOf("  - name: mlp")));
    assertThat(two.candidates()).hasSize(2);
    List<Example> events = examples(three, 1000);
    List<Example> before = new ArrayList<>();
    for (Example event : events.subList(0, 500)) {
      new CopyForCandidates(3).flatMap(event, collectInto(before));
    }
    List<Example> after = new ArrayList<>();
    for (Example event : events.subList(500, 1000)) {
      new CopyForCandidates(2).flatMap(event, collectInto(after));
    }
    ModelRouter router = new ModelRouter(three);
    OperatorSubtaskState snapshot;
    try (var harness = TrainModelTest.harness(new TrainModel(three, HOST), router)) {
      harness.open();
      TrainModelTest.feed(harness, before);
      snapshot = harness.snapshot(1, 1);
    }
    try (var harness = TrainModelTest.harness(new TrainModel(two, HOST), new ModelRouter(two))) {
      harness.initializeState(snapshot);
      harness.open();
      TrainModelTest.feed(harness, after);
      harness.processWatermark(Long.MAX_VALUE);
      List<ModelSnapshot> versions = TrainModelTest.outputs(harness);
      assertThat(versions)
          .extracting(v -> v.model)
          .contains("m.slow", "m.adam")
          .doesNotContain("m.mlp");
      ModelSnapshot last = versions.get(versions.size() - 1);
      Manifest manifest = ManifestJson.read(last.manifestJson);
      assertThat(manifest.lineage().eventsTrainedTotal() + manifest.lineage().eventsHeldOutTotal())
          .isEqualTo(events.size());
    }
  }

  static Collector<Example> collectInto(List<Example> into) {
    return new Collector<>() {
      @Override
      public void collect(Example record) {
        into.add(record);
      }

      @Override
      public void close() {}
    };
  }

  /** Points in the plane, labeled 1 inside the unit circle. */
  static List<Example> examples(PipelineSpec spec, int count) throws Exception {
    Random random = new Random(23);
    RawFeatures rules = new RawFeatures(spec);
    List<Example> examples = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      double x = random.nextGaussian();
      double y = random.nextGaussian();
      Map<String, Object> fields = new HashMap<>();
      fields.put("x", x);
      fields.put("y", y);
      examples.add(TrainModelTest.example(rules, fields, i, x * x + y * y < 1.2 ? 1 : 0));
    }
    return examples;
  }
}
