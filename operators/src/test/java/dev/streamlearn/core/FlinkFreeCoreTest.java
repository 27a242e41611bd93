package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The learning core and the model store import nothing from Flink, so serving code can use them
 * alone.
 */
class FlinkFreeCoreTest {

  @Test
  void coreAndStoreSourcesDoNotImportFlink() throws IOException {
    Path operators = Path.of("src/main/java/dev/streamlearn/core");
    Path store = Path.of("../model-store/src/main/java");
    assertThat(operators).isDirectory();
    assertThat(store).isDirectory();
    List<String> offenders;
    try (Stream<Path> core = Files.walk(operators);
        Stream<Path> storeFiles = Files.walk(store)) {
      offenders =
          Stream.concat(core, storeFiles)
              .filter(path -> path.toString().endsWith(".java"))
              .filter(FlinkFreeCoreTest::importsFlink)
              .map(Path::toString)
              .toList();
    }
    assertThat(offenders).isEmpty();
  }

  private static boolean importsFlink(Path file) {
    try {
      return Files.readString(file).contains("import org.apache.flink");
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
