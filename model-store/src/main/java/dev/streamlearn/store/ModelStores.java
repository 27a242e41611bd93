package dev.streamlearn.store;

import java.net.URI;
import java.nio.file.Path;

/** Opens a model store from its URI. */
public final class ModelStores {

  /**
   * {@code file:///path} or a plain path opens a {@link LocalModelStore}; {@code
   * s3://bucket/prefix[?endpoint=URL&region=R]} an {@link S3ModelStore}.
   */
  public static ModelStore open(String uri) {
    if (uri == null || uri.isBlank()) {
      throw new IllegalArgumentException(
          "store.uri is empty; use file:///path or a directory path");
    }
    if (uri.startsWith("file:")) {
      return new LocalModelStore(Path.of(URI.create(uri)));
    }
    if (uri.startsWith("s3://")) {
      return S3ModelStore.open(URI.create(uri));
    }
    if (uri.matches("^[a-zA-Z][a-zA-Z0-9+.-]*://.*")) {
      throw new IllegalArgumentException(
          "store.uri '"
              + uri
              + "' has a scheme this build does not support; allowed: file://, s3:// or a path");
    }
    return new LocalModelStore(Path.of(uri));
  }

  private ModelStores() {}
}
