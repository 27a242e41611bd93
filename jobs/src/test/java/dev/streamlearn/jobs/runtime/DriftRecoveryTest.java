package dev.streamlearn.jobs.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.backend.JavaBackend;
import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.core.train.ModelSnapshot;
import dev.streamlearn.core.train.ModelTrainer;
import dev.streamlearn.core.train.TrainerState;
import dev.streamlearn.core.train.WindowReport;
import dev.streamlearn.schemas.LabeledEvent;
import dev.streamlearn.schemas.codec.AvroCodec;
import dev.streamlearn.schemas.codec.Topics;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The demo's drifting stream through the demo's spec: the drift is detected soon after the concept
 * changes, and the reaction (a challenger) brings held-out accuracy back faster than no reaction.
 */
class DriftRecoveryTest {

  static final long DRIFT_AT = 120_000;
  static final int EVENTS = 200_000;

  record Run(long detectedAt, List<WindowReport> windows) {}

  @Test
  void detectsDriftAndRecoversWithAChallenger() throws Exception {
    Run reacting = run("challenger");
    Run ignoring = run("none");

    long delay = reacting.detectedAt - DRIFT_AT;
    System.out.printf("drift at event %,d detected after %,d events%n", DRIFT_AT, delay);
    assertThat(reacting.detectedAt).as("no false alarm before the drift").isGreaterThan(DRIFT_AT);
    assertThat(delay).as("events from the change to its detection").isLessThan(3_000);

    double before = accuracyOfWindowEndingBefore(reacting, DRIFT_AT);
    double recovered = accuracyOfWindowEndingBefore(reacting, DRIFT_AT + 40_000);
    double unrecovered = accuracyOfWindowEndingBefore(ignoring, DRIFT_AT + 40_000);
    System.out.printf(
        "held-out accuracy: %.3f before the drift; 40,000 events after it %.3f with a challenger, %.3f without a reaction%n",
        before, recovered, unrecovered);
    assertThat(recovered).isGreaterThan(before - 0.05).isGreaterThan(unrecovered + 0.05);
  }

  private static double accuracyOfWindowEndingBefore(Run run, long eventIndex) {
    // Event n has event time n * 10 ms; windows are 100 s = 10,000 events.
    long end = eventIndex * 10;
    WindowReport best = null;
    for (WindowReport report : run.windows) {
      if (report.windowEnd - START <= end) {
        best = report;
      }
    }
    return dev.streamlearn.jobs.KafkaConnectors.toWindowMetrics(best).getMetrics().get("accuracy");
  }

  static final long START = 1_700_000_000_000L;

  private static Run run(String detector) throws Exception {
    Map<String, Object> tree;
    try (InputStream resource =
        DriftRecoveryTest.class.getResourceAsStream("/demo-pipeline.yaml")) {
      tree =
          SpecLoader.readTree(new String(resource.readAllBytes(), StandardCharsets.UTF_8), "demo");
    }
    if (detector.equals("none")) {
      SpecLoader.override(tree, "control.drift.detector", "none");
    }
    PipelineSpec spec = SpecLoader.fromTree(tree);
    ModelTrainer trainer = new ModelTrainer(spec, new JavaBackend());
    TrainerState state = trainer.newState();
    ExampleExtractor extractor = new ExampleExtractor(spec);
    AvroCodec<LabeledEvent> codec = Topics.labeledEvents();
    SyntheticEvents events = new SyntheticEvents(42, DRIFT_AT, START);
    List<WindowReport> windows = new ArrayList<>();
    ModelTrainer.Output out =
        new ModelTrainer.Output() {
          @Override
          public void version(ModelSnapshot snapshot) {}

          @Override
          public void window(WindowReport report) {
            windows.add(report);
          }
        };
    Set<String> seen = new HashSet<>();
    long detectedAt = -1;
    long sequence = 0;
    while (sequence < EVENTS) {
      SyntheticEvents.Next next = events.next();
      if (next.kind() != SyntheticEvents.Kind.GOOD || !seen.add(next.id())) {
        continue;
      }
      sequence = Long.parseLong(next.id().substring(4));
      Example example = extractor.extract(codec.decode(next.value()), 0, sequence);
      trainer.offer(state, example, out);
      if (detectedAt < 0 && state.drift.detections > 0) {
        detectedAt = sequence;
      }
    }
    trainer.finish(state, out);
    return new Run(detectedAt, windows);
  }
}
