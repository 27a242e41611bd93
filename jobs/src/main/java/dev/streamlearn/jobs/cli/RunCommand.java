package dev.streamlearn.jobs.cli;

import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.jobs.StreamLearnJob;
import dev.streamlearn.store.ModelStore;
import dev.streamlearn.store.ModelStores;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code streamlearn run}: the job against an existing Kafka cluster, on a local MiniCluster. */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description =
        "Runs a pipeline spec against an existing Kafka cluster on a local Flink MiniCluster, until Ctrl-C (or, for a bounded source, the end of input).")
final class RunCommand implements Callable<Integer> {

  @Option(names = "--spec", required = true, description = "The pipeline spec (YAML).")
  Path specFile;

  @Mixin KafkaOptions kafkaOptions;

  @Option(names = "--store", description = "Overrides store.uri.")
  String store;

  @Option(
      names = "--parallelism",
      defaultValue = "1",
      description = "Flink parallelism (default ${DEFAULT-VALUE}).")
  int parallelism;

  @Override
  public Integer call() throws Exception {
    Map<String, Object> tree = SpecLoader.readTree(specFile);
    kafkaOptions.override(tree);
    if (store != null) {
      SpecLoader.override(tree, "store.uri", store);
    }
    PipelineSpec spec = SpecLoader.fromTree(tree);
    Duration timeout = kafkaOptions.timeout();
    try (KafkaCheck kafka = new KafkaCheck(spec.source().bootstrapServers(), timeout)) {
      if (!kafka.topicExists(spec.source().topic())) {
        throw new IllegalArgumentException(
            "topic '"
                + spec.source().topic()
                + "' (source.topic) does not exist at "
                + spec.source().bootstrapServers()
                + ": create it, or send events with ./streamlearn produce, which creates it");
      }
    }
    ModelStore models = ModelStores.open(spec.store().uri());
    System.out.printf(
        "Running '%s': %s topic %s -> store %s (Ctrl-C stops cleanly)%n",
        spec.name(), spec.source().bootstrapServers(), spec.source().topic(), models.location());
    LocalJobRun run =
        LocalJobRun.start(
            StreamLearnJob.fromSpec(spec),
            parallelism,
            Files.createTempDirectory("streamlearn-run-"));
    try {
      if (!run.runUntil(
          ProgressPrinter.of(spec, models, System.out), Duration.ofSeconds(5), Long.MAX_VALUE)) {
        System.out.println("Stopping cleanly...");
        run.stopDraining();
      }
      System.out.println("Accounted for: " + ProgressPrinter.Counts.now().describe());
      return 0;
    } finally {
      run.done();
    }
  }
}
