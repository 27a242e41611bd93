package dev.streamlearn.operators;

import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.train.ModelSnapshot;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;

/**
 * The operator that runs {@link TrainModel}. On a state backend that serializes state on every
 * update (RocksDB), serializing a model's whole state with each event (its open batch, the rows its
 * validation windows keep, its featurizer) made training hundreds of times slower than on the heap;
 * here the trainer keeps each model's state as an object between checkpoints, and this operator
 * writes the ones that changed into keyed state when a checkpoint's barrier passes, before the
 * backend takes its snapshot. On the heap backend, which keeps the object anyway, it changes
 * nothing.
 */
public final class TrainModelOperator extends KeyedProcessOperator<String, Example, ModelSnapshot> {

  private static final long serialVersionUID = 1L;

  public TrainModelOperator(TrainModel trainer) {
    super(trainer.writingBehind());
  }

  @Override
  public void snapshotState(StateSnapshotContext context) throws Exception {
    Object key = getCurrentKey();
    ((TrainModel) userFunction).writeUnwritten(this::setCurrentKey);
    if (key != null) {
      setCurrentKey(key);
    }
    super.snapshotState(context);
  }
}
