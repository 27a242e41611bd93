package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.backend.ReferenceBackend;
import dev.streamlearn.core.data.CsvEvents;
import dev.streamlearn.core.data.CsvReader;
import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.train.ModelSnapshot;
import dev.streamlearn.core.train.ModelTrainer;
import dev.streamlearn.core.train.TrainerState;
import dev.streamlearn.store.LocalModelStore;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ManifestJson;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A job that starts without a checkpoint, or from a savepoint older than the store's newest version
 * of its model, numbers its versions after those the store holds, and names as parent only the
 * version its parameters come from.
 */
class VersionNumberingTest {

  @TempDir Path store;

  private CsvEvents rows;

  @BeforeEach
  void readRows() throws Exception {
    rows = new CsvEvents(CsvReader.read(SharedData.file("wdbc.csv")), "diagnosis");
  }

  private PipelineSpec spec(String model) {
    return ModelTrainerTest.specFor(
        rows,
        "name: wdbc\nvalidation: {window: 120s}\nstore: {uri: '"
            + store
            + "'}\nmodel: {"
            + model
            + "}\n");
  }

  @Test
  void aSecondJobOnTheSameStorePublishesAfterTheFirstOnesVersions() throws Exception {
    LocalModelStore models = new LocalModelStore(store);
    List<ModelSnapshot> first = TrainedVersions.train(spec("type: logistic"), rows).versions();
    assertThat(first).hasSizeGreaterThan(2);
    for (ModelSnapshot version : first) {
      TrainedVersions.publish(models, version);
    }
    int stored = first.size();

    List<ModelSnapshot> second = TrainedVersions.train(spec("type: logistic"), rows).versions();
    for (ModelSnapshot version : second) {
      // Taking a stored version's number, the publisher would refuse the version as published.
      TrainedVersions.publish(models, version);
    }

    List<Manifest> manifests = manifests(second);
    assertThat(manifests.get(0).version()).isEqualTo(stored + 1);
    assertThat(manifests.get(0).parentVersion()).as("trained from scratch").isNull();
    assertThat(manifests.get(1).version()).isEqualTo(stored + 2);
    assertThat(manifests.get(1).parentVersion()).isEqualTo(stored + 1);
    assertThat(models.versions("wdbc")).hasSize(stored + second.size());
    // The first job's versions are as it published them.
    assertThat(models.manifest("wdbc", 1).orElseThrow().lineage())
        .isEqualTo(manifests(first).get(0).lineage());
  }

  @Test
  void aWarmStartFromAnOlderVersionGoesOnAfterTheNewestWithThatVersionAsParent() throws Exception {
    LocalModelStore models = new LocalModelStore(store);
    List<ModelSnapshot> first = TrainedVersions.train(spec("type: logistic"), rows).versions();
    for (ModelSnapshot version : first) {
      TrainedVersions.publish(models, version);
    }

    List<ModelSnapshot> fineTuned =
        TrainedVersions.train(spec("type: logistic, warm-start: {version: '1'}"), rows).versions();

    Manifest next = manifests(fineTuned).get(0);
    assertThat(next.version()).isEqualTo(first.size() + 1);
    assertThat(next.parentVersion()).isEqualTo(1);
  }

  /**
   * A job stopped with a savepoint, another job on the same store, then the first resumed: its
   * versions follow the other's, with its own last as parent. Resumed after a failure, when the
   * store holds only what the state published, nothing changes.
   */
  @Test
  void aStateResumedAfterAnotherJobUsedTheStoreNumbersAfterThatJobsVersions() throws Exception {
    LocalModelStore models = new LocalModelStore(store);
    PipelineSpec spec = spec("type: logistic");
    ExampleExtractor extractor = new ExampleExtractor(spec);
    ModelTrainer first = new ModelTrainer(spec, new ReferenceBackend());
    TrainerState saved = first.newState();
    Outputs firstOut = new Outputs();
    for (int i = 0; i < 300; i++) {
      first.offer(saved, extractor.extract(rows.event(i, "c", 0), 0, i), firstOut);
    }
    for (ModelSnapshot version : firstOut.versions) {
      TrainedVersions.publish(models, version);
    }
    long ownNewest = saved.version;
    assertThat(ownNewest).isPositive();
    assertThat(new ModelTrainer(spec, new ReferenceBackend()).resume(saved))
        .as("as after a failure: the store holds what the state published")
        .isNull();

    List<ModelSnapshot> other = TrainedVersions.train(spec, rows).versions();
    for (ModelSnapshot version : other) {
      TrainedVersions.publish(models, version);
    }
    long storeNewest = ownNewest + other.size();

    ModelTrainer resumed = new ModelTrainer(spec, new ReferenceBackend());
    assertThat(resumed.resume(saved))
        .contains("the store holds versions up to " + storeNewest + " that this state did not make")
        .contains("from " + (storeNewest + 1) + ", with v" + ownNewest + " as parent");
    assertThat(resumed.resume(saved)).as("compared once").isNull();
    Outputs later = new Outputs();
    for (int i = 300; i < rows.size(); i++) {
      resumed.offer(saved, extractor.extract(rows.event(i, "c", 0), 0, i), later);
    }
    resumed.finish(saved, later);
    for (ModelSnapshot version : later.versions) {
      TrainedVersions.publish(models, version);
    }
    Manifest next = manifests(later.versions).get(0);
    assertThat(next.version()).isEqualTo(storeNewest + 1);
    assertThat(next.parentVersion()).isEqualTo(ownNewest);
  }

  @Test
  void aStoreWithoutTheModelNumbersFromOne() throws Exception {
    List<Manifest> manifests =
        manifests(TrainedVersions.train(spec("type: logistic"), rows).versions());
    assertThat(manifests.get(0).version()).isEqualTo(1);
    assertThat(manifests.get(0).parentVersion()).isNull();
  }

  private static List<Manifest> manifests(List<ModelSnapshot> versions) throws Exception {
    List<Manifest> manifests = new java.util.ArrayList<>();
    for (ModelSnapshot version : versions) {
      manifests.add(ManifestJson.read(version.manifestJson));
    }
    return manifests;
  }
}
