package dev.streamlearn.jobs.cli;

import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.jobs.runtime.EmbeddedKafka;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code streamlearn kafka}: a single-node KRaft broker in this JVM, the demo's own, on a port of
 * the user's choosing, so that {@code produce}, {@code run}, {@code score-stream} and {@code
 * dead-letters} can be tried by hand without a Kafka cluster.
 */
@Command(
    name = "kafka",
    mixinStandardHelpOptions = true,
    description =
        "Runs a single-node Kafka broker (KRaft) in this process until Ctrl-C or --duration, for trying produce, run, score-stream and dead-letters without a Kafka cluster. Its topics live in a temporary folder and are gone when it stops.")
final class KafkaCommand implements Callable<Integer> {

  @Option(
      names = "--port",
      defaultValue = "9092",
      description = "The port clients connect to on localhost (default ${DEFAULT-VALUE}).")
  int port;

  @Option(
      names = "--duration",
      description = "Stop after this long (e.g. 30m); by default it runs until Ctrl-C.")
  String duration;

  @Option(
      names = "--sasl-plain",
      paramLabel = "USER:PASSWORD",
      description =
          "Takes SASL/PLAIN clients only, as this user, to try a spec's source.kafka settings"
              + " (it prints them).")
  String saslPlain;

  @Override
  public Integer call() throws Exception {
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("--port " + port + ": a port in [1, 65535]");
    }
    int colon = saslPlain == null ? -1 : saslPlain.indexOf(':');
    if (saslPlain != null && (colon < 1 || colon == saslPlain.length() - 1)) {
      throw new IllegalArgumentException("--sasl-plain: USER:PASSWORD, both not empty");
    }
    Duration runFor = duration == null ? null : SpecLoader.parseDuration("--duration", duration);
    refuseAPortInUse(port);
    Path directory = Files.createTempDirectory("streamlearn-kafka-");
    CountDownLatch stop = new CountDownLatch(1);
    CountDownLatch stopped = new CountDownLatch(1);
    Thread ctrlC =
        new Thread(
            () -> {
              stop.countDown();
              try {
                stopped.await(30, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            },
            "streamlearn-kafka-ctrl-c");
    Runtime.getRuntime().addShutdownHook(ctrlC);
    try (EmbeddedKafka kafka =
        saslPlain == null
            ? EmbeddedKafka.start(directory, port)
            : EmbeddedKafka.startWithSaslPlain(
                directory, port, saslPlain.substring(0, colon), saslPlain.substring(colon + 1))) {
      System.out.printf(
          "Kafka broker (KRaft, one node) at %s; topics in %s, deleted when it stops.%n",
          kafka.bootstrapServers(), directory);
      if (saslPlain != null) {
        System.out.println("It takes SASL/PLAIN clients only; a spec's source reaches it with:");
        System.out.println("  kafka:");
        kafka
            .clientSettings()
            .forEach(
                (key, value) -> System.out.printf("    %s: '%s'%n", key, value.replace("'", "''")));
      }
      System.out.printf(
          "Try: ./streamlearn produce --spec examples/credit-g.yaml --input"
              + " ../shared/data/credit-g.csv --bootstrap-servers %s%n",
          kafka.bootstrapServers());
      System.out.println(runFor == null ? "Ctrl-C stops it." : "It stops after " + duration + ".");
      if (runFor == null) {
        stop.await();
      } else {
        stop.await(runFor.toMillis(), TimeUnit.MILLISECONDS);
      }
      System.out.println("Stopping the broker...");
    } finally {
      stopped.countDown();
      try {
        Runtime.getRuntime().removeShutdownHook(ctrlC);
      } catch (IllegalStateException shuttingDown) {
        // Ctrl-C: the hook is running
      }
    }
    return 0;
  }

  /** A clear refusal, before the broker starts, when something listens on the port already. */
  private static void refuseAPortInUse(int port) {
    try (ServerSocket probe = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      // free: closed at once, for the broker to bind
    } catch (IOException inUse) {
      throw new IllegalArgumentException(
          "--port " + port + ": the port is in use on localhost (another broker?); choose another");
    }
  }
}
