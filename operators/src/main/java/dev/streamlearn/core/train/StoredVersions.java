package dev.streamlearn.core.train;

import dev.streamlearn.store.ModelStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the store holds of a model before a new job trains it: a job that starts without a
 * checkpoint or savepoint numbers its versions after these, where it would otherwise take their
 * numbers and see its own versions refused as published already.
 */
final class StoredVersions {

  private static final Logger LOG = LoggerFactory.getLogger(StoredVersions.class);

  /** The newest version of {@code model} in {@code store}; 0 when it has none. */
  static long newest(ModelStore store, String model) {
    try {
      List<Long> versions = store.versions(model);
      if (versions.isEmpty()) {
        return 0;
      }
      long newest = versions.get(versions.size() - 1);
      LOG.info(
          "{} already has versions up to {} in {}: this job's versions of it begin at {}",
          model,
          newest,
          store.location(),
          newest + 1);
      return newest;
    } catch (IOException e) {
      throw new UncheckedIOException(
          "listing the versions of " + model + " in " + store.location() + ": " + e.getMessage(),
          e);
    }
  }

  private StoredVersions() {}
}
