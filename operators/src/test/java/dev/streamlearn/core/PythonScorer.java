package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/** The Python scorer's command line ({@code clients/python/streamlearn_model.py}), for tests. */
public final class PythonScorer {

  /** What a run printed, and how it ended. */
  public record Result(int exit, String out) {}

  private static final ObjectMapper JSON = new ObjectMapper();

  private static Path script;

  /**
   * The script, once python3 (3.9 or newer, with time-zone data) is known to be here; a test that
   * calls it is skipped, with the reason, where it is not.
   */
  public static synchronized Path script() {
    if (script == null) {
      Assumptions.assumeTrue(
          python(
                  "-c",
                  "import sys, zoneinfo; zoneinfo.ZoneInfo('Europe/Berlin');"
                      + " sys.exit(0 if sys.version_info >= (3, 9) else 1)")
              == 0,
          "python3 (3.9 or newer, with time-zone data) is not installed: the Python scorer is not"
              + " checked here");
      Path at = Path.of("").toAbsolutePath();
      while (at != null && !Files.exists(at.resolve("clients/python/streamlearn_model.py"))) {
        at = at.getParent();
      }
      assertThat(at)
          .as("clients/python/streamlearn_model.py above the working directory")
          .isNotNull();
      script = at.resolve("clients/python/streamlearn_model.py");
    }
    return script;
  }

  /** Runs the script's command line with {@code arguments}. */
  public static Result run(String... arguments) throws Exception {
    List<String> command = new ArrayList<>(List.of("python3", script().toString()));
    command.addAll(List.of(arguments));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
    return new Result(process.exitValue(), out);
  }

  /** The events as a JSON-lines file in {@code directory}, one object per line. */
  public static Path writeJsonLines(Path directory, List<? extends Map<String, ?>> events)
      throws java.io.IOException {
    Path file = directory.resolve("events-" + System.nanoTime() + ".jsonl");
    StringBuilder lines = new StringBuilder();
    for (Map<String, ?> event : events) {
      lines.append(JSON.writeValueAsString(event)).append('\n');
    }
    Files.writeString(file, lines, StandardCharsets.UTF_8);
    return file;
  }

  private static int python(String... arguments) {
    List<String> command = new ArrayList<>(List.of("python3"));
    command.addAll(List.of(arguments));
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      process.getInputStream().readAllBytes();
      return process.waitFor(60, TimeUnit.SECONDS) ? process.exitValue() : -1;
    } catch (java.io.IOException | InterruptedException e) {
      return -1;
    }
  }

  private PythonScorer() {}
}
