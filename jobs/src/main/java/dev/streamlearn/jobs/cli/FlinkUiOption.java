package dev.streamlearn.jobs.cli;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import picocli.CommandLine.Option;

/**
 * {@code --flink-ui}: Flink's own web UI for the local job (its graph, back pressure, checkpoints,
 * and the exceptions behind a restart), served by the MiniCluster's REST endpoint as a cluster's
 * job manager serves it.
 */
final class FlinkUiOption {

  @Option(
      names = "--flink-ui",
      paramLabel = "PORT",
      description =
          "Serve Flink's web UI for the job at http://localhost:PORT/ (default: not served).")
  Integer port;

  /**
   * The port, or -1 when none was asked for; checked before anything starts: a port outside [1,
   * 65535], or one that another process holds, is refused.
   */
  int port() {
    if (port == null) {
      return -1;
    }
    MetricsOption.inPortRange("--flink-ui", port);
    try (ServerSocket probe = new ServerSocket()) {
      probe.bind(new InetSocketAddress(port));
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "--flink-ui "
              + port
              + ": cannot serve there ("
              + e.getMessage()
              + "); choose another port",
          e);
    }
    return port;
  }

  /** The line that says where the UI is, or null when it is not served. */
  String where() {
    return port == null ? null : "Flink web UI at http://localhost:" + port + "/";
  }
}
