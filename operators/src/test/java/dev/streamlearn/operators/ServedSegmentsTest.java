package dev.streamlearn.operators;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamlearn.core.TrainedVersions;
import dev.streamlearn.core.serve.ModelScorer;
import dev.streamlearn.core.serve.SegmentedScorer;
import dev.streamlearn.core.serve.ServedSegments;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.core.train.ModelSnapshot;
import dev.streamlearn.store.LocalModelStore;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The segment models a scoring job serves: each event by its segment's version, each segment's
 * alias followed on its own, and a candidate named where the segments have none refused.
 */
class ServedSegmentsTest {

  @TempDir Path directory;

  @Test
  void scoresEachSegmentWithItsAliasedVersionAndFollowsEachAliasOnItsOwn() throws Exception {
    PipelineSpec spec =
        SpecLoader.parse(
            SegmentedTrainingTest.PIPELINE
                + SegmentedTrainingTest.SEGMENTS
                + "backend: reference\n");
    Map<String, List<ModelSnapshot>> byModel = new LinkedHashMap<>();
    for (ModelSnapshot version :
        TrainModelTest.run(
            new TrainModel(spec), spec, SegmentedTrainingTest.examples(spec, 6000), -1)) {
      byModel.computeIfAbsent(version.model, m -> new ArrayList<>()).add(version);
    }
    assertThat(byModel.keySet()).containsExactlyInAnyOrder("m.north", "m.south", "m.elsewhere");
    LocalModelStore store = new LocalModelStore(directory);
    for (List<ModelSnapshot> versions : byModel.values()) {
      for (ModelSnapshot version : versions) {
        TrainedVersions.publish(store, version);
      }
      store.setAlias(versions.get(0).model, "latest", versions.get(0).version);
    }
    ServedSegments served = ServedSegments.open(store, "m", "latest", null);
    Map<String, Object> north = Map.of("x", 1.0, "y", 0.0, "region", "north");
    Map<String, Object> east = Map.of("x", 1.0, "y", 0.0, "region", "east");
    assertThat(versionOf(served.score(north, 0L))).isEqualTo("m.north 1");
    assertThat(versionOf(served.score(east, 0L))).isEqualTo("m.elsewhere 1");
    assertThat(served.refresh()).isFalse();

    ModelSnapshot newest = byModel.get("m.north").get(byModel.get("m.north").size() - 1);
    assertThat(newest.version).isGreaterThan(1);
    store.setAlias("m.north", "latest", newest.version);
    assertThat(served.refresh()).isTrue();
    SegmentedScorer.Scored scored = served.score(north, 0L);
    assertThat(versionOf(scored)).isEqualTo("m.north " + newest.version);
    assertThat(scored.scores())
        .containsExactly(ModelScorer.load(store, "m.north", newest.version).score(north, 0L));
    assertThat(versionOf(served.score(east, 0L))).isEqualTo("m.elsewhere 1");

    assertThatThrownBy(() -> ServedSegments.open(store, "m", "latest", "c1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "the segments of m have no hyper-parameter candidates; leave the candidate out");
    assertThatThrownBy(() -> ServedSegments.open(store, "n", "latest", null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("no segment models n.<segment> in " + directory);
  }

  private static String versionOf(SegmentedScorer.Scored scored) {
    return scored.model().manifest().name() + " " + scored.model().manifest().version();
  }
}
