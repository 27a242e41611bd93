package dev.streamlearn.operators;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamlearn.core.TrainedVersions;
import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.serve.ModelScorer;
import dev.streamlearn.core.serve.Served;
import dev.streamlearn.core.serve.ServedBestCandidates;
import dev.streamlearn.core.serve.ServedModel;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecException;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.core.train.ModelSnapshot;
import dev.streamlearn.store.CandidateRanking;
import dev.streamlearn.store.LocalModelStore;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ManifestJson;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scoring job's {@code --candidate best}: the candidate that ranks first on the newest window
 * scores, taken only once that window's ranking is settled, and a candidate that stops publishing
 * holds the choice back for one look, not for good.
 */
class ServedBestCandidatesTest {

  private static final PipelineSpec SPEC =
      SpecLoader.parse(
          CandidateTrainingTest.PIPELINE
              + CandidateTrainingTest.BASE
              + CandidateTrainingTest.CANDIDATES);

  /** Each candidate's versions, one per validation window, as its trainer cut them. */
  private static Map<String, List<ModelSnapshot>> versions;

  @TempDir Path directory;

  @BeforeAll
  static void trainTheCandidates() throws Exception {
    List<Example> copies = new ArrayList<>();
    CopyForCandidates fanOut = new CopyForCandidates(SPEC.candidates().size());
    for (Example event : CandidateTrainingTest.examples(SPEC, 4000)) {
      fanOut.flatMap(event, CandidateTrainingTest.collectInto(copies));
    }
    versions = new LinkedHashMap<>();
    for (ModelSnapshot version :
        TrainModelTest.run(new TrainModel(SPEC, CandidateTrainingTest.HOST), SPEC, copies, 2500)) {
      versions.computeIfAbsent(version.model, m -> new ArrayList<>()).add(version);
    }
    assertThat(versions).containsOnlyKeys("m.slow", "m.adam", "m.mlp");
  }

  /**
   * Window by window, the worst candidate's version comes first: the choice does not move on it;
   * once every candidate's version for the window is in, the best of them scores, and scores each
   * event as its own stored version does.
   */
  @Test
  void scoresWithTheBestCandidateOnceEveryCandidateIsValidatedOnTheNewestWindow() throws Exception {
    LocalModelStore store = new LocalModelStore(directory);
    int windows = versions.get("m.slow").size();
    assertThat(windows).isGreaterThan(5);
    publish(store, "m.slow", 0);
    ServedBestCandidates served =
        (ServedBestCandidates) Served.open(store, SPEC, "m", "latest", "best");
    assertThat(chosen(served)).isEqualTo("m.slow 1");

    Set<String> modelsChosen = new LinkedHashSet<>();
    for (int window = 0; window < windows; window++) {
      List<CandidateRanking.Entry> ranked = rankingOf(window).entries();
      String before = chosen(served);
      String first = window == 0 ? "m.slow" : ranked.get(ranked.size() - 1).model();
      if (window > 0) {
        publish(store, first, window);
        assertThat(served.refresh()).as("window %d, one candidate in", window).isFalse();
        assertThat(chosen(served)).isEqualTo(before);
      }
      for (CandidateRanking.Entry entry : ranked) {
        if (!entry.model().equals(first)) {
          publish(store, entry.model(), window);
        }
      }
      String best = ranked.get(0).model() + " " + ranked.get(0).version();
      assertThat(served.refresh()).as("window %d", window).isEqualTo(!best.equals(before));
      assertThat(chosen(served)).as("window %d", window).isEqualTo(best);
      // As score-stream's progress line shows it.
      assertThat(served.choices())
          .isEqualTo(ranked.get(0).model() + " version " + ranked.get(0).version());
      modelsChosen.add(ranked.get(0).model());
      System.out.printf(
          "window %d: %s (held-out %s %.3f), then %s %.3f%n",
          window,
          best,
          SPEC.validation().metric(),
          ranked.get(0).value(),
          ranked.get(1).model(),
          ranked.get(1).value());
    }
    assertThat(modelsChosen).as("the lead changes hands").hasSizeGreaterThan(1);
    assertThat(served.toString()).startsWith("the best candidate of m: m.mlp version " + windows);

    Map<String, Object> event = Map.of("x", 0.3, "y", -0.4);
    assertThat(served.score(event, 0L).scores())
        .containsExactly(ModelScorer.load(store, "m.mlp", windows).score(event, 0L));
  }

  /**
   * A candidate that stops publishing (early stopping, gating) holds the newest window back for one
   * look; at the next look with nothing new, the best of the others scores.
   */
  @Test
  void aCandidateThatStopsPublishingHoldsTheChoiceBackForOneLookOnly() throws Exception {
    LocalModelStore store = new LocalModelStore(directory);
    int last = versions.get("m.slow").size() - 1;
    for (int window = 0; window < last; window++) {
      for (String model : versions.keySet()) {
        publish(store, model, window);
      }
    }
    Served served = Served.open(store, SPEC, "m", "latest", "best");
    String before = chosen(served);
    assertThat(before).isEqualTo("m.mlp " + last);
    publish(store, "m.adam", last);
    publish(store, "m.mlp", last);
    assertThat(served.refresh()).isFalse();
    assertThat(chosen(served)).isEqualTo(before);
    assertThat(served.refresh()).isTrue();
    assertThat(chosen(served)).isEqualTo("m.mlp " + (last + 1));
    assertThat(served.refresh()).isFalse();
  }

  @Test
  void refusesACandidateWhereNoneCanBeChosen() throws Exception {
    LocalModelStore store = new LocalModelStore(directory);
    assertThatThrownBy(() -> Served.open(store, SPEC, "m", "latest", "best"))
        .isInstanceOf(NoSuchFileException.class)
        .hasMessage(
            "no hyper-parameter candidate models m.<candidate> with a latest version in "
                + directory);
    for (String model : versions.keySet()) {
      publish(store, model, 0);
    }
    assertThat(((ServedModel) Served.open(store, SPEC, "m", "latest", "adam")).model())
        .isEqualTo("m.adam");
    assertThatThrownBy(() -> Served.open(store, SPEC, "m", "champion", "best"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "the best candidate is chosen among the candidates' latest versions: leave the"
                + " version (champion) out");
    assertThatThrownBy(() -> Served.open(store, SPEC, "m", "latest", "rmsprop"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "no candidate 'rmsprop' in pipeline m: its candidates are slow, adam, mlp, or best");
    assertThatThrownBy(() -> Served.open(store, SPEC, "m.adam", "latest", "best"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "a candidate (best) is chosen among the candidates of the spec's pipeline m, not of"
                + " the model m.adam: leave the model out");
    PipelineSpec one =
        SpecLoader.parse(CandidateTrainingTest.PIPELINE + CandidateTrainingTest.BASE);
    assertThatThrownBy(() -> Served.open(store, one, "m", "latest", "best"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("pipeline m has no hyper-parameter candidates: leave the candidate (best) out");
    assertThatThrownBy(
            () ->
                SpecLoader.parse(
                    CandidateTrainingTest.PIPELINE
                        + CandidateTrainingTest.BASE
                        + "candidates:\n  - {name: best}\n  - {name: other}\n"))
        .isInstanceOf(SpecException.class)
        .hasMessage(
            "spec key 'candidates[0].name' = 'best': another name: 'best' means whichever"
                + " candidate ranks first, where a candidate is chosen");
  }

  private static void publish(LocalModelStore store, String model, int window) throws Exception {
    TrainedVersions.publish(store, versions.get(model).get(window));
  }

  /** Every candidate's version of one window, ranked. */
  private static CandidateRanking rankingOf(int window) throws java.io.IOException {
    List<Manifest> manifests = new ArrayList<>();
    for (List<ModelSnapshot> each : versions.values()) {
      manifests.add(ManifestJson.read(each.get(window).manifestJson));
    }
    return CandidateRanking.of(manifests);
  }

  private static String chosen(Served served) {
    Manifest manifest = served.anyModel().manifest();
    return manifest.name() + " " + manifest.version();
  }
}
