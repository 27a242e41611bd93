package dev.streamlearn.core;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Finds {@code shared/data/} beside the repository (or inside it, where a copy of the repository
 * carries its own), from any module's working directory.
 */
public final class SharedData {

  public static Path file(String name) {
    Path directory = Path.of("").toAbsolutePath();
    while (directory != null) {
      for (Path shared :
          new Path[] {directory.resolveSibling("shared"), directory.resolve("shared")}) {
        Path candidate = shared.resolve("data").resolve(name);
        if (Files.exists(candidate)) {
          return candidate;
        }
      }
      directory = directory.getParent();
    }
    throw new IllegalStateException("shared/data/" + name + " not found beside the repository");
  }

  private SharedData() {}
}
