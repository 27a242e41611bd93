package dev.streamlearn.jobs;

import dev.streamlearn.core.spec.PipelineSpec;
import java.io.Serializable;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;

/**
 * Where a Kafka client of the pipeline connects, and with which settings: the spec's {@code
 * source.bootstrap-servers} and {@code source.kafka} (security, SASL, SSL), given alike to the
 * job's source and sinks and to the command line's clients.
 */
public record KafkaEndpoint(String bootstrapServers, PipelineSpec.KafkaProperties settings)
    implements Serializable {

  /** Settings of Flink's Kafka source, not of Kafka's clients, that it takes as properties. */
  private static final Set<String> FLINK_SOURCE_SETTINGS =
      Set.of(
          "client.id.prefix",
          "partition.discovery.interval.ms",
          "register.consumer.metrics",
          "commit.offsets.on.checkpoint");

  private static final List<ConfigDef> CLIENT_SETTINGS =
      List.of(
          ConsumerConfig.configDef(), ProducerConfig.configDef(), AdminClientConfig.configDef());

  /** The source's servers and settings, the settings first checked ({@link #check}). */
  public static KafkaEndpoint of(PipelineSpec.Source source) {
    check(source.kafka().values());
    return new KafkaEndpoint(source.bootstrapServers(), source.kafka());
  }

  /**
   * Refuses, naming the spec key, a setting that none of Kafka's clients (consumer, producer,
   * admin) knows, with the nearest one's name, and a value its client would refuse (a class name is
   * left to the client, which loads it). A misspelt setting would otherwise be ignored with a
   * warning in a log, and the client fail later without saying why.
   */
  public static void check(Map<String, String> settings) {
    settings.forEach(
        (key, value) -> {
          if (FLINK_SOURCE_SETTINGS.contains(key)) {
            return;
          }
          ConfigDef.ConfigKey known = null;
          for (ConfigDef client : CLIENT_SETTINGS) {
            known = known != null ? known : client.configKeys().get(key);
          }
          if (known == null) {
            throw new IllegalArgumentException(
                "spec key 'source.kafka."
                    + key
                    + "': not a setting of Kafka's clients"
                    + nearest(key));
          }
          if (known.type == ConfigDef.Type.CLASS) {
            return;
          }
          try {
            Object parsed = ConfigDef.parseType(key, value, known.type);
            if (known.validator != null) {
              known.validator.ensureValid(key, parsed);
            }
          } catch (ConfigException e) {
            throw new IllegalArgumentException(
                "spec key 'source.kafka."
                    + key
                    + "': "
                    + (PipelineSpec.KafkaProperties.secret(key)
                        ? "not a value Kafka's clients take (" + known.type + ")"
                        : e.getMessage()));
          }
        });
  }

  /**
   * Creates those of {@code topics} that do not exist, with the broker's default partitions and
   * replication, as the jobs' {@code main} does for the topics it writes (a broker that does not
   * create topics on first write would fail the job at its first dead letter or report). What
   * cannot be created is said on standard error, and left to the broker: the topics may exist for
   * all this client may know.
   *
   * @return the topics created
   */
  public List<String> createMissing(List<String> topics) {
    Properties properties = properties();
    properties.put("default.api.timeout.ms", "30000");
    properties.put("request.timeout.ms", "30000");
    List<String> created = new java.util.ArrayList<>();
    try (org.apache.kafka.clients.admin.Admin admin =
        org.apache.kafka.clients.admin.Admin.create(properties)) {
      for (String topic : topics) {
        try {
          admin
              .createTopics(
                  List.of(
                      new org.apache.kafka.clients.admin.NewTopic(
                          topic, java.util.Optional.empty(), java.util.Optional.empty())))
              .all()
              .get(35, java.util.concurrent.TimeUnit.SECONDS);
          created.add(topic);
        } catch (java.util.concurrent.ExecutionException e) {
          if (!(e.getCause() instanceof org.apache.kafka.common.errors.TopicExistsException)) {
            System.err.println(
                "Could not create topic "
                    + topic
                    + " at "
                    + bootstrapServers
                    + ": "
                    + e.getCause());
          }
        } catch (java.util.concurrent.TimeoutException e) {
          System.err.println(
              "Could not create topic "
                  + topic
                  + " at "
                  + bootstrapServers
                  + ": no answer in 35 s");
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return created;
        }
      }
    }
    return created;
  }

  /** {@code ; did you mean security.protocol?} for a name within two edits of a known one. */
  private static String nearest(String key) {
    String best = null;
    int bestDistance = 3;
    for (ConfigDef client : CLIENT_SETTINGS) {
      for (String name : client.names()) {
        int distance = editDistance(key, name);
        if (distance < bestDistance) {
          best = name;
          bestDistance = distance;
        }
      }
    }
    return best == null ? "" : "; did you mean " + best + "?";
  }

  private static int editDistance(String a, String b) {
    int[] previous = new int[b.length() + 1];
    int[] current = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      current[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[b.length()];
  }

  /** A broker that needs no settings, such as the embedded one. */
  public static KafkaEndpoint plain(String bootstrapServers) {
    return new KafkaEndpoint(bootstrapServers, PipelineSpec.KafkaProperties.NONE);
  }

  /** A client's properties: the settings and the servers; the caller adds its own. */
  public Properties properties() {
    Properties properties = new Properties();
    properties.putAll(settings.values());
    properties.put("bootstrap.servers", bootstrapServers);
    return properties;
  }

  /** The servers, as messages name them (never the settings, which may hold secrets). */
  @Override
  public String toString() {
    return bootstrapServers;
  }
}
