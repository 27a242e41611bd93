package dev.streamlearn.operators;

import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.ProcessFunction;

/**
 * A {@link ProcessFunction} whose {@link PipelineCounters} go on from its checkpoint after a
 * restore ({@link CheckpointedCounters}): it registers them in {@code open} through {@link
 * #counters}.
 */
abstract class ProcessFunctionWithCounters<I, O> extends ProcessFunction<I, O>
    implements CheckpointedFunction {

  /** Set before {@code open}. */
  transient CheckpointedCounters counters;

  @Override
  public void initializeState(FunctionInitializationContext context) throws Exception {
    counters = CheckpointedCounters.restore(context);
  }

  @Override
  public void snapshotState(FunctionSnapshotContext context) throws Exception {
    counters.snapshotState();
  }
}
