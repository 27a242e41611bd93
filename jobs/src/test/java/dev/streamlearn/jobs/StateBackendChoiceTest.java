package dev.streamlearn.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.jobs.runtime.LocalFlink;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.Collector;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code checkpoint.state-backend} reaches the keyed state of a job's operators. */
class StateBackendChoiceTest {

  private static final Set<String> STATE_CLASSES = ConcurrentHashMap.newKeySet();

  @TempDir Path directory;

  @ParameterizedTest
  @CsvSource({
    "rocksdb, RocksDBValueState",
    "hashmap, HeapValueState",
    "configured, HeapValueState"
  })
  void theSpecsStateBackendHoldsTheKeyedState(String backend, String stateClass) throws Exception {
    PipelineSpec spec =
        SpecLoader.parse(
            "name: m\nfeatures: [{name: a, type: numeric}]\ncheckpoint: {state-backend: "
                + backend
                + "}\n");
    STATE_CLASSES.clear();
    StreamExecutionEnvironment env = LocalFlink.environment(1, directory);
    FlinkJob.configure(env, spec.checkpoint());
    env.fromData(1L, 2L, 3L)
        .keyBy(value -> value % 2, Types.LONG)
        .process(new RecordStateClass())
        .sinkTo(new DiscardingSink<>());
    env.execute("state-backend-" + backend);
    assertThat(STATE_CLASSES).hasSize(1);
    assertThat(STATE_CLASSES.iterator().next()).endsWith(stateClass);
  }

  /** Notes the class of its keyed state. */
  private static final class RecordStateClass extends KeyedProcessFunction<Long, Long, Long> {
    @Override
    public void open(OpenContext context) {
      STATE_CLASSES.add(
          getRuntimeContext()
              .getState(new ValueStateDescriptor<>("seen", Types.LONG))
              .getClass()
              .getName());
    }

    @Override
    public void processElement(Long value, Context context, Collector<Long> out) {
      out.collect(value);
    }
  }
}
