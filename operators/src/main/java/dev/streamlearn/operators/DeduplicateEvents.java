package dev.streamlearn.operators;

import dev.streamlearn.core.data.Example;
import java.time.Duration;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.util.Collector;

/**
 * Passes the first event of each id and drops the ones that repeat it within the TTL, counting
 * them. Keyed by event id; the seen-marker expires with state TTL, so state stays bounded. Labels
 * from the labels topic ({@link Example#labelOnly}) share their event's id and pass untouched.
 */
public final class DeduplicateEvents
    extends KeyedProcessFunctionWithCounters<String, Example, Example> {

  private final Duration ttl;
  private transient ValueState<Boolean> seen;
  private transient Counter deduplicated;

  public DeduplicateEvents(Duration ttl) {
    this.ttl = ttl;
  }

  @Override
  public void open(OpenContext openContext) {
    ValueStateDescriptor<Boolean> descriptor = new ValueStateDescriptor<>("seen", Types.BOOLEAN);
    descriptor.enableTimeToLive(
        StateTtlConfig.newBuilder(ttl)
            .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
            .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
            // One entry visited per access is enough to keep up with one entry added per access;
            // the default of five made this walk the operator's largest cost.
            .cleanupIncrementally(1, false)
            .build());
    seen = getRuntimeContext().getState(descriptor);
    deduplicated =
        counters.counter(getRuntimeContext().getMetricGroup(), PipelineCounters.DEDUPLICATED);
  }

  @Override
  public void processElement(Example example, Context context, Collector<Example> out)
      throws Exception {
    if (example.labelOnly) {
      out.collect(example);
      return;
    }
    if (seen.value() != null) {
      deduplicated.inc();
      return;
    }
    seen.update(Boolean.TRUE);
    out.collect(example);
  }
}
