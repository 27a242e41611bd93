package dev.streamlearn.jobs;

import java.time.Duration;
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
   * chained operators may share them) and exactly-once checkpoints every {@code interval} (none
   * when zero).
   */
  static void configure(StreamExecutionEnvironment env, Duration interval) {
    env.getConfig().enableObjectReuse();
    if (!interval.isZero()) {
      env.enableCheckpointing(interval.toMillis(), CheckpointingMode.EXACTLY_ONCE);
    }
  }
}
