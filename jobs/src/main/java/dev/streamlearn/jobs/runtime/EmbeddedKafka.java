package dev.streamlearn.jobs.runtime;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/** A real single-node KRaft Kafka broker in this JVM, for the demo and the integration tests. */
public final class EmbeddedKafka implements AutoCloseable {

  private final KafkaClusterTestKit cluster;
  private final String bootstrapServers;
  private final Map<String, String> clientSettings;

  private EmbeddedKafka(
      KafkaClusterTestKit cluster, String bootstrapServers, Map<String, String> clientSettings) {
    this.cluster = cluster;
    this.bootstrapServers = bootstrapServers;
    this.clientSettings = clientSettings;
  }

  /** Starts a combined broker and controller with its logs under {@code directory}. */
  public static EmbeddedKafka start(Path directory) throws Exception {
    return start(directory, 0);
  }

  /**
   * Starts a combined broker and controller with its logs under {@code directory}, its clients'
   * listener on {@code localhost:port} (0: a free port).
   */
  public static EmbeddedKafka start(Path directory, int port) throws Exception {
    return start(directory, port, null, null);
  }

  /**
   * Starts a broker whose one listener, on {@code localhost:port}, takes SASL/PLAIN clients only:
   * {@code user} with {@code password} (the broker talks to itself as another user). {@link
   * #clientSettings} are what a client needs, as a spec's {@code source.kafka} gives them.
   */
  public static EmbeddedKafka startWithSaslPlain(
      Path directory, int port, String user, String password) throws Exception {
    if (port == 0) {
      throw new IllegalArgumentException("a SASL listener needs a port of its own");
    }
    return start(directory, port, user, password);
  }

  private static EmbeddedKafka start(Path directory, int port, String user, String password)
      throws Exception {
    // The test kit prints its formatting steps to standard out; the CLI's output is its own.
    PrintStream standardOut = System.out;
    System.setOut(new PrintStream(OutputStream.nullOutputStream()));
    try {
      return startQuietly(directory, port, user, password);
    } finally {
      System.setOut(standardOut);
    }
  }

  private static EmbeddedKafka startQuietly(Path directory, int port, String user, String password)
      throws Exception {
    KafkaClusterTestKit.Builder builder =
        new KafkaClusterTestKit.Builder(
            new TestKitNodes.Builder()
                .setCombined(true)
                .setNumBrokerNodes(1)
                .setNumControllerNodes(1)
                .setBaseDirectory(directory)
                .build());
    Map<String, String> clientSettings = Map.of();
    if (port != 0) {
      // The test kit binds its own listeners to free ports before the broker starts; a listener
      // of another name is bound by the broker itself, at the port given.
      builder
          .setConfigProp("listeners", "CLIENTS://localhost:" + port + ",CONTROLLER://localhost:0")
          .setConfigProp(
              "listener.security.protocol.map",
              "CLIENTS:"
                  + (user == null ? "PLAINTEXT" : "SASL_PLAINTEXT")
                  + ",CONTROLLER:PLAINTEXT")
          .setConfigProp("inter.broker.listener.name", "CLIENTS");
    }
    if (user != null) {
      String broker = "broker-" + java.util.UUID.randomUUID();
      builder
          .setConfigProp("sasl.enabled.mechanisms", "PLAIN")
          .setConfigProp("sasl.mechanism.inter.broker.protocol", "PLAIN")
          .setConfigProp(
              "listener.name.clients.plain.sasl.jaas.config",
              plainLogin(broker, broker)
                  .replace(
                      ";",
                      " user_"
                          + broker
                          + "=\""
                          + broker
                          + "\" user_"
                          + user
                          + "=\""
                          + password
                          + "\";"));
      clientSettings =
          Map.of(
              "security.protocol", "SASL_PLAINTEXT",
              "sasl.mechanism", "PLAIN",
              "sasl.jaas.config", plainLogin(user, password));
    }
    KafkaClusterTestKit cluster =
        builder
            .setConfigProp("offsets.topic.replication.factor", "1")
            .setConfigProp("transaction.state.log.replication.factor", "1")
            .setConfigProp("transaction.state.log.min.isr", "1")
            .setConfigProp("group.initial.rebalance.delay.ms", "0")
            .setConfigProp("message.max.bytes", String.valueOf(8 << 20))
            .setDeleteOnClose(true)
            .build();
    cluster.format();
    cluster.startup();
    cluster.waitForReadyBrokers();
    return new EmbeddedKafka(
        cluster, port == 0 ? cluster.bootstrapServers() : "localhost:" + port, clientSettings);
  }

  private static String plainLogin(String user, String password) {
    return "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
        + user
        + "\" password=\""
        + password
        + "\";";
  }

  public String bootstrapServers() {
    return bootstrapServers;
  }

  /** What a client needs besides the servers: none, or the SASL settings of its user. */
  public Map<String, String> clientSettings() {
    return clientSettings;
  }

  public void createTopic(String name, int partitions) throws Exception {
    try (Admin admin = admin()) {
      admin
          .createTopics(
              List.of(
                  new NewTopic(name, partitions, (short) 1)
                      .configs(Map.of("max.message.bytes", String.valueOf(8 << 20)))))
          .all()
          .get();
    }
  }

  public Admin admin() {
    Properties properties = new Properties();
    properties.putAll(clientSettings);
    properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    return Admin.create(properties);
  }

  @Override
  public void close() throws Exception {
    cluster.close();
  }
}
