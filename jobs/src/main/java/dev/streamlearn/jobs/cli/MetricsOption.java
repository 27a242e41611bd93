package dev.streamlearn.jobs.cli;

import picocli.CommandLine.Option;

/**
 * {@code --metrics-port}: the local job's metrics for Prometheus, named as on a cluster whose task
 * managers use Flink's Prometheus reporter (e.g. {@code
 * flink_taskmanager_job_task_operator_streamlearn_eventsRead}).
 */
final class MetricsOption {

  @Option(
      names = "--metrics-port",
      description =
          "Serve the job's metrics to Prometheus at http://localhost:PORT/metrics (default: not"
              + " served).")
  Integer port;

  /** The port, or -1 when none was asked for; checked before anything starts. */
  int port() {
    if (port == null) {
      return -1;
    }
    return inPortRange("--metrics-port", port);
  }

  /** {@code port}, refused naming {@code option} when it is not a port number. */
  static int inPortRange(String option, int port) {
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException(option + " " + port + ": a port in [1, 65535]");
    }
    return port;
  }

  /** The line that says where the metrics are, or null when they are not served. */
  String where() {
    return port == null ? null : "Prometheus metrics at http://localhost:" + port + "/metrics";
  }
}
