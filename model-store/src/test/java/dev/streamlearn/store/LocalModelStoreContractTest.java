package dev.streamlearn.store;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The store contract on the local filesystem. */
class LocalModelStoreContractTest extends ModelStoreContract {

  @TempDir Path root;

  @Override
  ModelStore store() throws Exception {
    return new LocalModelStore(Files.createTempDirectory(root, "store-"));
  }
}
