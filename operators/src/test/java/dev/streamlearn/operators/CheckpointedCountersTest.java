package dev.streamlearn.operators;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.AbstractStreamOperatorTestHarness;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.util.Collector;
import org.junit.jupiter.api.Test;

class CheckpointedCountersTest {

  @Test
  void aRestoredOperatorCountsOnFromItsCheckpoint() throws Exception {
    OperatorSubtaskState snapshot;
    try (var harness = harness(1, 1, 0)) {
      harness.open();
      feed(harness, 3);
      snapshot = harness.snapshot(1, 1);
      // Counted after the checkpoint: a restore from it forgets these.
      feed(harness, 4);
      assertThat(counts(harness)).endsWith(7L);
    }
    try (var harness = harness(1, 1, 0)) {
      harness.initializeState(snapshot);
      harness.open();
      feed(harness, 2);
      assertThat(counts(harness)).containsExactly(4L, 5L);
    }
  }

  @Test
  void countsSpreadOverMoreSubtasksKeepTheirSum() throws Exception {
    OperatorSubtaskState first;
    OperatorSubtaskState second;
    try (var a = harness(2, 2, 0);
        var b = harness(2, 2, 1)) {
      a.open();
      b.open();
      feed(a, 5);
      feed(b, 7);
      first = a.snapshot(1, 1);
      second = b.snapshot(1, 1);
    }
    OperatorSubtaskState both = AbstractStreamOperatorTestHarness.repackageState(first, second);
    long total = 0;
    for (int subtask = 0; subtask < 3; subtask++) {
      try (var harness = harness(3, 3, subtask)) {
        harness.initializeState(
            AbstractStreamOperatorTestHarness.repartitionOperatorState(both, 3, 2, 3, subtask));
        harness.open();
        feed(harness, 1);
        total += counts(harness).get(0) - 1;
      }
    }
    assertThat(total).isEqualTo(12);
  }

  @Test
  void aFreshStartCountsFromZero() throws Exception {
    try (var harness = harness(1, 1, 0)) {
      harness.open();
      feed(harness, 2);
      assertThat(counts(harness)).containsExactly(1L, 2L);
    }
  }

  private static OneInputStreamOperatorTestHarness<String, Long> harness(
      int maxParallelism, int parallelism, int subtask) throws Exception {
    return new OneInputStreamOperatorTestHarness<>(
        new ProcessOperator<>(new CountRecords()), maxParallelism, parallelism, subtask);
  }

  private static void feed(OneInputStreamOperatorTestHarness<String, Long> harness, int records)
      throws Exception {
    for (int i = 0; i < records; i++) {
      harness.processElement(new StreamRecord<>("record " + i));
    }
  }

  private static List<Long> counts(OneInputStreamOperatorTestHarness<String, Long> harness) {
    List<Long> counts = new ArrayList<>();
    for (Object out : harness.getOutput()) {
      if (out instanceof StreamRecord<?> record) {
        counts.add((Long) record.getValue());
      }
    }
    return counts;
  }

  /** Counts its input with a checkpointed counter and sends the count after each record. */
  private static final class CountRecords extends ProcessFunctionWithCounters<String, Long> {
    private transient Counter read;

    @Override
    public void open(OpenContext openContext) {
      read = counters.counter(getRuntimeContext().getMetricGroup(), PipelineCounters.READ);
    }

    @Override
    public void processElement(String record, Context context, Collector<Long> out) {
      read.inc();
      out.collect(read.getCount());
    }
  }
}
