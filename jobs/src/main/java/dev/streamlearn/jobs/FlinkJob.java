package dev.streamlearn.jobs;

import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/** A job this project runs: the training pipeline, or the scoring job. */
public interface FlinkJob {

  /** Adds the job's operators to {@code env}, with its checkpointing. */
  void addTo(StreamExecutionEnvironment env);

  /** The name Flink shows for it. */
  String jobName();
}
