package dev.streamlearn.jobs.cli;

import dev.streamlearn.core.spec.SpecLoader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** The Kafka options of {@code run} and {@code produce}: where, which topic, how long to wait. */
final class KafkaOptions {

  @Option(names = "--bootstrap-servers", description = "Overrides source.bootstrap-servers.")
  String bootstrapServers;

  @Option(names = "--topic", description = "Overrides source.topic.")
  String topic;

  @Option(
      names = "--kafka-timeout",
      defaultValue = KafkaCheck.DEFAULT_TIMEOUT,
      description =
          "How long to wait for a Kafka broker to answer before giving up (default ${DEFAULT-VALUE}).")
  String kafkaTimeout;

  /** Writes the options given into the spec's tree, over what the file says. */
  void override(Map<String, Object> tree) {
    if (bootstrapServers != null) {
      SpecLoader.override(tree, "source.bootstrap-servers", bootstrapServers);
    }
    if (topic != null) {
      SpecLoader.override(tree, "source.topic", topic);
    }
  }

  /** The overrides given, as the command-line arguments that give them again. */
  List<String> arguments() {
    List<String> arguments = new ArrayList<>();
    if (bootstrapServers != null) {
      arguments.addAll(List.of("--bootstrap-servers", bootstrapServers));
    }
    if (topic != null) {
      arguments.addAll(List.of("--topic", topic));
    }
    return arguments;
  }

  Duration timeout() {
    return SpecLoader.parseDuration("--kafka-timeout", kafkaTimeout);
  }
}
