package dev.streamlearn.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CandidateRankingTest {

  @Test
  void newestWindowFirstThenBestByTheMetricsDirection() {
    List<Manifest> newest =
        List.of(
            manifest("p.a", "accuracy", 0.80, 3, 300),
            manifest("p.b", "accuracy", 0.95, 2, 200), // validated on an older window
            manifest("p.c", "accuracy", 0.90, 3, 300),
            manifest("p.d", "accuracy", Double.NaN, 3, 300),
            manifest("p.e", "accuracy", 0.85, 3, 300));
    CandidateRanking ranking = CandidateRanking.of(newest);
    assertThat(ranking.metric()).isEqualTo("accuracy");
    assertThat(ranking.entries())
        .extracting(CandidateRanking.Entry::model)
        .containsExactly("p.c", "p.e", "p.a", "p.d", "p.b");
    assertThat(ranking.entries())
        .extracting(CandidateRanking.Entry::current)
        .containsExactly(true, true, true, true, false);
    assertThat(ranking.best()).get().extracting(CandidateRanking.Entry::model).isEqualTo("p.c");
    assertThat(ranking.best().get().heldOut()).isEqualTo(50);
    assertThat(ranking.best().get().sinceStart()).isEqualTo(0.5);

    CandidateRanking byLoss =
        CandidateRanking.of(
            List.of(
                manifest("p.a", "logLoss", 0.40, 1, 100),
                manifest("p.b", "logLoss", 0.20, 1, 100),
                manifest("p.c", "logLoss", 0.30, 1, 100)));
    assertThat(byLoss.entries())
        .extracting(CandidateRanking.Entry::model)
        .containsExactly("p.b", "p.c", "p.a");

    assertThat(CandidateRanking.of(List.of(manifest("p.a", "accuracy", Double.NaN, 1, 100))).best())
        .isEmpty();
  }

  @Test
  void showsWhyAPrunedCandidateStoppedOnceTheOthersMovedPastIt() {
    Pruning round1 = new Pruning(200, 1, "round 1: mean accuracy 0.70 over 2 windows, 3 of 3");
    Pruning round2 = new Pruning(300, 2, "round 2: mean accuracy 0.80 over 2 windows, 2 of 2");
    Map<String, Pruning> pruned = Map.of("p.a", round1, "p.b", round2, "p.c", round2);
    CandidateRanking ranking =
        CandidateRanking.of(
            List.of(
                manifest("p.a", "accuracy", 0.70, 2, 200),
                manifest("p.b", "accuracy", 0.80, 3, 300),
                // Pruned, but still publishing what it learned before the decision reached it:
                // on the newest window it ranks as the others do, without its pruning.
                manifest("p.c", "accuracy", 0.95, 4, 400),
                manifest("p.d", "accuracy", 0.90, 4, 400)),
            pruned);
    assertThat(ranking.entries())
        .extracting(CandidateRanking.Entry::model)
        .containsExactly("p.c", "p.d", "p.b", "p.a");
    assertThat(ranking.entries())
        .extracting(CandidateRanking.Entry::pruned)
        .containsExactly(null, null, round2, round1);
    assertThat(ranking.best()).get().extracting(CandidateRanking.Entry::model).isEqualTo("p.c");
    // Without the records, the same ranking, none marked.
    assertThat(CandidateRanking.of(List.of(manifest("p.a", "accuracy", 0.70, 2, 200))).entries())
        .extracting(CandidateRanking.Entry::pruned)
        .containsOnlyNulls();
    // By segment too.
    assertThat(
            CandidateRanking.bySegment(
                    List.of(
                        manifest("p.a", "accuracy", 0.70, 2, 200),
                        manifest("p.d", "accuracy", 0.90, 4, 400)),
                    pruned)
                .get(null)
                .entries())
        .extracting(CandidateRanking.Entry::pruned)
        .containsExactly(null, round1);
  }

  @Test
  void refusesWhatIsNotACandidateOrComparedByAnotherMetric() {
    Manifest plain = manifest("p", "accuracy", 0.9, 1, 100);
    Manifest notCandidate =
        new Manifest(
            1,
            "p",
            null,
            null,
            1,
            null,
            "",
            "binary",
            List.of(),
            List.of(),
            "",
            null,
            "java",
            "fp32",
            plain.metrics(),
            plain.validationWindow(),
            null,
            null,
            null);
    assertThatThrownBy(() -> CandidateRanking.of(List.of(plain, notCandidate)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("model p is not a hyper-parameter candidate");
    assertThatThrownBy(
            () ->
                CandidateRanking.of(
                    List.of(
                        manifest("p.a", "accuracy", 0.9, 1, 100),
                        manifest("p.b", "logLoss", 0.2, 1, 100))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("candidates compared by different metrics: accuracy and logLoss");
    assertThatThrownBy(() -> CandidateRanking.of(List.of()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static Manifest manifest(
      String model, String metric, double value, long version, long windowEnd) {
    Map<String, Double> window = new HashMap<>();
    window.put("count", 50.0);
    if (!Double.isNaN(value)) {
      window.put(metric, value);
    }
    return new Manifest(
        Manifest.FORMAT_VERSION,
        model,
        null,
        new Manifest.Candidate(model.substring(model.indexOf('.') + 1), Map.of(), metric),
        version,
        null,
        "",
        "binary",
        List.of("0", "1"),
        List.of("x"),
        "",
        null,
        "java",
        "fp32",
        Map.of("window", window, "sinceStart", Map.of("count", 500.0, metric, 0.5)),
        new Manifest.ValidationWindow(windowEnd - 100, windowEnd),
        null,
        null,
        null);
  }
}
