package dev.streamlearn.tests;

import dev.streamlearn.jobs.runtime.ProgressMetrics;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;

/**
 * A one-slot MiniCluster whose jobs restart from their last checkpoint after a failure, its metrics
 * read by {@link ProgressMetrics}.
 */
final class RestartingCluster {

  static MiniClusterExtension withAttempts(int attempts, String delay) {
    Configuration conf = new Configuration();
    conf.setString("restart-strategy.type", "fixed-delay");
    conf.setString("restart-strategy.fixed-delay.attempts", Integer.toString(attempts));
    conf.setString("restart-strategy.fixed-delay.delay", delay);
    conf.setString(
        "metrics.reporter." + ProgressMetrics.REPORTER_NAME + ".factory.class",
        ProgressMetrics.Factory.class.getName());
    return new MiniClusterExtension(
        new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1)
            .setNumberSlotsPerTaskManager(1)
            .setConfiguration(conf)
            .build());
  }

  private RestartingCluster() {}
}
