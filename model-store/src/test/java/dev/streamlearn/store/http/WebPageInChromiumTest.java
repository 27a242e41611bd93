package dev.streamlearn.store.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.store.LocalModelStore;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ModelStore;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server's web page, rendered by headless Chromium (Debian's {@code chromium} package, which
 * {@code .ci/run} installs): it lists every version with its alias and draws the held-out curve.
 */
class WebPageInChromiumTest {

  @TempDir Path root;

  @Test
  void listsTheVersionsAndDrawsTheirCurve() throws Exception {
    Optional<String> chromium = chromium();
    Assumptions.assumeTrue(
        chromium.isPresent(), "no chromium on this machine (apt-get install chromium)");
    LocalModelStore store = new LocalModelStore(root.resolve("store"));
    double[] accuracy = {0.61, 0.72, 0.70, 0.81};
    for (int v = 1; v <= accuracy.length; v++) {
      Manifest manifest = ModelStoreServerTest.manifest("churn", v, accuracy[v - 1]);
      if (v == 3) {
        // The window of version 3 saw one input shift.
        Map<String, Map<String, Double>> metrics =
            new java.util.LinkedHashMap<>(manifest.metrics());
        metrics.put("inputDrift", Map.of("amount", 0.42, "x", 0.03));
        manifest =
            new Manifest(
                manifest.formatVersion(),
                manifest.name(),
                manifest.segment(),
                manifest.candidate(),
                manifest.version(),
                manifest.parentVersion(),
                manifest.created(),
                manifest.task(),
                manifest.classes(),
                manifest.featureNames(),
                manifest.specHash(),
                manifest.inputSchemaFingerprint(),
                manifest.backend(),
                manifest.precision(),
                metrics,
                manifest.validationWindow(),
                manifest.lineage(),
                manifest.checkpointId(),
                manifest.files());
      }
      store.publish(manifest, Map.of(ModelStore.PARAMETERS, new byte[] {1}));
    }
    store.setAlias("churn", "champion", 4);
    for (String candidate : List.of("adam", "sgd")) {
      store.publish(
          ModelStoreServerTest.candidateManifest(
              "churn." + candidate, candidate, candidate.equals("sgd") ? 0.95 : 0.9, 60_000),
          Map.of(ModelStore.PARAMETERS, new byte[] {1}));
    }
    // A third, pruned after the window before.
    store.publish(
        ModelStoreServerTest.candidateManifest("churn.rmsprop", "rmsprop", 0.7, 0),
        Map.of(ModelStore.PARAMETERS, new byte[] {1}));
    store.markPruned(
        "churn.rmsprop",
        new dev.streamlearn.store.Pruning(60_000, 1, "round 1: mean accuracy 0.7000, 3 of 3"));
    try (ModelStoreServer server =
        ModelStoreServer.start(store, new InetSocketAddress("127.0.0.1", 0), null)) {
      Process process =
          new ProcessBuilder(
                  chromium.get(),
                  "--headless",
                  "--no-sandbox",
                  "--disable-gpu",
                  "--disable-dev-shm-usage",
                  "--user-data-dir=" + root.resolve("profile"),
                  "--virtual-time-budget=10000",
                  "--dump-dom",
                  // Drawn once: open event streams would keep the page from ever being idle.
                  server.url() + "?live=0")
              .redirectOutput(root.resolve("dom.html").toFile())
              .redirectError(root.resolve("chromium.log").toFile())
              .start();
      if (!process.waitFor(90, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new AssertionError("chromium did not finish within 90 s");
      }
      String dom = Files.readString(root.resolve("dom.html"), StandardCharsets.UTF_8);
      assertThat(dom)
          .as(Files.readString(root.resolve("chromium.log")))
          .contains("data-rendered=\"true\"")
          .contains("churn — 4 versions");
      for (int v = 1; v <= 4; v++) {
        assertThat(dom).contains("<td>v" + v);
      }
      assertThat(dom).contains("<span class=\"alias\">champion</span>");
      assertThat(dom).contains("<td>amount 0.42 (shifted)</td>").contains("input that moved most");
      assertThat(dom)
          .contains("churn.adam — 1 versions")
          .contains(
              "candidate adam, compared by held-out accuracy: training.optimizer.type = adam");
      // The candidates ranked, best first.
      assertThat(dom).contains("Candidates of churn, by held-out accuracy");
      Matcher ranked =
          Pattern.compile("<tr class=\"candidate\"><td>(\\d)</td><td>([^<]+)</td>").matcher(dom);
      List<String> order = new java.util.ArrayList<>();
      while (ranked.find()) {
        order.add(ranked.group(1) + " " + ranked.group(2));
      }
      assertThat(order).containsExactly("1 churn.sgd", "2 churn.adam");
      assertThat(dom)
          .contains("<th>pruned while the stream ran</th>")
          .contains(
              "<tr class=\"candidate\"><td>-</td><td>churn.rmsprop</td><td>v1</td><td>0.7000</td>")
          .contains("<td>round 1: mean accuracy 0.7000, 3 of 3</td></tr>");
      Matcher curve =
          Pattern.compile("id=\"curve-churn\"[^>]*>\\s*<polyline points=\"([^\"]+)\"").matcher(dom);
      assertThat(curve.find()).as("the curve is drawn").isTrue();
      List<String> points = List.of(curve.group(1).split(" "));
      assertThat(points).hasSize(4);
      // Higher accuracy is drawn higher (smaller y): v4 above v1, v3 below v2.
      assertThat(y(points.get(3))).isLessThan(y(points.get(0)));
      assertThat(y(points.get(2))).isGreaterThan(y(points.get(1)));
    }
  }

  private static double y(String point) {
    return Double.parseDouble(point.split(",")[1]);
  }

  private static Optional<String> chromium() {
    for (String name : List.of("chromium", "chromium-browser", "google-chrome")) {
      for (String directory : System.getenv().getOrDefault("PATH", "").split(":")) {
        Path candidate = Path.of(directory, name);
        if (Files.isExecutable(candidate)) {
          return Optional.of(candidate.toString());
        }
      }
    }
    return Optional.empty();
  }
}
