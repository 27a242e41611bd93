package dev.streamlearn.store.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.streamlearn.store.CandidateRanking;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ManifestJson;
import dev.streamlearn.store.ModelNames;
import dev.streamlearn.store.ModelStore;
import dev.streamlearn.store.Pruning;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves a {@link ModelStore} over HTTP on the JDK's own server ({@code com.sun.net.httpserver}):
 *
 * <pre>
 * GET  /api/v1/models                                   models with latest version and aliases
 * GET  /api/v1/models/{model}/versions?offset&amp;limit     versions with their metrics (and
 *                                                      validation window, segment, candidate)
 * GET  /api/v1/models/{model}/versions/{version}        manifest ({version} may be an alias)
 * GET  /api/v1/models/{model}/versions/{version}/files/{file}   download: ETag, Range, sha256
 * GET  /api/v1/models/{pipeline}/candidates            its hyper-parameter candidates, ranked
 * GET  /api/v1/models/{model}/pruning                 why a candidate stopped training (404: it
 *                                                      was not pruned)
 * GET  /api/v1/models/{model}/aliases/{alias}           the version it points at
 * PUT  /api/v1/models/{model}/aliases/{alias}           {"version": n, "expected": m|null}: move
 *                                                       by compare-and-set (bearer token; 409 when
 *                                                       the alias moved meanwhile)
 * GET  /api/v1/models/{model}/events                    server-sent events: version, alias
 * GET  /                                                web page: models, versions, curves
 * GET  /metrics                                         Prometheus text format
 * </pre>
 *
 * Names and versions are validated before they reach the store (400), request lines and bodies are
 * bounded (414, 413), writes need the bearer token (401; 403 when the server has none).
 */
public final class ModelStoreServer implements AutoCloseable {

  public static final String API = "/api/v1/models";
  static final int MAX_PATH = 2048;
  static final int MAX_BODY = 4096;
  static final int MAX_EVENT_CLIENTS = 64;

  private static final Logger LOG = LoggerFactory.getLogger(ModelStoreServer.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern RANGE = Pattern.compile("bytes=(\\d*)-(\\d*)");

  private final ModelStore store;
  private final byte[] token;
  private final HttpServer server;
  private final ExecutorService workers;
  private final ScheduledExecutorService watcher;
  private final List<EventClient> eventClients = new CopyOnWriteArrayList<>();
  private final Map<String, Snapshot> seen = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
  private final LongAdder bytesSent = new LongAdder();
  private final LongAdder requestNanos = new LongAdder();
  private final AtomicLong requestCount = new AtomicLong();
  private final AtomicInteger eventClientCount = new AtomicInteger();

  /** What the watcher last saw of a model, to tell new versions and alias moves. */
  private record Snapshot(List<Long> versions, Map<String, Long> aliases) {
    long latestVersion() {
      return versions.isEmpty() ? 0 : versions.get(versions.size() - 1);
    }
  }

  private ModelStoreServer(ModelStore store, InetSocketAddress address, String token, int threads)
      throws IOException {
    this.store = store;
    this.token = token == null || token.isEmpty() ? null : token.getBytes(StandardCharsets.UTF_8);
    this.server = HttpServer.create(address, 256);
    this.workers =
        Executors.newFixedThreadPool(
            threads,
            runnable -> {
              Thread thread = new Thread(runnable, "model-store-http");
              thread.setDaemon(true);
              return thread;
            });
    this.watcher =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "model-store-watch");
              thread.setDaemon(true);
              return thread;
            });
    server.setExecutor(workers);
    server.createContext("/", this::handle);
  }

  /**
   * Starts serving.
   *
   * @param token the bearer token writes need; null or empty turns writes off
   */
  public static ModelStoreServer start(ModelStore store, InetSocketAddress address, String token)
      throws IOException {
    ModelStoreServer server = new ModelStoreServer(store, address, token, 96);
    server.watchStore();
    server.server.start();
    LOG.info("model store {} served at {}", store.location(), server.url());
    return server;
  }

  public int port() {
    return server.getAddress().getPort();
  }

  public String url() {
    String host =
        server.getAddress().getAddress().isAnyLocalAddress()
            ? "localhost"
            : server.getAddress().getHostString();
    return "http://" + host + ":" + port() + "/";
  }

  @Override
  public void close() {
    watcher.shutdownNow();
    for (EventClient client : eventClients) {
      client.close();
    }
    server.stop(0);
    workers.shutdownNow();
  }

  // ---- routing ----

  private void handle(HttpExchange exchange) throws IOException {
    long start = System.nanoTime();
    String route = "other";
    int status;
    try {
      String rawPath = exchange.getRequestURI().getRawPath();
      if (rawPath.length() > MAX_PATH) {
        status = error(exchange, 414, "the request path is longer than " + MAX_PATH);
      } else {
        List<String> parts = segments(rawPath);
        route = routeName(parts);
        status = dispatch(exchange, parts);
      }
    } catch (BadRequest e) {
      status = error(exchange, e.status, e.getMessage());
    } catch (IllegalArgumentException e) {
      status = error(exchange, 400, e.getMessage());
    } catch (NoSuchFileException e) {
      status = error(exchange, 404, "not found: " + e.getMessage());
    } catch (IOException e) {
      LOG.warn("request {} failed: {}", exchange.getRequestURI(), e.toString());
      status = error(exchange, 500, "the store failed: " + e.getMessage());
    } finally {
      exchange.close();
    }
    requests.computeIfAbsent(route + "\u0000" + status, k -> new LongAdder()).increment();
    requestNanos.add(System.nanoTime() - start);
    requestCount.incrementAndGet();
  }

  /** Path segments, each percent-decoded; a decoded segment may not hold a '/' or be '..'. */
  static List<String> segments(String rawPath) {
    List<String> parts = new ArrayList<>();
    for (String raw : rawPath.split("/")) {
      if (raw.isEmpty()) {
        continue;
      }
      String part = URLDecoder.decode(raw.replace("+", "%2B"), StandardCharsets.UTF_8);
      if (part.equals("..") || part.equals(".") || part.contains("/") || part.contains("\\")) {
        throw new BadRequest(400, "path segment '" + part + "' is not allowed");
      }
      parts.add(part);
    }
    return parts;
  }

  private static String routeName(List<String> parts) {
    if (parts.isEmpty()) {
      return "page";
    }
    if (parts.get(0).equals("metrics")) {
      return "metrics";
    }
    if (parts.size() >= 3 && parts.get(0).equals("api") && parts.get(1).equals("v1")) {
      return switch (parts.size()) {
        case 3 -> "models";
        case 5 -> parts.get(4);
        case 6 -> parts.get(4).equals("aliases") ? "alias" : "manifest";
        default -> "file";
      };
    }
    return "other";
  }

  private int dispatch(HttpExchange exchange, List<String> parts) throws IOException {
    String method = exchange.getRequestMethod();
    if (parts.isEmpty()) {
      requireGet(method);
      return send(exchange, 200, "text/html; charset=utf-8", WebPage.html());
    }
    if (parts.size() == 1 && parts.get(0).equals("metrics")) {
      requireGet(method);
      return send(
          exchange, 200, "text/plain; version=0.0.4", metrics().getBytes(StandardCharsets.UTF_8));
    }
    if (parts.size() < 3
        || !parts.get(0).equals("api")
        || !parts.get(1).equals("v1")
        || !parts.get(2).equals("models")) {
      throw new BadRequest(404, "no such resource; the API is under " + API);
    }
    if (parts.size() == 3) {
      requireGet(method);
      return sendJson(exchange, 200, models());
    }
    String model = ModelNames.checkModelName(parts.get(3));
    if (parts.size() == 5 && parts.get(4).equals("versions")) {
      requireGet(method);
      Map<String, String> query = query(exchange);
      int offset = intParameter(query, "offset", 0, 0, Integer.MAX_VALUE);
      int limit = intParameter(query, "limit", 100, 1, 1000);
      return sendJson(exchange, 200, versions(model, offset, limit));
    }
    if (parts.size() == 5 && parts.get(4).equals("candidates")) {
      requireGet(method);
      return sendJson(exchange, 200, candidates(model));
    }
    if (parts.size() == 5 && parts.get(4).equals("pruning")) {
      requireGet(method);
      Pruning pruning =
          store
              .pruning(model)
              .orElseThrow(
                  () -> new BadRequest(404, "model " + model + " was not pruned while training"));
      return sendJson(exchange, 200, JSON.valueToTree(pruning));
    }
    if (parts.size() == 5 && parts.get(4).equals("events")) {
      requireGet(method);
      return events(exchange, model);
    }
    if (parts.size() == 6 && parts.get(4).equals("versions")) {
      requireGet(method);
      long version = store.resolve(model, parts.get(5));
      Manifest manifest = manifestOf(model, version);
      return send(
          exchange,
          200,
          "application/json",
          ManifestJson.write(manifest).getBytes(StandardCharsets.UTF_8));
    }
    if (parts.size() == 8 && parts.get(4).equals("versions") && parts.get(6).equals("files")) {
      requireGet(method);
      return download(exchange, model, store.resolve(model, parts.get(5)), parts.get(7));
    }
    if (parts.size() == 6 && parts.get(4).equals("aliases")) {
      String alias = ModelNames.checkAlias(parts.get(5));
      if (method.equals("GET")) {
        long version =
            store
                .alias(model, alias)
                .orElseThrow(
                    () -> new BadRequest(404, "model " + model + " has no alias " + alias));
        ObjectNode body =
            JSON.createObjectNode().put("model", model).put("alias", alias).put("version", version);
        return sendJson(exchange, 200, body);
      }
      if (method.equals("PUT")) {
        return moveAlias(exchange, model, alias);
      }
      throw new BadRequest(405, "use GET or PUT");
    }
    throw new BadRequest(404, "no such resource");
  }

  private static void requireGet(String method) {
    if (!method.equals("GET") && !method.equals("HEAD")) {
      throw new BadRequest(405, "only GET is allowed here");
    }
  }

  // ---- resources ----

  private JsonNode models() throws IOException {
    ArrayNode list = JSON.createArrayNode();
    for (String model : store.models()) {
      List<Long> versions = store.versions(model);
      ObjectNode node = list.addObject();
      node.put("name", model);
      node.put("versions", versions.size());
      if (versions.isEmpty()) {
        node.putNull("latest");
      } else {
        node.put("latest", versions.get(versions.size() - 1));
      }
      node.set("aliases", JSON.valueToTree(store.aliases(model)));
    }
    return JSON.createObjectNode().set("models", list);
  }

  private JsonNode versions(String model, int offset, int limit) throws IOException {
    List<Long> versions = store.versions(model);
    if (versions.isEmpty() && !store.models().contains(model)) {
      throw new BadRequest(404, "no model " + model);
    }
    ObjectNode body = JSON.createObjectNode();
    body.put("model", model);
    body.put("total", versions.size());
    body.put("offset", offset);
    ArrayNode list = body.putArray("versions");
    for (int i = offset; i < Math.min(versions.size(), offset + (long) limit); i++) {
      Optional<Manifest> manifest = store.manifest(model, versions.get(i));
      if (manifest.isEmpty()) {
        continue;
      }
      ObjectNode node = list.addObject();
      node.put("version", manifest.get().version());
      node.put("created", manifest.get().created());
      node.set("metrics", JSON.valueToTree(manifest.get().metrics()));
      if (manifest.get().validationWindow() != null) {
        node.set("validationWindow", JSON.valueToTree(manifest.get().validationWindow()));
      }
      if (manifest.get().segment() != null) {
        node.set("segment", JSON.valueToTree(manifest.get().segment()));
      }
      if (manifest.get().candidate() != null) {
        node.set("candidate", JSON.valueToTree(manifest.get().candidate()));
      }
    }
    body.set("aliases", JSON.valueToTree(store.aliases(model)));
    return body;
  }

  /**
   * The hyper-parameter candidates of pipeline {@code pipeline} (its models {@code
   * <pipeline>.<candidate>}, or {@code <pipeline>.<segment>.<candidate>}), ranked per segment by
   * {@link CandidateRanking}, each by its newest version; a candidate pruned while the stream ran
   * with why ({@code pruned}: window end, round, reason; null for the others).
   */
  private JsonNode candidates(String pipeline) throws IOException {
    List<Manifest> newest = CandidateRanking.newestCandidates(store, pipeline);
    if (newest.isEmpty()) {
      throw new BadRequest(404, "no candidate models of pipeline " + pipeline);
    }
    ObjectNode body = JSON.createObjectNode();
    body.put("pipeline", pipeline);
    ArrayNode rankings = body.putArray("rankings");
    var prunings = CandidateRanking.prunings(store, newest);
    for (var group : CandidateRanking.bySegment(newest, prunings).entrySet()) {
      ObjectNode ranking = rankings.addObject();
      ranking.set("segment", JSON.valueToTree(group.getKey()));
      ranking.put("metric", group.getValue().metric());
      var best = group.getValue().best();
      if (best.isPresent()) {
        ranking.put("best", best.get().model());
      } else {
        ranking.putNull("best");
      }
      ArrayNode entries = ranking.putArray("entries");
      for (CandidateRanking.Entry entry : group.getValue().entries()) {
        ObjectNode node = entries.addObject();
        node.put("model", entry.model());
        node.put("candidate", entry.candidate());
        node.set("settings", JSON.valueToTree(entry.settings()));
        node.put("version", entry.version());
        node.set("validationWindow", JSON.valueToTree(entry.window()));
        node.put("heldOut", entry.heldOut());
        putNumber(node, "value", entry.value());
        putNumber(node, "sinceStart", entry.sinceStart());
        node.put("current", entry.current());
        node.set("pruned", JSON.valueToTree(entry.pruned()));
      }
    }
    return body;
  }

  /** A number, or null where it is not one (JSON has no NaN). */
  private static void putNumber(ObjectNode node, String name, double value) {
    if (Double.isFinite(value)) {
      node.put(name, value);
    } else {
      node.putNull(name);
    }
  }

  private Manifest manifestOf(String model, long version) throws IOException {
    return store
        .manifest(model, version)
        .orElseThrow(() -> new BadRequest(404, "model " + model + " has no version " + version));
  }

  private int download(HttpExchange exchange, String model, long version, String file)
      throws IOException {
    String name = ModelNames.checkFileName(file);
    Manifest manifest = manifestOf(model, version);
    byte[] bytes;
    String sha256;
    if (name.equals(ModelStore.MANIFEST)) {
      bytes = ManifestJson.write(manifest).getBytes(StandardCharsets.UTF_8);
      sha256 = sha256(bytes);
    } else {
      Manifest.FileEntry entry = manifest.files() == null ? null : manifest.files().get(name);
      if (entry == null) {
        throw new BadRequest(404, "version " + version + " of " + model + " has no file " + name);
      }
      bytes = store.readFile(model, version, name);
      sha256 = entry.sha256();
    }
    String etag = "\"" + sha256 + "\"";
    var headers = exchange.getResponseHeaders();
    headers.set("ETag", etag);
    headers.set("X-Checksum-Sha256", sha256);
    headers.set("Accept-Ranges", "bytes");
    // Versions are never rewritten: a download may be cached for good.
    headers.set("Cache-Control", "public, max-age=31536000, immutable");
    String ifNoneMatch = exchange.getRequestHeaders().getFirst("If-None-Match");
    if (ifNoneMatch != null && (ifNoneMatch.equals(etag) || ifNoneMatch.equals("*"))) {
      exchange.sendResponseHeaders(304, -1);
      return 304;
    }
    String type = name.endsWith(".json") ? "application/json" : "application/octet-stream";
    String range = exchange.getRequestHeaders().getFirst("Range");
    String ifRange = exchange.getRequestHeaders().getFirst("If-Range");
    if (range != null && (ifRange == null || ifRange.equals(etag))) {
      Matcher matcher = RANGE.matcher(range.trim());
      long length = bytes.length;
      long from;
      long to;
      if (!matcher.matches() || (matcher.group(1).isEmpty() && matcher.group(2).isEmpty())) {
        return unsatisfiable(exchange, length);
      }
      if (matcher.group(1).isEmpty()) {
        long suffix = Long.parseLong(matcher.group(2));
        from = Math.max(0, length - suffix);
        to = length - 1;
      } else {
        from = Long.parseLong(matcher.group(1));
        to =
            matcher.group(2).isEmpty()
                ? length - 1
                : Math.min(length - 1, Long.parseLong(matcher.group(2)));
      }
      if (from >= length || from > to) {
        return unsatisfiable(exchange, length);
      }
      headers.set("Content-Range", "bytes " + from + "-" + to + "/" + length);
      byte[] part = java.util.Arrays.copyOfRange(bytes, (int) from, (int) to + 1);
      return send(exchange, 206, type, part);
    }
    return send(exchange, 200, type, bytes);
  }

  private int unsatisfiable(HttpExchange exchange, long length) throws IOException {
    exchange.getResponseHeaders().set("Content-Range", "bytes */" + length);
    return error(exchange, 416, "the range is not satisfiable for " + length + " bytes");
  }

  private int moveAlias(HttpExchange exchange, String model, String alias) throws IOException {
    if (token == null) {
      return error(exchange, 403, "writes are off: the server was started without a token");
    }
    String authorization = exchange.getRequestHeaders().getFirst("Authorization");
    if (authorization == null
        || !authorization.startsWith("Bearer ")
        || !MessageDigest.isEqual(
            authorization.substring(7).trim().getBytes(StandardCharsets.UTF_8), token)) {
      exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"streamlearn\"");
      return error(exchange, 401, "moving an alias needs the bearer token");
    }
    byte[] body = readBounded(exchange.getRequestBody());
    JsonNode request;
    try {
      request = JSON.readTree(body);
    } catch (IOException e) {
      throw new BadRequest(400, "the body is not JSON: {\"version\": n, \"expected\": m or null}");
    }
    if (request == null || !request.path("version").canConvertToLong()) {
      throw new BadRequest(400, "the body needs \"version\": the version to point at");
    }
    long version = ModelNames.checkVersion(request.path("version").asLong());
    manifestOf(model, version);
    boolean moved;
    if (request.has("expected")) {
      Long expected = request.get("expected").isNull() ? null : request.get("expected").asLong();
      moved = store.compareAndSetAlias(model, alias, expected, version);
    } else {
      store.setAlias(model, alias, version);
      moved = true;
    }
    Optional<Long> current = store.alias(model, alias);
    ObjectNode response = JSON.createObjectNode().put("model", model).put("alias", alias);
    current.ifPresent(value -> response.put("version", value));
    if (!moved) {
      response.put("error", "the alias points at another version than expected; read it and retry");
      return sendJson(exchange, 409, response);
    }
    checkForChanges(model);
    return sendJson(exchange, 200, response);
  }

  private static byte[] readBounded(InputStream in) throws IOException {
    byte[] body = in.readNBytes(MAX_BODY + 1);
    if (body.length > MAX_BODY) {
      throw new BadRequest(413, "the request body is larger than " + MAX_BODY + " bytes");
    }
    return body;
  }

  // ---- server-sent events ----

  private int events(HttpExchange exchange, String model) throws IOException {
    if (eventClientCount.incrementAndGet() > MAX_EVENT_CLIENTS) {
      eventClientCount.decrementAndGet();
      return error(exchange, 503, "too many event streams open; at most " + MAX_EVENT_CLIENTS);
    }
    try {
      exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
      exchange.getResponseHeaders().set("Cache-Control", "no-cache");
      exchange.sendResponseHeaders(200, 0);
      EventClient client = new EventClient(model, exchange.getResponseBody());
      eventClients.add(client);
      client.send(": streaming events of " + model + "\n\n");
      // This worker holds the connection until the client leaves or the server stops.
      client.awaitClose();
      eventClients.remove(client);
      return 200;
    } finally {
      eventClientCount.decrementAndGet();
    }
  }

  private void watchStore() {
    try {
      for (String model : store.models()) {
        seen.put(model, snapshot(model));
      }
    } catch (IOException e) {
      LOG.warn("cannot read the store: {}", e.toString());
    }
    watcher.scheduleWithFixedDelay(this::checkAll, 250, 250, TimeUnit.MILLISECONDS);
    watcher.scheduleWithFixedDelay(
        () -> broadcast(null, ": keep-alive\n\n"), 15, 15, TimeUnit.SECONDS);
  }

  private void checkAll() {
    try {
      for (String model : store.models()) {
        checkForChanges(model);
      }
    } catch (IOException | RuntimeException e) {
      LOG.debug("store watch: {}", e.toString());
    }
  }

  private synchronized void checkForChanges(String model) throws IOException {
    Snapshot now = snapshot(model);
    Snapshot before = seen.getOrDefault(model, new Snapshot(List.of(), Map.of()));
    seen.put(model, now);
    if (now.latestVersion() > before.latestVersion()) {
      for (long version : now.versions()) {
        if (version > before.latestVersion()) {
          ObjectNode data = JSON.createObjectNode().put("model", model).put("version", version);
          store
              .manifest(model, version)
              .ifPresent(manifest -> data.set("metrics", JSON.valueToTree(manifest.metrics())));
          broadcast(model, "event: version\ndata: " + JSON.writeValueAsString(data) + "\n\n");
        }
      }
    }
    for (Map.Entry<String, Long> alias : now.aliases().entrySet()) {
      if (!alias.getValue().equals(before.aliases().get(alias.getKey()))) {
        ObjectNode data =
            JSON.createObjectNode()
                .put("model", model)
                .put("alias", alias.getKey())
                .put("version", alias.getValue());
        broadcast(model, "event: alias\ndata: " + JSON.writeValueAsString(data) + "\n\n");
      }
    }
  }

  private Snapshot snapshot(String model) throws IOException {
    return new Snapshot(store.versions(model), store.aliases(model));
  }

  private void broadcast(String model, String message) {
    for (EventClient client : eventClients) {
      if (model == null || client.model.equals(model)) {
        client.send(message);
      }
    }
  }

  /** One open event stream. */
  private static final class EventClient {
    final String model;
    private final OutputStream out;
    private final java.util.concurrent.CountDownLatch closed =
        new java.util.concurrent.CountDownLatch(1);

    EventClient(String model, OutputStream out) {
      this.model = model;
      this.out = out;
    }

    synchronized void send(String message) {
      try {
        out.write(message.getBytes(StandardCharsets.UTF_8));
        out.flush();
      } catch (IOException e) {
        close();
      }
    }

    void awaitClose() {
      try {
        closed.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    void close() {
      closed.countDown();
    }
  }

  // ---- metrics ----

  private String metrics() throws IOException {
    StringBuilder text = new StringBuilder();
    text.append("# HELP streamlearn_http_requests_total HTTP requests by route and status.\n");
    text.append("# TYPE streamlearn_http_requests_total counter\n");
    new java.util.TreeMap<>(requests)
        .forEach(
            (key, count) -> {
              String[] parts = key.split("\u0000");
              text.append("streamlearn_http_requests_total{route=\"")
                  .append(parts[0])
                  .append("\",status=\"")
                  .append(parts[1])
                  .append("\"} ")
                  .append(count.sum())
                  .append('\n');
            });
    text.append("# HELP streamlearn_http_request_seconds Time spent answering requests.\n");
    text.append("# TYPE streamlearn_http_request_seconds summary\n");
    text.append("streamlearn_http_request_seconds_sum ")
        .append(requestNanos.sum() / 1e9)
        .append('\n');
    text.append("streamlearn_http_request_seconds_count ").append(requestCount.get()).append('\n');
    text.append("# HELP streamlearn_http_sent_bytes_total Response bytes sent.\n");
    text.append("# TYPE streamlearn_http_sent_bytes_total counter\n");
    text.append("streamlearn_http_sent_bytes_total ").append(bytesSent.sum()).append('\n');
    text.append("# HELP streamlearn_http_event_streams Open server-sent event streams.\n");
    text.append("# TYPE streamlearn_http_event_streams gauge\n");
    text.append("streamlearn_http_event_streams ").append(eventClientCount.get()).append('\n');
    text.append("# HELP streamlearn_model_latest_version The newest version of each model.\n");
    text.append("# TYPE streamlearn_model_latest_version gauge\n");
    for (String model : store.models()) {
      List<Long> versions = store.versions(model);
      text.append("streamlearn_model_latest_version{model=\"")
          .append(model)
          .append("\"} ")
          .append(versions.isEmpty() ? 0 : versions.get(versions.size() - 1))
          .append('\n');
    }
    return text.toString();
  }

  // ---- responses ----

  private int sendJson(HttpExchange exchange, int status, JsonNode body) throws IOException {
    return send(exchange, status, "application/json", JSON.writeValueAsBytes(body));
  }

  private int send(HttpExchange exchange, int status, String type, byte[] body) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", type);
    boolean head = exchange.getRequestMethod().equals("HEAD");
    exchange.sendResponseHeaders(status, head ? -1 : body.length == 0 ? -1 : body.length);
    if (!head && body.length > 0) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
      bytesSent.add(body.length);
    }
    return status;
  }

  private int error(HttpExchange exchange, int status, String message) throws IOException {
    ObjectNode body = JSON.createObjectNode().put("status", status).put("error", message);
    return sendJson(exchange, status, body);
  }

  private static Map<String, String> query(HttpExchange exchange) {
    Map<String, String> values = new java.util.HashMap<>();
    String query = exchange.getRequestURI().getRawQuery();
    if (query == null) {
      return values;
    }
    for (String pair : query.split("&")) {
      int equals = pair.indexOf('=');
      if (equals > 0) {
        values.put(
            URLDecoder.decode(pair.substring(0, equals), StandardCharsets.UTF_8),
            URLDecoder.decode(pair.substring(equals + 1), StandardCharsets.UTF_8));
      }
    }
    return values;
  }

  private static int intParameter(
      Map<String, String> query, String name, int fallback, int min, int max) {
    String value = query.get(name);
    if (value == null) {
      return fallback;
    }
    try {
      int parsed = Integer.parseInt(value);
      if (parsed < min || parsed > max) {
        throw new NumberFormatException();
      }
      return parsed;
    } catch (NumberFormatException e) {
      throw new BadRequest(
          400,
          "query parameter "
              + name
              + "="
              + value
              + " is not a whole number in ["
              + min
              + ", "
              + max
              + "]");
    }
  }

  static String sha256(byte[] bytes) {
    try {
      return java.util.HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A request the server answers with an error status and message. */
  static final class BadRequest extends RuntimeException {
    final int status;

    BadRequest(int status, String message) {
      super(message, null, false, false);
      this.status = status;
    }
  }
}
