package dev.streamlearn.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The specs under examples/, which the README and docker-compose.yml use, load as they are. */
class ExampleSpecsTest {

  @Test
  void everyExampleSpecLoads() throws Exception {
    List<Path> specs;
    try (Stream<Path> files = Files.list(Path.of("..", "examples"))) {
      specs = files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
    }
    assertThat(specs)
        .extracting(f -> f.getFileName().toString())
        .contains("credit-g.yaml", "credit-g-records.yaml", "digits-candidates.yaml");
    for (Path file : specs) {
      PipelineSpec spec = SpecLoader.load(file);
      assertThat(spec.features()).as(file.toString()).isNotEmpty();
    }
    PipelineSpec digits = SpecLoader.load(Path.of("..", "examples", "digits-candidates.yaml"));
    assertThat(digits.candidates())
        .extracting(PipelineSpec.Candidate::name)
        .containsExactly("sgd-slow", "sgd-fast", "adam", "mlp");
  }
}
