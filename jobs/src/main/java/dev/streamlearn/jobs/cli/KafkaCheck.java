package dev.streamlearn.jobs.cli;

import dev.streamlearn.jobs.KafkaEndpoint;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * What {@code run} and {@code produce} ask Kafka before they start: does a broker answer at the
 * bootstrap servers, and does the topic exist. Without it, a wrong address looks like an idle
 * stream (the job reads nothing, forever) or a hang (the producer waits for metadata).
 */
final class KafkaCheck implements AutoCloseable {

  static final String DEFAULT_TIMEOUT = "30s";

  private final String bootstrapServers;
  private final Duration timeout;
  private final Admin admin;

  /**
   * Connects and waits for a broker to answer.
   *
   * @throws IllegalArgumentException when none answers within {@code timeout}, naming the servers
   *     and the spec key they came from
   */
  KafkaCheck(KafkaEndpoint kafka, Duration timeout) {
    this.bootstrapServers = kafka.bootstrapServers();
    this.timeout = timeout;
    Properties properties = kafka.properties();
    int millis = (int) Math.min(Integer.MAX_VALUE, Math.max(1, timeout.toMillis()));
    properties.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, millis);
    properties.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, millis);
    try {
      admin = Admin.create(properties);
    } catch (KafkaException e) {
      throw unreachable(e);
    }
    try {
      await(admin.describeCluster().nodes());
    } catch (ExecutionException e) {
      admin.close(Duration.ZERO);
      throw unreachable(e);
    } catch (IllegalArgumentException noAnswer) {
      admin.close(Duration.ZERO);
      throw noAnswer;
    }
  }

  boolean topicExists(String topic) {
    try {
      return await(admin.listTopics().names()).contains(topic);
    } catch (ExecutionException e) {
      throw unreachable(e);
    }
  }

  /**
   * Refuses a source whose topics do not exist, naming the way out: a job would read nothing from
   * an events topic that is not there, and its events would wait for labels from a labels topic
   * that is not there.
   */
  void requireTopicsOf(dev.streamlearn.core.spec.PipelineSpec.Source source) {
    if (!topicExists(source.topic())) {
      throw new IllegalArgumentException(
          "topic '"
              + source.topic()
              + "' (source.topic) does not exist at "
              + source.bootstrapServers()
              + ": create it, or send events with ./streamlearn produce, which creates it");
    }
    if (source.labelsFollow() && !topicExists(source.labels().topic())) {
      throw new IllegalArgumentException(
          "topic '"
              + source.labels().topic()
              + "' (source.labels.topic) does not exist at "
              + source.bootstrapServers()
              + ": create it, or send labels with ./streamlearn produce --labels, which creates"
              + " it");
    }
  }

  /** How many partitions {@code topic}, which exists, has. */
  int partitions(String topic) {
    try {
      return await(admin.describeTopics(List.of(topic)).allTopicNames())
          .get(topic)
          .partitions()
          .size();
    } catch (ExecutionException e) {
      throw unreachable(e);
    }
  }

  /**
   * Creates {@code topic} with the broker's default partitions and replication; true when this call
   * created it, false when it existed already.
   */
  boolean createTopic(String topic) {
    return createTopic(topic, null);
  }

  /**
   * Creates {@code topic} with {@code partitions} partitions (the broker's default when null) and
   * the broker's default replication; true when this call created it, false when it existed.
   */
  boolean createTopic(String topic, Integer partitions) {
    try {
      await(
          admin
              .createTopics(
                  List.of(new NewTopic(topic, Optional.ofNullable(partitions), Optional.empty())))
              .all());
      return true;
    } catch (ExecutionException e) {
      if (e.getCause() instanceof TopicExistsException) {
        return false;
      }
      throw new IllegalArgumentException(
          "could not create topic '" + topic + "' at " + bootstrapServers + ": " + reason(e), e);
    }
  }

  /**
   * The answer of {@code future}, waited for a second past the client's own timeout (its error,
   * which says why, comes first); no answer is a broker that does not answer.
   */
  private <T> T await(KafkaFuture<T> future) throws ExecutionException {
    try {
      return future.get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw unreachable(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw unreachable(e);
    }
  }

  private IllegalArgumentException unreachable(Exception e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof org.apache.kafka.common.errors.AuthenticationException
          || t instanceof org.apache.kafka.common.errors.AuthorizationException) {
        // A broker answered, and refused these credentials, or what they may do.
        return new IllegalArgumentException(
            "the Kafka broker at "
                + bootstrapServers
                + " refused this client ("
                + (t instanceof org.apache.kafka.common.errors.AuthenticationException
                    ? "its credentials"
                    : "what it asked to do")
                + ": the spec's source.kafka settings): "
                + t.getClass().getSimpleName()
                + ": "
                + t.getMessage(),
            e);
      }
    }
    return new IllegalArgumentException(
        "no Kafka broker answered at "
            + bootstrapServers
            + " (source.bootstrap-servers, or --bootstrap-servers) within "
            + seconds(timeout)
            + ": "
            + reason(e),
        e);
  }

  static String seconds(Duration duration) {
    return duration.toMillis() % 1000 == 0
        ? duration.toSeconds() + " s"
        : duration.toMillis() + " ms";
  }

  /** The innermost cause that says something, e.g. "No resolvable bootstrap urls given ...". */
  private static String reason(Exception e) {
    Throwable said = e;
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t.getMessage() != null && !(t instanceof ExecutionException)) {
        said = t;
      }
    }
    String message = said.getMessage();
    return said.getClass().getSimpleName() + (message == null ? "" : ": " + message);
  }

  @Override
  public void close() {
    admin.close(Duration.ofSeconds(5));
  }
}
