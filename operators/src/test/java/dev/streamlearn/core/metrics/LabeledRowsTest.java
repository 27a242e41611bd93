package dev.streamlearn.core.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LabeledRowsTest {

  @Test
  void measuresABinaryModelOnTheRowsWhoseLabelIsOneOfItsClasses() {
    LabeledRows known = new LabeledRows(List.of("good", "bad"), false);
    known.add(new float[] {0.9f}, "bad"); // right
    known.add(new float[] {0.2f}, "good"); // right
    known.add(new float[] {0.7f}, " good "); // wrong
    known.add(new float[] {0.4f}, "bad"); // wrong
    known.add(new float[] {0.1f}, ""); // no label
    known.add(new float[] {0.1f}, null); // no label
    known.add(new float[] {0.6f}, "maybe"); // judges nothing
    Map<String, Double> metrics = known.metrics();
    assertThat(known.count()).isEqualTo(4);
    assertThat(metrics.get("accuracy")).isEqualTo(0.5);
    // Pairs (bad, good): 0.9>0.2, 0.9>0.7, 0.4>0.2, 0.4<0.7: three of four.
    assertThat(metrics.get("auc")).isEqualTo(0.75);
    assertThat(metrics.get("logLoss"))
        .isCloseTo(
            -(Math.log(0.9) + Math.log(0.8) + Math.log(0.3) + Math.log(0.4)) / 4, within(1e-6));
    assertThat(known.describe("class", 3))
        .startsWith("Against the labels in class: accuracy 0.500, AUC 0.750, log loss ")
        .contains(" on 4 rows (majority class 0.500)")
        .endsWith(
            "; rows left out: 3 refused, 2 without a label, 1 whose label is none of the model's"
                + " classes [good, bad] (the first: 'maybe')");
  }

  @Test
  void matchesNumericClassesByValueAndMeasuresEachClassOfAMulticlassModel() {
    LabeledRows known = new LabeledRows(List.of("0", "1", "2"), false);
    known.add(new float[] {0.1f, 0.2f, 0.7f}, "2.0");
    known.add(new float[] {0.6f, 0.3f, 0.1f}, "1");
    known.add(new float[] {0.5f, 0.25f, 0.25f}, "0");
    assertThat(known.count()).isEqualTo(3);
    assertThat(known.metrics().get("accuracy")).isCloseTo(2 / 3.0, within(1e-9));
    assertThat(known.metrics().get("logLoss"))
        .isCloseTo(-(Math.log(0.7) + Math.log(0.3) + Math.log(0.5)) / 3, within(1e-6));
    assertThat(known.describe("digit", 0)).doesNotContain("left out");
  }

  /** A file of many rows: the scores of each class kept for every row, as for the first. */
  @Test
  void keepsEveryRowOfALongFile() {
    LabeledRows known = new LabeledRows(List.of("0", "1", "2"), false);
    for (int r = 0; r < 1000; r++) {
      float[] scores = {0.1f, 0.1f, 0.1f};
      scores[r % 3] = 0.8f;
      known.add(scores, Integer.toString(r % 5 == 0 ? (r + 1) % 3 : r % 3));
    }
    assertThat(known.count()).isEqualTo(1000);
    assertThat(known.metrics().get("accuracy")).isEqualTo(0.8);
  }

  @Test
  void measuresARegressorAndLeavesOutLabelsThatAreNotNumbers() {
    LabeledRows known = new LabeledRows(List.of(), true);
    known.add(new float[] {1f}, "2");
    known.add(new float[] {3f}, "3");
    known.add(new float[] {5f}, "n/a");
    assertThat(known.metrics().get("mae")).isEqualTo(0.5);
    assertThat(known.metrics().get("rmse")).isCloseTo(Math.sqrt(0.5), within(1e-6));
    assertThat(known.describe("price", 0))
        .contains(" on 2 rows")
        .endsWith("; rows left out: 1 whose label is not a number (the first: 'n/a')");
  }

  @Test
  void saysSoWhenNoScoredRowHasALabel() {
    LabeledRows known = new LabeledRows(List.of("no", "yes"), false);
    known.add(new float[] {0.5f}, "");
    assertThat(known.describe("churned", 0))
        .isEqualTo(
            "Against the labels in churned: no scored row has one; rows left out: 1 without a"
                + " label");
  }
}
