package dev.streamlearn.jobs.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI refuses what it cannot do before it starts anything, and says why. */
class StreamLearnCliTest {

  @TempDir Path directory;

  @Test
  void refusesBinaryTaskOnManyClasses() {
    Result result =
        run(
            "demo",
            "--input",
            sharedData("digits.csv"),
            "--label",
            "digit",
            "--task",
            "binary",
            "--store",
            directory.toString());
    assertThat(result.code).isEqualTo(2);
    assertThat(result.err)
        .contains(
            "label column 'digit' has 10 distinct values (0, 1, 2, 3, 4, 5, 6, 7, 8, 9); a binary task needs exactly two");
  }

  @Test
  void refusesUnknownLabelColumn() {
    Result result =
        run(
            "demo",
            "--input",
            sharedData("wdbc.csv"),
            "--label",
            "nope",
            "--store",
            directory.toString());
    assertThat(result.code).isEqualTo(2);
    assertThat(result.err).contains("no column 'nope'; the columns are [mean_radius");
  }

  @Test
  void refusesBadSpecBeforeStarting() throws Exception {
    Path spec = directory.resolve("bad.yaml");
    Files.writeString(
        spec, "features: [{name: x, type: numeric}]\ntraining: {learning-rate: -1}\n");
    Result result = run("run", "--spec", spec.toString());
    assertThat(result.code).isEqualTo(2);
    assertThat(result.err)
        .contains("spec key 'training.learning-rate' = -1: a number in [1.0E-9, 100.0]");
  }

  @Test
  void refusesBadDuration() {
    Result result = run("demo", "--duration", "forever", "--store", directory.toString());
    assertThat(result.code).isEqualTo(2);
    assertThat(result.err)
        .contains("spec key '--duration' = 'forever': a duration such as 500ms, 10s");
  }

  private record Result(int code, String err) {}

  private static Result run(String... args) {
    StringWriter err = new StringWriter();
    int code = StreamLearnCli.execute(new PrintWriter(err, true), args);
    return new Result(code, err.toString());
  }

  private static String sharedData(String name) {
    Path directory = Path.of("").toAbsolutePath();
    while (directory != null) {
      Path candidate = directory.resolveSibling("shared").resolve("data").resolve(name);
      if (Files.exists(candidate)) {
        return candidate.toString();
      }
      directory = directory.getParent();
    }
    throw new IllegalStateException("shared/data/" + name + " not found");
  }
}
