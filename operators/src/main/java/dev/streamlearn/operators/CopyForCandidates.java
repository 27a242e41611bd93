package dev.streamlearn.operators;

import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.ModelRouter;
import org.apache.flink.api.common.functions.FlatMapFunction;
import org.apache.flink.util.Collector;

/**
 * With hyper-parameter candidates, passes each example on once per candidate ({@link
 * ModelRouter#copyFor}), so that every candidate's trainer sees every event. The copies share the
 * example's values; only the candidate index differs, and only the first copy counts the event.
 * With pruning, {@link CopyForRemainingCandidates} copies instead.
 */
public final class CopyForCandidates implements FlatMapFunction<Example, Example> {

  private final int candidates;

  public CopyForCandidates(int candidates) {
    if (candidates < 1) {
      throw new IllegalArgumentException("candidates: at least 1, was " + candidates);
    }
    this.candidates = candidates;
  }

  @Override
  public void flatMap(Example example, Collector<Example> out) {
    copy(example, candidates, null, out);
  }

  /**
   * Passes {@code example} on to each of {@code candidates} but those {@code pruned} marks (null:
   * none); the first copy passed on counts the event.
   */
  static void copy(Example example, int candidates, boolean[] pruned, Collector<Example> out) {
    boolean counts = true;
    for (int i = 0; i < candidates; i++) {
      if (pruned == null || !pruned[i]) {
        out.collect(ModelRouter.copyFor(example, i, counts));
        counts = false;
      }
    }
  }
}
