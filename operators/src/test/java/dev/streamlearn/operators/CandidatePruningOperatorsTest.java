package dev.streamlearn.operators;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.ModelRouter;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.core.train.CandidatePruning.Pruned;
import dev.streamlearn.core.train.WindowReport;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.BroadcastOperatorTestHarness;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/**
 * The two operators of candidate pruning: {@link PruneCandidates} decides from window reports, per
 * segment, across a restore; {@link CopyForRemainingCandidates} stops copying events to the pruned
 * candidates of that segment, and the first remaining candidate counts each event.
 */
class CandidatePruningOperatorsTest {

  private static final PipelineSpec SPEC =
      SpecLoader.parse(
          String.join(
              "\n",
              "name: shop",
              "source: {bounded: false}",
              "features:",
              "  - {name: x, type: numeric}",
              "  - {name: region, type: categorical, hash-buckets: 4}",
              "segments: {by: region, values: [north, south]}",
              "validation: {window: 100s, metric: accuracy}",
              "candidates:",
              "  - {name: a, training: {learning-rate: 0.1}}",
              "  - {name: b, training: {learning-rate: 0.01}}",
              "  - {name: c, training: {learning-rate: 0.001}}",
              "pruning: {windows: 2, keep: 1}",
              ""));

  private static WindowReport report(String model, long windowEnd, double accuracy) {
    WindowReport report = new WindowReport();
    report.model = model;
    report.windowEnd = windowEnd;
    report.metric = "accuracy";
    report.candidateValue = accuracy;
    return report;
  }

  private static KeyedOneInputStreamOperatorTestHarness<String, WindowReport, Pruned> pruner()
      throws Exception {
    PruneCandidates prune = new PruneCandidates(SPEC);
    return new KeyedOneInputStreamOperatorTestHarness<>(
        new KeyedProcessOperator<>(prune), prune.byCompetition(), Types.STRING);
  }

  @Test
  void decidesPerSegmentFromTheWindowReportsAndKeepsItsStandingAcrossARestore() throws Exception {
    OperatorSubtaskState snapshot;
    try (var harness = pruner()) {
      harness.open();
      for (String candidate : List.of("a", "b", "c")) {
        harness.processElement(new StreamRecord<>(report("shop.north." + candidate, 100, 0.5)));
      }
      // Another pipeline's model on the same topic, and the south segment, one window.
      harness.processElement(new StreamRecord<>(report("other.a", 100, 0.1)));
      harness.processElement(new StreamRecord<>(report("shop.south.a", 100, 0.1)));
      assertThat(harness.extractOutputValues()).isEmpty();
      snapshot = harness.snapshot(1, 1);
    }
    try (var harness = pruner()) {
      harness.initializeState(snapshot);
      harness.open();
      harness.processElement(new StreamRecord<>(report("shop.north.a", 200, 0.9)));
      harness.processElement(new StreamRecord<>(report("shop.north.b", 200, 0.6)));
      harness.processElement(new StreamRecord<>(report("shop.north.c", 200, 0.8)));
      List<Pruned> pruned = harness.extractOutputValues();
      // Two windows of the north segment: a 0.7, c 0.65, b 0.55; the best 2 of 3 go on.
      assertThat(pruned).extracting(Pruned::model).containsExactly("shop.north.b");
      assertThat(pruned.get(0).competition()).isEqualTo("shop.north");
      assertThat(pruned.get(0).reason()).startsWith("round 1: mean accuracy 0.5500 over 2 windows");
    }
  }

  private static Example event(String id, String region) {
    Example example = new Example();
    example.id = id;
    example.numeric = new double[] {1};
    example.categorical = new String[] {region};
    return example;
  }

  private static BroadcastOperatorTestHarness<Example, Pruned, Example> copier() throws Exception {
    return new BroadcastOperatorTestHarness<>(
        new CopyForRemainingCandidates.EventTimeOperator(new ModelRouter(SPEC)), 1, 1, 0);
  }

  /** Each copy as {@code <model> counts|copy}. */
  private static List<String> copies(
      BroadcastOperatorTestHarness<Example, Pruned, Example> harness) {
    ModelRouter router = new ModelRouter(SPEC);
    List<String> copies =
        harness.extractOutputValues().stream()
            .map(e -> e.id + " " + router.modelOf(e) + (e.countsEvent ? " counts" : ""))
            .toList();
    harness.getOutput().clear();
    return copies;
  }

  @Test
  void copiesEachEventForTheRemainingCandidatesOfItsSegmentOnly() throws Exception {
    OperatorSubtaskState snapshot;
    try (var harness = copier()) {
      harness.open();
      harness.processElement(new StreamRecord<>(event("e1", "north")));
      assertThat(copies(harness))
          .containsExactly("e1 shop.north.a counts", "e1 shop.north.b", "e1 shop.north.c");
      harness.processBroadcastElement(
          new StreamRecord<>(new Pruned("shop.north", "a", 200, 1, "round 1")));
      // Twice (every pruner subtask's decision reaches every copier): the same.
      harness.processBroadcastElement(
          new StreamRecord<>(new Pruned("shop.north", "a", 200, 1, "round 1")));
      harness.processElement(new StreamRecord<>(event("e2", "north")));
      harness.processElement(new StreamRecord<>(event("e3", "south")));
      assertThat(copies(harness))
          .containsExactly(
              "e2 shop.north.b counts",
              "e2 shop.north.c",
              "e3 shop.south.a counts",
              "e3 shop.south.b",
              "e3 shop.south.c");
      // The events' watermark passes on; the decisions' neither holds it back nor moves it on.
      harness.processWatermark(new Watermark(5_000));
      harness.processBroadcastWatermark(new Watermark(1_000));
      harness.processWatermark(new Watermark(7_000));
      assertThat(harness.getOutput())
          .filteredOn(Watermark.class::isInstance)
          .containsExactly(new Watermark(5_000), new Watermark(7_000));
      harness.getOutput().clear();
      snapshot = harness.snapshot(1, 1);
    }
    try (var harness = copier()) {
      harness.initializeState(snapshot);
      harness.open();
      harness.processElement(new StreamRecord<>(event("e4", "north")));
      assertThat(copies(harness)).containsExactly("e4 shop.north.b counts", "e4 shop.north.c");
      harness.processBroadcastElement(
          new StreamRecord<>(new Pruned("shop.north", "c", 400, 2, "round 2")));
      harness.processElement(new StreamRecord<>(event("e5", "north")));
      assertThat(copies(harness)).containsExactly("e5 shop.north.b counts");
    }
  }
}
