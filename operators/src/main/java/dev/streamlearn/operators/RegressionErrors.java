package dev.streamlearn.operators;

import dev.streamlearn.core.serve.ScoredEvent;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;

/**
 * The scoring job's errors on labeled regression events, as gauges a progress line turns into MAE
 * and RMSE: how many were judged, and the sums of their absolute and squared errors. Sums in label
 * units do not fit Flink's whole-number counters; they count from the subtask's start (after a
 * restart, the events scored again count again, in the sums and in the count alike).
 */
final class RegressionErrors {

  private long judged;
  private double absolute;
  private double squared;

  RegressionErrors(MetricGroup operatorGroup) {
    MetricGroup group = operatorGroup.addGroup(PipelineCounters.GROUP);
    group.gauge(PipelineCounters.REGRESSION_JUDGED, (Gauge<Long>) () -> judged);
    group.gauge(PipelineCounters.REGRESSION_ABSOLUTE_ERROR, (Gauge<Double>) () -> absolute);
    group.gauge(PipelineCounters.REGRESSION_SQUARED_ERROR, (Gauge<Double>) () -> squared);
  }

  /** Counts the prediction's error against {@code label} when both are numbers (regression). */
  void judge(ScoredEvent prediction, String label) {
    double error = prediction.errorAgainst(label);
    if (!Double.isNaN(error)) {
      judged++;
      absolute += Math.abs(error);
      squared += error * error;
    }
  }
}
