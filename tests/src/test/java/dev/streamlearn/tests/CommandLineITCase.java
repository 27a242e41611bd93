package dev.streamlearn.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.jobs.cli.StreamLearnCli;
import dev.streamlearn.jobs.runtime.EmbeddedKafka;
import dev.streamlearn.store.LocalModelStore;
import dev.streamlearn.store.Manifest;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code streamlearn produce} then {@code streamlearn run} against a real broker, as a user would.
 */
class CommandLineITCase {

  @TempDir Path directory;

  @Test
  void producesCsvAndRunsBoundedSpecToTheEnd() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(directory.resolve("kafka"))) {
      kafka.createTopic("credit-events", 1);
      Path spec = directory.resolve("credit-g.yaml");
      String example = Files.readString(repositoryFile("examples/credit-g.yaml"));
      Files.writeString(
          spec,
          example
              .replace(
                  "bootstrap-servers: kafka:9092",
                  "bootstrap-servers: " + kafka.bootstrapServers() + "\n  bounded: true")
              .replace("uri: /models", "uri: " + directory.resolve("store")));

      StringWriter err = new StringWriter();
      int produced =
          StreamLearnCli.execute(
              new PrintWriter(err, true),
              "produce",
              "--spec",
              spec.toString(),
              "--input",
              repositoryFile("../shared/data/credit-g.csv").toString(),
              "--label",
              "class");
      assertThat(produced).as(err.toString()).isZero();

      int ran =
          StreamLearnCli.execute(new PrintWriter(err, true), "run", "--spec", spec.toString());
      assertThat(ran).as(err.toString()).isZero();

      LocalModelStore store = new LocalModelStore(directory.resolve("store"));
      List<Long> versions = store.versions("credit-g");
      assertThat(versions).hasSizeGreaterThanOrEqualTo(3);
      Manifest last = store.manifest("credit-g", versions.get(versions.size() - 1)).orElseThrow();
      assertThat(last.lineage().eventsTrainedTotal() + last.lineage().eventsHeldOutTotal())
          .isEqualTo(1000);
      assertThat(last.classes()).containsExactly("good", "bad");
      assertThat(last.featureNames())
          .hasSize(7 + 8 + 8 + 16 + 8 + 8 + 8 + 4 + 8 + 4 + 4 + 8 + 2 + 2);
      assertThat(last.metrics().get("sinceStart").get("count")).isBetween(150.0, 250.0);
      assertThat(store.alias("credit-g", "latest")).contains(last.version());
    }
  }

  static Path repositoryFile(String relative) {
    Path directory = Path.of("").toAbsolutePath();
    while (directory != null) {
      Path candidate = directory.resolve(relative);
      if (Files.exists(candidate) && Files.exists(directory.resolve("mvnw"))) {
        return candidate;
      }
      directory = directory.getParent();
    }
    throw new IllegalStateException(relative + " not found from " + Path.of("").toAbsolutePath());
  }
}
