package dev.streamlearn.operators;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.RawFeatures;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.core.train.ModelSnapshot;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/**
 * The trainer on RocksDB: {@link TrainModelOperator} keeps each model's state as an object between
 * checkpoints, where a function run by another operator writes (serializes) it with every event.
 * Both publish the heap backend's versions; the test prints the rates of the three (the benchmark's
 * 40 features, logistic regression, batch 512, events 1 ms apart in 100 s windows).
 */
class TrainModelOnRocksDbTest {

  private static final PipelineSpec SPEC = benchmarkSpec();

  @Test
  void writingStatesAtCheckpointsPublishesTheHeapsVersions() throws Exception {
    List<Example> events = events(40_000);
    // Once to warm the JIT up, so that the first rate printed is not the slowest for that.
    run(new TrainModelOperator(new TrainModel(SPEC)), false, events);
    Run heap = run(new TrainModelOperator(new TrainModel(SPEC)), false, events);
    Run behind = run(new TrainModelOperator(new TrainModel(SPEC)), true, events);
    List<Example> first = events.subList(0, 2_000);
    Run heapFirst = run(new TrainModelOperator(new TrainModel(SPEC)), false, first);
    Run onUpdate = run(new KeyedProcessOperator<>(new TrainModel(SPEC)), true, first);
    System.out.printf(
        "trainer, events/s: heap %,.0f; RocksDB, states written at checkpoints %,.0f;"
            + " RocksDB, state written with every event %,.0f (over the first %,d events)%n",
        heap.eventsPerSecond, behind.eventsPerSecond, onUpdate.eventsPerSecond, first.size());
    assertThat(heap.versions).isNotEmpty();
    assertThat(heapFirst.versions).isNotEmpty();
    TrainerConformanceTest.assertSameVersions(behind.versions, heap.versions);
    TrainerConformanceTest.assertSameVersions(onUpdate.versions, heapFirst.versions);
  }

  /**
   * More models than {@link TrainModel#MOST_UNWRITTEN} (one per segment): those beyond it are
   * written with each update, the others at checkpoints; restored mid-stream on RocksDB, every
   * model publishes the heap's uninterrupted versions.
   */
  @Test
  void modelsBeyondThoseKeptUnwrittenAreWrittenOnUpdate() throws Exception {
    int segments = TrainModel.MOST_UNWRITTEN + 40;
    PipelineSpec spec =
        SpecLoader.parse(
            "name: m\nfeatures: [{name: a, type: numeric}, {name: s, type: categorical}]\n"
                + "segments: {by: s}\ntraining: {batch-size: 4}\nvalidation: {window: 30s}\n"
                + "backend: java\n");
    RawFeatures rules = new RawFeatures(spec);
    Random random = new Random(2);
    List<Example> events = new ArrayList<>();
    for (int i = 0; i < 30 * segments; i++) {
      double a = random.nextGaussian();
      events.add(
          TrainModelTest.example(
              rules, Map.of("a", a, "s", "s" + random.nextInt(segments)), i, a > 0 ? 1 : 0));
    }
    List<ModelSnapshot> onHeap = TrainModelTest.run(new TrainModel(spec), spec, events, -1);
    List<ModelSnapshot> restored =
        TrainModelTest.run(
            new TrainModel(spec),
            spec,
            events,
            events.size() / 2,
            new EmbeddedRocksDBStateBackend());
    assertThat(onHeap.stream().map(v -> v.model).distinct().count()).isEqualTo(segments);
    java.util.Comparator<ModelSnapshot> order =
        java.util.Comparator.<ModelSnapshot, String>comparing(v -> v.model)
            .thenComparingLong(v -> v.version);
    TrainerConformanceTest.assertSameVersions(
        restored.stream().sorted(order).toList(), onHeap.stream().sorted(order).toList());
  }

  private record Run(List<ModelSnapshot> versions, double eventsPerSecond) {}

  private static Run run(
      OneInputStreamOperator<Example, ModelSnapshot> operator, boolean rocksDb, List<Example> in)
      throws Exception {
    try (var harness =
        new KeyedOneInputStreamOperatorTestHarness<>(operator, example -> "m", Types.STRING)) {
      if (rocksDb) {
        harness.setStateBackend(new EmbeddedRocksDBStateBackend());
      }
      harness.open();
      long start = System.nanoTime();
      TrainModelTest.feed(harness, in);
      double seconds = (System.nanoTime() - start) / 1e9;
      // A checkpoint, then the end of input: the last window's version.
      harness.snapshot(1, 1);
      harness.processWatermark(Long.MAX_VALUE);
      return new Run(TrainModelTest.outputs(harness), in.size() / seconds);
    }
  }

  private static PipelineSpec benchmarkSpec() {
    StringBuilder features = new StringBuilder("features:\n");
    for (int i = 0; i < 32; i++) {
      features.append("  - {name: n").append(i).append(", type: numeric}\n");
    }
    for (int i = 0; i < 8; i++) {
      features.append("  - {name: c").append(i).append(", type: categorical, hash-buckets: 16}\n");
    }
    return SpecLoader.parse(
        "name: m\n"
            + features
            + "training: {batch-size: 512}\nvalidation: {window: 100s}\nbackend: java\n");
  }

  private static List<Example> events(int count) throws Exception {
    RawFeatures rules = new RawFeatures(SPEC);
    Random random = new Random(1);
    List<Example> events = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Map<String, Object> fields = new HashMap<>();
      for (int j = 0; j < 32; j++) {
        fields.put("n" + j, random.nextGaussian());
      }
      for (int j = 0; j < 8; j++) {
        fields.put("c" + j, "v" + random.nextInt(30));
      }
      Example event = TrainModelTest.example(rules, fields, i, random.nextInt(2));
      event.timestamp = 1_700_000_000_000L + i;
      events.add(event);
    }
    return events;
  }
}
