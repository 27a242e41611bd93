package dev.streamlearn.operators;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamlearn.core.ModelTrainerTest;
import dev.streamlearn.core.SharedData;
import dev.streamlearn.core.TrainedVersions;
import dev.streamlearn.core.data.CsvEvents;
import dev.streamlearn.core.data.CsvReader;
import dev.streamlearn.core.serve.ModelScorer;
import dev.streamlearn.core.serve.ScoredEvent;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.train.ModelSnapshot;
import dev.streamlearn.schemas.LabeledEvent;
import dev.streamlearn.schemas.codec.Topics;
import dev.streamlearn.store.LocalModelStore;
import dev.streamlearn.store.ModelStore;
import dev.streamlearn.store.http.ModelStoreServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scoring operator on credit-g: every event scored as the stored version's own scorer scores
 * it, labels optional, the alias followed as it moves, bad records refused with their reason.
 */
class ScoreEventsTest {

  @TempDir Path storeDirectory;

  private CsvEvents rows;
  private PipelineSpec spec;
  private LocalModelStore store;
  private ModelSnapshot first;
  private ModelSnapshot last;

  @BeforeEach
  void trainTwoVersions() throws Exception {
    rows = new CsvEvents(CsvReader.read(SharedData.file("credit-g.csv")), "class");
    spec =
        ModelTrainerTest.specFor(
            rows,
            "name: credit\nvalidation: {window: 200s}\nstore: {uri: '"
                + storeDirectory.toUri()
                + "'}\n",
            "reference");
    List<ModelSnapshot> versions = TrainedVersions.train(spec, rows).versions();
    assertThat(versions).hasSizeGreaterThan(2);
    first = versions.get(0);
    last = versions.get(versions.size() - 1);
    store = new LocalModelStore(storeDirectory);
    TrainedVersions.publish(store, first);
    store.setAlias("credit", "latest", first.version);
  }

  @Test
  void scoresEveryEventAsTheStoredVersionDoesAndFollowsTheAliasAsItMoves() throws Exception {
    try (var following = harness("latest");
        var fixed = harness(Long.toString(first.version))) {
      for (int i = 0; i < rows.size(); i++) {
        if (i == 500) {
          TrainedVersions.publish(store, last);
          store.setAlias("credit", "latest", last.version);
        }
        StreamRecord<SourceRecord> record = record(event(i), i);
        following.processElement(record);
        fixed.processElement(record);
      }
      LabeledEvent unreadable = event(0);
      unreadable.getFeatures().put("duration", "a long time");
      following.processElement(record(unreadable, 1000));
      following.processElement(
          new StreamRecord<>(new SourceRecord(new byte[] {9}, "t", 0, 1001, 0)));

      ModelScorer firstScorer = ModelScorer.load(store, "credit", first.version);
      ModelScorer lastScorer = ModelScorer.load(store, "credit", last.version);
      List<ScoredEvent> scored = following.extractOutputValues();
      assertThat(scored).hasSize(rows.size());
      for (int i = 0; i < rows.size(); i++) {
        ScoredEvent event = scored.get(i);
        LabeledEvent input = event(i);
        ModelScorer expected = i < 500 ? firstScorer : lastScorer;
        float p = expected.score(input.getFeatures(), input.getTimestamp().toEpochMilli())[0];
        assertThat(event.id).isEqualTo(input.getId());
        assertThat(event.model).isEqualTo("credit");
        assertThat(event.version).isEqualTo(i < 500 ? first.version : last.version);
        List<String> classes = expected.manifest().classes();
        assertThat(event.classes).containsExactlyElementsOf(classes);
        assertThat(event.probabilities).containsExactly(1 - p, p);
        assertThat(event.prediction).isEqualTo(classes.get(p >= 0.5f ? 1 : 0));
        assertThat(event.value)
            .isEqualTo(Math.max(p, 1 - p), org.assertj.core.data.Offset.offset(1e-6));
        assertThat(event.label).isEqualTo(i % 2 == 0 ? rows.event(i, "c", 0).getLabel() : null);
      }
      // The version it was told stays, wherever the alias goes.
      assertThat(fixed.extractOutputValues())
          .extracting(e -> e.version)
          .containsOnly(first.version);

      assertThat(following.getSideOutput(DecodeEvents.REFUSED))
          .extracting(
              r -> r.getValue().stage + " " + r.getValue().eventId + ": " + r.getValue().reason)
          .containsExactly(
              "score c0: feature duration = 'a long time' is not a number",
              "decode null: not Avro single-object encoded dev.streamlearn.schemas.LabeledEvent: Not enough header bytes");
    }
  }

  @Test
  void scoresOnWithTheVersionInHandWhenTheNextDoesNotMatchItsManifest() throws Exception {
    try (var harness = harness("latest")) {
      harness.processElement(record(event(0), 0));
      TrainedVersions.publish(store, last);
      Path parameters =
          store.versionDirectory("credit", last.version).resolve(ModelStore.PARAMETERS);
      byte[] good = Files.readAllBytes(parameters);
      byte[] bad = good.clone();
      bad[bad.length - 1] ^= 1;
      Files.write(parameters, bad);
      store.setAlias("credit", "latest", last.version);
      harness.processElement(record(event(1), 1));

      assertThatThrownBy(() -> store.readVersion("credit", last.version))
          .isInstanceOf(IOException.class)
          .hasMessageContaining(
              "model.safetensors of credit version " + last.version + " in " + storeDirectory)
          .hasMessageContaining("does not match its manifest");

      Files.write(parameters, good);
      harness.processElement(record(event(2), 2));
      assertThat(harness.extractOutputValues())
          .extracting(e -> e.version)
          .containsExactly(first.version, first.version, last.version);
    }
  }

  /** Task managers that share no file system with the trainer read versions from its server. */
  @Test
  void readsVersionsFromAModelStoreServer() throws Exception {
    try (ModelStoreServer server =
            ModelStoreServer.start(store, new InetSocketAddress("127.0.0.1", 0), null);
        var harness =
            new OneInputStreamOperatorTestHarness<>(
                new ProcessOperator<>(
                    new ScoreEvents(
                        spec, server.url(), "credit", "latest", null, Duration.ZERO)))) {
      harness.open();
      harness.processElement(record(event(0), 0));
      TrainedVersions.publish(store, last);
      store.setAlias("credit", "latest", last.version);
      harness.processElement(record(event(1), 1));

      List<ScoredEvent> scored = harness.extractOutputValues();
      assertThat(scored).extracting(e -> e.version).containsExactly(first.version, last.version);
      LabeledEvent second = event(1);
      float p =
          ModelScorer.load(store, "credit", last.version)
              .score(second.getFeatures(), second.getTimestamp().toEpochMilli())[0];
      assertThat(scored.get(1).probabilities).containsExactly(1 - p, p);
    }
  }

  private OneInputStreamOperatorTestHarness<SourceRecord, ScoredEvent> harness(String version)
      throws Exception {
    var harness =
        new OneInputStreamOperatorTestHarness<>(
            new ProcessOperator<>(
                new ScoreEvents(spec, spec.store().uri(), "credit", version, null, Duration.ZERO)));
    harness.open();
    return harness;
  }

  /** Row {@code i}; every other one without its label, as events to be scored mostly are. */
  private LabeledEvent event(int i) {
    LabeledEvent event = rows.event(i, "c", 0);
    event.setFeatures(new HashMap<>(event.getFeatures()));
    if (i % 2 == 1) {
      event.setLabel(null);
    }
    return event;
  }

  private static StreamRecord<SourceRecord> record(LabeledEvent event, long offset) {
    return new StreamRecord<>(
        new SourceRecord(Topics.labeledEvents().encode(event), "t", 0, offset, 0));
  }
}
