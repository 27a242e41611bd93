package dev.streamlearn.store;

import dev.streamlearn.store.http.ModelStoreClient;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Where serving reads model versions from: a {@link ModelStore} ({@code file:}, a path, {@code
 * s3://}), or a model store server over HTTP through its {@link ModelStoreClient}, as task managers
 * that share no file system with the trainer reach it. Every version is read whole, each file
 * checked against its manifest's sha256 and size.
 */
public interface VersionSource {

  /** The version an alias points at; empty when the model has no such alias. */
  Optional<Long> alias(String model, String alias) throws IOException;

  /** A version's files and its manifest (under {@link ModelStore#MANIFEST}), checked. */
  Map<String, byte[]> readVersion(String model, long version) throws IOException;

  List<String> models() throws IOException;

  /** A version's manifest alone (its files are not read); empty when there is no such version. */
  Optional<Manifest> manifest(String model, long version) throws IOException;

  /**
   * Why a hyper-parameter candidate stopped training, when the pipeline pruned it while the stream
   * ran; empty otherwise.
   */
  Optional<Pruning> pruning(String model) throws IOException;

  /** Where it reads from, for people to read. */
  String location();

  /**
   * {@code http://} or {@code https://}: a model store server; anything else a store, as {@link
   * ModelStores#open} opens it.
   */
  static VersionSource open(String uri) {
    if (uri != null && (uri.startsWith("http://") || uri.startsWith("https://"))) {
      return new ModelStoreClient(uri, null);
    }
    return ModelStores.open(uri);
  }
}
