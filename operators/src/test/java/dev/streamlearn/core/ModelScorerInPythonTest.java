package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.streamlearn.core.data.CsvEvents;
import dev.streamlearn.core.data.CsvReader;
import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.core.serve.ModelScorer;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.store.LocalModelStore;
import dev.streamlearn.store.http.ModelStoreServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code clients/python/streamlearn_model.py}, the standard-library Python scorer, against Java
 * serving ({@link ModelScorer}) on the same published versions: every cleaning and encoding rule,
 * refusals word for word, a binary MLP, a multiclass softmax and a regression, from a directory and
 * downloaded from a model store server. Skipped where there is no python3 (3.9 or newer).
 */
class ModelScorerInPythonTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Every feature type and rule on credit-g's columns, and a time read from a field. */
  static final String EVERY_RULE =
      String.join(
          "\n",
          "name: credit",
          "label: {task: binary, classes: [good, bad]}",
          "features:",
          "  - {name: duration, type: numeric, missing: median, missing-indicator: true}",
          "  - {name: credit_amount, type: numeric, outliers: winsorize, scale: robust}",
          "  - {name: installment_commitment, type: numeric, scale: minmax}",
          "  - {name: residence_since, type: numeric, missing: constant, fill: 2}",
          "  - {name: age, type: numeric, outliers: winsorize, winsorize: [0.05, 0.95]}",
          "  - {name: existing_credits, type: numeric, missing: zero, scale: none, non-finite:"
              + " missing}",
          "  - {name: num_dependents, type: numeric, clip-std: 3, missing: drop, range: [0, 5]}",
          "  - {name: checking_status, type: categorical, missing: most-frequent}",
          "  - {name: credit_history, type: categorical, vocabulary-size: 3}",
          "  - {name: purpose, type: categorical, vocabulary-size: 4, min-count: 20}",
          "  - {name: savings_status, type: categorical, missing: constant, fill: unknown}",
          "  - {name: employment, type: categorical, encoding: hash, hash-buckets: 7}",
          "  - {name: personal_status, type: categorical, missing-indicator: true}",
          "  - {name: other_parties, type: categorical}",
          "  - {name: property_magnitude, type: categorical, encoding: hash, hash-buckets: 4}",
          "  - {name: other_payment_plans, type: categorical}",
          "  - {name: housing, type: categorical}",
          "  - {name: job, type: categorical, vocabulary-size: 2}",
          "  - {name: own_telephone, type: categorical}",
          "  - {name: foreign_worker, type: categorical}",
          "  - {name: housing-by-job, type: cross, fields: [housing, job], hash-buckets: 12}",
          "  - {name: amounts, type: pca, fields: [duration, credit_amount, age,"
              + " installment_commitment], components: 2}",
          "  - {name: applied, type: datetime, parts: [hour, day-of-week, month, weekend,"
              + " holiday], holidays: ['01-01', '2024-03-29']}",
          "  - {name: opened, type: datetime, field: opened_at, parts: [day-of-month, hour,"
              + " month], cyclic: false, time-zone: Europe/Berlin, missing-indicator: true}",
          "model: {type: mlp, hidden-layers: [8], activation: tanh}",
          "training: {batch-size: 32}",
          "validation: {window: 1d}",
          "backend: reference",
          "");

  @TempDir Path directory;

  private static Path script;

  @BeforeAll
  static void findPython() throws Exception {
    Assumptions.assumeTrue(
        python(
                "-c",
                "import sys, zoneinfo; zoneinfo.ZoneInfo('Europe/Berlin'); sys.exit(0 if sys.version_info >= (3, 9) else 1)")
            == 0,
        "python3 (3.9 or newer, with time-zone data) is not installed: the Python scorer is not"
            + " checked here");
    Path at = Path.of("").toAbsolutePath();
    while (at != null && !Files.exists(at.resolve("clients/python/streamlearn_model.py"))) {
      at = at.getParent();
    }
    assertThat(at)
        .as("clients/python/streamlearn_model.py above the working directory")
        .isNotNull();
    script = at.resolve("clients/python/streamlearn_model.py");
  }

  @Test
  void scoresEveryRuleAsJavaServingDoes() throws Exception {
    CsvEvents rows = new CsvEvents(CsvReader.read(SharedData.file("credit-g.csv")), "class");
    PipelineSpec spec = SpecLoader.parse(EVERY_RULE);
    Path version = trainAndPublish(spec, rows);

    List<Map<String, Object>> events = new ArrayList<>();
    List<Long> times = new ArrayList<>();
    Object[] opened = {
      null,
      "2024-02-29",
      "2024-03-31T01:30:00Z",
      "2024-10-27T02:30:00+05:30",
      "2024-07-04T23:59:59",
      1_700_000_000_123L,
      " 2024-12-31T23:00 "
    };
    for (int i = 0; i < rows.size(); i++) {
      Map<String, Object> fields = new HashMap<>(rows.event(i, "c", 0).getFeatures());
      fields.put("opened_at", i % 11 == 0 ? 1.7e12 + i * 3.6e6 : opened[i % opened.length]);
      events.add(fields);
      // Every seven hours from 2023-11-14: all hours, weekdays, months, and New Year's Day.
      times.add(1_700_000_000_000L + i * 25_200_000L);
    }
    // Values the vocabularies never saw; fields missing; what training refuses.
    List<Map<String, Object>> odd =
        List.of(
            Map.of("purpose", "time machine", "job", "astronaut", "housing", "boat"),
            Map.of("existing_credits", "NaN", "checking_status", "", "personal_status", 12.5),
            Map.of("credit_amount", 1e9, "age", -3, "employment", 4.0, "own_telephone", true),
            Map.of("duration", "six"),
            Map.of("num_dependents", 9),
            Map.of("num_dependents", ""),
            Map.of("duration", "Infinity"),
            Map.of("opened_at", "yesterday"),
            Map.of("opened_at", 1e17),
            Map.of("other_parties", "x".repeat(1025)));
    for (int i = 0; i < odd.size(); i++) {
      Map<String, Object> fields = new HashMap<>(rows.event(i, "c", 0).getFeatures());
      fields.remove("duration");
      fields.remove("savings_status");
      fields.putAll(odd.get(i));
      events.add(fields);
      times.add(1_704_067_200_000L + i * 1000L);
    }

    int refused = compare(ModelScorer.load(version), "--model", version.toString(), events, times);
    assertThat(refused).isEqualTo(7);
  }

  @Test
  void scoresMulticlassAndRegressionAsJavaServingDoes() throws Exception {
    CsvEvents digits = new CsvEvents(CsvReader.read(SharedData.file("digits.csv")), "digit");
    Path softmax =
        trainAndPublish(
            ModelTrainerTest.specFor(
                digits, "name: digits\nlabel: {task: multiclass}\nvalidation: {window: 1d}\n"),
            digits);
    compare(
        ModelScorer.load(softmax),
        "--model",
        softmax.toString(),
        eventsOf(digits),
        timesOf(digits));

    CsvEvents amounts =
        new CsvEvents(CsvReader.read(SharedData.file("credit-g.csv")), "credit_amount");
    Path regression =
        trainAndPublish(
            ModelTrainerTest.specFor(
                amounts,
                "name: amounts\nlabel: {task: regression}\nvalidation: {window: 1d}\n"
                    + "model: {type: mlp, hidden-layers: [16, 4], activation: relu}\n"),
            amounts);
    ModelScorer scorer = ModelScorer.load(regression);
    assertThat(scorer.manifest().task()).isEqualTo("regression");
    compare(scorer, "--model", regression.toString(), eventsOf(amounts), timesOf(amounts));
  }

  /** The command line downloads the version from a store server, checking each file's sha256. */
  @Test
  void downloadsTheVersionFromAModelStoreServer() throws Exception {
    CsvEvents rows = new CsvEvents(CsvReader.read(SharedData.file("wdbc.csv")), "diagnosis");
    Path version =
        trainAndPublish(
            ModelTrainerTest.specFor(rows, "name: wdbc\nvalidation: {window: 1d}\n"), rows);
    try (ModelStoreServer server =
        ModelStoreServer.start(
            new LocalModelStore(directory.resolve("store")),
            new InetSocketAddress("127.0.0.1", 0),
            null)) {
      compare(
          ModelScorer.load(version),
          "--model",
          server.url() + "api/v1/models/wdbc/versions/latest",
          eventsOf(rows),
          timesOf(rows));
      // A file that does not match its manifest is refused.
      Path parameters = version.resolve("model.safetensors");
      byte[] bytes = Files.readAllBytes(parameters);
      bytes[bytes.length - 1] ^= 1;
      Files.write(parameters, bytes);
      Python run =
          run(
              "--model",
              server.url() + "api/v1/models/wdbc/versions/latest",
              "--input",
              write(List.of(Map.of()), List.of(0L)).toString(),
              "--output",
              directory.resolve("tampered.jsonl").toString());
      assertThat(run.exit()).isNotZero();
      assertThat(run.out()).contains("model.safetensors has sha256", "its manifest says");
    }
  }

  /**
   * Scores the events with the Python command line and with {@code java}: the same refusals, word
   * for word, and otherwise the same input vector and scores to float32 precision. The number of
   * events refused.
   */
  private int compare(
      ModelScorer java,
      String modelOption,
      String model,
      List<Map<String, Object>> events,
      List<Long> times)
      throws Exception {
    Path output = directory.resolve("scored-" + System.nanoTime() + ".jsonl");
    Python run =
        run(
            modelOption,
            model,
            "--input",
            write(events, times).toString(),
            "--output",
            output.toString(),
            "--timestamp-field",
            "event_time",
            "--vectors");
    assertThat(run.exit()).as(run.out()).isZero();
    List<String> lines = Files.readAllLines(output);
    assertThat(lines).hasSize(events.size());
    float[] vector = new float[java.dimension()];
    int refused = 0;
    for (int i = 0; i < events.size(); i++) {
      JsonNode python = JSON.readTree(lines.get(i));
      float[] scores;
      try {
        scores = java.score(events.get(i), times.get(i));
        java.vectorOf(events.get(i), times.get(i), vector);
      } catch (ExampleExtractor.RefusedException e) {
        refused++;
        assertThat(python.path("refused").asText()).as("event " + i).isEqualTo(e.getMessage());
        continue;
      }
      assertThat(python.has("refused")).as("event %d: %s", i, python.path("refused")).isFalse();
      JsonNode entries = python.path("vector");
      assertThat(entries.size()).isEqualTo(vector.length);
      for (int j = 0; j < vector.length; j++) {
        assertThat(entries.get(j).asDouble())
            .as("event %d, entry %d (%s)", i, j, java.manifest().featureNames().get(j))
            .isCloseTo(vector[j], org.assertj.core.data.Offset.offset(1e-6));
      }
      assertThat(python.path("scores").size()).isEqualTo(scores.length);
      for (int j = 0; j < scores.length; j++) {
        double tolerance = 1e-5 * Math.max(1, Math.abs(scores[j]));
        assertThat(python.path("scores").get(j).asDouble())
            .as("event %d, output %d", i, j)
            .isCloseTo(scores[j], org.assertj.core.data.Offset.offset(tolerance));
      }
    }
    assertThat(run.out())
        .contains(String.format("Scored %,d rows of ", events.size()))
        .contains(String.format("(%,d refused)", refused));
    return refused;
  }

  private Path trainAndPublish(PipelineSpec spec, CsvEvents rows) throws Exception {
    TrainedVersions.Trained trained = TrainedVersions.train(spec, rows);
    LocalModelStore store = new LocalModelStore(directory.resolve("store"));
    TrainedVersions.publish(store, trained.last());
    store.setAlias(spec.name(), "latest", trained.last().version);
    return store.versionDirectory(spec.name(), trained.last().version);
  }

  private static List<Map<String, Object>> eventsOf(CsvEvents rows) {
    List<Map<String, Object>> events = new ArrayList<>();
    for (int i = 0; i < rows.size(); i++) {
      events.add(new HashMap<>(rows.event(i, "e", 0).getFeatures()));
    }
    return events;
  }

  private static List<Long> timesOf(CsvEvents rows) {
    List<Long> times = new ArrayList<>();
    for (int i = 0; i < rows.size(); i++) {
      times.add(1_700_000_000_000L + i * 1000L);
    }
    return times;
  }

  /** The events as JSON lines, each with its time in the field {@code event_time}. */
  private Path write(List<Map<String, Object>> events, List<Long> times) throws Exception {
    Path file = directory.resolve("events-" + System.nanoTime() + ".jsonl");
    StringBuilder lines = new StringBuilder();
    for (int i = 0; i < events.size(); i++) {
      Map<String, Object> line = new HashMap<>(events.get(i));
      line.put("event_time", times.get(i));
      lines.append(JSON.writeValueAsString(line)).append('\n');
    }
    Files.writeString(file, lines, StandardCharsets.UTF_8);
    return file;
  }

  private record Python(int exit, String out) {}

  private static Python run(String... arguments) throws Exception {
    List<String> command = new ArrayList<>(List.of("python3", script.toString()));
    command.addAll(List.of(arguments));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
    return new Python(process.exitValue(), out);
  }

  private static int python(String... arguments) {
    List<String> command = new ArrayList<>(List.of("python3"));
    command.addAll(List.of(arguments));
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      process.getInputStream().readAllBytes();
      return process.waitFor(60, TimeUnit.SECONDS) ? process.exitValue() : -1;
    } catch (java.io.IOException | InterruptedException e) {
      return -1;
    }
  }
}
