package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.backend.ReferenceBackend;
import dev.streamlearn.core.data.CsvEvents;
import dev.streamlearn.core.data.CsvReader;
import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.core.train.ModelSnapshot;
import dev.streamlearn.core.train.ModelTrainer;
import dev.streamlearn.core.train.TrainerState;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ManifestJson;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

public class ModelTrainerTest {

  @Test
  void onePassOverWdbcPublishesAVersionPerWindow() throws Exception {
    CsvEvents rows = new CsvEvents(CsvReader.read(SharedData.file("wdbc.csv")), "diagnosis");
    PipelineSpec spec = specFor(rows, "validation: {window: 200s}\ntraining: {batch-size: 20}\n");
    ModelTrainer trainer = new ModelTrainer(spec, new ReferenceBackend());
    TrainerState state = trainer.newState();
    ExampleExtractor extractor = new ExampleExtractor(spec);
    Outputs out = new Outputs();
    long trained = 0;
    long heldOut = 0;
    for (int i = 0; i < rows.size(); i++) {
      // One row a second: windows of 200 rows.
      Example example = extractor.extract(rows.event(i, "wdbc-", 0), 0, i);
      if (trainer.offer(state, example, out) == ModelTrainer.Outcome.TRAINED) {
        trained++;
      } else {
        heldOut++;
      }
    }
    trainer.finish(state, out);

    assertThat(trained + heldOut).isEqualTo(569);
    assertThat(heldOut).isBetween(80L, 150L);
    assertThat(out.windows).hasSize(3);
    assertThat(out.windows.stream().mapToLong(w -> w.heldOut).sum()).isEqualTo(heldOut);
    assertThat(out.windows.stream().mapToLong(w -> w.trained).sum()).isEqualTo(trained);
    assertThat(out.versions).hasSize(3);
    Manifest last = ManifestJson.read(out.versions.get(2).manifestJson);
    assertThat(last.version()).isEqualTo(3);
    assertThat(last.parentVersion()).isEqualTo(2);
    Map<String, Double> window = last.metrics().get("window");
    assertThat(window.get("count")).isEqualTo((double) out.windows.get(2).heldOut);
    assertThat(window.get("accuracy")).isGreaterThan(0.9).isGreaterThan(window.get("majorityRate"));
    assertThat(last.metrics().get("sinceStart").get("accuracy")).isGreaterThan(0.9);
    assertThat(last.lineage().eventsTrainedTotal()).isEqualTo(trained);
    long tiled = 0;
    for (ModelSnapshot version : out.versions) {
      tiled += ManifestJson.read(version.manifestJson).lineage().eventsTrained();
    }
    assertThat(tiled).isEqualTo(trained);
  }

  /**
   * A stream's first examples reach the network scaled, whatever caps outliers: each value joins
   * the statistics before they scale it, so the n-th standardized value is at most (n - 1) /
   * sqrt(n) from the mean. Scaled by the examples before it alone, credit-g's first credit amount
   * went in as 1,169 (no deviation known yet: 1), its second as 4,782.
   */
  @Test
  void theFirstExamplesOfAStreamReachTheNetworkScaled() throws Exception {
    CsvEvents rows = new CsvEvents(CsvReader.read(SharedData.file("credit-g.csv")), "class");
    for (String outliers : List.of("none", "winsorize", "clip")) {
      PipelineSpec spec =
          SpecLoader.parse(
              "features:\n"
                  + "  - {name: duration, type: numeric, outliers: "
                  + outliers
                  + "}\n"
                  + "  - {name: credit_amount, type: numeric, outliers: "
                  + outliers
                  + "}\n"
                  + "  - {name: age, type: numeric, outliers: "
                  + outliers
                  + "}\n"
                  + "label: {classes: [good, bad]}\n"
                  + "holdout: {fraction: 0}\n"
                  + "backend: reference\n");
      ModelTrainer trainer = new ModelTrainer(spec, new ReferenceBackend());
      TrainerState state = trainer.newState();
      ExampleExtractor extractor = new ExampleExtractor(spec);
      for (int i = 0; i < 20; i++) {
        trainer.offer(state, extractor.extract(rows.event(i, "cg-", 0), 0, i), new Outputs());
      }
      assertThat(state.batchRows).isEqualTo(20);
      for (int r = 0; r < state.batchRows; r++) {
        double bound = r / Math.sqrt(r + 1) + 1e-6;
        for (int j = 0; j < trainer.featurizer().dimension(); j++) {
          assertThat(Math.abs(state.batchX[r * trainer.featurizer().dimension() + j]))
              .as("outliers %s, example %d, entry %d", outliers, r + 1, j)
              .isLessThanOrEqualTo((float) bound);
        }
      }
    }
  }

  /** Each event's feature rules count once, whichever the holdout policy. */
  @Test
  void everyPolicyCountsEachEventsFeatureRulesOnce() throws Exception {
    CsvEvents rows = new CsvEvents(CsvReader.read(SharedData.file("wdbc.csv")), "diagnosis");
    int scaled = dev.streamlearn.core.features.Featurizer.COUNTERS.indexOf("scaled");
    for (String policy : List.of("hash", "windows", "prequential")) {
      PipelineSpec spec =
          specFor(rows, "holdout: {policy: " + policy + "}\nvalidation: {window: 100s}\n");
      ModelTrainer trainer = new ModelTrainer(spec, new ReferenceBackend());
      TrainerState state = trainer.newState();
      ExampleExtractor extractor = new ExampleExtractor(spec);
      Outputs out = new Outputs();
      for (int i = 0; i < rows.size(); i++) {
        trainer.offer(state, extractor.extract(rows.event(i, "wdbc-", 0), 0, i), out);
      }
      trainer.finish(state, out);
      // 569 events of 30 measurements, none missing.
      assertThat(state.featurizer.counters[scaled]).as(policy).isEqualTo(569L * 30);
    }
  }

  @Test
  void sameInputGivesSameParameters() throws Exception {
    CsvEvents rows = new CsvEvents(CsvReader.read(SharedData.file("credit-g.csv")), "class");
    PipelineSpec spec = specFor(rows, "");
    assertThat(spec.categoricalCount()).isEqualTo(13);
    assertThat(spec.numericCount()).isEqualTo(7);
    float[] first = train(spec, rows);
    float[] second = train(spec, rows);
    assertThat(first).containsExactly(second);
  }

  private static float[] train(PipelineSpec spec, CsvEvents rows) throws Exception {
    ModelTrainer trainer = new ModelTrainer(spec, new ReferenceBackend());
    TrainerState state = trainer.newState();
    ExampleExtractor extractor = new ExampleExtractor(spec);
    for (int i = 0; i < rows.size(); i++) {
      trainer.offer(state, extractor.extract(rows.event(i, "c-", 0), 0, i), new Outputs());
    }
    trainer.finish(state, new Outputs());
    return state.params;
  }

  /**
   * Examples that wait for their label (prequential, holdout.label-delay) keep when they reached
   * Kafka: their training latency counts the wait, and each version says when its newest event
   * arrived.
   */
  @Test
  void examplesWaitingForTheirLabelKeepTheirIngestTime() throws Exception {
    CsvEvents rows = new CsvEvents(CsvReader.read(SharedData.file("wdbc.csv")), "diagnosis");
    PipelineSpec spec =
        specFor(
            rows,
            "holdout: {policy: prequential, label-delay: 30s}\nvalidation: {window: 100s}\n"
                + "training: {batch-size: 8}\n");
    ModelTrainer trainer = new ModelTrainer(spec, new ReferenceBackend());
    List<Long> latencies = new ArrayList<>();
    trainer.recordLatency(latencies::add);
    TrainerState state = trainer.newState();
    ExampleExtractor extractor = new ExampleExtractor(spec);
    Outputs out = new Outputs();
    long ingest = System.currentTimeMillis() - 60_000;
    for (int i = 0; i < rows.size(); i++) {
      Example example = extractor.extract(rows.event(i, "wdbc-", 0), 0, i);
      example.ingestTime = ingest + i;
      trainer.offer(state, example, out);
    }
    trainer.finish(state, out);
    // Every example was learned from, each after it waited in the queue.
    assertThat(latencies).hasSize(rows.size()).allSatisfy(l -> assertThat(l).isGreaterThan(0));
    assertThat(out.versions).isNotEmpty();
    assertThat(out.versions.get(out.versions.size() - 1).lastIngestTime)
        .isEqualTo(ingest + rows.size() - 1);
  }

  /** The digits MLP (64-64-10, Adam) that the learning and device tests train; add validation. */
  public static final String DIGITS_MLP =
      String.join(
          "\n",
          "label: {task: multiclass}",
          "model: {type: mlp, hidden-layers: [64], activation: relu}",
          "training: {batch-size: 32, learning-rate: 0.003, optimizer: {type: adam}}",
          "");

  /** digits.csv: 1,797 rows of 64 pixels, labelled by the column {@code digit}. */
  public static CsvEvents digits() throws java.io.IOException {
    return new CsvEvents(CsvReader.read(SharedData.file("digits.csv")), "digit");
  }

  static PipelineSpec specFor(CsvEvents rows, String extraYaml) {
    return specFor(rows, extraYaml, "reference");
  }

  /** A spec with the file's inferred features and label classes, trained on {@code backend}. */
  public static PipelineSpec specFor(CsvEvents rows, String extraYaml, String backend) {
    Map<String, Object> tree = SpecLoader.readTree(extraYaml, "test");
    List<Map<String, Object>> features = new ArrayList<>();
    for (PipelineSpec.Feature feature : rows.inferFeatures()) {
      features.add(Map.of("name", feature.name(), "type", feature.type()));
    }
    SpecLoader.override(tree, "features", features);
    if (!(tree.get("label") instanceof Map<?, ?> label && "regression".equals(label.get("task")))) {
      SpecLoader.override(
          tree,
          "label.classes",
          rows.labelClasses().isEmpty() ? rows.labelValues() : rows.labelClasses());
    }
    SpecLoader.override(tree, "backend", backend);
    return SpecLoader.fromTree(tree);
  }
}
