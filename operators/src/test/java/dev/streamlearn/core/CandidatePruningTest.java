package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecException;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.core.train.CandidatePruning;
import dev.streamlearn.core.train.CandidatePruning.Pruned;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class CandidatePruningTest {

  private static final List<String> FOUR = List.of("a", "b", "c", "d");

  private static CandidatePruning pruning(String metric, int windows, int keep) {
    return new CandidatePruning("fraud", FOUR, metric, new PipelineSpec.Pruning(windows, keep));
  }

  /** Every candidate's report of window {@code end}, values in candidate order. */
  private static List<Pruned> window(
      CandidatePruning pruning, CandidatePruning.Standing standing, long end, double... values) {
    List<Pruned> pruned = new ArrayList<>();
    for (int i = 0; i < values.length; i++) {
      pruned.addAll(pruning.report(standing, "fraud", FOUR.get(i), end, values[i]));
    }
    return pruned;
  }

  @Test
  void halvesOnTheMeanOfEachRoundsWindowsUntilKeepRemain() {
    CandidatePruning pruning = pruning("accuracy", 2, 1);
    CandidatePruning.Standing standing = pruning.start();
    assertThat(window(pruning, standing, 100, 0.9, 0.5, 0.6, 0.7)).isEmpty();
    // Means a 0.8, b 0.55, c 0.65, d 0.8: b and c are the worse half; a and d tie, in spec order.
    List<Pruned> first = window(pruning, standing, 200, 0.7, 0.6, 0.7, 0.9);
    assertThat(first).extracting(Pruned::candidate).containsExactly("c", "b");
    assertThat(first).extracting(Pruned::windowEnd).containsOnly(200L);
    assertThat(first.get(0).round()).isEqualTo(1);
    assertThat(first.get(0).model()).isEqualTo("fraud.c");
    assertThat(first.get(0).reason())
        .isEqualTo(
            "round 1: mean accuracy 0.6500 over 2 windows, 3 of 4; the best 2 go on"
                + " (a 0.8000, d 0.8000)");
    assertThat(pruning.remaining(standing)).containsExactly("a", "d");

    // The pruned ones report no more; a late report of theirs changes nothing.
    assertThat(pruning.report(standing, "fraud", "b", 300, 1.0)).isEmpty();
    assertThat(pruning.report(standing, "fraud", "a", 300, 0.5)).isEmpty();
    assertThat(pruning.report(standing, "fraud", "d", 300, 0.8)).isEmpty();
    List<Pruned> second = pruning.report(standing, "fraud", "a", 400, 0.6);
    assertThat(second).isEmpty();
    second = pruning.report(standing, "fraud", "d", 400, 0.7);
    assertThat(second).extracting(Pruned::candidate).containsExactly("a");
    assertThat(second.get(0).round()).isEqualTo(2);
    assertThat(second.get(0).reason())
        .isEqualTo(
            "round 2: mean accuracy 0.5500 over 2 windows, 2 of 2; the best goes on (d 0.7500)");
    assertThat(pruning.remaining(standing)).containsExactly("d");
    // keep reached: no more rounds.
    assertThat(pruning.report(standing, "fraud", "d", 500, 0.1)).isEmpty();
    assertThat(pruning.report(standing, "fraud", "d", 600, 0.1)).isEmpty();
    assertThat(pruning.remaining(standing)).containsExactly("d");
  }

  @Test
  void aSmallerMetricIsBetterForLossesAndKeepHoldsMore() {
    CandidatePruning pruning = pruning("logLoss", 1, 3);
    CandidatePruning.Standing standing = pruning.start();
    assertThat(window(pruning, standing, 100, 0.3, 0.9, 0.2, 0.5))
        .extracting(Pruned::candidate)
        .containsExactly("b");
    assertThat(pruning.remaining(standing)).containsExactly("a", "c", "d");
    for (String candidate : List.of("a", "c", "d")) {
      assertThat(pruning.report(standing, "fraud", candidate, 200, 0.1)).isEmpty();
    }
    assertThat(standing.lastCounted).isEqualTo(200);
    assertThat(pruning.remaining(standing)).containsExactly("a", "c", "d");
  }

  @Test
  void aWindowCountsOnceEveryRemainingCandidateReportedItOrALaterOne() {
    CandidatePruning pruning = pruning("accuracy", 1, 1);
    CandidatePruning.Standing standing = pruning.start();
    // Reports out of order, and again (the metrics topic is read at least once).
    assertThat(pruning.report(standing, "fraud", "a", 100, 0.9)).isEmpty();
    assertThat(pruning.report(standing, "fraud", "a", 100, 0.9)).isEmpty();
    assertThat(pruning.report(standing, "fraud", "b", 100, 0.8)).isEmpty();
    assertThat(pruning.report(standing, "fraud", "c", 100, 0.2)).isEmpty();
    // d had no events in window 100; its report of 200 says that window is over for it.
    List<Pruned> pruned = pruning.report(standing, "fraud", "d", 200, 0.99);
    assertThat(pruned).extracting(Pruned::candidate).containsExactly("c", "d");
    assertThat(pruned.get(1).reason()).contains("mean accuracy undefined");
    assertThat(standing.lastCounted).isEqualTo(100);
    // Window 100 again, after it counted: old.
    assertThat(pruning.report(standing, "fraud", "a", 100, 0.0)).isEmpty();
    assertThat(standing.open).containsOnlyKeys(200L);
  }

  @Test
  void aStandingRestoredUnderAChangedSpecGoesOnWithTheCandidatesItListsNow() {
    CandidatePruning before = pruning("accuracy", 1, 1);
    CandidatePruning.Standing standing = before.start();
    assertThat(window(before, standing, 100, 0.9, 0.1, 0.8, 0.2))
        .extracting(Pruned::candidate)
        .containsExactly("d", "b");
    // The spec now drops c and adds c2 and e: c's absence no longer holds windows open.
    CandidatePruning after =
        new CandidatePruning(
            "fraud", List.of("a", "b", "c2", "e"), "accuracy", new PipelineSpec.Pruning(1, 1));
    assertThat(after.report(standing, "fraud", "a", 200, 0.7)).isEmpty();
    assertThat(after.report(standing, "fraud", "e", 200, 0.9)).isEmpty();
    List<Pruned> pruned = after.report(standing, "fraud", "c2", 200, 0.5);
    assertThat(standing.pruned).containsExactly("d", "b", "c2");
    assertThat(pruned).extracting(Pruned::candidate).containsExactly("c2");
    assertThat(after.remaining(standing)).containsExactly("a", "e");
  }

  @Test
  void tiesKeepTheCandidateListedFirstAndUndefinedValuesRankLast() {
    CandidatePruning pruning = pruning("auc", 1, 1);
    CandidatePruning.Standing standing = pruning.start();
    assertThat(window(pruning, standing, 100, Double.NaN, 0.7, 0.7, 0.7))
        .extracting(Pruned::candidate)
        .containsExactly("d", "a");
  }

  @Test
  void readsOnlyThisPipelinesCandidateModels() {
    CandidatePruning pruning = pruning("accuracy", 1, 1);
    assertThat(pruning.competitionAndCandidate("fraud.a")).containsExactly("fraud", "a");
    assertThat(pruning.competitionAndCandidate("fraud.DE.b")).containsExactly("fraud.DE", "b");
    assertThat(pruning.competitionAndCandidate("fraud.x_y.c8687a08aa5d.c"))
        .containsExactly("fraud.x_y.c8687a08aa5d", "c");
    assertThat(pruning.competitionAndCandidate("fraud")).isNull();
    assertThat(pruning.competitionAndCandidate("fraud.e")).isNull();
    assertThat(pruning.competitionAndCandidate("fraudster.a")).isNull();
    assertThat(pruning.competitionAndCandidate(null)).isNull();
  }

  @Test
  void theSpecRefusesPruningWithoutCandidatesOrWithABoundedSource() {
    String base = "name: fraud\nsource: {bounded: false}\nfeatures: [{name: a, type: numeric}]\n";
    String candidates = "candidates: {grid: {training.learning-rate: [0.01, 0.1, 1.0]}}\n";
    PipelineSpec spec = SpecLoader.parse(base + candidates + "pruning: {windows: 2, keep: 2}\n");
    assertThat(spec.pruning()).isEqualTo(new PipelineSpec.Pruning(2, 2));
    assertThat(SpecLoader.parse(base + candidates + "pruning: {}\n").pruning())
        .isEqualTo(new PipelineSpec.Pruning(3, 1));
    assertThat(SpecLoader.parse(base + candidates).pruning().enabled()).isFalse();
    assertThatThrownBy(() -> SpecLoader.parse(base + "pruning: {windows: 2}\n"))
        .isInstanceOf(SpecException.class)
        .hasMessageContaining("pruning")
        .hasMessageContaining("at least 2 candidates");
    assertThatThrownBy(() -> SpecLoader.parse(base + candidates + "pruning: {keep: 3}\n"))
        .isInstanceOf(SpecException.class)
        .hasMessageContaining("pruning.keep");
    assertThatThrownBy(() -> SpecLoader.parse(base + candidates + "pruning: {windows: 0}\n"))
        .isInstanceOf(SpecException.class)
        .hasMessageContaining("pruning.windows");
    assertThatThrownBy(
            () ->
                SpecLoader.parse(
                    base.replace("false", "true") + candidates + "pruning: {windows: 2}\n"))
        .isInstanceOf(SpecException.class)
        .hasMessageContaining("source.bounded")
        .hasMessageContaining("unbounded source");
    assertThatThrownBy(() -> SpecLoader.parse(base + candidates + "pruning: {every: 2}\n"))
        .isInstanceOf(SpecException.class)
        .hasMessageContaining("pruning.every");
  }
}
