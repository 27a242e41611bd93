package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.backend.ReferenceBackend;
import dev.streamlearn.core.data.CsvEvents;
import dev.streamlearn.core.data.CsvReader;
import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.core.model.Network;
import dev.streamlearn.core.serve.ModelScorer;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.train.ModelSnapshot;
import dev.streamlearn.core.train.ModelTrainer;
import dev.streamlearn.core.train.TrainerState;
import dev.streamlearn.schemas.LabeledEvent;
import dev.streamlearn.store.LocalModelStore;
import dev.streamlearn.store.ManifestJson;
import dev.streamlearn.store.ModelStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A published version, loaded Flink-free from its files, scores every row of credit-g to the
 * probabilities the trainer's own featurizer and network give.
 */
class ModelScorerTest {

  @TempDir Path store;

  @Test
  void scoresCreditGLikeTheTrainer() throws Exception {
    CsvEvents rows = new CsvEvents(CsvReader.read(SharedData.file("credit-g.csv")), "class");
    PipelineSpec spec =
        ModelTrainerTest.specFor(
            rows,
            "name: credit\nvalidation: {window: 1d}\nmodel: {type: mlp, hidden-layers: [8], activation: tanh, dropout: 0.1}\n");
    ModelTrainer trainer = new ModelTrainer(spec, new ReferenceBackend());
    TrainerState state = trainer.newState();
    ExampleExtractor extractor = new ExampleExtractor(spec);
    Outputs out = new Outputs();
    for (int i = 0; i < rows.size(); i++) {
      trainer.offer(state, extractor.extract(rows.event(i, "c", 0), 0, i), out);
    }
    trainer.finish(state, out);
    ModelSnapshot last = out.versions.get(out.versions.size() - 1);
    LocalModelStore models = new LocalModelStore(store);
    models.publish(
        ManifestJson.read(last.manifestJson),
        Map.of(
            ModelStore.PARAMETERS,
            last.parameters,
            ModelStore.FEATURIZER,
            last.featurizerJson.getBytes(StandardCharsets.UTF_8)));

    ModelScorer scorer = ModelScorer.load(models.versionDirectory("credit", last.version));
    Network network = new Network(trainer.shape(), new ReferenceBackend(), 1);
    float[] vector = new float[trainer.featurizer().dimension()];
    float[] expected = new float[1];
    double worst = 0;
    for (int i = 0; i < rows.size(); i++) {
      LabeledEvent event = rows.event(i, "c", 0);
      Example example = extractor.extract(event, 0, i);
      trainer
          .featurizer()
          .transform(state.featurizer, example.numeric, example.categorical, vector, 0, false);
      network.predict(state.params, vector, 1, expected);
      float[] actual = scorer.score(event.getFeatures());
      worst = Math.max(worst, Math.abs(actual[0] - expected[0]));
    }
    assertThat(worst).isLessThan(1e-6);
    // A value the vocabulary never saw still scores (out of vocabulary, or hashed like any other).
    Map<String, Object> unseen = new java.util.HashMap<>(rows.event(0, "c", 0).getFeatures());
    unseen.put("purpose", "time machine");
    assertThat(scorer.score(unseen)[0]).isBetween(0f, 1f);
  }
}
