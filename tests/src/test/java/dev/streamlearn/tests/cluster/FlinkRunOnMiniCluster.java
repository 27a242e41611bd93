package dev.streamlearn.tests.cluster;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.client.cli.CliFrontend;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;

/**
 * {@code flink run} against a Flink cluster, in a JVM of its own whose class path holds Flink and
 * what a Flink distribution ships beside it, and nothing of StreamLearn: the cluster (a MiniCluster
 * with its REST endpoint) is started here, and Flink's own command line submits the job jar to it
 * through that endpoint, so the job's classes come from the jar alone, as on a cluster.
 *
 * <p>Arguments: what follows {@code flink run -m <this cluster>}, e.g. {@code -c MainClass job.jar
 * --spec pipeline.yaml}. Exits with the command line's code, or 1 with the trace when the program
 * fails.
 */
public final class FlinkRunOnMiniCluster {

  private FlinkRunOnMiniCluster() {}

  public static void main(String[] args) throws Exception {
    Configuration cluster = new Configuration();
    cluster.set(RestOptions.BIND_PORT, "0");
    int code;
    try (MiniCluster miniCluster =
        new MiniCluster(
            new MiniClusterConfiguration.Builder()
                .setConfiguration(cluster)
                .setNumTaskManagers(1)
                .setNumSlotsPerTaskManager(2)
                .build())) {
      miniCluster.start();
      URI rest = miniCluster.getRestAddress().get();
      List<String> run =
          new ArrayList<>(List.of("run", "-m", rest.getHost() + ":" + rest.getPort()));
      run.addAll(List.of(args));
      System.out.println("flink " + String.join(" ", run));
      Path configurationDirectory = Files.createTempDirectory("flink-conf-");
      Configuration client = new Configuration();
      try {
        code =
            new CliFrontend(
                    client,
                    CliFrontend.loadCustomCommandLines(client, configurationDirectory.toString()))
                .parseAndRun(run.toArray(String[]::new));
      } catch (Exception e) {
        e.printStackTrace(System.out);
        code = 1;
      }
    }
    System.out.println("exit " + code);
    System.exit(code);
  }
}
