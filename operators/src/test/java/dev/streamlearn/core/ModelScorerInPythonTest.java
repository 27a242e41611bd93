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

  @BeforeAll
  static void findPython() {
    PythonScorer.script();
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
    Path softmax = digitsVersion(digits);
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

  /** A payment record: a decimal, an enum, a boolean, times, unions with null, a nested record. */
  static final String PAYMENT =
      """
      {"type": "record", "name": "Payment", "namespace": "shop", "fields": [
        {"name": "id", "type": "string"},
        {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
        {"name": "currency", "type": {"type": "enum", "name": "Currency", "symbols": ["USD", "EUR", "GBP"]}},
        {"name": "card_present", "type": "boolean"},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "score", "type": ["null", "float"], "default": null},
        {"name": "attempts", "type": ["null", "long"], "default": null},
        {"name": "customer", "type": ["null", {"type": "record", "name": "Customer", "fields": [
          {"name": "age", "type": "int"},
          {"name": "segment", "type": ["null", "string"], "default": null},
          {"name": "since", "type": {"type": "int", "logicalType": "date"}}]}], "default": null}
      ]}
      """;

  /**
   * A version of the producers' own records (with {@code input-schema.avsc}): each value is first
   * converted to its field's type, text or not, as Java serving converts it, and what does not fit
   * is refused by both.
   */
  @Test
  void scoresTheProducersOwnRecordsAsJavaServingDoes() throws Exception {
    PipelineSpec spec =
        SpecLoader.parse(
            String.join(
                "\n",
                "name: payments",
                "label: {task: binary}",
                "features:",
                "  - {name: amount, type: numeric}",
                "  - {name: currency, type: categorical}",
                "  - {name: card_present, type: categorical}",
                "  - {name: customer.age, type: numeric, missing: median}",
                "  - {name: customer.segment, type: categorical, encoding: hash, hash-buckets: 5}",
                "  - {name: joined, type: datetime, field: customer.since, parts: [month,"
                    + " day-of-week]}",
                "  - {name: paid, type: datetime, field: at, parts: [hour]}",
                "  - {name: score, type: numeric}",
                "  - {name: attempts, type: numeric, missing: zero}",
                "  - {name: currency-by-card, type: cross, fields: [currency, card_present],"
                    + " hash-buckets: 6}",
                "validation: {window: 1d}",
                "backend: reference",
                ""));
    java.util.Random random = new java.util.Random(7);
    String[] currencies = {"USD", "EUR", "GBP"};
    List<dev.streamlearn.schemas.LabeledEvent> records = new ArrayList<>();
    for (int i = 0; i < 600; i++) {
      // As the records are read: a decimal as a double, times as epoch milliseconds.
      Map<String, Object> fields = new HashMap<>();
      double amount = Math.round(random.nextDouble() * 100_000) / 100.0;
      boolean present = random.nextBoolean();
      fields.put("amount", amount);
      fields.put("currency", currencies[random.nextInt(3)]);
      fields.put("card_present", present);
      fields.put("customer.age", (double) (18 + random.nextInt(60)));
      fields.put("customer.segment", random.nextInt(4) == 0 ? null : "s" + random.nextInt(7));
      fields.put("customer.since", (double) (18_000 + random.nextInt(2_000)) * 86_400_000L);
      fields.put("at", 1.7e12 + random.nextInt(1_000_000) * 60_000.0);
      fields.put("score", (double) random.nextFloat());
      fields.put("attempts", random.nextInt(3) == 0 ? null : (double) random.nextInt(5));
      records.add(
          dev.streamlearn.schemas.LabeledEvent.newBuilder()
              .setId("p" + i)
              .setTimestamp(java.time.Instant.ofEpochMilli(1_700_000_000_000L + i * 1000L))
              .setLabel(amount > 500 && !present ? 1.0 : 0.0)
              .setFeatures(fields)
              .build());
    }
    Path version =
        publish(
            spec,
            TrainedVersions.train(spec, records),
            Map.of(
                dev.streamlearn.store.ModelStore.INPUT_SCHEMA,
                PAYMENT.getBytes(StandardCharsets.UTF_8)));
    ModelScorer java = ModelScorer.load(version);
    assertThat(java.inputSchema()).isPresent();

    // The values as a producer's application, a CSV file or a JSON document may hold them.
    List<Map<String, Object>> events = new ArrayList<>();
    Object[][] values = {
      {"amount", "12.345", 12.5, 99, " 7.005 ", "1e2", "abc"},
      {"currency", "USD", "EUR", " GBP ", "JPY"},
      {"card_present", true, "yes", "no", "0", 1.0, "maybe"},
      {
        "at",
        "2024-03-01T10:00:00Z",
        "2024-03-01T23:30:00+01:00",
        1.7e15,
        1_700_000_000_000_123L,
        "2024-03-01"
      },
      {"score", "0.1", 0.3, 2, "NaN"},
      {"attempts", "", "3", null, 4.0, "2.5"},
      {"customer.age", "41", 41.0, "", "41.5"},
      {"customer.segment", "gold", 7.0, null, "  ", 12},
      {"customer.since", "2020-02-29", 18_500, "N/A", "2020-13-01"},
    };
    for (int i = 0; i < 300; i++) {
      Map<String, Object> fields = new HashMap<>();
      fields.put("id", "q" + i);
      for (Object[] field : values) {
        fields.put((String) field[0], field[1 + random.nextInt(field.length - 1)]);
      }
      events.add(fields);
    }
    List<Long> times = new ArrayList<>();
    for (int i = 0; i < events.size(); i++) {
      times.add(1_700_000_000_000L + i * 1000L);
    }
    int refused = compare(java, "--model", version.toString(), events, times);
    assertThat(refused).isBetween(50, 280);
  }

  /**
   * {@code --label} measures the version on a file's labels as {@code streamlearn score --label}
   * does ({@link dev.streamlearn.core.metrics.LabeledRows}): the same line, word for word, for a
   * binary, a multiclass and a regression version, rows refused, unlabeled or labeled with no class
   * of the model's left out alike.
   */
  @Test
  void measuresAFilesLabelsAsJavaDoes() throws Exception {
    Path binary = wdbcVersion();
    assertMeasuredAlike(binary, SharedData.file("wdbc.csv"), "diagnosis");
    // Labels that judge nothing, and rows refused.
    List<String> lines = new ArrayList<>(Files.readAllLines(SharedData.file("wdbc.csv")));
    for (int r = 1; r < lines.size(); r += 7) {
      String line = lines.get(r);
      lines.set(r, line.substring(0, line.lastIndexOf(',') + 1) + (r % 2 == 0 ? "maybe" : ""));
    }
    for (int r = 3; r < lines.size(); r += 50) {
      lines.set(r, "Infinity" + lines.get(r).substring(lines.get(r).indexOf(',')));
    }
    Path marred = Files.write(directory.resolve("wdbc-marred.csv"), lines);
    String line = assertMeasuredAlike(binary, marred, "diagnosis");
    assertThat(line)
        .contains("refused, ")
        .contains(" without a label, ")
        .contains(" whose label is none of the model's classes [benign, malignant] (the first:");

    CsvEvents digits = new CsvEvents(CsvReader.read(SharedData.file("digits.csv")), "digit");
    Path softmax = digitsVersion(digits);
    assertThat(assertMeasuredAlike(softmax, SharedData.file("digits.csv"), "digit"))
        .contains("macro F1");

    CsvEvents amounts =
        new CsvEvents(CsvReader.read(SharedData.file("credit-g.csv")), "credit_amount");
    Path regression =
        trainAndPublish(
            ModelTrainerTest.specFor(
                amounts, "name: amounts\nlabel: {task: regression}\nvalidation: {window: 1d}\n"),
            amounts);
    assertThat(assertMeasuredAlike(regression, SharedData.file("credit-g.csv"), "credit_amount"))
        .contains("RMSE ");
  }

  /**
   * Scores {@code csv} as {@code streamlearn score --label} does in Java, and with the Python
   * command line; both measure the version alike. Java's line.
   */
  private String assertMeasuredAlike(Path version, Path csv, String label) throws Exception {
    ModelScorer java = ModelScorer.load(version);
    dev.streamlearn.core.metrics.LabeledRows known =
        new dev.streamlearn.core.metrics.LabeledRows(
            java.manifest().classes(), "regression".equals(java.manifest().task()));
    CsvReader.Table table = CsvReader.read(csv);
    long refused = 0;
    for (List<String> row : table.rows()) {
      Map<String, Object> fields = new HashMap<>();
      for (int c = 0; c < row.size(); c++) {
        fields.put(table.header().get(c), row.get(c).isBlank() ? null : row.get(c));
      }
      try {
        known.add(java.score(fields), (String) fields.get(label));
      } catch (ExampleExtractor.RefusedException e) {
        refused++;
      }
    }
    String expected = known.describe(label, refused);
    PythonScorer.Result run =
        PythonScorer.run(
            "--model",
            version.toString(),
            "--input",
            csv.toString(),
            "--output",
            directory.resolve("measured-" + System.nanoTime() + ".csv").toString(),
            "--label",
            label);
    assertThat(run.exit()).as(run.out()).isZero();
    assertThat(run.out()).contains(expected + "\n");
    return expected;
  }

  /** The command line downloads the version from a store server, checking each file's sha256. */
  @Test
  void downloadsTheVersionFromAModelStoreServer() throws Exception {
    CsvEvents rows = new CsvEvents(CsvReader.read(SharedData.file("wdbc.csv")), "diagnosis");
    Path version = wdbcVersion();
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
      // Listed as `streamlearn models list` lists them: the models, then a model's versions.
      PythonScorer.Result models = PythonScorer.run("--list", server.url());
      assertThat(models.exit()).as(models.out()).isZero();
      assertThat(models.out()).contains("wdbc  1  1  latest -> 1");
      PythonScorer.Result versions =
          PythonScorer.run("--list", server.url() + "api/v1/models/wdbc");
      assertThat(versions.exit()).as(versions.out()).isZero();
      assertThat(versions.out())
          .containsPattern("(?m)^      1  \\S+Z\\s+latest\\s+accuracy 0\\.\\d{4}  auc 0\\.\\d{4}");
      PythonScorer.Result missing =
          PythonScorer.run("--list", server.url() + "api/v1/models/nothing");
      assertThat(missing.exit()).isNotZero();
      assertThat(missing.out()).contains("--list", "404");
      // A file that does not match its manifest is refused.
      Path parameters = version.resolve("model.safetensors");
      byte[] bytes = Files.readAllBytes(parameters);
      bytes[bytes.length - 1] ^= 1;
      Files.write(parameters, bytes);
      PythonScorer.Result run =
          PythonScorer.run(
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
    PythonScorer.Result run =
        PythonScorer.run(
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
        // Word for word; but for the type, where Avro writes the schema in its own way.
        String because = e.getMessage();
        int type = because.indexOf(" does not fit its type ");
        assertThat(python.path("refused").asText())
            .as("event %d: %s", i, events.get(i))
            .startsWith(type < 0 ? because : because.substring(0, type))
            .hasSize(type < 0 ? because.length() : python.path("refused").asText().length());
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

  /** A logistic regression trained on wdbc, published. */
  private Path wdbcVersion() throws Exception {
    CsvEvents rows = new CsvEvents(CsvReader.read(SharedData.file("wdbc.csv")), "diagnosis");
    return trainAndPublish(
        ModelTrainerTest.specFor(rows, "name: wdbc\nvalidation: {window: 1d}\n"), rows);
  }

  /** A softmax regression trained on digits, published. */
  private Path digitsVersion(CsvEvents digits) throws Exception {
    return trainAndPublish(
        ModelTrainerTest.specFor(
            digits, "name: digits\nlabel: {task: multiclass}\nvalidation: {window: 1d}\n"),
        digits);
  }

  private Path trainAndPublish(PipelineSpec spec, CsvEvents rows) throws Exception {
    return publish(spec, TrainedVersions.train(spec, rows), Map.of());
  }

  /** Publishes the last version (with {@code more} files), as {@code latest}; its directory. */
  private Path publish(PipelineSpec spec, TrainedVersions.Trained trained, Map<String, byte[]> more)
      throws Exception {
    LocalModelStore store = new LocalModelStore(directory.resolve("store"));
    TrainedVersions.publish(store, trained.last(), more);
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
    List<Map<String, Object>> lines = new ArrayList<>();
    for (int i = 0; i < events.size(); i++) {
      Map<String, Object> line = new HashMap<>(events.get(i));
      line.put("event_time", times.get(i));
      lines.add(line);
    }
    return PythonScorer.writeJsonLines(directory, lines);
  }
}
