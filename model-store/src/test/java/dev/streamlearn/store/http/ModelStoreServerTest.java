package dev.streamlearn.store.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamlearn.store.LocalModelStore;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ModelStore;
import dev.streamlearn.store.Pruning;
import java.io.Closeable;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The model store server over real HTTP on loopback, with the client and a raw HTTP client. */
class ModelStoreServerTest {

  private static final String TOKEN = "s3cret-token";

  @TempDir Path root;
  private LocalModelStore store;
  private ModelStoreServer server;
  private ModelStoreClient client;
  private final HttpClient http = HttpClient.newHttpClient();
  private byte[] parameters;

  /** Version 1 of candidate {@code candidate} of a pipeline, its optimizer its name. */
  static Manifest candidateManifest(String model, String candidate, double accuracy) {
    return candidateManifest(model, candidate, accuracy, 0);
  }

  /** The same, validated on the minute from {@code windowStart}. */
  static Manifest candidateManifest(
      String model, String candidate, double accuracy, long windowStart) {
    Manifest plain = manifest(model, 1, accuracy);
    return new Manifest(
        plain.formatVersion(),
        plain.name(),
        null,
        new Manifest.Candidate(candidate, Map.of("training.optimizer.type", candidate), "accuracy"),
        plain.version(),
        plain.parentVersion(),
        plain.created(),
        plain.task(),
        plain.classes(),
        plain.featureNames(),
        plain.specHash(),
        plain.inputSchemaFingerprint(),
        plain.backend(),
        plain.precision(),
        plain.metrics(),
        new Manifest.ValidationWindow(windowStart, windowStart + 60_000),
        plain.lineage(),
        null,
        null);
  }

  static Manifest manifest(String name, long version, double accuracy) {
    return new Manifest(
        Manifest.FORMAT_VERSION,
        name,
        null,
        null,
        version,
        version > 1 ? version - 1 : null,
        "2026-01-01T00:00:0" + (version % 10) + "Z",
        "binary",
        List.of("no", "yes"),
        List.of("x"),
        "hash",
        "fp",
        "java",
        "fp32",
        Map.of("window", Map.of("accuracy", accuracy, "count", 100.0)),
        null,
        new Manifest.Lineage(
            "events",
            List.of(new Manifest.OffsetRange(0, version * 10, version * 10 + 9)),
            1L,
            2L,
            8,
            2,
            8 * version,
            2 * version),
        null,
        null);
  }

  @BeforeEach
  void start() throws Exception {
    store = new LocalModelStore(root);
    parameters = new byte[10_000];
    for (int i = 0; i < parameters.length; i++) {
      parameters[i] = (byte) (i * 31);
    }
    for (long v = 1; v <= 3; v++) {
      store.publish(
          manifest("churn", v, 0.7 + v / 100.0),
          Map.of(ModelStore.PARAMETERS, parameters, ModelStore.FEATURIZER, "{}".getBytes()));
    }
    server = ModelStoreServer.start(store, new InetSocketAddress("127.0.0.1", 0), TOKEN);
    client = new ModelStoreClient(server.url(), TOKEN);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void listsModelsVersionsAndManifests() throws Exception {
    assertThat(client.models()).containsExactly("churn");
    store.setAlias("churn", "champion", 2);
    assertThat(client.summaries())
        .containsExactly(
            new ModelStoreClient.ModelSummary(
                "churn", 3, 3L, Map.of("champion", 2L, "latest", 3L)));
    List<ModelStoreClient.VersionInfo> versions = client.versions("churn");
    assertThat(versions)
        .extracting(ModelStoreClient.VersionInfo::version)
        .containsExactly(1L, 2L, 3L);
    assertThat(versions.get(2).metrics().get("window").get("accuracy")).isEqualTo(0.73);
    assertThat(client.manifest("churn", "latest").version()).isEqualTo(3);
    assertThat(client.manifest("churn", "2")).isEqualTo(store.manifest("churn", 2).orElseThrow());
    assertThat(client.manifest("churn", 2L)).isEqualTo(store.manifest("churn", 2));
    assertThat(client.manifest("churn", 9L)).isEmpty();
    assertThat(client.manifest("nothing", 1L)).isEmpty();
    HttpResponse<String> page = get("api/v1/models/churn/versions?offset=1&limit=1");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.body())
        .contains("\"total\":3")
        .contains("\"version\":2")
        .doesNotContain("\"version\":3");
    assertThat(get("api/v1/models/nothing/versions").statusCode()).isEqualTo(404);
    assertThat(get("api/v1/models/churn/versions/9").statusCode()).isEqualTo(404);
  }

  @Test
  void ranksAPipelinesCandidates() throws Exception {
    store.publish(candidateManifest("shop.a", "a", 0.8), Map.of(ModelStore.PARAMETERS, parameters));
    store.publish(candidateManifest("shop.b", "b", 0.9), Map.of(ModelStore.PARAMETERS, parameters));
    HttpResponse<String> response = get("api/v1/models/shop/candidates");
    assertThat(response.statusCode()).isEqualTo(200);
    com.fasterxml.jackson.databind.JsonNode ranking =
        new com.fasterxml.jackson.databind.ObjectMapper()
            .readTree(response.body())
            .get("rankings")
            .get(0);
    assertThat(ranking.get("metric").asText()).isEqualTo("accuracy");
    assertThat(ranking.get("best").asText()).isEqualTo("shop.b");
    assertThat(ranking.get("segment").isNull()).isTrue();
    assertThat(ranking.get("entries").get(0).get("model").asText()).isEqualTo("shop.b");
    assertThat(ranking.get("entries").get(0).get("value").asDouble()).isEqualTo(0.9);
    assertThat(
            ranking.get("entries").get(0).get("settings").get("training.optimizer.type").asText())
        .isEqualTo("b");
    assertThat(ranking.get("entries").get(1).get("model").asText()).isEqualTo("shop.a");
    assertThat(ranking.get("entries").get(1).get("pruned").isNull()).isTrue();
    HttpResponse<String> none = get("api/v1/models/churn/candidates");
    assertThat(none.statusCode()).isEqualTo(404);
    assertThat(none.body()).contains("no candidate models of pipeline churn");
  }

  @Test
  void saysWhyACandidateWasPruned() throws Exception {
    store.publish(candidateManifest("shop.a", "a", 0.8), Map.of(ModelStore.PARAMETERS, parameters));
    store.publish(
        candidateManifest("shop.b", "b", 0.9, 60_000), Map.of(ModelStore.PARAMETERS, parameters));
    Pruning pruning = new Pruning(60_000, 1, "round 1: mean accuracy 0.8000 over 1 window, 2 of 2");
    store.markPruned("shop.a", pruning);

    HttpResponse<String> response = get("api/v1/models/shop.a/pruning");
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(Pruning.fromJson(response.body().getBytes(StandardCharsets.UTF_8)))
        .isEqualTo(pruning);
    assertThat(client.pruning("shop.a")).contains(pruning);
    assertThat(client.pruning("shop.b")).isEmpty();
    HttpResponse<String> notPruned = get("api/v1/models/shop.b/pruning");
    assertThat(notPruned.statusCode()).isEqualTo(404);
    assertThat(notPruned.body()).contains("model shop.b was not pruned while training");

    com.fasterxml.jackson.databind.JsonNode entries =
        new com.fasterxml.jackson.databind.ObjectMapper()
            .readTree(get("api/v1/models/shop/candidates").body())
            .at("/rankings/0/entries");
    assertThat(entries.get(0).get("model").asText()).isEqualTo("shop.b");
    assertThat(entries.get(0).get("pruned").isNull()).isTrue();
    assertThat(entries.get(1).get("model").asText()).isEqualTo("shop.a");
    assertThat(entries.get(1).get("current").asBoolean()).isFalse();
    assertThat(entries.get(1).at("/pruned/round").asInt()).isEqualTo(1);
    assertThat(entries.get(1).at("/pruned/windowEnd").asLong()).isEqualTo(60_000);
    assertThat(entries.get(1).at("/pruned/reason").asText()).isEqualTo(pruning.reason());
  }

  @Test
  void downloadsWithEtagAndRange() throws Exception {
    String path = "api/v1/models/churn/versions/2/files/model.safetensors";
    HttpResponse<byte[]> whole = getBytes(path, Map.of());
    assertThat(whole.statusCode()).isEqualTo(200);
    assertThat(whole.body()).isEqualTo(parameters);
    String sha256 =
        store.manifest("churn", 2).orElseThrow().files().get(ModelStore.PARAMETERS).sha256();
    assertThat(whole.headers().firstValue("ETag")).contains("\"" + sha256 + "\"");

    HttpResponse<byte[]> cached = getBytes(path, Map.of("If-None-Match", "\"" + sha256 + "\""));
    assertThat(cached.statusCode()).isEqualTo(304);
    assertThat(cached.body()).isEmpty();

    HttpResponse<byte[]> part = getBytes(path, Map.of("Range", "bytes=100-199"));
    assertThat(part.statusCode()).isEqualTo(206);
    assertThat(part.headers().firstValue("Content-Range")).contains("bytes 100-199/10000");
    assertThat(part.body()).isEqualTo(java.util.Arrays.copyOfRange(parameters, 100, 200));
    HttpResponse<byte[]> tail = getBytes(path, Map.of("Range", "bytes=-10"));
    assertThat(tail.body()).isEqualTo(java.util.Arrays.copyOfRange(parameters, 9990, 10000));
    assertThat(getBytes(path, Map.of("Range", "bytes=20000-")).statusCode()).isEqualTo(416);
    // A range for another version of the file is ignored: the whole file comes back.
    assertThat(getBytes(path, Map.of("Range", "bytes=0-9", "If-Range", "\"old\"")).statusCode())
        .isEqualTo(200);

    Path downloaded = root.resolveSibling(root.getFileName() + "-download").resolve("v3");
    Manifest manifest = client.download("churn", "latest", downloaded);
    assertThat(manifest.version()).isEqualTo(3);
    assertThat(Files.readAllBytes(downloaded.resolve(ModelStore.PARAMETERS))).isEqualTo(parameters);
    assertThat(downloaded.resolve(ModelStore.MANIFEST)).exists();

    // A file that no longer matches its manifest is refused, and nothing is left half-downloaded.
    Files.write(
        store.versionDirectory("churn", 1).resolve(ModelStore.PARAMETERS), new byte[] {1, 2});
    Path refused = downloaded.resolveSibling("v1");
    assertThatThrownBy(() -> client.download("churn", "1", refused))
        .hasMessageContaining("does not match its manifest");
    assertThat(refused).doesNotExist();
  }

  @Test
  void aliasesMoveByCompareAndSetWithTheToken() throws Exception {
    assertThat(client.alias("churn", "champion")).isEmpty();
    client.promote("churn", "champion", 2, null);
    assertThat(client.alias("churn", "champion")).contains(2L);
    assertThatThrownBy(() -> client.promote("churn", "champion", 3, 1L))
        .isInstanceOfSatisfying(
            ModelStoreClient.AliasConflictException.class,
            e -> {
              assertThat(e.status()).isEqualTo(409);
              assertThat(e.current()).isEqualTo(2L);
            });
    client.promote("churn", "champion", 3, 2L);
    client.promote("churn", "champion", 1, 3L); // roll back
    assertThat(store.alias("churn", "champion")).contains(1L);

    HttpResponse<String> anonymous =
        put("api/v1/models/churn/aliases/champion", "{\"version\": 2}", null);
    assertThat(anonymous.statusCode()).isEqualTo(401);
    assertThat(anonymous.headers().firstValue("WWW-Authenticate")).isPresent();
    assertThat(
            put("api/v1/models/churn/aliases/champion", "{\"version\": 2}", "wrong").statusCode())
        .isEqualTo(401);
    assertThat(put("api/v1/models/churn/aliases/champion", "{\"version\": 9}", TOKEN).statusCode())
        .isEqualTo(404);
    assertThat(put("api/v1/models/churn/aliases/champion", "x".repeat(10_000), TOKEN).statusCode())
        .isEqualTo(413);
    assertThat(put("api/v1/models/churn/aliases/champion", "not json", TOKEN).statusCode())
        .isEqualTo(400);
    assertThat(store.alias("churn", "champion")).contains(1L);
  }

  @Test
  void refusesPathTraversalAndBadNames() throws Exception {
    for (String path :
        List.of(
            "api/v1/models/..%2F..%2Fetc/versions",
            "api/v1/models/churn/versions/1/files/..%2F..%2Faliases%2Flatest",
            "api/v1/models/churn/versions/1/files/%2e%2e",
            "api/v1/models/.hidden/versions",
            "api/v1/models/churn/versions/-1",
            "api/v1/models/churn/versions/99999999999999999999999",
            "api/v1/models/churn/versions?limit=100000")) {
      HttpResponse<String> response = get(path);
      assertThat(response.statusCode()).as(path).isEqualTo(400);
      assertThat(response.body()).as(path).contains("\"error\"");
    }
    assertThat(get("api/v1/models/churn/versions/1/files/" + "a".repeat(3000)).statusCode())
        .isEqualTo(414);
    assertThat(get("api/v1/models/churn/versions/1/files/secret.txt").statusCode()).isEqualTo(404);
  }

  @Test
  void eventStreamAnnouncesNewVersionsAndAliasMoves() throws Exception {
    BlockingQueue<ModelStoreClient.Event> events = new LinkedBlockingQueue<>();
    try (Closeable watch = client.watch("churn", events::add)) {
      Thread.sleep(300);
      store.publish(
          manifest("churn", 4, 0.8),
          Map.of(ModelStore.PARAMETERS, parameters, ModelStore.FEATURIZER, "{}".getBytes()));
      ModelStoreClient.Event version = nextOf(events, "version");
      assertThat(version.data().path("version").asLong()).isEqualTo(4);
      assertThat(version.data().path("metrics").path("window").path("accuracy").asDouble())
          .isEqualTo(0.8);
      client.promote("churn", "champion", 4, null);
      ModelStoreClient.Event alias = nextOf(events, "alias");
      assertThat(alias.data().path("alias").asText()).isIn("champion", "latest");
    }
  }

  @Test
  void servesThePageAndPrometheusMetrics() throws Exception {
    HttpResponse<String> page = get("");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("Content-Type")).contains("text/html; charset=utf-8");
    assertThat(page.body()).contains("<title>StreamLearn models</title>").contains("api/v1/models");
    get("api/v1/models");
    HttpResponse<String> metrics = get("metrics");
    assertThat(metrics.body())
        .contains("streamlearn_http_requests_total{route=\"models\",status=\"200\"} 1")
        .contains("streamlearn_model_latest_version{model=\"churn\"} 3");
  }

  private static ModelStoreClient.Event nextOf(
      BlockingQueue<ModelStoreClient.Event> events, String type) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      ModelStoreClient.Event event = events.poll(100, TimeUnit.MILLISECONDS);
      if (event != null && event.type().equals(type)) {
        return event;
      }
    }
    throw new AssertionError("no " + type + " event within 10 s");
  }

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(server.url() + path)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<byte[]> getBytes(String path, Map<String, String> headers) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(server.url() + path)).GET();
    headers.forEach(request::header);
    return http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  private HttpResponse<String> put(String path, String body, String token) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(server.url() + path))
            .PUT(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
