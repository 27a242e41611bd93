package dev.streamlearn.operators;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.state.FunctionInitializationContext;

/**
 * One operator's {@link PipelineCounters}, kept in its operator state: a job restored from a
 * checkpoint (after a failure) or a savepoint goes on counting from what each counter said at that
 * checkpoint. What the restored job reads again since then is counted once, as the models learn
 * from it once, so the counters keep adding up to the records on the topic. The operator makes it
 * in {@code CheckpointedFunction#initializeState}, registers its counters in {@code open} and calls
 * {@link #snapshotState} from {@code CheckpointedFunction#snapshotState}.
 *
 * <p>On a restore with another parallelism the entries are spread over the new subtasks, and the
 * counters' sum over them stays what it was.
 */
public final class CheckpointedCounters {

  private static final ListStateDescriptor<Tuple2<String, Long>> STATE =
      new ListStateDescriptor<>("streamlearn-counters", Types.TUPLE(Types.STRING, Types.LONG));

  private final ListState<Tuple2<String, Long>> stored;
  private final Map<String, Long> restored = new HashMap<>();
  private final Map<String, Continued> counters = new LinkedHashMap<>();

  private CheckpointedCounters(ListState<Tuple2<String, Long>> stored) {
    this.stored = stored;
  }

  /**
   * The counters of the operator whose state {@code context} opens, as its last checkpoint left
   * them.
   */
  public static CheckpointedCounters restore(FunctionInitializationContext context)
      throws Exception {
    CheckpointedCounters counters =
        new CheckpointedCounters(context.getOperatorStateStore().getListState(STATE));
    if (context.isRestored()) {
      for (Tuple2<String, Long> entry : counters.stored.get()) {
        counters.restored.merge(entry.f0, entry.f1, Long::sum);
      }
    }
    return counters;
  }

  /**
   * Registers counter {@code name} in the operator's {@value PipelineCounters#GROUP} metric group,
   * starting from its restored value (0 on a fresh start).
   */
  public Counter counter(MetricGroup operatorGroup, String name) {
    Continued counter = new Continued(restored.getOrDefault(name, 0L));
    counters.put(name, counter);
    return operatorGroup.addGroup(PipelineCounters.GROUP).counter(name, counter);
  }

  /** Writes each counter's value into the operator state being checkpointed. */
  public void snapshotState() throws Exception {
    List<Tuple2<String, Long>> entries = new ArrayList<>(counters.size());
    counters.forEach((name, counter) -> entries.add(Tuple2.of(name, counter.getCount())));
    stored.update(entries);
  }

  /** A counter that starts from a checkpoint's value. */
  private static final class Continued implements PipelineCounters.Restored {
    private long count;

    Continued(long start) {
      this.count = start;
    }

    @Override
    public void inc() {
      count++;
    }

    @Override
    public void inc(long n) {
      count += n;
    }

    @Override
    public void dec() {
      count--;
    }

    @Override
    public void dec(long n) {
      count -= n;
    }

    @Override
    public long getCount() {
      return count;
    }
  }
}
