package dev.streamlearn.core.serve;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** How a model's output becomes a prediction, for each task, and how labels are written. */
class EventScorerTest {

  @Test
  void describesEachTasksOutput() {
    ScoredEvent regression = new ScoredEvent();
    EventScorer.describe(
        new float[] {41.5f}, EventScorer.classNames("regression", List.of(), 1), regression);
    assertThat(regression.prediction).isNull();
    assertThat(regression.value).isEqualTo(41.5);
    assertThat(regression.classes).isEmpty();
    assertThat(regression.probabilities).isEmpty();

    // A binary model's one output is class 1's probability; class 1 wins a tie.
    ScoredEvent binary = new ScoredEvent();
    EventScorer.describe(
        new float[] {0.25f}, EventScorer.classNames("binary", List.of("good", "bad"), 1), binary);
    assertThat(binary.classes).containsExactly("good", "bad");
    assertThat(binary.probabilities).containsExactly(0.75f, 0.25f);
    assertThat(binary.prediction).isEqualTo("good");
    assertThat(binary.value).isEqualTo(0.75);
    ScoredEvent tie = new ScoredEvent();
    EventScorer.describe(
        new float[] {0.5f}, EventScorer.classNames("binary", List.of("good", "bad"), 1), tie);
    assertThat(tie.prediction).isEqualTo("bad");

    ScoredEvent multiclass = new ScoredEvent();
    EventScorer.describe(
        new float[] {0.1f, 0.7f, 0.2f},
        EventScorer.classNames("multiclass", List.of("a", "b", "c"), 3),
        multiclass);
    assertThat(multiclass.prediction).isEqualTo("b");
    assertThat(multiclass.value).isEqualTo(0.7f);
    // Classes a manifest does not name are named by their index.
    ScoredEvent unnamed = new ScoredEvent();
    EventScorer.describe(
        new float[] {0.9f}, EventScorer.classNames("binary", List.of(), 1), unnamed);
    assertThat(unnamed.classes).containsExactly("0", "1");
    assertThat(unnamed.prediction).isEqualTo("1");
  }

  @Test
  void writesLabelsAsClassNamesAreWritten() {
    assertThat(EventScorer.labelText(null)).isNull();
    assertThat(EventScorer.labelText(7.0)).isEqualTo("7");
    assertThat(EventScorer.labelText(2.5)).isEqualTo("2.5");
    assertThat(EventScorer.labelText("bad")).isEqualTo("bad");

    ScoredEvent scored = new ScoredEvent();
    EventScorer.describe(
        new float[] {0.2f, 0.8f},
        EventScorer.classNames("multiclass", List.of("6", "7"), 2),
        scored);
    scored.label = EventScorer.labelText(7.0);
    assertThat(scored.predictedItsLabel()).isTrue();
    scored.label = null;
    assertThat(scored.predictedItsLabel()).isFalse();
  }

  /** Only a label the model could have predicted judges a prediction (counts it as labeled). */
  @Test
  void judgesByLabelsThatAreTheModelsClasses() {
    ScoredEvent binary = new ScoredEvent();
    EventScorer.describe(
        new float[] {0.8f}, EventScorer.classNames("binary", List.of("0", "1"), 1), binary);
    binary.label = EventScorer.labelText(1.0);
    assertThat(binary.hasLabelItCouldPredict()).isTrue();
    binary.label = EventScorer.labelText(0.0);
    assertThat(binary.hasLabelItCouldPredict()).isTrue();
    binary.label = EventScorer.labelText("yes");
    assertThat(binary.hasLabelItCouldPredict()).isFalse();
    binary.label = null;
    assertThat(binary.hasLabelItCouldPredict()).isFalse();

    ScoredEvent regression = new ScoredEvent();
    EventScorer.describe(
        new float[] {41.5f}, EventScorer.classNames("regression", List.of(), 1), regression);
    regression.label = EventScorer.labelText(40.25);
    assertThat(regression.hasLabelItCouldPredict()).isTrue();
  }
}
