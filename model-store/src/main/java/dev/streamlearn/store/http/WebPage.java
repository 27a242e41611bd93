package dev.streamlearn.store.http;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** The server's web page: models, versions and their held-out metrics over versions. */
final class WebPage {

  private static final byte[] HTML = load();

  static byte[] html() {
    return HTML;
  }

  private static byte[] load() {
    try (InputStream in = WebPage.class.getResourceAsStream("index.html")) {
      if (in == null) {
        throw new IllegalStateException("index.html is missing from the model store's resources");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private WebPage() {}
}
