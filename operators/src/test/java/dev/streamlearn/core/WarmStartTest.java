package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamlearn.core.backend.ReferenceBackend;
import dev.streamlearn.core.data.CsvEvents;
import dev.streamlearn.core.data.CsvReader;
import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.train.ModelSnapshot;
import dev.streamlearn.core.train.ModelTrainer;
import dev.streamlearn.core.train.TrainerState;
import dev.streamlearn.store.LocalModelStore;
import dev.streamlearn.store.ManifestJson;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A trainer can start from a published version instead of a fresh initialization. */
class WarmStartTest {

  @TempDir Path store;

  @Test
  void continuesFromTheLatestVersionWithItsParametersAndStatistics() throws Exception {
    CsvEvents rows = new CsvEvents(CsvReader.read(SharedData.file("wdbc.csv")), "diagnosis");
    String storeYaml =
        "name: wdbc\nvalidation: {window: 1d}\nstore: {uri: '"
            + store
            + "'}\nmodel: {type: mlp, hidden-layers: [4]}\n";
    PipelineSpec first = ModelTrainerTest.specFor(rows, storeYaml);
    ModelTrainer trainer = new ModelTrainer(first, new ReferenceBackend());
    TrainerState state = trainer.newState();
    ExampleExtractor extractor = new ExampleExtractor(first);
    for (int i = 0; i < 300; i++) {
      trainer.offer(state, extractor.extract(rows.event(i, "r", 0), 0, i), new Outputs());
    }
    Outputs firstRun = new Outputs();
    trainer.finish(state, firstRun);
    LocalModelStore models = new LocalModelStore(store);
    publish(models, firstRun.versions.get(0));

    PipelineSpec fineTune =
        ModelTrainerTest.specFor(
            rows,
            storeYaml.replace(
                "hidden-layers: [4]", "hidden-layers: [4], warm-start: {version: latest}"));
    ModelTrainer second = new ModelTrainer(fineTune, new ReferenceBackend());
    TrainerState resumed = second.newState();
    assertThat(resumed.params).containsExactly(state.params);
    assertThat(resumed.featurizer.mean).containsExactly(state.featurizer.mean);
    assertThat(resumed.featurizer.count).containsExactly(state.featurizer.count);
    assertThat(resumed.version).isEqualTo(1);

    for (int i = 300; i < rows.size(); i++) {
      second.offer(resumed, extractor.extract(rows.event(i, "r", 0), 0, i), new Outputs());
    }
    Outputs later = new Outputs();
    second.finish(resumed, later);
    var next = ManifestJson.read(later.versions.get(later.versions.size() - 1).manifestJson);
    assertThat(next.version()).isEqualTo(2);
    assertThat(next.parentVersion()).isEqualTo(1);

    PipelineSpec mismatched =
        ModelTrainerTest.specFor(
            rows,
            storeYaml.replace(
                "hidden-layers: [4]", "hidden-layers: [5], warm-start: {version: '1'}"));
    assertThatThrownBy(() -> new ModelTrainer(mismatched, new ReferenceBackend()).newState())
        .hasMessageContaining(
            "warm start: version 1 of wdbc has layers.0.weight of shape [30, 4]; this spec needs [30, 5]");
  }

  /** A restarted pipeline with candidates: each candidate goes on from its own model's version. */
  @Test
  void eachCandidateContinuesFromItsOwnModel() throws Exception {
    CsvEvents rows = new CsvEvents(CsvReader.read(SharedData.file("wdbc.csv")), "diagnosis");
    String yaml =
        "name: wdbc\nvalidation: {window: 1d}\nstore: {uri: '"
            + store
            + "'}\nmodel: {type: mlp, hidden-layers: [4]}\n"
            + "candidates:\n  - {name: narrow, model: {hidden-layers: [3]}}\n"
            + "  - {name: fast, training: {learning-rate: 0.5}}\n";
    PipelineSpec first = ModelTrainerTest.specFor(rows, yaml);
    ExampleExtractor extractor = new ExampleExtractor(first);
    LocalModelStore models = new LocalModelStore(store);
    TrainerState[] trained = new TrainerState[2];
    for (int c = 0; c < 2; c++) {
      ModelTrainer trainer = new ModelTrainer(first.forCandidate(c), new ReferenceBackend());
      Outputs out = new Outputs();
      for (int i = 0; i < 200; i++) {
        var example = extractor.extract(rows.event(i, "r", 0), 0, i);
        example.candidate = c;
        if (trained[c] == null) {
          trained[c] = trainer.newState(example);
        }
        trainer.offer(trained[c], example, out);
      }
      trainer.finish(trained[c], out);
      publish(models, out.versions.get(out.versions.size() - 1));
    }
    assertThat(models.models()).containsExactlyInAnyOrder("wdbc.narrow", "wdbc.fast");

    PipelineSpec restarted =
        ModelTrainerTest.specFor(
            rows, yaml.replace("hidden-layers: [4]}", "hidden-layers: [4], warm-start: {}}"));
    for (int c = 0; c < 2; c++) {
      var example = extractor.extract(rows.event(300, "r", 0), 0, 300);
      example.candidate = c;
      TrainerState resumed =
          new ModelTrainer(restarted.forCandidate(c), new ReferenceBackend()).newState(example);
      assertThat(resumed.model).isEqualTo(trained[c].model);
      assertThat(resumed.params).containsExactly(trained[c].params);
      assertThat(resumed.version).isEqualTo(trained[c].version).isPositive();
    }
  }

  /** Publishes a version the trainer cut, as the job's sink would. */
  private static void publish(LocalModelStore models, ModelSnapshot version) throws Exception {
    TrainedVersions.publish(models, version);
  }
}
