package dev.streamlearn.operators;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.data.Example;
import java.time.Duration;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/** Deduplication by event id within a TTL, through Flink's keyed operator test harness. */
class DeduplicateEventsTest {

  private static final Duration TTL = Duration.ofMinutes(10);

  @Test
  void dropsRepeatsWithinTheTtlAndForgetsIdsAfterIt() throws Exception {
    try (var harness = harness()) {
      harness.open();
      harness.setStateTtlProcessingTime(0);
      feed(harness, "a", "b", "a", "c", "b");
      assertThat(ids(harness)).containsExactly("a", "b", "c");
      assertThat(harness.numKeyedStateEntries()).isEqualTo(3);

      // Just inside the TTL the ids are still known; past it they have expired.
      harness.setStateTtlProcessingTime(TTL.toMillis() - 1);
      feed(harness, "a");
      assertThat(ids(harness)).isEmpty();
      harness.setStateTtlProcessingTime(TTL.toMillis() + 1);
      feed(harness, "a", "a", "d");
      assertThat(ids(harness)).containsExactly("a", "d");
    }
  }

  @Test
  void remembersSeenIdsAcrossSnapshotAndRestore() throws Exception {
    OperatorSubtaskState snapshot;
    try (var harness = harness()) {
      harness.open();
      harness.setStateTtlProcessingTime(0);
      feed(harness, "a", "b");
      snapshot = harness.snapshot(1, 1);
      ids(harness);
    }
    try (var harness = harness()) {
      harness.setStateTtlProcessingTime(1);
      harness.initializeState(snapshot);
      harness.open();
      feed(harness, "b", "c", "a");
      assertThat(ids(harness)).containsExactly("c");
      assertThat(harness.numKeyedStateEntries()).isEqualTo(3);
    }
  }

  private static KeyedOneInputStreamOperatorTestHarness<String, Example, Example> harness()
      throws Exception {
    return new KeyedOneInputStreamOperatorTestHarness<>(
        new KeyedProcessOperator<>(new DeduplicateEvents(TTL)),
        (Example example) -> example.id,
        Types.STRING);
  }

  private static void feed(
      KeyedOneInputStreamOperatorTestHarness<String, Example, Example> harness, String... ids)
      throws Exception {
    for (String id : ids) {
      Example example = new Example();
      example.id = id;
      example.numeric = new double[0];
      example.categorical = new String[0];
      harness.processElement(new StreamRecord<>(example, 0));
    }
  }

  private static List<String> ids(
      KeyedOneInputStreamOperatorTestHarness<String, Example, Example> harness) {
    List<String> ids = harness.extractOutputValues().stream().map(e -> e.id).toList();
    harness.getOutput().clear();
    return ids;
  }
}
