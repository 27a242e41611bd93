package dev.streamlearn.operators;

import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.train.CandidatePruning;
import dev.streamlearn.core.train.CandidatePruning.Pruned;
import dev.streamlearn.core.train.WindowReport;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.metrics.Counter;
import org.apache.flink.util.Collector;

/**
 * Decides which candidates stop training ({@link CandidatePruning}), from the window reports read
 * back from the metrics topic, keyed by competition ({@link #byCompetition}): one key per model
 * whose candidates compete. Reports of other models (another pipeline's, on a shared topic) are
 * passed over. Each decision is emitted once and counted in {@value
 * PipelineCounters#CANDIDATES_PRUNED}.
 */
public final class PruneCandidates
    extends KeyedProcessFunctionWithCounters<String, WindowReport, Pruned> {

  /** The key of reports that are not of this pipeline's candidates. */
  private static final String OTHERS = "";

  private final CandidatePruning pruning;
  private transient ValueState<CandidatePruning.Standing> standing;
  private transient Counter prunedCount;

  public PruneCandidates(PipelineSpec spec) {
    this.pruning = CandidatePruning.of(spec);
  }

  /** Keys each report by its competition. */
  public KeySelector<WindowReport, String> byCompetition() {
    CandidatePruning rules = pruning;
    return report -> {
      String[] parts = rules.competitionAndCandidate(report.model);
      return parts == null ? OTHERS : parts[0];
    };
  }

  @Override
  public void open(OpenContext openContext) {
    standing =
        getRuntimeContext()
            .getState(
                new ValueStateDescriptor<>(
                    "candidate-standing", TypeInformation.of(CandidatePruning.Standing.class)));
    prunedCount =
        counters.counter(getRuntimeContext().getMetricGroup(), PipelineCounters.CANDIDATES_PRUNED);
  }

  @Override
  public void processElement(WindowReport report, Context context, Collector<Pruned> out)
      throws Exception {
    String[] parts = pruning.competitionAndCandidate(report.model);
    if (parts == null) {
      return;
    }
    CandidatePruning.Standing current = standing.value();
    if (current == null) {
      current = pruning.start();
    }
    List<Pruned> pruned =
        pruning.report(current, parts[0], parts[1], report.windowEnd, report.candidateValue);
    standing.update(current);
    for (Pruned decision : pruned) {
      prunedCount.inc();
      out.collect(decision);
    }
  }
}
