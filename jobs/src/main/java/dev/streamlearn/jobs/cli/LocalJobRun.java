package dev.streamlearn.jobs.cli;

import dev.streamlearn.jobs.FlinkJob;
import dev.streamlearn.jobs.runtime.LocalFlink;
import dev.streamlearn.jobs.runtime.ProgressMetrics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * One job on a local MiniCluster, with progress printed every few seconds and a clean stop: on
 * request (a deadline or Ctrl-C) the sources stop and the job drains, so the trainer publishes its
 * last version before the job ends.
 */
final class LocalJobRun {

  private final JobClient client;
  private final Path stateDirectory;
  private final CountDownLatch stopRequested = new CountDownLatch(1);
  private final CountDownLatch finished = new CountDownLatch(1);

  private final JobFailures failures;

  private LocalJobRun(JobClient client, Path stateDirectory, int restPort) {
    this.client = client;
    this.stateDirectory = stateDirectory;
    this.failures = new JobFailures(restPort, client.getJobID().toString());
  }

  /** The job's id, as Flink's metrics and REST API name it. */
  String jobId() {
    return client.getJobID().toString();
  }

  /** Why the job failed before it restarted, as Flink tells it. */
  JobFailures failures() {
    return failures;
  }

  static LocalJobRun start(FlinkJob job, int parallelism, Path stateDirectory) throws Exception {
    return start(job, parallelism, stateDirectory, null);
  }

  /**
   * A second job beside one already running, on a MiniCluster of its own: the counters go on, and
   * the first job's Ctrl-C handling stays the one.
   */
  static LocalJobRun startBeside(FlinkJob job, int parallelism, Path stateDirectory)
      throws Exception {
    StreamExecutionEnvironment env = LocalFlink.environment(parallelism, stateDirectory, null);
    job.addTo(env);
    return new LocalJobRun(
        env.executeAsync(job.jobName()), stateDirectory, LocalFlink.restPort(env));
  }

  /** The job started from the savepoint at {@code restoreFrom} (none when null). */
  static LocalJobRun start(FlinkJob job, int parallelism, Path stateDirectory, String restoreFrom)
      throws Exception {
    return start(job, parallelism, stateDirectory, restoreFrom, -1);
  }

  /**
   * The same, its metrics served to Prometheus on {@code metricsPort} when that is positive ({@code
   * --metrics-port}).
   */
  static LocalJobRun start(
      FlinkJob job, int parallelism, Path stateDirectory, String restoreFrom, int metricsPort)
      throws Exception {
    return start(job, parallelism, stateDirectory, restoreFrom, metricsPort, -1);
  }

  /**
   * The same, Flink's web UI served on {@code webUiPort} when that is positive ({@code
   * --flink-ui}).
   */
  static LocalJobRun start(
      FlinkJob job,
      int parallelism,
      Path stateDirectory,
      String restoreFrom,
      int metricsPort,
      int webUiPort)
      throws Exception {
    ProgressMetrics.reset();
    StreamExecutionEnvironment env =
        LocalFlink.environment(parallelism, stateDirectory, restoreFrom, metricsPort, webUiPort);
    job.addTo(env);
    LocalJobRun run =
        new LocalJobRun(env.executeAsync(job.jobName()), stateDirectory, LocalFlink.restPort(env));
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  run.stopRequested.countDown();
                  try {
                    run.finished.await(90, TimeUnit.SECONDS);
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                },
                "streamlearn-ctrl-c"));
    return run;
  }

  private static final long POLL_NANOS = 100_000_000L;

  /** Prints progress until the job ends by itself, {@code deadline} passes, or Ctrl-C. */
  boolean runUntil(Runnable progress, Duration every, long deadlineNanos) throws Exception {
    long nextPrint = System.nanoTime() + every.toNanos();
    while (true) {
      // Looked at ten times a second, so that a job that ends early says so when it ends.
      if (client.getJobExecutionResult().isDone()) {
        client.getJobExecutionResult().get();
        progress.run();
        return true;
      }
      long now = System.nanoTime();
      if (now >= nextPrint || now >= deadlineNanos) {
        progress.run();
        if (now >= deadlineNanos) {
          return false;
        }
        nextPrint = now + every.toNanos();
      }
      long wait = Math.min(POLL_NANOS, Math.min(nextPrint, deadlineNanos) - now);
      if (stopRequested.await(Math.max(0, wait), TimeUnit.NANOSECONDS)) {
        return false;
      }
    }
  }

  boolean interrupted() {
    return stopRequested.getCount() == 0;
  }

  /** Waits until {@code condition} holds, printing progress, for at most {@code timeout}. */
  boolean await(BooleanSupplier condition, Runnable progress, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    long nextPrint = System.nanoTime() + 5_000_000_000L;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline || client.getJobExecutionResult().isDone()) {
        return condition.getAsBoolean();
      }
      Thread.sleep(100);
      if (System.nanoTime() > nextPrint) {
        progress.run();
        nextPrint += 5_000_000_000L;
      }
    }
    return true;
  }

  /**
   * Whether the job is over, having ended by itself; a job that failed (its restarts used up)
   * throws, saying why, so that nothing waits for counts it will never reach.
   */
  boolean ended() {
    if (!client.getJobExecutionResult().isDone()) {
      return false;
    }
    try {
      client.getJobExecutionResult().get();
      return true;
    } catch (java.util.concurrent.ExecutionException failed) {
      org.slf4j.LoggerFactory.getLogger(LocalJobRun.class).warn("The job failed", failed);
      throw new IllegalStateException(
          "job " + jobId() + " failed: " + reason(failed) + " (the whole trace in the log)");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /**
   * Stops the sources and lets everything in flight drain through, then waits for the end. Returns
   * the savepoint taken at the stop, or null when the job had ended already.
   */
  String stopDraining() throws Exception {
    return stopDraining(Duration.ofMinutes(2));
  }

  /** As {@link #stopDraining()}, waiting at most {@code timeout} for the savepoint. */
  String stopDraining(Duration timeout) throws Exception {
    String savepoint = null;
    if (!client.getJobExecutionResult().isDone()) {
      savepoint =
          client
              .stopWithSavepoint(
                  true,
                  stateDirectory.resolve("savepoints").toUri().toString(),
                  SavepointFormatType.CANONICAL)
              .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }
    client.getJobExecutionResult().get(120, TimeUnit.SECONDS);
    return savepoint;
  }

  /**
   * How a stop ended: with the savepoint taken (null when the job had ended by itself), or, the job
   * cancelled, with why no savepoint was taken ({@code timedOut}: none within the time given).
   */
  record Stop(String savepoint, boolean cancelled, boolean timedOut, String failure) {}

  /**
   * Stops the job as {@link #stopDraining(Duration)} does; when its savepoint fails or is not taken
   * within {@code timeout} (a broker gone, say), cancels the job instead and says why. The whole
   * trace goes to the log file.
   */
  Stop stopOrCancel(Duration timeout) throws Exception {
    try {
      return new Stop(stopDraining(timeout), false, false, null);
    } catch (java.util.concurrent.ExecutionException
        | java.util.concurrent.TimeoutException failed) {
      org.slf4j.LoggerFactory.getLogger(LocalJobRun.class)
          .warn("The job could not stop with a savepoint; cancelling it", failed);
      try {
        client.cancel().get(60, TimeUnit.SECONDS);
      } catch (Exception alreadyEnded) {
        // the job ended by itself meanwhile
      }
      return new Stop(
          null, true, failed instanceof java.util.concurrent.TimeoutException, reason(failed));
    }
  }

  /**
   * What failed, in a few words: the innermost cause's class and message, cut at 200 characters
   * (Flink's name whole operator chains in theirs), as {@link JobFailures#rootCause} says it.
   */
  private static String reason(Throwable failure) {
    return JobFailures.rootCause(org.apache.flink.util.ExceptionUtils.stringifyException(failure));
  }

  /** Lets a pending Ctrl-C hook return. */
  void done() {
    finished.countDown();
  }
}
