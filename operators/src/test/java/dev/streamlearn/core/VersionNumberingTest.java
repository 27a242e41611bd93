package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.data.CsvEvents;
import dev.streamlearn.core.data.CsvReader;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.train.ModelSnapshot;
import dev.streamlearn.store.LocalModelStore;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ManifestJson;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A job that starts without a checkpoint numbers its versions after those the store holds of its
 * model, and names as parent only the version its parameters come from.
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
