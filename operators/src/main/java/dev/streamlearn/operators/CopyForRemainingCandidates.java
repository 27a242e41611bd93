package dev.streamlearn.operators;

import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.ModelRouter;
import dev.streamlearn.core.train.CandidatePruning.Pruned;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.state.BroadcastState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.co.BroadcastProcessFunction;
import org.apache.flink.streaming.api.operators.co.CoBroadcastWithNonKeyedOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.watermarkstatus.WatermarkStatus;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * With candidate pruning: copies each example for the candidates of its model that still train, as
 * {@link CopyForCandidates} does for all, the first of them counting the event. The pruned
 * candidates come broadcast from {@link PruneCandidates} and are kept in broadcast state (by model
 * name), so a restored job prunes the same ones.
 */
public final class CopyForRemainingCandidates
    extends BroadcastProcessFunction<Example, Pruned, Example> {

  /** The pruned candidates' decisions, by the candidate's model name. */
  public static final MapStateDescriptor<String, Pruned> PRUNED =
      new MapStateDescriptor<>("pruned-candidates", Types.STRING, TypeInformation.of(Pruned.class));

  private static final Logger LOG = LoggerFactory.getLogger(CopyForRemainingCandidates.class);

  private final ModelRouter router;
  private final List<String> candidates;

  /** Pruned candidates by competition, as indexes into the spec's candidates; built from state. */
  private transient Map<String, boolean[]> pruned;

  public CopyForRemainingCandidates(ModelRouter router) {
    this.router = router;
    this.candidates = router.candidateNames();
  }

  @Override
  public void processElement(Example example, ReadOnlyContext context, Collector<Example> out)
      throws Exception {
    if (pruned == null) {
      pruned = new HashMap<>();
      for (Map.Entry<String, Pruned> entry : context.getBroadcastState(PRUNED).immutableEntries()) {
        mark(entry.getValue());
      }
    }
    boolean[] marked = pruned.isEmpty() ? null : pruned.get(router.competitionOf(example));
    CopyForCandidates.copy(example, candidates.size(), marked, out);
  }

  @Override
  public void processBroadcastElement(Pruned decision, Context context, Collector<Example> out)
      throws Exception {
    BroadcastState<String, Pruned> state = context.getBroadcastState(PRUNED);
    if (state.contains(decision.model())) {
      return;
    }
    state.put(decision.model(), decision);
    if (pruned != null) {
      mark(decision);
    }
    if (getRuntimeContext().getTaskInfo().getIndexOfThisSubtask() == 0) {
      LOG.info("candidate {} stops training: {}", decision.model(), decision.reason());
    }
  }

  /**
   * The operator that runs this function in the job: time is the events' alone. The decisions come
   * from a stream of their own (the metrics topic read back) whose watermark says nothing of the
   * events' time, so it neither holds back the trainers' windows nor moves them on.
   */
  public static final class EventTimeOperator
      extends CoBroadcastWithNonKeyedOperator<Example, Pruned, Example> {

    public EventTimeOperator(ModelRouter router) {
      super(new CopyForRemainingCandidates(router), List.of(PRUNED));
    }

    @Override
    public void open() throws Exception {
      super.open();
      // The decisions' input counts as idle from the start: the events' watermark alone passes.
      combinedWatermark.updateStatus(1, true);
    }

    @Override
    public void processWatermark2(Watermark mark) {}

    @Override
    protected void processWatermarkStatus(WatermarkStatus status, int index) throws Exception {
      if (index == 0) {
        super.processWatermarkStatus(status, index);
      }
    }
  }

  private void mark(Pruned decision) {
    int index = candidates.indexOf(decision.candidate());
    if (index < 0) {
      // Pruned in a run whose spec listed it; this spec does not.
      return;
    }
    pruned.computeIfAbsent(decision.competition(), c -> new boolean[candidates.size()])[index] =
        true;
  }
}
