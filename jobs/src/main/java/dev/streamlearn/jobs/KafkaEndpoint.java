package dev.streamlearn.jobs;

import dev.streamlearn.core.spec.PipelineSpec;
import java.io.Serializable;
import java.util.Properties;

/**
 * Where a Kafka client of the pipeline connects, and with which settings: the spec's {@code
 * source.bootstrap-servers} and {@code source.kafka} (security, SASL, SSL), given alike to the
 * job's source and sinks and to the command line's clients.
 */
public record KafkaEndpoint(String bootstrapServers, PipelineSpec.KafkaProperties settings)
    implements Serializable {

  public static KafkaEndpoint of(PipelineSpec.Source source) {
    return new KafkaEndpoint(source.bootstrapServers(), source.kafka());
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
