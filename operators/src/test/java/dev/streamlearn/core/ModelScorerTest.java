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
import dev.streamlearn.core.train.ModelTrainer;
import dev.streamlearn.core.train.TrainerState;
import dev.streamlearn.schemas.LabeledEvent;
import dev.streamlearn.store.LocalModelStore;
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
    Trained trained = trainAndPublish(spec, rows);
    ModelTrainer trainer = trained.trainer();
    TrainerState state = trained.state();
    ExampleExtractor extractor = new ExampleExtractor(spec);
    ModelScorer scorer = trained.scorer();
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

  /**
   * Every cleaning and encoding rule on credit-g: for every row, and for rows with values the
   * vocabularies never saw or fields missing, the serving code's vector from {@code
   * featurizer.json} equals the trainer's, entry for entry.
   */
  @Test
  void servingComputesTheTrainersVectorForEveryCreditGRow() throws Exception {
    CsvEvents rows = new CsvEvents(CsvReader.read(SharedData.file("credit-g.csv")), "class");
    // Every feature type and rule (the spec the Python scorer is checked on too).
    PipelineSpec spec =
        dev.streamlearn.core.spec.SpecLoader.parse(ModelScorerInPythonTest.EVERY_RULE);
    Trained trained = trainAndPublish(spec, rows);
    ModelTrainer trainer = trained.trainer();
    TrainerState state = trained.state();
    ExampleExtractor extractor = new ExampleExtractor(spec);
    ModelScorer scorer = trained.scorer();

    java.util.List<LabeledEvent> events = new java.util.ArrayList<>();
    for (int i = 0; i < rows.size(); i++) {
      events.add(rows.event(i, "c", 0));
    }
    LabeledEvent unseen = rows.event(0, "c", 0);
    unseen.getFeatures().put("purpose", "time machine");
    unseen.getFeatures().put("job", "astronaut");
    unseen.getFeatures().put("housing", "boat");
    events.add(unseen);
    LabeledEvent sparse = rows.event(1, "c", 0);
    for (String field :
        java.util.List.of("duration", "residence_since", "checking_status", "savings_status")) {
      sparse.getFeatures().remove(field);
    }
    sparse.getFeatures().put("existing_credits", "");
    events.add(sparse);

    int dimension = scorer.dimension();
    assertThat(dimension).isEqualTo(trainer.featurizer().dimension());
    float[] job = new float[dimension];
    float[] serving = new float[dimension];
    java.util.Set<String> outOfVocabulary = new java.util.HashSet<>();
    for (LabeledEvent event : events) {
      Example example = extractor.extract(event, 0, 0);
      trainer
          .featurizer()
          .transform(state.featurizer, example.numeric, example.categorical, job, 0, false);
      scorer.vectorOf(event.getFeatures(), event.getTimestamp().toEpochMilli(), serving);
      assertThat(serving).as(event.getId()).containsExactly(job);
      java.util.List<String> names = trainer.featurizer().featureNames(state.featurizer);
      for (int i = 0; i < dimension; i++) {
        if (job[i] == 1f && names.get(i).endsWith("=(other)")) {
          outOfVocabulary.add(names.get(i));
        }
      }
    }
    // The bounded vocabularies left values out, and the unseen ones landed in the other-entry.
    assertThat(outOfVocabulary)
        .contains("purpose=(other)", "job=(other)", "credit_history=(other)");
    // The last row had fields missing: imputed, and flagged where the spec asks for it.
    java.util.List<String> names = trainer.featurizer().featureNames(state.featurizer);
    assertThat(job[names.indexOf("duration.missing")]).isEqualTo(1f);
    int savings = names.indexOf("savings_status=unknown");
    assertThat(savings < 0 ? job[names.indexOf("savings_status=(other)")] : job[savings])
        .isEqualTo(1f);
  }

  /** The trainer after one pass over the rows, and its last version as served from a store. */
  private record Trained(ModelTrainer trainer, TrainerState state, ModelScorer scorer) {}

  private Trained trainAndPublish(PipelineSpec spec, CsvEvents rows) throws Exception {
    TrainedVersions.Trained trained = TrainedVersions.train(spec, rows);
    LocalModelStore models = new LocalModelStore(store);
    TrainedVersions.publish(models, trained.last());
    return new Trained(
        trained.trainer(),
        trained.state(),
        ModelScorer.load(models.versionDirectory(spec.name(), trained.last().version)));
  }
}
