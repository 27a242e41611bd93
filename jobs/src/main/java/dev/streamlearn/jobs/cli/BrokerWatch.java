package dev.streamlearn.jobs.cli;

import dev.streamlearn.jobs.KafkaEndpoint;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.KafkaException;

/**
 * Whether a Kafka broker still answers while a job runs. Flink's Kafka source and sinks retry a
 * broker that went away without end and without a word, so that the progress line would only show
 * an idle stream; {@code run} and {@code score-stream} ask at each progress line and say so.
 */
final class BrokerWatch implements AutoCloseable {

  private final String bootstrapServers;
  private final Admin admin;
  private long answeredNanos = System.nanoTime();

  BrokerWatch(KafkaEndpoint kafka) {
    this.bootstrapServers = kafka.bootstrapServers();
    Properties properties = kafka.properties();
    properties.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2000);
    properties.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 2500);
    properties.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 1000);
    this.admin = Admin.create(properties);
  }

  /**
   * Null while a broker answers; once none does, a line that says for how long (since the last
   * answer), after at most three seconds of waiting.
   */
  String check() {
    try {
      if (!admin.describeCluster().nodes().get(3, TimeUnit.SECONDS).isEmpty()) {
        answeredNanos = System.nanoTime();
        return null;
      }
    } catch (ExecutionException | TimeoutException | KafkaException noAnswer) {
      // below
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
    return String.format(
        "  Kafka: no broker has answered at %s for %d s; the job waits for one and retries",
        bootstrapServers, Duration.ofNanos(System.nanoTime() - answeredNanos).toSeconds());
  }

  /** A progress line followed by the broker's silence, when it is silent. */
  Runnable after(Runnable progress) {
    return () -> {
      progress.run();
      String silent = check();
      if (silent != null) {
        System.out.println(silent);
      }
    };
  }

  @Override
  public void close() {
    admin.close(Duration.ofSeconds(1));
  }
}
