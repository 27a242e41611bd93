package dev.streamlearn.operators;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/** Events sent without a label meet the labels that follow, through Flink's keyed test harness. */
class JoinLabelsTest {

  private static final PipelineSpec.Source SOURCE =
      SpecLoader.parse(
              "features: [{name: x, type: numeric}]\n"
                  + "source: {topic: clicks, labels: {topic: clicks.labels, max-wait: 10s}}\n")
          .source();

  @Test
  void eachEventTakesTheLabelOfItsIdWhicheverComesFirst() throws Exception {
    try (var harness = harness()) {
      harness.open();
      harness.processElement(event("a", 1_000, 0));
      harness.processElement(label("b", 1_500, 1));
      harness.processElement(labeledEvent("c", 1_600, 0));
      assertThat(harness.extractOutputValues()).extracting(e -> e.id).containsExactly("c");

      harness.processElement(label("a", 4_000, 1));
      harness.processElement(event("b", 2_000, 0));
      List<Example> out = harness.extractOutputValues();
      assertThat(out).extracting(e -> e.id).containsExactly("c", "a", "b");
      // Learned from when the label was known (a), or at the event's own later time (b).
      assertThat(out).extracting(e -> e.timestamp).containsExactly(1_600L, 4_000L, 2_000L);
      assertThat(out).extracting(e -> e.label).containsExactly(0.0, 1.0, 1.0);
      assertThat(out).allMatch(e -> !e.labelOnly && e.numeric.length == 1);
      // The events' own positions, for lineage; the labels' arrival times, for latency.
      assertThat(out.get(1).offset).isEqualTo(100);
      assertThat(out.get(1).ingestTime).isEqualTo(4_000 + 7);
      assertThat(harness.getSideOutput(JoinLabels.REFUSED)).isNull();
      // Nothing stays behind for joined ids, neither state nor timers.
      assertThat(harness.numKeyedStateEntries()).isZero();
      assertThat(harness.numEventTimeTimers()).isZero();

      // A label for an event labeled already waits in vain, like an orphan.
      harness.processElement(label("a", 5_000, 0));
      harness.processWatermark(new Watermark(Long.MAX_VALUE));
      assertThat(reasons(harness))
          .containsExactly(
              "clicks.labels a: no event with id a took it before the input ended (the event never"
                  + " came, or was labeled already)");
      assertThat(harness.numKeyedStateEntries()).isZero();
    }
  }

  @Test
  void whatWaitsInVainIsDeadLetteredWithTheReason() throws Exception {
    try (var harness = harness()) {
      harness.open();
      harness.processElement(event("a", 1_000, 0));
      harness.processElement(label("orphan", 2_000, 1));
      harness.processElement(label("orphan", 2_500, 0));
      harness.processElement(event("a", 1_200, 0));
      assertThat(reasons(harness))
          .containsExactly(
              "clicks.labels orphan: a label for event orphan waits already; a repeated label is"
                  + " not learned from");
      // Both topics read on to 17 s: an event that carries its label, a label and its event.
      harness.processElement(labeledEvent("own", 17_000, 1));
      harness.processElement(event("p", 16_000, 0));
      harness.processElement(label("p", 17_000, 1));
      assertThat(harness.extractOutputValues()).extracting(e -> e.id).containsExactly("own", "p");

      // Nothing is given up before its time plus the wait, and then source.idle-timeout (30 s)
      // of processing time more, for the partitions of a topic read unevenly.
      harness.processWatermark(new Watermark(10_999));
      assertThat(harness.getSideOutput(JoinLabels.REFUSED)).hasSize(1);
      harness.processWatermark(new Watermark(12_000));
      harness.setProcessingTime(29_999);
      assertThat(harness.getSideOutput(JoinLabels.REFUSED)).hasSize(1);
      harness.setProcessingTime(30_000);
      assertThat(harness.numEventTimeTimers()).isZero();
      assertThat(reasons(harness).subList(1, 3))
          .containsExactly(
              "clicks a: no label arrived on clicks.labels within PT10S of the event",
              "clicks.labels orphan: no event with id orphan took it within PT10S of the label (the"
                  + " event never came, or was labeled already)");
      Refusal expired =
          harness.getSideOutput(JoinLabels.REFUSED).stream().toList().get(1).getValue();
      assertThat(expired.stage).isEqualTo("join-labels");
      assertThat(expired.offset).isEqualTo(100);
      assertThat(expired.payload).isEmpty();

      // A label after its event gave up waits in turn; the end of the input ends every wait.
      harness.processElement(label("a", 13_000, 1));
      harness.processElement(event("late", 13_000, 0));
      harness.processWatermark(new Watermark(Long.MAX_VALUE));
      assertThat(reasons(harness).subList(3, 5))
          .containsExactlyInAnyOrder(
              "clicks.labels a: no event with id a took it before the input ended (the event never"
                  + " came, or was labeled already)",
              "clicks late: no label arrived on clicks.labels before the input ended");
      assertThat(harness.extractOutputValues()).hasSize(2);
      assertThat(harness.numKeyedStateEntries()).isZero();
    }
  }

  @Test
  void theEndOfTheInputEndsAWaitInItsGrace() throws Exception {
    try (var harness = harness()) {
      harness.open();
      harness.processElement(event("x", 1_000, 0));
      harness.processElement(event("p", 20_000, 0));
      harness.processElement(label("p", 20_000, 1));
      harness.processWatermark(new Watermark(12_000));
      assertThat(harness.getSideOutput(JoinLabels.REFUSED)).isNull();
      // Processing-time timers do not fire at the end of the input; the wait ends all the same.
      harness.processWatermark(new Watermark(Long.MAX_VALUE));
      assertThat(reasons(harness))
          .containsExactly("clicks x: no label arrived on clicks.labels before the input ended");
      assertThat(harness.numKeyedStateEntries()).isZero();
      assertThat(harness.numEventTimeTimers()).isZero();
    }
  }

  @Test
  void aTopicReadAheadEndsNoWaitOfTheOther() throws Exception {
    try (var harness = harness()) {
      harness.open();
      // The labels topic is read far ahead of the events topic, and the watermark with it.
      harness.processElement(label("x", 1_000, 1));
      harness.processElement(label("z", 90_000, 0));
      harness.processWatermark(new Watermark(200_000));
      assertThat(harness.getSideOutput(JoinLabels.REFUSED)).isNull();
      harness.processElement(event("x", 1_000, 0));
      harness.processElement(event("z", 89_000, 0));
      assertThat(harness.extractOutputValues())
          .extracting(e -> e.id + "=" + e.label)
          .containsExactly("x=1.0", "z=0.0");

      // An event waits while no labels are read at all: a stalled labeling system loses nothing.
      harness.processElement(event("w", 300_000, 0));
      harness.processWatermark(new Watermark(10_000_000));
      assertThat(harness.getSideOutput(JoinLabels.REFUSED)).isNull();
      harness.processElement(label("w", 310_000, 1));
      assertThat(harness.extractOutputValues()).extracting(e -> e.id).endsWith("w");
      harness.processWatermark(new Watermark(Long.MAX_VALUE));
      assertThat(harness.getSideOutput(JoinLabels.REFUSED)).isNull();
      assertThat(harness.numKeyedStateEntries()).isZero();
    }
  }

  @Test
  void waitingEventsSurviveSnapshotAndRestore() throws Exception {
    OperatorSubtaskState snapshot;
    try (var harness = harness()) {
      harness.open();
      harness.processElement(event("a", 1_000, 0));
      harness.processElement(label("b", 1_000, 1));
      snapshot = harness.snapshot(1, 1);
    }
    try (var harness = harness()) {
      harness.initializeState(snapshot);
      harness.open();
      harness.processElement(label("a", 3_000, 1));
      harness.processElement(event("b", 3_000, 0));
      assertThat(harness.extractOutputValues())
          .extracting(e -> e.id + "=" + e.label)
          .containsExactly("a=1.0", "b=1.0");
      harness.processWatermark(new Watermark(Long.MAX_VALUE));
      assertThat(harness.getSideOutput(JoinLabels.REFUSED)).isNull();
    }
  }

  @Test
  void saysHowFarTheLabelsAreBehindTheEvents() throws Exception {
    JoinLabels join = new JoinLabels(SOURCE);
    try (var harness = harness(join)) {
      harness.open();
      assertThat(join.labelsBehindMillis()).isZero();
      harness.processElement(event("a", 1_000, 0));
      harness.processElement(event("b", 26_000, 0));
      // No label yet: behind by all the events have spanned, past max-wait (10 s).
      assertThat(join.labelsBehindMillis()).isEqualTo(25_000);
      harness.processElement(label("a", 21_000, 1));
      assertThat(join.labelsBehindMillis()).isEqualTo(5_000);
      harness.processElement(label("c", 30_000, 1));
      assertThat(join.labelsBehindMillis()).isZero();
      // Events that carry their own label move the events' time too.
      harness.processElement(labeledEvent("d", 42_000, 1));
      assertThat(join.labelsBehindMillis()).isEqualTo(12_000);
    }
  }

  private static KeyedOneInputStreamOperatorTestHarness<String, Example, Example> harness()
      throws Exception {
    return harness(new JoinLabels(SOURCE));
  }

  private static KeyedOneInputStreamOperatorTestHarness<String, Example, Example> harness(
      JoinLabels join) throws Exception {
    return new KeyedOneInputStreamOperatorTestHarness<>(
        new KeyedProcessOperator<>(join), (Example example) -> example.id, Types.STRING);
  }

  private static StreamRecord<Example> event(String id, long time, double x) {
    Example example = new Example();
    example.id = id;
    example.timestamp = time;
    example.label = Double.NaN;
    example.numeric = new double[] {x};
    example.categorical = new String[0];
    example.offset = 100;
    example.ingestTime = time + 5;
    return new StreamRecord<>(example, time);
  }

  private static StreamRecord<Example> labeledEvent(String id, long time, double label) {
    StreamRecord<Example> record = event(id, time, 0);
    record.getValue().label = label;
    return record;
  }

  private static StreamRecord<Example> label(String id, long time, double label) {
    Example example = new Example();
    example.labelOnly = true;
    example.id = id;
    example.timestamp = time;
    example.label = label;
    example.numeric = new double[0];
    example.categorical = new String[0];
    example.offset = 7;
    example.ingestTime = time + 7;
    return new StreamRecord<>(example, time);
  }

  private static List<String> reasons(
      KeyedOneInputStreamOperatorTestHarness<String, Example, Example> harness) {
    return harness.getSideOutput(JoinLabels.REFUSED).stream()
        .map(r -> r.getValue().topic + " " + r.getValue().eventId + ": " + r.getValue().reason)
        .toList();
  }
}
