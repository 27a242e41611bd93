package dev.streamlearn.jobs.runtime;

import dev.streamlearn.operators.PipelineCounters;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;
import org.apache.flink.runtime.metrics.scope.ScopeFormat;

/**
 * A Flink metric reporter that keeps the pipeline's counters readable from the same JVM, summed
 * over subtasks, so the embedded runtime can print progress while a local job runs. Counters of
 * finished tasks keep their last value. A job that fails and restarts counts exactly: a counter its
 * operators restore from the checkpoint ({@link PipelineCounters.Restored}) counts as its latest
 * attempt says, per subtask; any other adds up over the attempts. What a job started from a
 * savepoint counted before it is left out: counts are this job's.
 */
public final class ProgressMetrics implements MetricReporter {

  /** The name to configure it under: {@code metrics.reporter.progress.factory.class}. */
  public static final String REPORTER_NAME = "progress";

  private static final Map<Counter, String> LIVE = new ConcurrentHashMap<>();
  private static final Map<Subtask, Attempt> RESTORED = new ConcurrentHashMap<>();
  private static final Map<String, AtomicLong> RETIRED = new ConcurrentHashMap<>();
  private static final Map<String, Histogram> HISTOGRAMS = new ConcurrentHashMap<>();
  private static final Map<Gauge<?>, String> GAUGES = new ConcurrentHashMap<>();
  private static final Map<String, Double> GAUGES_GONE = new ConcurrentHashMap<>();

  /** Flink's own gauge of how often the running job restarted after a failure. */
  public static final String JOB_RESTARTS = "numRestarts";

  /**
   * Flink's gauge of the records a source has yet to read (for Kafka: up to the partitions' end
   * offsets), kept for the pipeline's event sources ({@code read-events}).
   */
  public static final String PENDING_RECORDS = "pendingRecords";

  /** The operator of the jobs' event sources, whose backlog the progress line shows. */
  private static final String EVENT_SOURCE = "read-events";

  /**
   * Flink's gauge of the bytes the job's last completed checkpoint holds in all (what a restore
   * reads), whatever part of it was written incrementally.
   */
  public static final String LAST_CHECKPOINT_SIZE = "lastCheckpointFullSize";

  /** The gauges of a whole job that are kept, each under the job's id and the gauge's name. */
  private static final java.util.Set<String> JOB_GAUGE_NAMES =
      java.util.Set.of(JOB_RESTARTS, LAST_CHECKPOINT_SIZE);

  /**
   * The {@link #JOB_GAUGE_NAMES} gauges, and the event sources' {@link #PENDING_RECORDS} (one per
   * subtask), each under its job's id and its name.
   */
  private static final Map<Gauge<?>, JobGauge> JOB_GAUGES = new ConcurrentHashMap<>();

  /** What each job's gauges said last, kept once the job is over and its gauges gone. */
  private static final Map<JobGauge, Long> JOB_GAUGES_SEEN = new ConcurrentHashMap<>();

  private record JobGauge(String job, String name) {}

  /**
   * How often job {@code jobId} restarted after a failure (0 before its gauge is there), also after
   * it is over.
   */
  public static long restarts(String jobId) {
    return Math.max(0, jobGauge(jobId, JOB_RESTARTS));
  }

  /** The restarts of every job since the last {@link #reset}, summed. */
  public static long restarts() {
    java.util.Set<String> jobs = new java.util.HashSet<>();
    JOB_GAUGES_SEEN.keySet().forEach(gauge -> jobs.add(gauge.job()));
    JOB_GAUGES.values().forEach(gauge -> jobs.add(gauge.job()));
    return jobs.stream().mapToLong(ProgressMetrics::restarts).sum();
  }

  /**
   * The bytes of job {@code jobId}'s last completed checkpoint ({@link #LAST_CHECKPOINT_SIZE}),
   * also after the job is over; empty before its first.
   */
  public static OptionalLong lastCheckpointBytes(String jobId) {
    long bytes = jobGauge(jobId, LAST_CHECKPOINT_SIZE);
    return bytes > 0 ? OptionalLong.of(bytes) : OptionalLong.empty();
  }

  /** What the job's gauge of that name says now, or said last; -1 when it never said. */
  private static long jobGauge(String jobId, String name) {
    JobGauge key = new JobGauge(jobId, name);
    return values(JOB_GAUGES, key).max().orElse(JOB_GAUGES_SEEN.getOrDefault(key, -1L));
  }

  /** The numeric values of the gauges of {@code gauges} kept under {@code key}. */
  private static <K> java.util.stream.LongStream values(Map<Gauge<?>, K> gauges, K key) {
    return gauges.entrySet().stream()
        .filter(e -> e.getValue().equals(key))
        .map(e -> e.getKey().getValue())
        .filter(Number.class::isInstance)
        .mapToLong(value -> ((Number) value).longValue());
  }

  /**
   * The records waiting in Kafka for the event sources of job {@code jobId}, summed over their
   * subtasks; empty before a source has said (its gauge is there once it has fetched).
   */
  public static OptionalLong recordsWaiting(String jobId) {
    java.util.LongSummaryStatistics waiting =
        values(JOB_GAUGES, new JobGauge(jobId, PENDING_RECORDS))
            .filter(value -> value >= 0)
            .summaryStatistics();
    return waiting.getCount() == 0 ? OptionalLong.empty() : OptionalLong.of(waiting.getSum());
  }

  /** The largest value of a numeric gauge over the subtasks that have it; empty when none does. */
  public static OptionalLong gaugeMax(String name) {
    return values(GAUGES, name).max();
  }

  /**
   * The sum of a numeric gauge over the subtasks that have it, with the last value of each that
   * went away (a finished or failed task's); 0 when none did.
   */
  public static double gaugeSum(String name) {
    double sum = GAUGES_GONE.getOrDefault(name, 0.0);
    for (Map.Entry<Gauge<?>, String> entry : GAUGES.entrySet()) {
      if (entry.getValue().equals(name) && entry.getKey().getValue() instanceof Number value) {
        sum += value.doubleValue();
      }
    }
    return sum;
  }

  /** The latest registered histogram of that name (one trainer subtask in a local run). */
  public static Histogram histogram(String name) {
    return HISTOGRAMS.get(name);
  }

  /** The current total of one of the {@link PipelineCounters}. */
  public static long count(String name) {
    long total = RETIRED.getOrDefault(name, new AtomicLong()).get();
    for (Map.Entry<Subtask, Attempt> entry : RESTORED.entrySet()) {
      if (entry.getKey().counter().equals(name)) {
        total += entry.getValue().sinceJobStart();
      }
    }
    for (Map.Entry<Counter, String> entry : LIVE.entrySet()) {
      if (entry.getValue().equals(name)) {
        total += entry.getKey().getCount();
      }
    }
    return total;
  }

  /** Forgets everything, before a new job. */
  public static void reset() {
    LIVE.clear();
    RESTORED.clear();
    RETIRED.clear();
    HISTOGRAMS.clear();
    GAUGES.clear();
    GAUGES_GONE.clear();
    JOB_GAUGES.clear();
    JOB_GAUGES_SEEN.clear();
  }

  @Override
  public void open(MetricConfig config) {}

  @Override
  public void close() {}

  @Override
  public void notifyOfAddedMetric(Metric metric, String name, MetricGroup group) {
    if (metric instanceof PipelineCounters.Restored counter && isPipelineMetric(name, group)) {
      Map<String, String> variables = group.getAllVariables();
      int attempt =
          Integer.parseInt(variables.getOrDefault(ScopeFormat.SCOPE_TASK_ATTEMPT_NUM, "0"));
      RESTORED.compute(
          new Subtask(
              variables.get(ScopeFormat.SCOPE_JOB_ID),
              variables.get(ScopeFormat.SCOPE_OPERATOR_ID),
              variables.get(ScopeFormat.SCOPE_TASK_SUBTASK_INDEX),
              name),
          (subtask, earlier) ->
              earlier == null
                  ? new Attempt(attempt, counter, counter.getCount())
                  : attempt < earlier.number
                      ? earlier
                      : new Attempt(attempt, counter, earlier.countBeforeJob));
    } else if (metric instanceof Counter counter && isPipelineMetric(name, group)) {
      LIVE.put(counter, name);
    }
    if (metric instanceof Histogram histogram && isPipelineMetric(name, group)) {
      HISTOGRAMS.put(name, histogram);
    }
    if (metric instanceof Gauge<?> gauge
        && (JOB_GAUGE_NAMES.contains(name)
            || (name.equals(PENDING_RECORDS) && isEventSource(group)))) {
      JOB_GAUGES.put(
          gauge,
          new JobGauge(group.getAllVariables().getOrDefault(ScopeFormat.SCOPE_JOB_ID, ""), name));
    } else if (metric instanceof Gauge<?> gauge && isPipelineMetric(name, group)) {
      GAUGES.put(gauge, name);
    }
  }

  @Override
  public void notifyOfRemovedMetric(Metric metric, String name, MetricGroup group) {
    String gaugeName = GAUGES.remove(metric);
    if (gaugeName != null && ((Gauge<?>) metric).getValue() instanceof Number value) {
      GAUGES_GONE.merge(gaugeName, value.doubleValue(), Double::sum);
    }
    JobGauge jobGauge = JOB_GAUGES.remove(metric);
    if (jobGauge != null && ((Gauge<?>) metric).getValue() instanceof Number value) {
      JOB_GAUGES_SEEN.merge(jobGauge, value.longValue(), Math::max);
    }
    if (metric instanceof Counter counter && LIVE.remove(counter) != null) {
      RETIRED.computeIfAbsent(name, k -> new AtomicLong()).addAndGet(counter.getCount());
    }
    if (metric instanceof PipelineCounters.Restored) {
      RESTORED.values().forEach(attempt -> attempt.retire(metric));
    }
  }

  /** One subtask of one operator of one job, and one of its counters. */
  private record Subtask(String job, String operator, String index, String counter) {}

  /**
   * The latest attempt's counter of a subtask, and what the counter said when the job's first
   * attempt registered it (0, or what a savepoint the job started from had counted).
   */
  private static final class Attempt {
    final int number;
    final long countBeforeJob;
    private volatile Counter counter;
    private volatile long lastCount;

    Attempt(int number, Counter counter, long countBeforeJob) {
      this.number = number;
      this.counter = counter;
      this.countBeforeJob = countBeforeJob;
    }

    /** Keeps the count of a counter whose task is over (finished or failed). */
    void retire(Metric removed) {
      Counter current = counter;
      if (current == removed) {
        lastCount = current.getCount();
        counter = null;
      }
    }

    long sinceJobStart() {
      Counter current = counter;
      return (current == null ? lastCount : current.getCount()) - countBeforeJob;
    }
  }

  private static boolean isEventSource(MetricGroup group) {
    String operator = group.getAllVariables().get(ScopeFormat.SCOPE_OPERATOR_NAME);
    return operator != null && operator.endsWith(EVENT_SOURCE);
  }

  private static boolean isPipelineMetric(String name, MetricGroup group) {
    return group.getMetricIdentifier(name).contains("." + PipelineCounters.GROUP + ".");
  }

  /** Creates the reporter; Flink finds it through {@code META-INF/services}. */
  public static final class Factory implements MetricReporterFactory {
    @Override
    public MetricReporter createMetricReporter(Properties properties) {
      return new ProgressMetrics();
    }
  }
}
