package dev.streamlearn.jobs;

import dev.streamlearn.core.spec.PipelineSpec;
import java.time.Duration;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/** A job this project runs: the training pipeline, or the scoring job. */
public interface FlinkJob {

  /** Adds the job's operators to {@code env}, with its checkpointing. */
  void addTo(StreamExecutionEnvironment env);

  /** The name Flink shows for it. */
  String jobName();

  /**
   * What both jobs set: object reuse (operators never keep or mutate records they pass on, so
   * chained operators may share them), exactly-once checkpoints every {@code checkpoint.interval}
   * (none when zero), and the state backend where the spec chooses one (the job's configuration
   * overrides the cluster's).
   */
  static void configure(StreamExecutionEnvironment env, PipelineSpec.Checkpoint checkpoint) {
    env.getConfig().enableObjectReuse();
    Duration interval = checkpoint.interval();
    if (!interval.isZero()) {
      env.enableCheckpointing(interval.toMillis(), CheckpointingMode.EXACTLY_ONCE);
    }
    checkpoint
        .chosenStateBackend()
        .ifPresent(
            backend -> {
              Configuration chosen = new Configuration();
              chosen.set(StateBackendOptions.STATE_BACKEND, backend);
              env.configure(chosen);
            });
  }
}
