package dev.streamlearn.jobs.runtime;

import java.nio.file.Path;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/** A Flink MiniCluster in this JVM, set up as the CLI runs jobs on it. */
public final class LocalFlink {

  /**
   * An environment whose jobs run on a local MiniCluster with {@code parallelism} slots, report
   * their counters to {@link ProgressMetrics}, and keep checkpoints under {@code stateDirectory}.
   */
  public static StreamExecutionEnvironment environment(int parallelism, Path stateDirectory) {
    return environment(parallelism, stateDirectory, null);
  }

  /**
   * The same, its job started from the savepoint (or retained checkpoint) at {@code restoreFrom}
   * when that is not null.
   */
  public static StreamExecutionEnvironment environment(
      int parallelism, Path stateDirectory, String restoreFrom) {
    return environment(parallelism, stateDirectory, restoreFrom, -1);
  }

  /**
   * The same, its metrics also served to Prometheus at {@code
   * http://localhost:<metricsPort>/metrics} (Flink's Prometheus reporter, as a cluster configures
   * it) when {@code metricsPort} is positive.
   */
  public static StreamExecutionEnvironment environment(
      int parallelism, Path stateDirectory, String restoreFrom, int metricsPort) {
    return environment(parallelism, stateDirectory, restoreFrom, metricsPort, -1);
  }

  /**
   * The same, Flink's web UI served at {@code http://localhost:<webUiPort>/} when {@code webUiPort}
   * is positive (the MiniCluster's REST endpoint, which otherwise takes any free port).
   */
  public static StreamExecutionEnvironment environment(
      int parallelism, Path stateDirectory, String restoreFrom, int metricsPort, int webUiPort) {
    Configuration conf = new Configuration();
    if (metricsPort > 0) {
      conf.setString(
          "metrics.reporter.prom.factory.class",
          "org.apache.flink.metrics.prometheus.PrometheusReporterFactory");
      conf.setString("metrics.reporter.prom.port", String.valueOf(metricsPort));
    }
    if (restoreFrom != null) {
      conf.setString("execution.state-recovery.path", restoreFrom);
    }
    conf.setString(
        "metrics.reporter." + ProgressMetrics.REPORTER_NAME + ".factory.class",
        ProgressMetrics.Factory.class.getName());
    conf.setString(
        "execution.checkpointing.dir", stateDirectory.resolve("checkpoints").toUri().toString());
    conf.setString(
        "execution.checkpointing.savepoint-dir",
        stateDirectory.resolve("savepoints").toUri().toString());
    conf.setString("restart-strategy.type", "fixed-delay");
    conf.setString("restart-strategy.fixed-delay.attempts", "3");
    conf.setString("taskmanager.numberOfTaskSlots", String.valueOf(parallelism));
    // The REST endpoint on a port known here, so that the command line can ask it why the job
    // failed; a range, should another process take the free port first.
    int free = webUiPort > 0 ? 0 : freePort();
    conf.setString(
        "rest.bind-port",
        webUiPort > 0 ? String.valueOf(webUiPort) : free + "-" + Math.min(65535, free + 20));
    return StreamExecutionEnvironment.createLocalEnvironment(parallelism, conf);
  }

  /**
   * The port the local cluster of {@code env} serves its REST API on: the one asked for, or the
   * first of its range.
   */
  public static int restPort(StreamExecutionEnvironment env) {
    String ports = env.getConfiguration().get(RestOptions.BIND_PORT);
    return Integer.parseInt(ports.split("[-,]")[0].trim());
  }

  private static int freePort() {
    try (java.net.ServerSocket probe = new java.net.ServerSocket(0)) {
      return probe.getLocalPort();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private LocalFlink() {}
}
