package dev.streamlearn.operators;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.streamlearn.core.PythonScorer;
import dev.streamlearn.core.TrainedVersions;
import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.core.serve.ModelScorer;
import dev.streamlearn.core.serve.SegmentedScorer;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.core.train.ModelSnapshot;
import dev.streamlearn.store.CandidateRanking;
import dev.streamlearn.store.LocalModelStore;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ManifestJson;
import dev.streamlearn.store.http.ModelStoreServer;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Python scorer's {@code --segments}: each event scored by its segment's model as Java's {@link
 * SegmentedScorer} scores it (the others segment's model for other values and none, the refusal
 * word for word where there is no others model), at the version an alias names, and, where each
 * segment has hyper-parameter candidates, by the candidate named or each segment's best as {@link
 * CandidateRanking} ranks them. Skipped where there is no python3.
 */
class SegmentsInPythonTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  private static final String CANDIDATES =
      String.join(
          "\n",
          "candidates:",
          "  - name: slow",
          "    training: {learning-rate: 0.001}",
          "  - name: fast",
          "    training: {learning-rate: 0.3}",
          "");

  @TempDir Path directory;

  @BeforeAll
  static void findPython() {
    PythonScorer.script();
  }

  @Test
  void scoresEachEventWithItsSegmentsModelAtTheAliasedVersion() throws Exception {
    PipelineSpec spec = segmented("");
    Map<String, List<ModelSnapshot>> byModel =
        train(spec, SegmentedTrainingTest.examples(spec, 3000));
    assertThat(byModel).containsOnlyKeys("m.north", "m.south", "m.elsewhere");
    LocalModelStore store = new LocalModelStore(directory.resolve("store"));
    Map<String, Long> latest = new HashMap<>();
    for (List<ModelSnapshot> versions : byModel.values()) {
      for (ModelSnapshot version : versions) {
        TrainedVersions.publish(store, version);
      }
      // Not the newest: the alias decides.
      ModelSnapshot chosen = versions.get(versions.size() / 2);
      store.setAlias(chosen.model, "latest", chosen.version);
      latest.put(chosen.model, chosen.version);
    }
    List<ModelScorer> java = new ArrayList<>();
    latest.forEach((model, version) -> java.add(load(store, model, version)));
    List<Map<String, Object>> events = events(400);

    Map<String, Integer> models =
        compare(SegmentedScorer.of(java), events, "--segments", store.location() + "/m");
    assertThat(models.keySet()).containsExactlyInAnyOrder("m.north", "m.south", "m.elsewhere");

    // The same from a model store server.
    try (ModelStoreServer server =
        ModelStoreServer.start(store, new InetSocketAddress("127.0.0.1", 0), null)) {
      compare(SegmentedScorer.of(java), events, "--segments", server.url() + "api/v1/models/m");
    }

    List<ModelScorer> first = new ArrayList<>();
    for (String model : byModel.keySet()) {
      first.add(load(store, model, 1));
    }
    compare(
        SegmentedScorer.of(first), events, "--segments", store.location() + "/m", "--version", "1");
  }

  /** Without an others model, an event of no model's segment is refused as Java refuses it. */
  @Test
  void refusesAnEventOfNoModelsSegmentAsJavaServingDoes() throws Exception {
    PipelineSpec spec = segmented("");
    LocalModelStore store = new LocalModelStore(directory.resolve("store"));
    List<ModelScorer> java = new ArrayList<>();
    for (List<ModelSnapshot> versions :
        train(spec, SegmentedTrainingTest.examples(spec, 2000)).values()) {
      ModelSnapshot last = versions.get(versions.size() - 1);
      if (!last.model.equals("m.elsewhere")) {
        TrainedVersions.publish(store, last);
        store.setAlias(last.model, "latest", last.version);
        java.add(load(store, last.model, last.version));
      }
    }
    SegmentedScorer segments = SegmentedScorer.of(java);
    assertThatThrownBy(() -> segments.score(Map.of("x", "1", "y", "0", "region", "east"), 0L))
        .isInstanceOf(ExampleExtractor.RefusedException.class);
    Map<String, Integer> models =
        compare(segments, events(200), "--segments", store.location() + "/m");
    assertThat(models).containsKey("refused");
  }

  @Test
  void scoresWithEachSegmentsBestCandidateOrTheOneNamed() throws Exception {
    PipelineSpec spec = segmented(CANDIDATES);
    List<Example> copies = new ArrayList<>();
    CopyForCandidates fanOut = new CopyForCandidates(spec.candidates().size());
    for (Example event : SegmentedTrainingTest.examples(spec, 3000)) {
      fanOut.flatMap(event, CandidateTrainingTest.collectInto(copies));
    }
    Map<String, List<ModelSnapshot>> byModel = train(spec, copies);
    assertThat(byModel).hasSize(6).containsKey("m.north.fast");
    LocalModelStore store = new LocalModelStore(directory.resolve("store"));
    List<Manifest> newest = new ArrayList<>();
    for (List<ModelSnapshot> versions : byModel.values()) {
      for (ModelSnapshot version : versions) {
        TrainedVersions.publish(store, version);
      }
      ModelSnapshot last = versions.get(versions.size() - 1);
      store.setAlias(last.model, "latest", last.version);
      newest.add(ManifestJson.read(last.manifestJson));
    }
    List<ModelScorer> best = new ArrayList<>();
    for (CandidateRanking ranking : CandidateRanking.bySegment(newest).values()) {
      CandidateRanking.Entry first = ranking.entries().get(0);
      best.add(load(store, first.model(), first.version()));
    }
    List<Map<String, Object>> events = events(300);
    Map<String, Integer> chosen =
        compare(
            SegmentedScorer.of(best),
            events,
            "--segments",
            store.location() + "/m",
            "--candidate",
            "best");
    System.out.println("each segment's best candidate scored: " + chosen);

    List<ModelScorer> slow = new ArrayList<>();
    for (String model : byModel.keySet()) {
      if (model.endsWith(".slow")) {
        slow.add(load(store, model, byModel.get(model).size()));
      }
    }
    assertThat(
            compare(
                    SegmentedScorer.of(slow),
                    events,
                    "--segments",
                    store.location() + "/m",
                    "--candidate",
                    "slow")
                .keySet())
        .allMatch(model -> model.endsWith(".slow"));

    PythonScorer.Result unnamed =
        PythonScorer.run(
            "--segments",
            store.location() + "/m",
            "--input",
            write(events).toString(),
            "--output",
            directory.resolve("unnamed.jsonl").toString());
    assertThat(unnamed.exit()).isNotZero();
    assertThat(unnamed.out())
        .contains(
            "each segment of m has hyper-parameter candidates [fast, slow]; choose one, or best");
  }

  private static PipelineSpec segmented(String more) {
    return SpecLoader.parse(
        SegmentedTrainingTest.PIPELINE
            + SegmentedTrainingTest.SEGMENTS
            + "backend: reference\n"
            + more);
  }

  private static Map<String, List<ModelSnapshot>> train(PipelineSpec spec, List<Example> examples)
      throws Exception {
    Map<String, List<ModelSnapshot>> byModel = new LinkedHashMap<>();
    for (ModelSnapshot version : TrainModelTest.run(new TrainModel(spec), spec, examples, -1)) {
      byModel.computeIfAbsent(version.model, m -> new ArrayList<>()).add(version);
    }
    return byModel;
  }

  private static ModelScorer load(LocalModelStore store, String model, long version) {
    try {
      return ModelScorer.load(store, model, version);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Events of every region there is, of one there is no model for, and of none; text values. */
  private static List<Map<String, Object>> events(int count) {
    Random random = new Random(29);
    String[] regions = {"north", "south", "east", null, " "};
    List<Map<String, Object>> events = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Map<String, Object> event = new HashMap<>();
      event.put("x", Double.toString(random.nextGaussian()));
      event.put("y", Double.toString(random.nextGaussian()));
      event.put("region", regions[i % regions.length]);
      events.add(event);
    }
    return events;
  }

  private Path write(List<Map<String, Object>> events) throws Exception {
    return PythonScorer.writeJsonLines(directory, events);
  }

  /**
   * Scores the events with the Python command line (and {@code options}) and with {@code java}: the
   * same model for each, the same scores to float32 precision, the same refusals word for word. How
   * many events each model scored ({@code refused}: how many were refused).
   */
  private Map<String, Integer> compare(
      SegmentedScorer java, List<Map<String, Object>> events, String... options) throws Exception {
    Path output = directory.resolve("scored-" + System.nanoTime() + ".jsonl");
    List<String> arguments = new ArrayList<>(List.of(options));
    arguments.addAll(List.of("--input", write(events).toString(), "--output", output.toString()));
    PythonScorer.Result run = PythonScorer.run(arguments.toArray(String[]::new));
    assertThat(run.exit()).as(run.out()).isZero();
    List<String> lines = Files.readAllLines(output);
    assertThat(lines).hasSize(events.size());
    Map<String, Integer> counts = new java.util.TreeMap<>();
    for (int i = 0; i < events.size(); i++) {
      JsonNode python = JSON.readTree(lines.get(i));
      SegmentedScorer.Scored scored;
      try {
        scored = java.scoreWithModel(events.get(i), 0L);
      } catch (ExampleExtractor.RefusedException e) {
        assertThat(python.path("refused").asText()).as("event %d", i).isEqualTo(e.getMessage());
        counts.merge("refused", 1, Integer::sum);
        continue;
      }
      String model = scored.model().manifest().name();
      assertThat(python.path("model").asText())
          .as("event %d: %s", i, events.get(i))
          .isEqualTo(model);
      assertThat(python.path("scores").size()).isEqualTo(scored.scores().length);
      for (int j = 0; j < scored.scores().length; j++) {
        assertThat(python.path("scores").get(j).asDouble())
            .as("event %d, output %d", i, j)
            .isCloseTo(scored.scores()[j], org.assertj.core.data.Offset.offset(1e-5));
      }
      counts.merge(model, 1, Integer::sum);
    }
    assertThat(run.out()).contains(String.format("Scored %,d rows of ", events.size()));
    return counts;
  }
}
