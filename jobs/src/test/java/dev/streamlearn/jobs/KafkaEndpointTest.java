package dev.streamlearn.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamlearn.core.spec.SpecLoader;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KafkaEndpointTest {

  private static final String MINIMAL = "features: [{name: x, type: numeric}]\n";

  @Test
  void givesEveryClientTheSpecsSettingsAndNamesOnlyTheServers() {
    KafkaEndpoint kafka =
        KafkaEndpoint.of(
            SpecLoader.parse(
                    MINIMAL
                        + "source: {bootstrap-servers: 'b1:9093,b2:9093', kafka: {security.protocol:"
                        + " SASL_SSL, sasl.mechanism: SCRAM-SHA-512, sasl.jaas.config: 'x"
                        + " password=\"p\";', partition.discovery.interval.ms: 60000,"
                        + " sasl.client.callback.handler.class: com.example.NotHere}}\n")
                .source());
    assertThat(kafka.properties())
        .containsEntry("bootstrap.servers", "b1:9093,b2:9093")
        .containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("sasl.mechanism", "SCRAM-SHA-512")
        .containsEntry("sasl.jaas.config", "x password=\"p\";")
        .containsEntry("partition.discovery.interval.ms", "60000");
    assertThat(kafka.toString()).isEqualTo("b1:9093,b2:9093");
  }

  @Test
  void refusesSettingsNoClientKnowsAndValuesTheyWouldRefuse() {
    assertThatThrownBy(() -> KafkaEndpoint.check(Map.of("security.protocl", "SSL")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "spec key 'source.kafka.security.protocl': not a setting of Kafka's clients; did you"
                + " mean security.protocol?");
    assertThatThrownBy(() -> KafkaEndpoint.check(Map.of("no.such.thing.at.all", "1")))
        .hasMessage(
            "spec key 'source.kafka.no.such.thing.at.all': not a setting of Kafka's clients");
    assertThatThrownBy(() -> KafkaEndpoint.check(Map.of("security.protocol", "SASL_SSSL")))
        .hasMessageStartingWith(
            "spec key 'source.kafka.security.protocol': Invalid value SASL_SSSL")
        .hasMessageContaining("SASL_SSL");
    assertThatThrownBy(() -> KafkaEndpoint.check(Map.of("request.timeout.ms", "soon")))
        .hasMessageStartingWith("spec key 'source.kafka.request.timeout.ms': Invalid value soon");
  }
}
