package dev.streamlearn.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.backend.Backend;
import dev.streamlearn.core.backend.Backends;
import dev.streamlearn.core.data.CsvEvents;
import dev.streamlearn.core.data.CsvReader;
import dev.streamlearn.core.data.DirectEventDecoder;
import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.core.model.Network;
import dev.streamlearn.core.serve.ModelScorer;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.core.train.ModelSnapshot;
import dev.streamlearn.core.train.ModelTrainer;
import dev.streamlearn.core.train.TrainerState;
import dev.streamlearn.core.train.WindowReport;
import dev.streamlearn.jobs.cli.StreamLearnCli;
import dev.streamlearn.jobs.runtime.EmbeddedKafka;
import dev.streamlearn.jobs.runtime.ProgressMetrics;
import dev.streamlearn.operators.PipelineCounters;
import dev.streamlearn.schemas.LabeledEvent;
import dev.streamlearn.schemas.codec.Topics;
import dev.streamlearn.store.LocalModelStore;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.http.ModelStoreClient;
import dev.streamlearn.store.http.ModelStoreServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code streamlearn produce} then {@code streamlearn run} against a real broker, as a user would.
 */
class CommandLineITCase {

  @TempDir Path directory;

  @Test
  void producesCsvAndRunsBoundedSpecToTheEnd() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(directory.resolve("kafka"))) {
      kafka.createTopic("credit-events", 1);
      Path spec = creditSpec(kafka, "credit-events", true);

      StringWriter err = new StringWriter();
      int produced = produceCredit(err, spec);
      assertThat(produced).as(err.toString()).isZero();

      int ran =
          StreamLearnCli.execute(new PrintWriter(err, true), "run", "--spec", spec.toString());
      assertThat(ran).as(err.toString()).isZero();

      LocalModelStore store = new LocalModelStore(directory.resolve("store"));
      List<Long> versions = store.versions("credit-g");
      assertThat(versions).hasSizeGreaterThanOrEqualTo(3);
      Manifest last = store.manifest("credit-g", versions.get(versions.size() - 1)).orElseThrow();
      assertThat(last.lineage().eventsTrainedTotal() + last.lineage().eventsHeldOutTotal())
          .isEqualTo(1000);
      assertThat(last.classes()).containsExactly("good", "bad");
      assertThat(last.featureNames())
          .hasSize(7 + 8 + 8 + 16 + 8 + 8 + 8 + 4 + 8 + 4 + 4 + 8 + 2 + 2);
      assertThat(last.metrics().get("sinceStart").get("count")).isBetween(150.0, 250.0);
      assertThat(store.alias("credit-g", "latest")).contains(last.version());
      // run created the topics it writes: nothing refused is an empty dead-letter topic.
      String deadLetters = runPrinting(err, "dead-letters", "summary", "--spec", spec.toString());
      assertThat(deadLetters)
          .contains(
              "Dead-letter topic credit-events.dead-letter at "
                  + kafka.bootstrapServers()
                  + ": 0 dead letters");

      assertServedModelScoresLikeTheTrainer(
          kafka, SpecLoader.load(spec), store, repositoryFile("../shared/data/credit-g.csv"));

      // The same topic scored by the latest version, to the end of the bounded topic.
      String scored = runPrinting(err, "score-stream", "--spec", spec.toString());
      assertThat(scored)
          .contains("with credit-g version " + last.version() + " (latest)")
          .contains("Accounted for: read 1,000 = scored 1,000 + dead-lettered 0  (adds up)")
          .containsPattern("accuracy 0\\.[6-9]\\d\\d on 1,000 labeled");
      List<ConsumerRecord<byte[], byte[]>> predictions =
          readTopic(kafka, "credit-events.predictions");
      assertThat(predictions).hasSize(1000);
      assertThat(Topics.predictions().decode(predictions.get(0).value()).getVersion())
          .isEqualTo(last.version());
    }
  }

  /**
   * {@code produce --partitions} creates the topic with that many partitions and spreads the events
   * over them (keyed by id); for a topic that exists it says the option does not apply.
   */
  @Test
  void producesIntoAsManyPartitionsAsAsked() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(directory.resolve("kafka"))) {
      Path spec = creditSpec(kafka, "wide-events", false);
      String credit = repositoryFile("../shared/data/credit-g.csv").toString();
      StringWriter err = new StringWriter();
      java.util.function.Function<Integer, String> produceInto =
          partitions ->
              runPrinting(
                  err,
                  "produce",
                  "--spec",
                  spec.toString(),
                  "--input",
                  credit,
                  "--label",
                  "class",
                  "--partitions",
                  String.valueOf(partitions));
      assertThat(produceInto.apply(3))
          .contains(
              "Created topic wide-events at "
                  + kafka.bootstrapServers()
                  + " (3 partitions, the broker's default replication).");
      java.util.Properties properties = new java.util.Properties();
      properties.put("bootstrap.servers", kafka.bootstrapServers());
      try (var admin = org.apache.kafka.clients.admin.Admin.create(properties)) {
        var partitions =
            admin
                .describeTopics(List.of("wide-events"))
                .allTopicNames()
                .get()
                .get("wide-events")
                .partitions();
        assertThat(partitions).hasSize(3);
        Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.admin.OffsetSpec>
            latest = new java.util.HashMap<>();
        for (var partition : partitions) {
          latest.put(
              new org.apache.kafka.common.TopicPartition("wide-events", partition.partition()),
              org.apache.kafka.clients.admin.OffsetSpec.latest());
        }
        var ends = admin.listOffsets(latest).all().get().values();
        assertThat(ends.stream().mapToLong(end -> end.offset()).sum()).isEqualTo(1000);
        assertThat(ends).allSatisfy(end -> assertThat(end.offset()).isPositive());
      }

      assertThat(produceInto.apply(5))
          .contains(
              "Topic wide-events exists with 3 partitions; --partitions 5 applies to a topic this"
                  + " command creates");
    }
  }

  /**
   * {@code run --duration} stops with a savepoint and says how to resume; {@code run
   * --from-savepoint} under a spec with other training settings goes on with the same model: its
   * versions, statistics and Kafka offsets continue, and only the new events are read.
   */
  @Test
  void stopsWithASavepointAndResumesFromItUnderNewTrainingSettings() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(directory.resolve("kafka"))) {
      kafka.createTopic("resumed-events", 1);
      Path spec = creditSpec(kafka, "resumed-events", false);
      StringWriter err = new StringWriter();
      assertThat(produceCredit(err, spec)).as(err.toString()).isZero();

      String first = runPrinting(err, "run", "--spec", spec.toString(), "--duration", "12s");
      java.util.regex.Matcher savepoint =
          java.util.regex.Pattern.compile("Stopped with a savepoint at (\\S+)").matcher(first);
      assertThat(savepoint.find()).as(first).isTrue();
      assertThat(first).contains("--from-savepoint " + savepoint.group(1));
      // The progress line says how many records the job has yet to read from Kafka.
      assertThat(first).containsPattern("events/s, 0 waiting in Kafka \\|");
      LocalModelStore store = new LocalModelStore(directory.resolve("store"));
      List<Long> before = store.versions("credit-g");
      Manifest lastBefore = store.manifest("credit-g", before.get(before.size() - 1)).orElseThrow();
      assertThat(
              lastBefore.lineage().eventsTrainedTotal() + lastBefore.lineage().eventsHeldOutTotal())
          .isEqualTo(1000);
      // The end says what the store holds after the stop's last version.
      assertThat(first)
          .contains(
              String.format(
                  "/credit-g: %d versions (1..%d), alias latest -> %d, ",
                  before.size(), lastBefore.version(), lastBefore.version()));

      // A thousand more events (other ids), and other training settings.
      Path more = directory.resolve("credit-g-more.csv");
      Files.copy(repositoryFile("../shared/data/credit-g.csv"), more);
      StringWriter produceErr = new StringWriter();
      assertThat(produceCreditRows(produceErr, spec, more)).as(produceErr.toString()).isZero();
      Path retuned = directory.resolve("credit-g-adam.yaml");
      Files.writeString(
          retuned,
          Files.readString(spec)
              .replace(
                  "training: {batch-size: 32, learning-rate: 0.05, l2: 0.001}",
                  "training: {batch-size: 8, learning-rate: 0.01, optimizer: {type: adam}}"));
      assertThat(Files.readString(retuned)).contains("adam");

      String second =
          runPrinting(
              err,
              "run",
              "--spec",
              retuned.toString(),
              "--from-savepoint",
              savepoint.group(1),
              "--duration",
              "12s");
      // produce stamps rows one second apart, the last at the time it runs, so most of the second
      // file's rows are older than the first file's last: in validation windows the first run
      // closed, late, and counted in a later one.
      assertThat(second)
          .contains("Starting from the savepoint")
          .contains("read 1,000 ")
          .contains("(adds up)")
          .contains("Late: ");
      List<Long> after = store.versions("credit-g");
      assertThat(after.get(0)).isEqualTo(1L);
      assertThat(after).hasSizeGreaterThan(before.size());
      assertThat(after.subList(0, before.size())).isEqualTo(before);
      Manifest firstAfter = store.manifest("credit-g", before.size() + 1L).orElseThrow();
      Manifest lastAfter = store.manifest("credit-g", after.get(after.size() - 1)).orElseThrow();
      assertThat(firstAfter.parentVersion()).isEqualTo(lastBefore.version());
      assertThat(firstAfter.specHash()).isEqualTo(SpecLoader.load(retuned).specHash());
      assertThat(
              lastAfter.lineage().eventsTrainedTotal() + lastAfter.lineage().eventsHeldOutTotal())
          .isEqualTo(2000);

      // Labels that follow their events, turned on for the running pipeline: a thousand events
      // without labels, then their labels on a topic the savepoint's source never read.
      java.util.regex.Matcher secondSavepoint =
          java.util.regex.Pattern.compile("Stopped with a savepoint at (\\S+)").matcher(second);
      assertThat(secondSavepoint.find()).as(second).isTrue();
      Path labeled = directory.resolve("credit-g-labels.yaml");
      Files.writeString(
          labeled,
          Files.readString(retuned)
              .replace(
                  "topic: resumed-events",
                  "topic: resumed-events\n  labels: {topic: resumed-events.labels}"));
      assertThat(Files.readString(labeled)).contains("resumed-events.labels");
      Path late = directory.resolve("credit-g-late.csv");
      Files.copy(repositoryFile("../shared/data/credit-g.csv"), late);
      assertThat(produceCreditRows(produceErr, labeled, late, "--without-labels"))
          .as(produceErr.toString())
          .isZero();
      assertThat(produceCreditRows(produceErr, labeled, late, "--labels"))
          .as(produceErr.toString())
          .isZero();
      String third =
          runPrinting(
              err,
              "run",
              "--spec",
              labeled.toString(),
              "--from-savepoint",
              secondSavepoint.group(1),
              "--duration",
              "15s");
      assertThat(third)
          .contains("Starting from the savepoint")
          .contains("Accounted for: read 1,000 = trained ")
          .contains(
              "Labels: read 1,000 = joined with their event 1,000 + dead-lettered 0  (adds up)");
      List<Long> labeledVersions = store.versions("credit-g");
      Manifest lastLabeled =
          store.manifest("credit-g", labeledVersions.get(labeledVersions.size() - 1)).orElseThrow();
      assertThat(
              lastLabeled.lineage().eventsTrainedTotal()
                  + lastLabeled.lineage().eventsHeldOutTotal())
          .isEqualTo(3000);

      // Another network cannot go on from that state: the job fails, saying which model and why.
      Path mlp = directory.resolve("credit-g-mlp.yaml");
      Files.writeString(
          mlp,
          Files.readString(spec)
              .replace("model: {type: logistic}", "model: {type: mlp, hidden-layers: [8]}"));
      StringWriter refused = new StringWriter();
      assertThat(
              StreamLearnCli.execute(
                  new PrintWriter(refused, true),
                  "run",
                  "--spec",
                  mlp.toString(),
                  "--from-savepoint",
                  savepoint.group(1)))
          .isEqualTo(1);
      assertThat(refused.toString())
          .startsWith(
              "streamlearn: the job failed: java.lang.IllegalStateException: model credit-g was"
                  + " restored from a checkpoint with")
          .doesNotContain("\tat ");

      assertThat(
              StreamLearnCli.execute(
                  new PrintWriter(err, true),
                  "run",
                  "--spec",
                  spec.toString(),
                  "--from-savepoint",
                  directory.resolve("nowhere").toString()))
          .isEqualTo(2);
      assertThat(err.toString())
          .contains("--from-savepoint " + directory.resolve("nowhere") + ": no savepoint there");
    }
  }

  /**
   * {@code run --metrics-port} and {@code score-stream --metrics-port} serve their jobs' metrics to
   * Prometheus under the names Flink's reporter gives them on a cluster, and every metric the alert
   * rules of {@code deploy/streamlearn-alerts.yml} watch is among them (the training job's rules
   * among the training job's, the scoring job's among the scoring job's), as is every metric the
   * Grafana dashboard shows (but the GPU trainers' transfer gauges).
   */
  @Test
  void servesItsMetricsToPrometheusUnderTheNamesTheAlertsAndDashboardUse() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(directory.resolve("kafka"))) {
      Path spec = directory.resolve("credit-g-late-labels.yaml");
      Files.writeString(
          spec,
          Files.readString(repositoryFile("examples/credit-g-late-labels.yaml"))
              .replace(
                  "bootstrap-servers: localhost:9092",
                  "bootstrap-servers: " + kafka.bootstrapServers())
              .replace("uri: models", "uri: " + directory.resolve("metrics-store")));
      StringWriter err = new StringWriter();
      assertThat(produceCredit(err, spec, "--without-labels")).as(err.toString()).isZero();
      assertThat(produceCredit(err, spec, "--labels")).as(err.toString()).isZero();
      String read = "flink_taskmanager_job_task_operator_streamlearn_eventsRead{";
      // The last of the model's gauges to be registered: a scrape that finds it finds the others.
      String modelGauge =
          "(?m)^flink_taskmanager_job_task_operator_streamlearn_model_heldOutMse\\{.*"
              + "model=\"credit_g_late\"";
      // Until every event is read (the value of eventsRead at decode_events is 1000.0) and the
      // trainer has learned from one (its model's gauges appear with the model's first event,
      // which waits for its label).
      Scraped training = runScraping(err, "run", spec, "20s", read, modelGauge);
      assertThat(training.out())
          .contains("Prometheus metrics at http://localhost:" + training.port() + "/metrics");
      assertThat(training.metrics())
          .contains(read)
          .contains("job_name=\"streamlearn_credit_g_late\"")
          // Each model's own gauges, labelled with its name (as Prometheus labels are written).
          .containsPattern(modelGauge);

      // The scoring job, on the model just trained, judging its predictions as the labels come.
      Scraped scoring =
          runScraping(
              err,
              "score-stream",
              spec,
              "15s",
              "flink_taskmanager_job_task_operator_streamlearn_scoringEventsRead{");
      assertThat(scoring.out()).contains("Accounted for: read 1,000 = scored 1,000");

      String rules = Files.readString(repositoryFile("deploy/streamlearn-alerts.yml"));
      int scoringGroup = rules.indexOf("- name: streamlearn-scoring");
      assertThat(scoringGroup).isPositive();
      List<String> trainingNames = metricNames(rules.substring(0, scoringGroup));
      List<String> scoringNames = metricNames(rules.substring(scoringGroup));
      assertThat(trainingNames)
          .contains(
              "flink_taskmanager_job_task_operator_pendingRecords",
              "flink_jobmanager_job_numRestarts",
              "flink_taskmanager_job_task_operator_streamlearn_eventsDeadLettered",
              "flink_taskmanager_job_task_operator_streamlearn_labelsBehindEventsMs",
              "flink_taskmanager_job_task_operator_streamlearn_versionsPublished");
      assertThat(scoringNames)
          .contains(
              "flink_taskmanager_job_task_operator_streamlearn_scoringEventsDeadLettered",
              "flink_taskmanager_job_task_operator_streamlearn_eventsPredictedRight",
              "flink_taskmanager_job_task_operator_streamlearn_eventsScoredWithLabel");
      for (String name : trainingNames) {
        assertThat(training.metrics()).as(name).containsPattern("(?m)^" + name + "\\{");
      }
      for (String name : scoringNames) {
        assertThat(scoring.metrics()).as(name).containsPattern("(?m)^" + name + "\\{");
      }

      List<String> shown =
          metricNames(
              String.join("\n", GrafanaDashboardTest.queries(GrafanaDashboardTest.dashboard())));
      assertThat(shown).hasSizeGreaterThan(20);
      for (String name : shown) {
        // Exported only where they happen: a GPU trainer's transfers, and pruning's decisions
        // (PruneCandidates' counter, counted in PipelineITCase); their names are the same
        // PipelineCounters names under the same group as the rest.
        if (!name.contains("_deviceBytes")
            && !name.endsWith("_streamlearn_" + PipelineCounters.CANDIDATES_PRUNED)) {
          assertThat(training.metrics() + scoring.metrics())
              .as(name)
              .containsPattern("(?m)^" + name + "\\{");
        }
      }
    }
  }

  /** What a command run with {@code --metrics-port} printed, and its last scrape. */
  private record Scraped(String out, String metrics, int port) {}

  /**
   * Runs {@code command --spec spec --duration duration --metrics-port PORT} on a free port,
   * scraping it until {@code counter} reads 1000 and each of {@code alsoFound} (patterns) is there
   * ({@link #scrapeUntil}).
   */
  private static Scraped runScraping(
      StringWriter err,
      String command,
      Path spec,
      String duration,
      String counter,
      String... alsoFound)
      throws Exception {
    int port;
    try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
      port = free.getLocalPort();
    }
    var run =
        java.util.concurrent.CompletableFuture.supplyAsync(
            () ->
                runPrinting(
                    err,
                    command,
                    "--spec",
                    spec.toString(),
                    "--duration",
                    duration,
                    "--metrics-port",
                    String.valueOf(port)));
    String scraped = scrapeUntil(port, counter, alsoFound);
    return new Scraped(run.get(), scraped, port);
  }

  /**
   * The metric names a piece of the alert rules (or of the dashboard's queries) watches: the
   * pipeline's own, and Flink's (a source's pendingRecords, a job's numRestarts).
   */
  private static List<String> metricNames(String rules) {
    java.util.regex.Matcher watched =
        java.util.regex.Pattern.compile(
                // Whole names: not a prefix, as in "streamlearn_(a|b)" or "streamlearn_<name>".
                "flink_(?:taskmanager_job_task_operator|jobmanager_job)_\\w*[A-Za-z0-9](?![\\w(])")
            .matcher(rules);
    List<String> names = new ArrayList<>();
    while (watched.find()) {
      names.add(watched.group());
    }
    return names;
  }

  /**
   * Scrapes {@code localhost:port/metrics} until {@code counter} (a metric name and its opening
   * brace) reads 1000 in some series and every pattern of {@code alsoFound} is found, for at most a
   * minute; the last scrape.
   */
  private static String scrapeUntil(int port, String counter, String... alsoFound)
      throws Exception {
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    java.util.regex.Pattern done =
        java.util.regex.Pattern.compile(
            "(?m)^" + java.util.regex.Pattern.quote(counter) + ".*\\} 1000\\.0$");
    String scraped = "";
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (System.nanoTime() < deadline && !found(scraped, done, alsoFound)) {
      Thread.sleep(500);
      try {
        scraped =
            http.send(
                    java.net.http.HttpRequest.newBuilder(
                            java.net.URI.create("http://localhost:" + port + "/metrics"))
                        .build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString())
                .body();
      } catch (java.io.IOException notYet) {
        // the reporter starts with the MiniCluster
      }
    }
    return scraped;
  }

  private static boolean found(String scraped, java.util.regex.Pattern done, String... alsoFound) {
    if (!done.matcher(scraped).find()) {
      return false;
    }
    for (String pattern : alsoFound) {
      if (!java.util.regex.Pattern.compile(pattern).matcher(scraped).find()) {
        return false;
      }
    }
    return true;
  }

  /**
   * The README's first command, shorter and with two candidates: the demo's synthetic stream on a
   * broker of its own, the scoring job beside the training job serving the best candidate. Both
   * jobs account for every record, the candidates are ranked, and the predictions are counted by
   * the model that made them, most of them by the candidate that ranks first.
   */
  @Test
  void runsTheDemoWithCandidatesAndScoresWithTheBest() throws Exception {
    Path store = directory.resolve("demo-store");
    String out =
        runPrinting(
            new StringWriter(),
            "demo",
            "--duration",
            "20s",
            "--store",
            store.toString(),
            "--port",
            "-1",
            "--score",
            "--try",
            "training.learning-rate=0.001,0.3");
    assertThat(out)
        .containsPattern(
            "Accounted for: read [0-9,]+ = trained [0-9,]+ \\+ held out [0-9,]+ \\+ deduplicated"
                + " [0-9,]+ \\+ dead-lettered [0-9,]+  \\(adds up\\)")
        .contains("Scoring job: topic demo-events scored by the best of demo's candidates")
        .contains("Best on the newest window: demo.c2");
    java.util.regex.Matcher scoring =
        java.util.regex.Pattern.compile(
                "Accounted for: read ([0-9,]+) = scored ([0-9,]+) \\+ dead-lettered [0-9,]+  \\(adds"
                    + " up\\)")
            .matcher(out);
    assertThat(scoring.find()).as(out).isTrue();
    long scored = Long.parseLong(scoring.group(2).replace(",", ""));
    assertThat(scored).isGreaterThan(10_000);
    java.util.regex.Matcher holds =
        java.util.regex.Pattern.compile(
                "the predictions topic holds ([0-9,]+) records, by model: (.*)\\)\n")
            .matcher(out);
    assertThat(holds.find()).as(out).isTrue();
    assertThat(Long.parseLong(holds.group(1).replace(",", ""))).isEqualTo(scored);
    Map<String, Long> byModel = new java.util.HashMap<>();
    java.util.regex.Matcher each =
        java.util.regex.Pattern.compile("(demo\\.c[12]) ([0-9,]+) \\(accuracy (0\\.[0-9]+)\\)")
            .matcher(holds.group(2));
    while (each.find()) {
      byModel.put(each.group(1), Long.parseLong(each.group(2).replace(",", "")));
    }
    assertThat(byModel.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(scored);
    assertThat(byModel.get("demo.c2")).isGreaterThan(scored / 2);
    LocalModelStore models = new LocalModelStore(store);
    assertThat(models.models()).containsExactlyInAnyOrder("demo.c1", "demo.c2");
    assertThat(models.versions("demo.c2")).hasSizeGreaterThan(2);
  }

  /**
   * The README's "on your own data" command: a CSV file streamed through a broker of the demo's own
   * to the end, every row accounted for, the model learning it, and the end saying why no version
   * became champion (a small file's windows never hold out {@code publish.min-held-out} events).
   */
  @Test
  void runsTheDemoOnACsvFileToItsEnd() throws Exception {
    Path store = directory.resolve("wdbc-store");
    String[] demo = {
      "demo",
      "--input",
      repositoryFile("../shared/data/wdbc.csv").toString(),
      "--label",
      "diagnosis",
      "--store",
      store.toString(),
      "--port",
      "-1"
    };
    String out = runPrinting(new StringWriter(), demo);
    long rows = Files.readAllLines(repositoryFile("../shared/data/wdbc.csv")).size() - 1;
    java.util.regex.Matcher accounted =
        java.util.regex.Pattern.compile(
                "Accounted for: read ([0-9,]+) = trained ([0-9,]+) \\+ held out ([0-9,]+) \\+"
                    + " deduplicated 0 \\+ dead-lettered 0  \\(adds up\\)")
            .matcher(out);
    assertThat(accounted.find()).as(out).isTrue();
    assertThat(Long.parseLong(accounted.group(1).replace(",", ""))).isEqualTo(rows);
    LocalModelStore models = new LocalModelStore(store);
    List<Long> versions = models.versions("wdbc");
    assertThat(versions).hasSizeGreaterThanOrEqualTo(3);
    Manifest last = models.manifest("wdbc", versions.get(versions.size() - 1)).orElseThrow();
    assertThat(last.lineage().eventsTrainedTotal() + last.lineage().eventsHeldOutTotal())
        .isEqualTo(rows);
    assertThat(last.metrics().get("window").get("accuracy")).isGreaterThan(0.85);
    assertThat(models.alias("wdbc", "champion")).isEmpty();
    assertThat(out)
        .contains(
            String.format(
                "Models are in %s/wdbc: %d versions (1..%d), alias latest -> %d, no champion (no"
                    + " validation window held out publish.min-held-out = 100 events).",
                models.location(), versions.size(), versions.size(), versions.size()))
        .contains("no champion yet");

    // The command it prints scores the file with the latest version, as its manifest says.
    java.util.regex.Matcher hint =
        java.util.regex.Pattern.compile(
                "Score a CSV: \\./streamlearn score --model (\\S+) --input FILE.csv --output"
                    + " scores.csv --label diagnosis\n")
            .matcher(out);
    assertThat(hint.find()).as(out).isTrue();
    Path scores = directory.resolve("wdbc-scores.csv");
    String scoring =
        runPrinting(
            new StringWriter(),
            "score",
            "--model",
            hint.group(1),
            "--input",
            repositoryFile("../shared/data/wdbc.csv").toString(),
            "--output",
            scores.toString(),
            "--label",
            "diagnosis");
    assertThat(scoring).doesNotContain("Warning");
    List<String> scored = Files.readAllLines(scores);
    assertThat(scored).hasSize((int) rows + 1);
    assertThat(scored.get(0)).isEqualTo("row,prediction,p_benign,p_malignant");
    List<String> input = Files.readAllLines(repositoryFile("../shared/data/wdbc.csv"));
    int label = List.of(input.get(0).split(",")).indexOf("diagnosis");
    long right = 0;
    for (int r = 1; r <= rows; r++) {
      right += scored.get(r).split(",")[1].equals(input.get(r).split(",")[label]) ? 1 : 0;
    }
    assertThat((double) right / rows).isGreaterThan(0.9);
    // --label measures the model on the file's labels: the accuracy counted here, on every row.
    assertThat(scoring)
        .contains(
            String.format(
                "Against the labels in diagnosis: accuracy %.3f, AUC ", (double) right / rows))
        .contains(String.format(" on %,d rows (majority class ", rows))
        .doesNotContain("left out");

    // A file with three of the thirty columns is scored, and the other 27 are named as missing.
    Path partial = directory.resolve("wdbc-partial.csv");
    List<String> threeColumns = new ArrayList<>();
    for (String line : input.subList(0, 3)) {
      String[] cells = line.split(",");
      threeColumns.add(String.join(",", cells[0], cells[1], cells[2]));
    }
    Files.write(partial, threeColumns);
    assertThat(
            runPrinting(
                new StringWriter(),
                "score",
                "--model",
                hint.group(1),
                "--input",
                partial.toString(),
                "--output",
                directory.resolve("wdbc-partial-scores.csv").toString()))
        .contains(
            "Warning: 27 of the 30 input columns the model reads are not in "
                + partial
                + "; every row is scored with them missing")
        .contains("Scored 2 rows");
    // A file with none of them is refused: the wrong file, or the wrong model.
    StringWriter noneErr = new StringWriter();
    assertThat(
            StreamLearnCli.execute(
                new PrintWriter(noneErr, true),
                "score",
                "--model",
                hint.group(1),
                "--input",
                repositoryFile("../shared/data/credit-g.csv").toString(),
                "--output",
                directory.resolve("wdbc-none.csv").toString()))
        .isEqualTo(2);
    assertThat(noneErr.toString())
        .contains(
            "--input "
                + repositoryFile("../shared/data/credit-g.csv")
                + " has none of the 30 columns the model reads (mean_radius, ");
    assertThat(directory.resolve("wdbc-none.csv")).doesNotExist();

    // The same demo again on the same store: a new job, whose versions follow the first one's
    // instead of taking their numbers (and being kept out as published already).
    int before = versions.size();
    String again = runPrinting(new StringWriter(), demo);
    assertThat(again)
        .contains(
            String.format(
                "%s already holds %d versions of 'wdbc' (1..%d): this run's versions follow them,"
                    + " from %d",
                models.location(), before, before, before + 1))
        .doesNotContain("No version was published");
    List<Long> both = models.versions("wdbc");
    assertThat(both).hasSizeGreaterThan(before).startsWith(versions.toArray(Long[]::new));
    assertThat(both.get(before)).isEqualTo(before + 1);
    Manifest firstOfSecond = models.manifest("wdbc", before + 1).orElseThrow();
    assertThat(firstOfSecond.parentVersion()).isNull();
    Manifest lastOfSecond = models.manifest("wdbc", both.get(both.size() - 1)).orElseThrow();
    // The second job counted its own events from zero: the file once.
    assertThat(
            lastOfSecond.lineage().eventsTrainedTotal()
                + lastOfSecond.lineage().eventsHeldOutTotal())
        .isEqualTo(rows);
    assertThat(models.manifest("wdbc", before).orElseThrow()).isEqualTo(last);
  }

  /**
   * {@code streamlearn kafka}: a broker on the port asked for, which {@code produce} reaches as any
   * broker; a second one on that port is refused before it starts; at the end of its duration it
   * stops and frees the port.
   */
  @Test
  void runsABrokerOnAPortThatProduceReaches() throws Exception {
    int port;
    try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
      port = free.getLocalPort();
    }
    String bootstrap = "localhost:" + port;
    StringWriter brokerErr = new StringWriter();
    var broker =
        java.util.concurrent.CompletableFuture.supplyAsync(
            () ->
                StreamLearnCli.execute(
                    new PrintWriter(brokerErr, true),
                    "kafka",
                    "--port",
                    String.valueOf(port),
                    "--duration",
                    "20s"));
    java.util.Properties client = new java.util.Properties();
    client.put("bootstrap.servers", bootstrap);
    client.put("request.timeout.ms", "2000");
    long deadline = System.nanoTime() + 60_000_000_000L;
    boolean answered = false;
    while (!answered && System.nanoTime() < deadline && !broker.isDone()) {
      try (org.apache.kafka.clients.admin.Admin admin =
          org.apache.kafka.clients.admin.Admin.create(client)) {
        answered =
            !admin
                .describeCluster()
                .nodes()
                .get(5, java.util.concurrent.TimeUnit.SECONDS)
                .isEmpty();
      } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
        Thread.sleep(200);
      }
    }
    assertThat(answered).as(brokerErr.toString()).isTrue();

    StringWriter err = new StringWriter();
    Path spec = directory.resolve("credit-g.yaml");
    Files.copy(repositoryFile("examples/credit-g.yaml"), spec);
    assertThat(produceCredit(err, spec, "--bootstrap-servers", bootstrap))
        .as(err.toString())
        .isZero();
    // produce created the topic with the broker's defaults: one partition.
    assertThat(TopicReader.readToTheEnd(bootstrap, "credit-events", false)).hasSize(1000);
    // A file that lacks some of the columns the spec's features read is sent, with a warning.
    Path partial = directory.resolve("credit-g-partial.csv");
    List<String> fiveColumns = new ArrayList<>();
    for (String line : Files.readAllLines(repositoryFile("../shared/data/credit-g.csv"))) {
      String[] cells = line.split(",");
      fiveColumns.add(String.join(",", List.of(cells).subList(0, 5)) + "," + cells[20]);
    }
    Files.write(partial, fiveColumns);
    Ran sentPartial =
        runCapturing(
            err,
            "produce",
            "--spec",
            spec.toString(),
            "--input",
            partial.toString(),
            "--bootstrap-servers",
            bootstrap);
    assertThat(sentPartial.exit()).as(err.toString()).isZero();
    assertThat(sentPartial.out())
        .contains(
            "Warning: 15 of the 20 columns the features of "
                + spec
                + " read are not in "
                + partial
                + "; the pipeline will see them missing in every event: installment_commitment,")
        .contains("Sent 1,000 events");

    StringWriter secondErr = new StringWriter();
    assertThat(
            StreamLearnCli.execute(
                new PrintWriter(secondErr, true), "kafka", "--port", String.valueOf(port)))
        .isEqualTo(2);
    assertThat(secondErr.toString())
        .contains("--port " + port + ": the port is in use on localhost (another broker?)");

    assertThat(broker.get(60, java.util.concurrent.TimeUnit.SECONDS))
        .as(brokerErr.toString())
        .isZero();
    try (java.net.ServerSocket again =
        new java.net.ServerSocket(port, 1, java.net.InetAddress.getLoopbackAddress())) {
      assertThat(again.getLocalPort()).isEqualTo(port);
    }
  }

  /**
   * Under the {@code windows} holdout policy the last version's window may hold nothing out: the
   * demo's final metrics are then the newest validated version's, and it says which.
   */
  @Test
  void theDemoOnAFileGivesTheFinalMetricsOfTheNewestValidatedVersion() throws Exception {
    Path spec = directory.resolve("windows.yaml");
    Files.writeString(spec, "name: wdbc-windows\nholdout: {policy: windows, every: 2}\n");
    Path store = directory.resolve("windows-store");
    String out =
        runPrinting(
            new StringWriter(),
            "demo",
            "--input",
            repositoryFile("../shared/data/wdbc.csv").toString(),
            "--label",
            "diagnosis",
            "--spec",
            spec.toString(),
            "--store",
            store.toString(),
            "--port",
            "-1");
    // The file's rows fill windows of 114 s; the demo starts them on a cycle of two, so every
    // second window is held out, and the last, whose version is the last, trains.
    LocalModelStore models = new LocalModelStore(store);
    List<Long> versions = models.versions("wdbc-windows");
    long last = versions.get(versions.size() - 1);
    Manifest validated = null;
    for (long version : versions) {
      Manifest manifest = models.manifest("wdbc-windows", version).orElseThrow();
      if (manifest.metrics().get("window").getOrDefault("count", 0.0) > 0) {
        validated = manifest;
      }
    }
    assertThat(validated).as("every other window is held out").isNotNull();
    assertThat(validated.version()).isEqualTo(last - 1);
    String which =
        "the newest version validated on held-out events; v" + last + "'s window held none out";
    assertThat(out)
        .contains(
            String.format(
                "Final held-out metrics (v%d, %s): accuracy %.3f,",
                validated.version(), which, validated.metrics().get("window").get("accuracy")))
        .contains("v" + last + " held-out (its window held no events out)")
        .doesNotContain("no held-out events yet");
  }

  /**
   * A regression from end to end: wdbc's mean_area produced, learned by {@code run}, then scored as
   * a stream, whose progress line gives the error on the labeled events, the same as {@code score
   * --label} gives for the same version on the file's rows.
   */
  @Test
  void learnsARegressionAndScoresItsStreamWithTheErrorOnLabeledEvents() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(directory.resolve("kafka"))) {
      Path spec = directory.resolve("area.yaml");
      Files.writeString(
          spec,
          String.join(
              "\n",
              "name: area",
              "source: {topic: area-events, bootstrap-servers: '"
                  + kafka.bootstrapServers()
                  + "', bounded: true}",
              "label: {task: regression}",
              "features:",
              "  - {name: mean_radius, type: numeric}",
              "  - {name: mean_texture, type: numeric}",
              "  - {name: mean_smoothness, type: numeric}",
              "  - {name: worst_radius, type: numeric}",
              "  - {name: diagnosis, type: categorical}",
              "validation: {window: 2m}",
              "checkpoint: {interval: 0s}",
              "store: {uri: '" + directory.resolve("store").toUri() + "'}",
              ""));
      StringWriter err = new StringWriter();
      // wdbc with one label that is not a number: the other 568 go as numbers, that one as its
      // text, and the pipeline dead-letters its event.
      List<String> lines =
          new ArrayList<>(Files.readAllLines(repositoryFile("../shared/data/wdbc.csv")));
      int areaColumn = List.of(lines.get(0).split(",")).indexOf("mean_area");
      String[] first = lines.get(1).split(",");
      first[areaColumn] = "unknown";
      lines.set(1, String.join(",", first));
      Path wdbc = Files.write(directory.resolve("wdbc.csv"), lines);
      String produced =
          runPrinting(
              err,
              "produce",
              "--spec",
              spec.toString(),
              "--input",
              wdbc.toString(),
              "--label",
              "mean_area");
      assertThat(produced)
          .contains(
              "Warning: 1 label is not a number in column mean_area (the first: 'unknown'); sent"
                  + " as it is, and the pipeline dead-letters its event (a regression label is a"
                  + " number)")
          .contains("Sent 569 events");
      String ran = runPrinting(err, "run", "--spec", spec.toString());
      assertThat(ran)
          .containsPattern(
              "read 569 = trained \\d+ \\+ held out \\d+ \\+ deduplicated 0 \\+ dead-lettered 1 ");
      LocalModelStore store = new LocalModelStore(directory.resolve("store"));
      long latest = store.alias("area", "latest").orElseThrow();

      String scored = runPrinting(err, "score-stream", "--spec", spec.toString());
      java.util.regex.Matcher streamed =
          java.util.regex.Pattern.compile("RMSE (\\S+), MAE (\\S+) on 568 labeled").matcher(scored);
      assertThat(streamed.find()).as(scored).isTrue();
      assertThat(scored).doesNotContain("accuracy");

      String file =
          runPrinting(
              err,
              "score",
              "--model",
              directory.resolve("store").resolve("area").resolve(Long.toString(latest)).toString(),
              "--input",
              wdbc.toString(),
              "--output",
              directory.resolve("scored.csv").toString(),
              "--label",
              "mean_area");
      assertThat(file)
          .contains(
              "Against the labels in mean_area: RMSE "
                  + streamed.group(1)
                  + ", MAE "
                  + streamed.group(2)
                  + ", R²")
          .contains(
              "on 568 rows; rows left out: 1 whose label is not a number (the first: 'unknown')");
      // A model that knew nothing would be off by the label's deviation (about 350).
      assertThat(Double.parseDouble(streamed.group(1))).isLessThan(250);
    }
  }

  /** Runs the command line, returning what it printed; fails unless it exits 0. */
  private static String runPrinting(StringWriter err, String... args) {
    Ran ran = runCapturing(err, args);
    assertThat(ran.exit()).as(ran.out() + err).isZero();
    return ran.out();
  }

  /** A command line's exit code and what it printed. */
  private record Ran(int exit, String out) {}

  /** Runs the command line, capturing what it prints (and echoing it once it ends). */
  private static Ran runCapturing(StringWriter err, String... args) {
    java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
    java.io.PrintStream console = System.out;
    int exit;
    try {
      System.setOut(new java.io.PrintStream(printed, true, StandardCharsets.UTF_8));
      exit = StreamLearnCli.execute(new PrintWriter(err, true), args);
    } finally {
      System.setOut(console);
    }
    String out = printed.toString(StandardCharsets.UTF_8);
    System.out.print(out);
    return new Ran(exit, out);
  }

  /**
   * {@code run} against a broker that goes away: the progress says that no broker answers (the
   * job's Kafka clients retry without a word), and the stop, which cannot take a savepoint without
   * Kafka, cancels the job, says so and exits 1; the versions published before stay in the store.
   */
  @Test
  void saysWhenTheBrokerGoesAwayAndStopsWithoutASavepoint() throws Exception {
    EmbeddedKafka kafka = EmbeddedKafka.start(directory.resolve("kafka-going"));
    String bootstrap = kafka.bootstrapServers();
    Path spec = creditSpec(kafka, "going-events", false);
    StringWriter err = new StringWriter();
    java.util.concurrent.CompletableFuture<Ran> run;
    try {
      assertThat(produceCredit(err, spec)).as(err.toString()).isZero();
      run =
          java.util.concurrent.CompletableFuture.supplyAsync(
              () ->
                  runCapturing(
                      err,
                      "run",
                      "--spec",
                      spec.toString(),
                      "--duration",
                      "15s",
                      "--stop-timeout",
                      "10s"));
      LocalModelStore store = new LocalModelStore(directory.resolve("store"));
      long deadline = System.nanoTime() + 60_000_000_000L;
      while (store.versions("credit-g").isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(200);
      }
      assertThat(store.versions("credit-g")).isNotEmpty();
    } finally {
      kafka.close();
    }
    Ran ran = run.get(240, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(ran.out())
        .contains("  Kafka: no broker has answered at " + bootstrap + " for ")
        .contains(
            "  no Kafka broker answers: the savepoint may not be taken (waiting for it up to"
                + " --stop-timeout 10s)")
        .contains("Could not stop with a savepoint (")
        .contains("the job is cancelled instead")
        .contains("Accounted for: read 1,000 = ")
        .doesNotContain("Stopped with a savepoint");
    assertThat(ran.exit()).as(err.toString()).isEqualTo(1);
    List<Long> kept = new LocalModelStore(directory.resolve("store")).versions("credit-g");
    assertThat(kept).isNotEmpty();
    assertThat(ran.out()).contains(String.format("/credit-g: %d versions (1..", kept.size()));
  }

  /**
   * A broker that takes SASL clients only: with the spec's {@code source.kafka} settings, {@code
   * produce}, {@code run}, {@code dead-letters} and {@code score-stream} each reach it (the job's
   * source and sinks too); with a wrong password, the broker's refusal is named before anything is
   * sent.
   */
  @Test
  void reachesABrokerThatTakesSaslClientsOnly() throws Exception {
    int port;
    try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
      port = free.getLocalPort();
    }
    try (EmbeddedKafka kafka =
        EmbeddedKafka.startWithSaslPlain(
            directory.resolve("kafka-sasl"), port, "alice", "s3cret")) {
      Path spec = creditSpec(kafka, "secured-events", true);
      String login =
          "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"alice\"";
      Files.writeString(
          spec,
          Files.readString(spec)
              .replace(
                  "  bounded: true",
                  "  bounded: true\n  kafka: {security.protocol: SASL_PLAINTEXT, sasl.mechanism:"
                      + " PLAIN, sasl.jaas.config: '"
                      + login
                      + " password=\"s3cret\";'}"));
      Path wrong = directory.resolve("credit-g-wrong-password.yaml");
      Files.writeString(wrong, Files.readString(spec).replace("s3cret", "guess"));

      StringWriter refusedErr = new StringWriter();
      assertThat(produceCredit(refusedErr, wrong)).isEqualTo(2);
      assertThat(refusedErr.toString())
          .contains(
              "the Kafka broker at localhost:"
                  + port
                  + " refused this client (its credentials: the spec's source.kafka settings):"
                  + " SaslAuthenticationException: ")
          .doesNotContain("guess");

      StringWriter err = new StringWriter();
      assertThat(produceCredit(err, spec)).as(err.toString()).isZero();
      String ran = runPrinting(err, "run", "--spec", spec.toString());
      assertThat(ran).contains("Accounted for: read 1,000 = ");
      LocalModelStore store = new LocalModelStore(directory.resolve("store"));
      Manifest last =
          store.manifest("credit-g", store.alias("credit-g", "latest").orElseThrow()).orElseThrow();
      assertThat(last.lineage().eventsTrainedTotal() + last.lineage().eventsHeldOutTotal())
          .isEqualTo(1000);
      assertThat(runPrinting(err, "dead-letters", "summary", "--spec", spec.toString()))
          .contains(": 0 dead letters");
      assertThat(runPrinting(err, "score-stream", "--spec", spec.toString()))
          .contains("Accounted for: read 1,000 = scored 1,000 + dead-lettered 0  (adds up)");
      assertThat(kafka.clientSettings()).containsKey("sasl.jaas.config");
    }
  }

  /**
   * {@code run} refuses a topic that does not exist (the job would read nothing), and names the way
   * out; {@code produce} creates it, then sends every row.
   */
  @Test
  void runRefusesAMissingTopicAndProduceCreatesIt() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(directory.resolve("kafka"))) {
      Path spec = creditSpec(kafka, "not-yet-events", false);

      StringWriter err = new StringWriter();
      int ran =
          StreamLearnCli.execute(new PrintWriter(err, true), "run", "--spec", spec.toString());
      assertThat(ran).isEqualTo(2);
      assertThat(err.toString())
          .contains(
              "topic 'not-yet-events' (source.topic) does not exist at "
                  + kafka.bootstrapServers()
                  + ": create it, or send events with ./streamlearn produce, which creates it");
      assertThat(kafka.admin().listTopics().names().get()).doesNotContain("not-yet-events");

      PrintStream console = System.out;
      ByteArrayOutputStream printed = new ByteArrayOutputStream();
      int produced;
      try {
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        produced = produceCredit(err, spec);
      } finally {
        System.setOut(console);
      }
      assertThat(produced).as(err.toString()).isZero();
      assertThat(printed.toString(StandardCharsets.UTF_8))
          .contains("Created topic not-yet-events at " + kafka.bootstrapServers())
          .contains("Sent 1,000 events to not-yet-events");
      assertThat(readTopic(kafka, "not-yet-events")).hasSize(1000);

      // Sends the broker refuses (records over the topic's size limit) are counted and reported.
      kafka
          .admin()
          .createTopics(
              List.of(
                  new NewTopic("tiny-events", 1, (short) 1)
                      .configs(Map.of("max.message.bytes", "64"))))
          .all()
          .get();
      StringWriter refused = new StringWriter();
      int tiny = produceCredit(refused, spec, "--topic", "tiny-events");
      assertThat(tiny).isEqualTo(1);
      assertThat(refused.toString())
          .contains("1,000 of 1,000 events were not sent to tiny-events")
          .contains("RecordTooLargeException");
    }
  }

  /**
   * {@code produce} of JSON lines, nested ({@code id, timestamp, label, features}) and flat with
   * {@code --label}, sends each line it can read as an event and names the lines it cannot.
   */
  @Test
  void producesJsonLinesOfBothShapesAndNamesTheLinesItCannotRead() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(directory.resolve("kafka"))) {
      Path spec = directory.resolve("json.yaml");
      Files.writeString(
          spec,
          String.join(
              "\n",
              "name: json",
              "source: {bootstrap-servers: '" + kafka.bootstrapServers() + "', topic: json-events}",
              "features: [{name: x, type: numeric}, {name: c, type: categorical}]",
              ""));
      Path lines = directory.resolve("events.jsonl");
      Files.write(
          lines,
          List.of(
              "{\"id\": \"n1\", \"timestamp\": 1700000000000, \"y\": 1, \"features\": {\"x\": 0.5, \"c\": \"a\"}}",
              "{\"x\": 1.5, \"c\": \"b\", \"y\": 0}",
              "not json at all",
              "[1, 2]",
              "{\"id\": \"n5\", \"timestamp\": \"yesterday\", \"y\": 1, \"x\": 2}",
              "",
              "{\"id\": \"n7\", \"timestamp\": \"2026-11-23T10:00:00Z\", \"y\": 0, \"x\": -1, \"c\": null}",
              "{\"id\": \"u8\", \"x\": 3}"));

      StringWriter err = new StringWriter();
      long before = System.currentTimeMillis();
      int produced = produce(err, spec, lines, "--label", "y");
      assertThat(produced).as(err.toString()).isEqualTo(1);
      assertThat(err.toString())
          .contains("3 of 7 lines of " + lines + " are not events and were not sent")
          .contains("the first: line 3: Unrecognized token 'not'");

      var codec = dev.streamlearn.schemas.codec.Topics.labeledEvents();
      List<LabeledEvent> events = new ArrayList<>();
      for (ConsumerRecord<byte[], byte[]> record : readTopic(kafka, "json-events")) {
        events.add(codec.decode(record.value()));
      }
      assertThat(events).hasSize(4);
      LabeledEvent nested = events.get(0);
      assertThat(nested.getId().toString()).isEqualTo("n1");
      assertThat(nested.getTimestamp().toEpochMilli()).isEqualTo(1_700_000_000_000L);
      assertThat(nested.getLabel()).isEqualTo(1.0);
      assertThat(nested.getFeatures().toString()).contains("x=0.5").contains("c=a");
      LabeledEvent flat = events.get(1);
      assertThat(flat.getId().toString()).isEqualTo("events.jsonl-1");
      assertThat(flat.getLabel()).isEqualTo(0.0);
      assertThat(flat.getFeatures()).hasSize(2);
      // No time of its own: one second a line before the file's last line (its eighth), which
      // gets the time it is sent.
      long after = System.currentTimeMillis();
      assertThat(flat.getTimestamp().toEpochMilli() + 6000).isBetween(before, after);
      LabeledEvent last = events.get(2);
      assertThat(last.getId().toString()).isEqualTo("n7");
      assertThat(last.getTimestamp().toString()).isEqualTo("2026-11-23T10:00:00Z");
      Map<String, Object> lastFeatures = new java.util.HashMap<>();
      last.getFeatures().forEach((name, value) -> lastFeatures.put(name.toString(), value));
      assertThat(lastFeatures).containsEntry("c", null).containsEntry("x", -1.0);
      // A line without its label is sent as an event to be scored, its label absent.
      assertThat(events.get(3).getId()).isEqualTo("u8");
      assertThat(events.get(3).getLabel()).isNull();
      assertThat(events.get(3).getTimestamp().toEpochMilli()).isBetween(before, after);
    }
  }

  /**
   * Events sent without their labels, then the labels from a file with {@code produce --labels}:
   * {@code run} joins them and accounts for every event and every label.
   */
  @Test
  void producesEventsThenTheirLabelsAndRunJoinsThem() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(directory.resolve("kafka"))) {
      Path spec = directory.resolve("joined.yaml");
      Files.writeString(
          spec,
          String.join(
              "\n",
              "name: joined",
              "source: {bootstrap-servers: '" + kafka.bootstrapServers() + "', topic: visits,",
              "         bounded: true, labels: {topic: visits.labels}}",
              "label: {classes: [stayed, left]}",
              "features: [{name: x, type: numeric}]",
              "validation: {window: 100s}",
              "store: {uri: '" + directory.resolve("joined-store") + "'}",
              ""));
      java.util.Random random = new java.util.Random(5);
      List<String> events = new ArrayList<>();
      List<String> labels = new ArrayList<>(List.of("id,outcome,timestamp"));
      for (int i = 0; i < 400; i++) {
        double x = random.nextGaussian();
        long time = 1_700_000_000_000L + 1000L * i;
        events.add(String.format("{\"id\": \"v%d\", \"timestamp\": %d, \"x\": %s}", i, time, x));
        if (i % 40 != 3) {
          labels.add("v" + i + "," + (x > 0 ? "left" : "stayed") + "," + (time + 20_000));
        }
      }
      labels.add("v1,,");
      Path eventsFile = directory.resolve("visits.jsonl");
      Path labelsFile = directory.resolve("outcomes.csv");
      Files.write(eventsFile, events);
      Files.write(labelsFile, labels);

      StringWriter err = new StringWriter();
      assertThat(produce(err, spec, eventsFile)).as(err.toString()).isZero();
      // Without its labels topic the job would hold every event waiting: refused before it starts.
      StringWriter noLabels = new StringWriter();
      assertThat(
              StreamLearnCli.execute(
                  new PrintWriter(noLabels, true), "run", "--spec", spec.toString()))
          .isEqualTo(2);
      assertThat(noLabels.toString())
          .contains(
              "topic 'visits.labels' (source.labels.topic) does not exist at "
                  + kafka.bootstrapServers()
                  + ": create it, or send labels with ./streamlearn produce --labels");
      java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
      PrintStream console = System.out;
      int sentLabels;
      try {
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        sentLabels = produce(err, spec, labelsFile, "--labels", "--label", "outcome");
      } finally {
        System.setOut(console);
      }
      assertThat(sentLabels).isEqualTo(1);
      assertThat(printed.toString(StandardCharsets.UTF_8))
          .contains("Created topic visits.labels")
          .contains("Sent 390 labels to visits.labels");
      assertThat(err.toString())
          .contains(
              "1 of 391 rows are not labels and were not sent; the first: row 391: a label"
                  + " needs a value in 'outcome'");
      var codec = dev.streamlearn.schemas.codec.Topics.eventLabels();
      var first = codec.decode(readTopic(kafka, "visits.labels").get(0).value());
      assertThat(first.getLabel().toString()).isIn("left", "stayed");
      assertThat(first.getTimestamp().toEpochMilli() % 1000).isZero();

      String out = runPrinting(err, "run", "--spec", spec.toString());
      assertThat(out)
          .contains(
              "Accounted for: read 400 = trained "
                  + ProgressMetrics.count(PipelineCounters.TRAINED)
                  + " + held out "
                  + ProgressMetrics.count(PipelineCounters.HELD_OUT)
                  + " + deduplicated 0 + dead-lettered 10  (adds up)")
          .contains("Labels: read 390 = joined with their event 390 + dead-lettered 0  (adds up)");

      // The ten events whose label never came, in the dead-letter topic without their bytes, are
      // read back from the events topic and sent on.
      String summary = runPrinting(err, "dead-letters", "summary", "--spec", spec.toString());
      assertThat(summary)
          .contains(
              "Dead-letter topic visits.dead-letter at "
                  + kafka.bootstrapServers()
                  + ": 10 dead letters, refused ")
          .contains("  10 carry no payload")
          .containsPattern("\\s+10  join-labels  visits\\s+no label arrived on visits.labels ");
      String replay =
          runPrinting(
              err,
              "dead-letters",
              "replay",
              "--spec",
              spec.toString(),
              "--to-topic",
              "visits.retry");
      assertThat(replay).contains("Replayed 10 to visits.retry; 10 read back from their topic");
      List<ConsumerRecord<byte[], byte[]>> visits = readTopic(kafka, "visits");
      assertThat(readTopic(kafka, "visits.retry"))
          .extracting(r -> new String(r.value(), StandardCharsets.UTF_8))
          .containsExactlyElementsOf(
              java.util.stream.IntStream.range(0, 400)
                  .filter(i -> i % 40 == 3)
                  .mapToObj(i -> new String(visits.get(i).value(), StandardCharsets.UTF_8))
                  .toList());

      // A file's rows as events without their labels, then the same rows as those labels: ids
      // <file>-<row> in both, so each label finds its event.
      Path credit = directory.resolve("credit-g-late-labels.yaml");
      Files.writeString(
          credit,
          Files.readString(repositoryFile("examples/credit-g-late-labels.yaml"))
              .replace(
                  "bootstrap-servers: localhost:9092",
                  "bootstrap-servers: " + kafka.bootstrapServers() + "\n  bounded: true")
              .replace("uri: models", "uri: " + directory.resolve("late-store")));
      assertThat(produceCredit(err, credit, "--without-labels")).as(err.toString()).isZero();
      assertThat(
              Topics.labeledEvents()
                  .decode(readTopic(kafka, "credit-applications-late").get(0).value())
                  .getLabel())
          .isNull();
      assertThat(produceCredit(err, credit, "--labels")).as(err.toString()).isZero();
      String creditRun = runPrinting(err, "run", "--spec", credit.toString());
      assertThat(creditRun)
          .contains("Accounted for: read 1,000 = trained ")
          .contains(" + deduplicated 0 + dead-lettered 0  (adds up)")
          .contains(
              "Labels: read 1,000 = joined with their event 1,000 + dead-lettered 0  (adds up)");
      assertThat(produceCredit(err, credit, "--labels", "--without-labels")).isEqualTo(2);
      assertThat(err.toString()).contains("--labels sends labels and --without-labels sends");

      // Without source.labels there is nowhere to send labels.
      Path plain = directory.resolve("plain.yaml");
      Files.writeString(
          plain, Files.readString(spec).replace(", labels: {topic: visits.labels}", ""));
      StringWriter refused = new StringWriter();
      assertThat(produce(refused, plain, labelsFile, "--labels")).isEqualTo(2);
      assertThat(refused.toString())
          .contains("--labels: the spec " + plain + " names no source.labels");
    }
  }

  /**
   * examples/credit-g-records.yaml: {@code produce} writes the CSV rows as the lending system's own
   * Avro records (counting the rows that do not fit the schema, and not sending them), and {@code
   * run} learns from those records.
   */
  @Test
  void producesAndLearnsFromTheProducersOwnRecords() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(directory.resolve("kafka"))) {
      Path spec = directory.resolve("credit-g-records.yaml");
      Files.copy(
          repositoryFile("examples/credit-application.avsc"),
          directory.resolve("credit-application.avsc"));
      Files.writeString(
          spec,
          Files.readString(repositoryFile("examples/credit-g-records.yaml"))
              .replace(
                  "bootstrap-servers: localhost:9092",
                  "bootstrap-servers: " + kafka.bootstrapServers() + "\n  bounded: true")
              .replace("uri: models", "uri: " + directory.resolve("store")));
      List<String> lines =
          new ArrayList<>(Files.readAllLines(repositoryFile("../shared/data/credit-g.csv")));
      lines.set(5, lines.get(5).replaceFirst(",\\d+,", ",six,"));
      lines.set(9, lines.get(9).replaceFirst(",yes,(good|bad)$", ",maybe,$1"));
      Path csv = directory.resolve("credit-g.csv");
      Files.write(csv, lines);

      StringWriter err = new StringWriter();
      int produced = produce(err, spec, csv);
      assertThat(produced).isEqualTo(1);
      assertThat(err.toString())
          .contains(
              "2 of 1,000 rows do not fit com.example.lending.CreditApplication and were not"
                  + " sent; the first: row 5: field duration = 'six' does not fit its type");
      List<ConsumerRecord<byte[], byte[]>> records = readTopic(kafka, "credit-applications");
      assertThat(records).hasSize(998);
      assertThat(records.get(0).value()[0]).isZero();
      assertThat(new String(records.get(0).key(), StandardCharsets.UTF_8))
          .isEqualTo("credit-g.csv-0");

      int ran =
          StreamLearnCli.execute(new PrintWriter(err, true), "run", "--spec", spec.toString());
      assertThat(ran).as(err.toString()).isZero();
      LocalModelStore store = new LocalModelStore(directory.resolve("store"));
      List<Long> versions = store.versions("credit-g-records");
      assertThat(versions).hasSizeGreaterThanOrEqualTo(3);
      Manifest last =
          store.manifest("credit-g-records", versions.get(versions.size() - 1)).orElseThrow();
      assertThat(last.lineage().eventsTrainedTotal() + last.lineage().eventsHeldOutTotal())
          .isEqualTo(998);
      assertThat(last.inputSchemaFingerprint())
          .isEqualTo(
              String.format(
                  "%016x",
                  org.apache.avro.SchemaNormalization.parsingFingerprint64(
                      new org.apache.avro.Schema.Parser()
                          .parse(repositoryFile("examples/credit-application.avsc").toFile()))));
      assertThat(last.metrics().get("sinceStart").get("accuracy")).isGreaterThan(0.65);

      // score reads the CSV through the version's input-schema.avsc, as produce wrote it: the two
      // rows that do not fit the schema are refused, not scored with features training never saw.
      Path versionDirectory =
          directory.resolve("store").resolve("credit-g-records").resolve(last.version() + "");
      assertThat(versionDirectory.resolve("input-schema.avsc")).exists();
      PrintStream console = System.out;
      ByteArrayOutputStream printed = new ByteArrayOutputStream();
      int scored;
      try {
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        scored =
            StreamLearnCli.execute(
                new PrintWriter(err, true),
                "score",
                "--model",
                versionDirectory.toString(),
                "--input",
                csv.toString(),
                "--output",
                directory.resolve("scores.csv").toString());
      } finally {
        System.setOut(console);
      }
      assertThat(scored).as(err.toString()).isZero();
      assertThat(printed.toString(StandardCharsets.UTF_8)).contains("(2 refused)");
      List<String> scores = Files.readAllLines(directory.resolve("scores.csv"));
      assertThat(scores).hasSize(1001);
      assertThat(scores.get(5)).startsWith("4,refused: field duration = 'six' does not fit");
      // The store's alias names the same version: <store>/<model>/latest scores alike.
      int byAlias =
          StreamLearnCli.execute(
              new PrintWriter(err, true),
              "score",
              "--model",
              directory.resolve("store").resolve("credit-g-records").resolve("latest").toString(),
              "--input",
              csv.toString(),
              "--output",
              directory.resolve("scores-latest.csv").toString());
      assertThat(byAlias).as(err.toString()).isZero();
      assertThat(Files.readAllLines(directory.resolve("scores-latest.csv"))).isEqualTo(scores);

      // The same rows as JSON lines, one of them not an object: counted, not sent, named.
      List<String> header = List.of(lines.get(0).split(","));
      List<String> json = new ArrayList<>();
      for (String row : lines.subList(1, 4)) {
        Map<String, Object> object = new java.util.LinkedHashMap<>();
        String[] cells = row.split(",");
        for (int c = 0; c < cells.length; c++) {
          object.put(header.get(c), cells[c]);
        }
        json.add(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(object));
      }
      json.add(1, "[1, 2]");
      Path jsonl = directory.resolve("credit-g.jsonl");
      Files.write(jsonl, json);
      StringWriter jsonErr = new StringWriter();
      int jsonProduced = produce(jsonErr, spec, jsonl);
      assertThat(jsonProduced).isEqualTo(1);
      assertThat(jsonErr.toString())
          .contains(
              "1 of 4 rows do not fit com.example.lending.CreditApplication and were not sent;"
                  + " the first: row 2: each line must be a JSON object; got ARRAY");
      assertThat(readTopic(kafka, "credit-applications")).hasSize(998 + 3);
    }
  }

  /**
   * examples/credit-g.yaml on {@code kafka}'s {@code topic}, with a store in the test's directory.
   */
  private Path creditSpec(EmbeddedKafka kafka, String topic, boolean bounded) throws Exception {
    Path spec = directory.resolve("credit-g.yaml");
    String example = Files.readString(repositoryFile("examples/credit-g.yaml"));
    Files.writeString(
        spec,
        example
            .replace(
                "bootstrap-servers: kafka:9092",
                "bootstrap-servers: "
                    + kafka.bootstrapServers()
                    + (bounded ? "\n  bounded: true" : ""))
            .replace("topic: credit-events", "topic: " + topic)
            .replace("uri: /models", "uri: " + directory.resolve("store")));
    return spec;
  }

  /** {@code streamlearn produce} of credit-g.csv with {@code spec}, errors into {@code err}. */
  static int produceCredit(StringWriter err, Path spec, String... more) throws Exception {
    return produceCreditRows(err, spec, repositoryFile("../shared/data/credit-g.csv"), more);
  }

  /** {@code streamlearn produce} of a file of credit-g rows, labelled by {@code class}. */
  private static int produceCreditRows(StringWriter err, Path spec, Path rows, String... more) {
    List<String> options = new ArrayList<>(List.of("--label", "class"));
    options.addAll(List.of(more));
    return produce(err, spec, rows, options.toArray(String[]::new));
  }

  /** {@code streamlearn produce} of {@code input} with {@code spec}, errors into {@code err}. */
  private static int produce(StringWriter err, Path spec, Path input, String... more) {
    List<String> args =
        new ArrayList<>(List.of("produce", "--spec", spec.toString(), "--input", input.toString()));
    args.addAll(List.of(more));
    return StreamLearnCli.execute(new PrintWriter(err, true), args.toArray(String[]::new));
  }

  /**
   * The job's last version, downloaded through the model store server, scores every row of the file
   * to the probabilities the trainer itself computes: the same events from the topic, in order,
   * through the Flink-free trainer, then its own featurizer and network.
   */
  private void assertServedModelScoresLikeTheTrainer(
      EmbeddedKafka kafka, PipelineSpec spec, LocalModelStore store, Path csv) throws Exception {
    ModelTrainer trainer;
    TrainerState state;
    try (Backend backend = Backends.create(spec.cpuBackend())) {
      trainer = new ModelTrainer(spec, backend);
      state = trainer.newState();
      DirectEventDecoder decoder = new DirectEventDecoder(spec);
      List<ModelSnapshot> versions = new ArrayList<>();
      ModelTrainer.Output output =
          new ModelTrainer.Output() {
            @Override
            public void version(ModelSnapshot snapshot) {
              versions.add(snapshot);
            }

            @Override
            public void window(WindowReport report) {}
          };
      for (ConsumerRecord<byte[], byte[]> record : readTopic(kafka, spec.source().topic())) {
        trainer.offer(
            state, decoder.decode(record.value(), record.partition(), record.offset()), output);
      }
      trainer.finish(state, output);
      assertThat((long) versions.size()).isEqualTo(store.versions("credit-g").size());

      try (ModelStoreServer server =
          ModelStoreServer.start(store, new InetSocketAddress("127.0.0.1", 0), null)) {
        Path downloaded = directory.resolve("downloaded");
        new ModelStoreClient(server.url(), null).download("credit-g", "latest", downloaded);
        ModelScorer scorer = ModelScorer.load(downloaded);
        Network network = new Network(trainer.shape(), backend, 1);
        CsvEvents rows = new CsvEvents(CsvReader.read(csv), "class");
        float[] vector = new float[trainer.featurizer().dimension()];
        float[] expected = new float[1];
        ExampleExtractor extractor = new ExampleExtractor(spec);
        double worst = 0;
        for (int i = 0; i < rows.size(); i++) {
          LabeledEvent event = rows.event(i, "row-", 0);
          Example example = extractor.extract(event, 0, i);
          trainer
              .featurizer()
              .transform(state.featurizer, example.numeric, example.categorical, vector, 0, false);
          network.predict(state.params, vector, 1, expected);
          float[] actual = scorer.score(event.getFeatures(), event.getTimestamp().toEpochMilli());
          worst = Math.max(worst, Math.abs(actual[0] - expected[0]));
        }
        System.out.printf(
            "credit-g: %,d rows scored by the served model; largest difference from the trainer %.2e%n",
            rows.size(), worst);
        assertThat(worst).isLessThan(1e-6);
      }
    }
  }

  private static List<ConsumerRecord<byte[], byte[]>> readTopic(EmbeddedKafka kafka, String topic) {
    return TopicReader.readToTheEnd(kafka.bootstrapServers(), topic, false);
  }

  static Path repositoryFile(String relative) {
    Path directory = Path.of("").toAbsolutePath();
    while (directory != null) {
      Path candidate = directory.resolve(relative);
      if (Files.exists(candidate) && Files.exists(directory.resolve("mvnw"))) {
        return candidate;
      }
      directory = directory.getParent();
    }
    throw new IllegalStateException(relative + " not found from " + Path.of("").toAbsolutePath());
  }
}
