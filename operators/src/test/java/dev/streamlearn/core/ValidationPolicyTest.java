package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.backend.ReferenceBackend;
import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.core.train.HoldoutSplit;
import dev.streamlearn.core.train.ModelTrainer;
import dev.streamlearn.core.train.TrainerState;
import dev.streamlearn.core.train.WindowReport;
import dev.streamlearn.store.ManifestJson;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Holdout policies, and the gate that keeps a worse candidate from replacing the champion. */
class ValidationPolicyTest {

  private static final String FEATURES =
      "features: [{name: a, type: numeric}, {name: b, type: numeric}]\n";

  @Test
  void heldOutEventsNeverReachTheOptimizer() {
    PipelineSpec spec =
        SpecLoader.parse(FEATURES + "validation: {window: 100s}\nbackend: reference\n");
    HoldoutSplit split = new HoldoutSplit(spec.holdout().fraction());
    List<Example> stream = stream(3000, 1, 0);
    // The same stream with every held-out event's label flipped and its features blown up.
    List<Example> poisoned = stream(3000, 1, 0);
    for (Example example : poisoned) {
      if (split.isHeldOut(example.id)) {
        example.label = 1 - example.label;
        example.numeric = new double[] {1e6, -1e6};
      }
    }
    TrainerState clean = run(spec, stream, new Outputs());
    TrainerState dirty = run(spec, poisoned, new Outputs());
    assertThat(dirty.heldOutTotal).isEqualTo(clean.heldOutTotal).isGreaterThan(400);
    assertThat(dirty.params).containsExactly(clean.params);
    assertThat(dirty.featurizer.mean).containsExactly(clean.featurizer.mean);
  }

  @Test
  void windowsPolicyHoldsOutEveryKthWindowWhole() {
    PipelineSpec spec =
        SpecLoader.parse(
            FEATURES
                + "holdout: {policy: windows, every: 3}\nvalidation: {window: 100s}\nbackend: reference\n");
    Outputs out = new Outputs();
    run(spec, stream(3000, 1, 0), out);
    // 3000 events one second apart: 30 windows; windows 2, 5, 8, ... are held out whole.
    assertThat(out.windows).hasSize(30);
    for (int w = 0; w < 30; w++) {
      WindowReport report = out.windows.get(w);
      if (w % 3 == 2) {
        assertThat(report.heldOut).isEqualTo(100);
        assertThat(report.trained).isZero();
        assertThat(report.publishedVersion).isPositive();
      } else {
        assertThat(report.heldOut).isZero();
        assertThat(report.trained).isEqualTo(100);
        assertThat(report.publishedVersion).isZero();
      }
    }
  }

  @Test
  void prequentialScoresEveryTrainingEventBeforeLearningIt() throws Exception {
    PipelineSpec spec =
        SpecLoader.parse(
            FEATURES
                + "holdout: {policy: prequential}\nvalidation: {window: 500s}\nbackend: reference\n");
    Outputs out = new Outputs();
    TrainerState state = run(spec, stream(2000, 1, 0), out);
    assertThat(state.heldOutTotal).isZero();
    assertThat(state.trainedTotal).isEqualTo(2000);
    assertThat(out.windows).hasSize(4);
    assertThat(out.windows.stream().mapToLong(w -> w.heldOut)).containsOnly(500L);
    var last = ManifestJson.read(out.versions.get(out.versions.size() - 1).manifestJson);
    assertThat(last.metrics().get("sinceStart").get("count")).isEqualTo(2000.0);
    assertThat(last.metrics().get("window").get("accuracy")).isGreaterThan(0.9);
  }

  @Test
  void prequentialWithLabelDelayLearnsOnlyOnceTheLabelArrives() {
    PipelineSpec spec =
        SpecLoader.parse(
            FEATURES
                + "holdout: {policy: prequential, label-delay: 100s}\nvalidation: {window: 1d}\nbackend: reference\n");
    ModelTrainer trainer = new ModelTrainer(spec, new ReferenceBackend());
    TrainerState state = trainer.newState();
    Outputs out = new Outputs();
    List<Example> events = stream(1000, 4, 0);
    for (Example example : events) {
      trainer.offer(state, example, out);
    }
    // Events are one second apart: only those at least 100 s older than the newest were learned.
    assertThat(state.trainedTotal).isEqualTo(900);
    assertThat(state.pendingSize).isEqualTo(100);
    trainer.finish(state, out);
    assertThat(state.trainedTotal).isEqualTo(1000);
    assertThat(state.pendingSize).isZero();

    // The same events learned in the same order: the same parameters in the end. What the delay
    // changes is the model each event is scored by on arrival: an older one.
    PipelineSpec immediate =
        SpecLoader.parse(
            FEATURES
                + "holdout: {policy: prequential}\nvalidation: {window: 1d}\nbackend: reference\n");
    TrainerState undelayed = run(immediate, stream(1000, 4, 0), new Outputs());
    assertThat(undelayed.params).containsExactly(state.params);
    assertThat(state.heldOutLogLossTotal).isGreaterThan(undelayed.heldOutLogLossTotal);
  }

  @Test
  void gatedChampionIsNeverReplacedByAWorseCandidate() throws Exception {
    PipelineSpec spec =
        SpecLoader.parse(
            FEATURES
                + "validation: {window: 100s, metric: accuracy}\n"
                + "publish: {policy: gated, margin: 0.0, min-held-out: 10}\n"
                + "training: {learning-rate: 0.5}\nbackend: reference\n");
    HoldoutSplit split = new HoldoutSplit(spec.holdout().fraction());
    List<Example> stream = stream(4000, 1, 0);
    // After 1500 events a broken labeler inverts the training labels; held-out labels stay true,
    // so the candidate degrades window after window against the champion on the same events.
    for (int i = 1500; i < stream.size(); i++) {
      Example example = stream.get(i);
      if (!split.isHeldOut(example.id)) {
        example.label = 1 - example.label;
      }
    }
    Outputs out = new Outputs();
    run(spec, stream, out);
    long championBefore = 0;
    double championAccuracy = 0;
    for (WindowReport report : out.windows) {
      if (report.windowEnd <= 1_500_000L) {
        if (report.championMoved) {
          championBefore = report.publishedVersion;
          championAccuracy = report.candidateValue;
        }
        continue;
      }
      if (report.championMoved) {
        // A move is only allowed when the candidate beats the champion on the same events.
        assertThat(report.candidateValue).isGreaterThan(report.championValue);
      }
    }
    assertThat(championBefore).isPositive();
    assertThat(championAccuracy).isGreaterThan(0.9);
    long lateMoves =
        out.windows.stream().filter(r -> r.windowEnd > 1_600_000L && r.championMoved).count();
    assertThat(lateMoves).as("champion moves after the labels went bad").isZero();
    assertThat(out.versions).allMatch(snapshot -> snapshot.champion);
    WindowReport last = out.windows.get(out.windows.size() - 1);
    assertThat(last.candidateValue).isLessThan(last.championValue);
  }

  static TrainerState run(PipelineSpec spec, List<Example> stream, Outputs out) {
    ModelTrainer trainer = new ModelTrainer(spec, new ReferenceBackend());
    TrainerState state = trainer.newState();
    for (Example example : stream) {
      trainer.offer(state, example, out);
    }
    trainer.finish(state, out);
    return state;
  }

  /** label = [a + b > 0], one event a second. */
  static List<Example> stream(int count, long seed, long startMillis) {
    Random random = new Random(seed);
    List<Example> examples = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Example example = new Example();
      example.id = "e-" + i;
      example.timestamp = startMillis + 1000L * i;
      double a = random.nextGaussian();
      double b = random.nextGaussian();
      example.numeric = new double[] {a, b};
      example.categorical = new String[0];
      example.label = a + b > 0 ? 1 : 0;
      example.offset = i;
      examples.add(example);
    }
    return examples;
  }
}
