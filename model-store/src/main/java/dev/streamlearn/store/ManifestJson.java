package dev.streamlearn.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.io.IOException;
import java.io.UncheckedIOException;

/** Reads and writes {@code manifest.json}. */
public final class ManifestJson {

  public static String write(Manifest manifest) {
    try {
      return LocalModelStore.JSON.writeValueAsString(manifest);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static Manifest read(String json) throws IOException {
    return LocalModelStore.JSON.readValue(json, Manifest.class);
  }

  private ManifestJson() {}
}
