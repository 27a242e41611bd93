package dev.streamlearn.store;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Versioned, immutable model artifacts. A version becomes visible in one step, complete with its
 * manifest, or not at all; it is never rewritten.
 */
public interface ModelStore {

  String MANIFEST = "manifest.json";
  String PARAMETERS = "model.safetensors";
  String FEATURIZER = "featurizer.json";

  /**
   * Writes a version: every file, then the manifest with each file's sha256 and size.
   *
   * @return the manifest as written
   * @throws VersionExistsException if that version is already there (it is left untouched)
   */
  Manifest publish(Manifest manifest, Map<String, byte[]> files) throws IOException;

  List<String> models() throws IOException;

  /** Version numbers, ascending. */
  List<Long> versions(String model) throws IOException;

  Optional<Manifest> manifest(String model, long version) throws IOException;

  byte[] readFile(String model, long version, String file) throws IOException;

  Optional<Long> alias(String model, String alias) throws IOException;

  void setAlias(String model, String alias, long version) throws IOException;

  /** Where it keeps its data, for people to read. */
  String location();

  /** A version that is already in the store. */
  final class VersionExistsException extends IOException {
    public VersionExistsException(String model, long version) {
      super(
          "model "
              + model
              + " version "
              + version
              + " exists already; versions are never rewritten");
    }
  }
}
