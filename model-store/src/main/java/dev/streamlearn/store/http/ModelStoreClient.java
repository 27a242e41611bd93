package dev.streamlearn.store.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ManifestJson;
import dev.streamlearn.store.ModelNames;
import dev.streamlearn.store.ModelStore;
import dev.streamlearn.store.Pruning;
import dev.streamlearn.store.VersionSource;
import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A Flink-free client of the model store server: list, show, download (every file checked against
 * the manifest's sha256 and size), resolve aliases, watch for new versions and alias moves, promote
 * and roll back by compare-and-set.
 */
public final class ModelStoreClient implements VersionSource {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final URI base;
  private final String token;
  private final HttpClient http;

  /**
   * @param baseUrl the server, e.g. {@code http://localhost:8080/}
   * @param token the bearer token for promotions; null for read-only use
   */
  public ModelStoreClient(String baseUrl, String token) {
    this.base = URI.create(baseUrl.endsWith("/") ? baseUrl : baseUrl + "/");
    this.token = token;
    this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  }

  /** A version: its number and the held-out metrics its manifest records. */
  public record VersionInfo(
      long version, String created, Map<String, Map<String, Double>> metrics) {}

  /** The server answered with an error status. */
  /** No connection to the server: it is not running there, or the address is wrong. */
  public static class UnreachableException extends IOException {
    UnreachableException(URI server, IOException cause) {
      super(
          "cannot reach the model store server at "
              + server
              + " ("
              + cause.getClass().getSimpleName()
              + (cause.getMessage() == null ? "" : ": " + cause.getMessage())
              + ")",
          cause);
    }
  }

  public static class ServerException extends IOException {
    private final int status;

    public ServerException(int status, String message) {
      super(message);
      this.status = status;
    }

    public int status() {
      return status;
    }
  }

  /** The alias had moved: it points at {@link #current()}, not at the expected version. */
  public static final class AliasConflictException extends ServerException {
    private final Long current;

    AliasConflictException(String message, Long current) {
      super(409, message);
      this.current = current;
    }

    public Long current() {
      return current;
    }
  }

  /** The server, e.g. {@code http://localhost:8080/}. */
  @Override
  public String location() {
    return base.toString();
  }

  @Override
  public List<String> models() throws IOException {
    return summaries().stream().map(ModelSummary::name).toList();
  }

  /** A model as the server lists it: how many versions, the newest (null: none), its aliases. */
  public record ModelSummary(String name, long versions, Long latest, Map<String, Long> aliases) {}

  /** Every model with its number of versions, newest version and aliases, in one request. */
  public List<ModelSummary> summaries() throws IOException {
    List<ModelSummary> models = new ArrayList<>();
    for (JsonNode model : getJson(ModelStoreServer.API.substring(1)).path("models")) {
      Map<String, Long> aliases = new java.util.TreeMap<>();
      for (Map.Entry<String, JsonNode> alias : model.path("aliases").properties()) {
        aliases.put(alias.getKey(), alias.getValue().asLong());
      }
      models.add(
          new ModelSummary(
              model.path("name").asText(),
              model.path("versions").asLong(),
              model.path("latest").isIntegralNumber() ? model.path("latest").asLong() : null,
              aliases));
    }
    return models;
  }

  /** Every version, oldest first, paging through the server's list. */
  public List<VersionInfo> versions(String model) throws IOException {
    List<VersionInfo> versions = new ArrayList<>();
    int offset = 0;
    while (true) {
      JsonNode page = getJson(modelPath(model) + "/versions?offset=" + offset + "&limit=1000");
      for (JsonNode node : page.path("versions")) {
        versions.add(
            new VersionInfo(
                node.path("version").asLong(),
                node.path("created").asText(),
                JSON.convertValue(
                    node.path("metrics"),
                    JSON.getTypeFactory()
                        .constructMapType(
                            LinkedHashMap.class,
                            JSON.getTypeFactory().constructType(String.class),
                            JSON.getTypeFactory()
                                .constructMapType(
                                    LinkedHashMap.class, String.class, Double.class)))));
      }
      offset += page.path("versions").size();
      if (page.path("versions").isEmpty() || offset >= page.path("total").asLong()) {
        return versions;
      }
    }
  }

  /** The manifest of a version number or an alias ({@code latest}, {@code champion}, ...). */
  public Manifest manifest(String model, String versionOrAlias) throws IOException {
    return ManifestJson.read(
        new String(get(versionPath(model, versionOrAlias)), StandardCharsets.UTF_8));
  }

  @Override
  public Optional<Manifest> manifest(String model, long version) throws IOException {
    String number = Long.toString(ModelNames.checkVersion(version));
    return unlessNotFound(() -> manifest(model, number));
  }

  @Override
  public Optional<Long> alias(String model, String alias) throws IOException {
    String path = modelPath(model) + "/aliases/" + encode(ModelNames.checkAlias(alias));
    return unlessNotFound(() -> getJson(path).path("version").asLong());
  }

  @Override
  public Optional<Pruning> pruning(String model) throws IOException {
    String path = modelPath(model) + "/pruning";
    return unlessNotFound(() -> Pruning.fromJson(get(path)));
  }

  /**
   * Downloads a version into {@code directory} (which must not exist yet): every file the manifest
   * lists, checked against its sha256 and size, then the manifest. The directory appears complete
   * or not at all.
   *
   * @return the manifest
   * @throws IOException when a file does not match its checksum
   */
  public Manifest download(String model, String versionOrAlias, Path directory) throws IOException {
    Manifest manifest = manifest(model, versionOrAlias);
    Path target = directory.toAbsolutePath().normalize();
    if (Files.exists(target)) {
      throw new IOException(target + " exists already; download into a new directory");
    }
    Map<String, byte[]> files = readVersion(manifest);
    Files.createDirectories(target.getParent());
    Path partial = Files.createTempDirectory(target.getParent(), ".download-");
    try {
      for (Map.Entry<String, byte[]> file : files.entrySet()) {
        Files.write(partial.resolve(file.getKey()), file.getValue());
      }
      Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
      return manifest;
    } finally {
      deleteRecursively(partial);
    }
  }

  /**
   * A whole version in memory, as {@link dev.streamlearn.store.ModelStore#readVersion} reads one
   * from a store: every file the manifest lists, checked against its sha256 and size, and the
   * manifest (under {@link ModelStore#MANIFEST}).
   *
   * @throws IOException when a file does not match its checksum
   */
  @Override
  public Map<String, byte[]> readVersion(String model, long version) throws IOException {
    return readVersion(manifest(model, Long.toString(version)));
  }

  private Map<String, byte[]> readVersion(Manifest manifest) throws IOException {
    String model = manifest.name();
    String version = Long.toString(manifest.version());
    Map<String, byte[]> files = new LinkedHashMap<>();
    for (Map.Entry<String, Manifest.FileEntry> file : manifest.files().entrySet()) {
      String name = ModelNames.checkFileName(file.getKey());
      byte[] bytes = get(versionPath(model, version) + "/files/" + encode(name));
      file.getValue().check(bytes, name + " of " + model + " version " + version);
      files.put(name, bytes);
    }
    files.put(ModelStore.MANIFEST, ManifestJson.write(manifest).getBytes(StandardCharsets.UTF_8));
    return files;
  }

  /**
   * Points an alias at a version if it still points at {@code expected} (null: only if the alias
   * does not exist): promotes a version, or rolls back to an older one.
   *
   * @throws AliasConflictException when the alias moved meanwhile
   */
  public void promote(String model, String alias, long version, Long expected) throws IOException {
    ObjectNode body = JSON.createObjectNode().put("version", version);
    if (expected == null) {
      body.putNull("expected");
    } else {
      body.put("expected", expected);
    }
    HttpRequest.Builder request =
        HttpRequest.newBuilder(
                base.resolve(modelPath(model) + "/aliases/" + encode(ModelNames.checkAlias(alias))))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/json")
            .PUT(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    HttpResponse<byte[]> response = send(request.build());
    if (response.statusCode() == 409) {
      JsonNode answer = JSON.readTree(response.body());
      Long current = answer.has("version") ? answer.get("version").asLong() : null;
      throw new AliasConflictException(
          "alias " + alias + " of " + model + " points at version " + current + ", not " + expected,
          current);
    }
    check(response);
  }

  /** One server-sent event: {@code version} or {@code alias}, with its JSON data. */
  public record Event(String type, JsonNode data) {}

  /**
   * Calls {@code listener} for every new version and alias move of a model until the returned
   * handle is closed.
   */
  public Closeable watch(String model, Consumer<Event> listener) throws IOException {
    HttpRequest request =
        HttpRequest.newBuilder(base.resolve(modelPath(model) + "/events"))
            .header("Accept", "text/event-stream")
            .GET()
            .build();
    HttpResponse<InputStream> response;
    try {
      response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    if (response.statusCode() != 200) {
      try (InputStream body = response.body()) {
        throw new ServerException(
            response.statusCode(), new String(body.readAllBytes(), StandardCharsets.UTF_8));
      }
    }
    InputStream stream = response.body();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader lines =
                  new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                String type = null;
                StringBuilder data = new StringBuilder();
                for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                  if (line.startsWith("event:")) {
                    type = line.substring(6).trim();
                  } else if (line.startsWith("data:")) {
                    data.append(line.substring(5).trim());
                  } else if (line.isEmpty()) {
                    if (type != null && data.length() > 0) {
                      listener.accept(new Event(type, JSON.readTree(data.toString())));
                    }
                    type = null;
                    data.setLength(0);
                  }
                }
              } catch (IOException e) {
                // Closed by the caller or by the server.
              }
            },
            "model-store-watch-" + model);
    reader.setDaemon(true);
    reader.start();
    return stream::close;
  }

  // ---- plumbing ----

  /** A request to the server. */
  @FunctionalInterface
  private interface Request<T> {
    T send() throws IOException;
  }

  /** What the request answers; empty when the server answers 404 (no such thing). */
  private static <T> Optional<T> unlessNotFound(Request<T> request) throws IOException {
    try {
      return Optional.of(request.send());
    } catch (ServerException e) {
      if (e.status() == 404) {
        return Optional.empty();
      }
      throw e;
    }
  }

  private static String modelPath(String model) {
    return ModelStoreServer.API.substring(1) + "/" + encode(ModelNames.checkModelName(model));
  }

  private static String versionPath(String model, String versionOrAlias) {
    return modelPath(model) + "/versions/" + encode(versionOrAlias);
  }

  private static String encode(String segment) {
    return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private JsonNode getJson(String path) throws IOException {
    return JSON.readTree(get(path));
  }

  private byte[] get(String path) throws IOException {
    HttpResponse<byte[]> response =
        send(
            HttpRequest.newBuilder(base.resolve(path))
                .timeout(Duration.ofSeconds(60))
                .GET()
                .build());
    check(response);
    return response.body();
  }

  private HttpResponse<byte[]> send(HttpRequest request) throws IOException {
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofByteArray());
    } catch (ConnectException | HttpConnectTimeoutException e) {
      throw new UnreachableException(base, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  private static void check(HttpResponse<byte[]> response) throws IOException {
    if (response.statusCode() >= 300) {
      String message = new String(response.body(), StandardCharsets.UTF_8);
      try {
        message = JSON.readTree(response.body()).path("error").asText(message);
      } catch (IOException e) {
        // Not JSON: keep the body as it is.
      }
      throw new ServerException(
          response.statusCode(),
          response.request().method()
              + " "
              + response.uri()
              + ": "
              + response.statusCode()
              + " "
              + message);
    }
  }

  private static void deleteRecursively(Path path) throws IOException {
    if (!Files.exists(path)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(path)) {
      for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    }
  }
}
