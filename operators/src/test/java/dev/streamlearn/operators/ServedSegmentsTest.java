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

  /** The producers' own records are routed by segment through the same rules as training. */
  @Test
  void scoresTheProducersOwnRecordsBySegment() throws Exception {
    org.apache.avro.Schema schema =
        new org.apache.avro.Schema.Parser()
            .parse(
                """
                {"type": "record", "name": "Visit", "namespace": "com.example", "fields": [
                  {"name": "id", "type": "string"},
                  {"name": "x", "type": "double"},
                  {"name": "y", "type": "double"},
                  {"name": "region", "type": ["null", "string"], "default": null},
                  {"name": "label", "type": ["null", "double"], "default": null}]}
                """);
    Map<String, Object> tree =
        SpecLoader.readTree(
            SegmentedTrainingTest.PIPELINE
                + SegmentedTrainingTest.SEGMENTS
                + "backend: reference\n",
            "test");
    SpecLoader.override(tree, "source.schema.avro", schema.toString());
    SpecLoader.override(tree, "source.schema.framing", "raw");
    SpecLoader.override(tree, "source.schema.id", "id");
    PipelineSpec spec = SpecLoader.fromTree(tree);
    LocalModelStore store = new LocalModelStore(directory);
    for (ModelSnapshot version :
        TrainModelTest.run(
            new TrainModel(spec), spec, SegmentedTrainingTest.examples(spec, 3000), -1)) {
      TrainedVersions.publish(store, version);
      store.setAlias(version.model, "latest", version.version);
    }
    ServedSegments served = ServedSegments.open(store, "m", "latest", null);
    for (String region : new String[] {"north", "south", "east", null}) {
      org.apache.avro.generic.GenericRecord record =
          new org.apache.avro.generic.GenericData.Record(schema);
      record.put("id", "v-" + region);
      record.put("x", 0.7);
      record.put("y", -0.2);
      record.put("region", region);
      SegmentedScorer.Scored scored = served.score(record, 0L);
      String model = region == null || region.equals("east") ? "m.elsewhere" : "m." + region;
      assertThat(scored.model().manifest().name()).as(region).isEqualTo(model);
      assertThat(scored.scores())
          .containsExactly(
              ModelScorer.load(store, model, scored.model().manifest().version())
                  .score(record, 0L));
    }
  }

  private static String versionOf(SegmentedScorer.Scored scored) {
    return scored.model().manifest().name() + " " + scored.model().manifest().version();
  }
}
