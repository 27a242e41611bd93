package dev.streamlearn.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.jobs.runtime.EmbeddedKafka;
import dev.streamlearn.schemas.codec.Topics;
import dev.streamlearn.store.LocalModelStore;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.tests.cluster.FlinkRunOnMiniCluster;
import java.io.File;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job jar as the README and {@code docker-compose.yml} submit it: {@code flink run job.jar
 * --spec pipeline.yaml}, then {@code flink run -c dev.streamlearn.jobs.ScoringJob job.jar --spec
 * ...}, each by Flink's own command line to a cluster in another JVM whose class path holds Flink
 * and what a Flink distribution ships, and none of StreamLearn's classes or dependencies: what the
 * jar lacks, or holds twice in a way that breaks under Flink's child-first class loading, fails
 * here.
 */
class JobJarITCase {

  /**
   * The class path of a Flink distribution's {@code lib/}, out of this JVM's: Flink's runtime,
   * client and shaded libraries, the libraries they need unshaded, and logging.
   */
  private static final Pattern FLINK_DISTRIBUTION =
      Pattern.compile(
          ".*/(org/apache/flink/flink-(core|core-api|annotations|metrics-core|streaming-java"
              + "|datastream|datastream-api|clients|runtime|rpc-core|rpc-akka-loader"
              + "|queryable-state-client-java|hadoop-fs|file-sink-common|connector-datagen"
              + "|shaded-[a-z0-9-]+)/[^/]+/flink-[^/]*[0-9](-[0-9.]+)?\\.jar"
              + "|com/esotericsoftware/.*|org/objenesis/.*|commons-collections/commons-collections/.*"
              + "|org/apache/commons/commons-(compress|lang3|text|math3)/.*|commons-io/commons-io/.*"
              + "|commons-cli/commons-cli/.*|org/javassist/.*|tools/profiler/.*"
              + "|org/snakeyaml/snakeyaml-engine/.*|org/xerial/snappy/.*|at/yawk/lz4/.*"
              + "|org/slf4j/slf4j-api/.*|org/apache/logging/log4j/log4j-(api|core|slf4j2-impl)/.*"
              + "|com/google/code/findbugs/jsr305/.*)");

  @TempDir Path directory;

  @Test
  void trainsAndScoresWhenSubmittedWithFlinkRun() throws Exception {
    Path jar = jobJar();
    try (EmbeddedKafka kafka = EmbeddedKafka.start(directory.resolve("kafka"))) {
      kafka.createTopic("credit-events", 1);
      Path spec = directory.resolve("credit-g.yaml");
      Files.writeString(
          spec,
          Files.readString(CommandLineITCase.repositoryFile("examples/credit-g.yaml"))
              .replace(
                  "bootstrap-servers: kafka:9092",
                  "bootstrap-servers: " + kafka.bootstrapServers() + "\n  bounded: true")
              .replace("uri: /models", "uri: " + directory.resolve("store")));
      StringWriter err = new StringWriter();
      assertThat(CommandLineITCase.produceCredit(err, spec)).as(err.toString()).isZero();

      String training = flinkRun(jar.toString(), "--spec", spec.toString());
      assertThat(training).contains("Job has been submitted with JobID").endsWith("exit 0\n");
      LocalModelStore store = new LocalModelStore(directory.resolve("store"));
      List<Long> versions = store.versions("credit-g");
      assertThat(versions).as(training).isNotEmpty();
      Manifest last = store.manifest("credit-g", versions.get(versions.size() - 1)).orElseThrow();
      assertThat(last.lineage().eventsTrainedTotal() + last.lineage().eventsHeldOutTotal())
          .isEqualTo(1000);
      assertThat(last.specHash()).isEqualTo(SpecLoader.load(spec).specHash());
      // The job's main created the topics it writes, though it refused nothing.
      try (org.apache.kafka.clients.admin.Admin admin = kafka.admin()) {
        assertThat(admin.listTopics().names().get())
            .contains("credit-events.dead-letter", "credit-events.metrics");
      }

      String scoring =
          flinkRun(
              "-c", "dev.streamlearn.jobs.ScoringJob", jar.toString(), "--spec", spec.toString());
      assertThat(scoring).contains("Job has been submitted with JobID").endsWith("exit 0\n");
      List<ConsumerRecord<byte[], byte[]>> predictions =
          TopicReader.readToTheEnd(kafka.bootstrapServers(), "credit-events.predictions", false);
      assertThat(predictions).hasSize(1000);
      try (org.apache.kafka.clients.admin.Admin admin = kafka.admin()) {
        assertThat(admin.listTopics().names().get())
            .contains("credit-events.predictions.dead-letter");
      }
      assertThat(Topics.predictions().decode(predictions.get(0).value()).getVersion())
          .isEqualTo(last.version());
    }
  }

  /** The shaded jar the build makes for {@code flink run}; the test is skipped without it. */
  private static Path jobJar() throws Exception {
    Path target = CommandLineITCase.repositoryFile("jobs/target");
    try (Stream<Path> files = Files.list(target)) {
      Path jar = files.filter(f -> f.toString().endsWith("-job.jar")).findFirst().orElse(null);
      Assumptions.assumeTrue(
          jar != null,
          "no job jar in " + target + ": the build made none (-DskipJobJar); `./mvnw verify` does");
      return jar;
    }
  }

  /** {@code flink run <arguments>} in a JVM of its own, against a cluster it starts. */
  private String flinkRun(String... arguments) throws Exception {
    List<String> classPath = new ArrayList<>();
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      if (FLINK_DISTRIBUTION.matcher(entry.replace(File.separatorChar, '/')).matches()) {
        classPath.add(entry);
      }
    }
    assertThat(String.join(" ", classPath))
        .contains("flink-runtime-")
        .contains("flink-clients-")
        .doesNotContain("streamlearn")
        .doesNotContain("avro")
        .doesNotContain("kafka");
    // This test's own classes, for the launcher (none of them is loaded but it).
    classPath.add(
        Path.of(
                FlinkRunOnMiniCluster.class
                    .getProtectionDomain()
                    .getCodeSource()
                    .getLocation()
                    .toURI())
            .toString());
    Path log = Files.createTempFile(directory, "flink-run-", ".log");
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx2g",
                "-Dorg.apache.avro.SERIALIZABLE_PACKAGES=dev.streamlearn.schemas",
                "-Dorg.bytedeco.javacpp.cachedir="
                    + System.getProperty(
                        "org.bytedeco.javacpp.cachedir",
                        directory.resolve("javacpp-cache").toString()),
                "-Dlog4j2.configurationFile="
                    + CommandLineITCase.repositoryFile(
                        "tests/src/test/resources/flink-run-log4j2.xml"),
                "-Dflink.run.log=" + log,
                "--add-opens=java.base/java.util=ALL-UNNAMED",
                "--add-opens=java.base/java.lang=ALL-UNNAMED",
                "--add-opens=java.base/java.nio=ALL-UNNAMED",
                "--add-opens=java.base/java.lang.invoke=ALL-UNNAMED",
                "-cp",
                String.join(File.pathSeparator, classPath),
                FlinkRunOnMiniCluster.class.getName()));
    command.addAll(List.of(arguments));
    Path printed = Files.createTempFile(directory, "flink-run-", ".out");
    Process process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(printed.toFile())
            .start();
    try {
      if (!process.waitFor(300, TimeUnit.SECONDS)) {
        throw new AssertionError(
            "flink run did not end within 300 s: "
                + String.join(" ", arguments)
                + "\n"
                + Files.readString(printed));
      }
    } finally {
      process.destroyForcibly();
    }
    String out = Files.readString(printed, StandardCharsets.UTF_8);
    assertThat(process.exitValue()).as(out + "\n(Flink's log: " + log + ")\n" + tail(log)).isZero();
    return out;
  }

  private static String tail(Path log) throws Exception {
    List<String> lines = Files.readAllLines(log);
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 80), lines.size()));
  }
}
