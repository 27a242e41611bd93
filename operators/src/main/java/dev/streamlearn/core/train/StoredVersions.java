package dev.streamlearn.core.train;

import dev.streamlearn.store.ModelStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * What the store holds of a model before a job trains it: a job that starts without a checkpoint or
 * savepoint, or from a savepoint older than the store's newest version, numbers its versions after
 * these, where it would otherwise take their numbers and see its own versions refused as published
 * already.
 */
final class StoredVersions {

  /** The newest version of {@code model} in {@code store}; 0 when it has none. */
  static long newest(ModelStore store, String model) {
    try {
      List<Long> versions = store.versions(model);
      return versions.isEmpty() ? 0 : versions.get(versions.size() - 1);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "listing the versions of " + model + " in " + store.location() + ": " + e.getMessage(),
          e);
    }
  }

  private StoredVersions() {}
}
