package dev.streamlearn.jobs.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.store.LocalModelStore;
import dev.streamlearn.store.http.ModelStoreServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The CLI refuses what it cannot do before it starts anything, and says why. */
class StreamLearnCliTest {

  @TempDir Path directory;

  @Test
  void everyCommandsHelpRendersWithoutPicocliWarningsAndDescribesEveryOption() {
    // picocli formats descriptions with String.format: a lone % (as in "1% of") makes it warn on
    // stderr and print the description raw, with its %n left in.
    PrintStream stderr = System.err;
    ByteArrayOutputStream warnings = new ByteArrayOutputStream();
    List<String> commands = new ArrayList<>();
    try {
      System.setErr(new PrintStream(warnings, true, StandardCharsets.UTF_8));
      Deque<CommandLine> toRender =
          new ArrayDeque<>(
              List.of(StreamLearnCli.commandLine(new PrintWriter(new StringWriter()))));
      while (!toRender.isEmpty()) {
        CommandLine command = toRender.pop();
        String usage = command.getUsageMessage();
        commands.add(command.getCommandSpec().qualifiedName());
        assertThat(usage).as(command.getCommandSpec().qualifiedName()).doesNotContain("%n", "%%");
        for (CommandLine.Model.OptionSpec option : command.getCommandSpec().options()) {
          assertThat(String.join(" ", option.description()))
              .as(command.getCommandSpec().qualifiedName() + " " + option.longestName())
              .isNotBlank();
        }
        toRender.addAll(command.getSubcommands().values());
      }
    } finally {
      System.setErr(stderr);
    }
    assertThat(commands).contains("streamlearn demo", "streamlearn models serve");
    assertThat(warnings.toString(StandardCharsets.UTF_8)).doesNotContain("picocli WARN");
  }

  @Test
  void everyCommandTakesHelp() {
    // A command with a --version of its own (a model's version) lost picocli's standard --help
    // with it, and `models show --help` answered "Missing required option".
    Deque<CommandLine> commands =
        new ArrayDeque<>(List.of(StreamLearnCli.commandLine(new PrintWriter(new StringWriter()))));
    int checked = 0;
    while (!commands.isEmpty()) {
      CommandLine command = commands.pop();
      List<String> args = new ArrayList<>();
      for (CommandLine c = command; c.getParent() != null; c = c.getParent()) {
        args.add(0, c.getCommandName());
      }
      args.add("--help");
      Result result = run(args.toArray(String[]::new));
      assertThat(result.code).as(String.join(" ", args) + ": " + result.err).isZero();
      assertThat(command.getCommandSpec().optionsMap())
          .as(String.join(" ", args))
          .containsKey("-h");
      checked++;
      commands.addAll(command.getSubcommands().values());
    }
    assertThat(checked).isGreaterThan(20);
  }

  @Test
  void refusesBinaryTaskOnManyClasses() {
    Result result =
        run(
            "demo",
            "--input",
            sharedData("digits.csv"),
            "--label",
            "digit",
            "--task",
            "binary",
            "--store",
            directory.toString());
    assertThat(result.code).isEqualTo(2);
    assertThat(result.err)
        .contains(
            "label column 'digit' has 10 distinct values (0, 1, 2, 3, 4, 5, 6, 7, 8, 9); a binary task needs exactly two");
  }

  @Test
  void refusesARegressionOnALabelOfText() {
    Result result =
        run(
            "demo",
            "--input",
            sharedData("credit-g.csv"),
            "--label",
            "class",
            "--task",
            "regression",
            "--store",
            directory.toString());
    assertThat(result.code).isEqualTo(2);
    assertThat(result.err)
        .contains("label column 'class' holds text, not numbers; a regression learns numbers");
  }

  @Test
  void refusesAMetricsPortThatIsNotAPort() {
    Result result =
        run("demo", "--metrics-port", "0", "--store", directory.resolve("store").toString());
    assertThat(result.code).isEqualTo(2);
    assertThat(result.err).contains("--metrics-port 0: a port in [1, 65535]");
    assertThat(directory.resolve("store")).doesNotExist();
  }

  @Test
  void refusesCountsBelowOneBeforeAnythingStarts() {
    String[][] cases = {
      {"run", "--spec", "spec.yaml", "--parallelism", "0"},
      {"score-stream", "--spec", "spec.yaml", "--parallelism", "-2"},
      {"demo", "--store", directory.resolve("store").toString(), "--rate", "0"},
      {"demo", "--store", directory.resolve("store").toString(), "--parallelism", "0"},
      {"bench", "pipeline", "--events", "0"},
      {"bench", "pipeline", "--parallelism", "0"},
      {"bench", "server", "--clients", "0"},
      {"bench", "server", "--requests", "0"},
      {"produce", "--spec", "spec.yaml", "--input", "rows.csv", "--partitions", "0"},
    };
    for (String[] args : cases) {
      String option = args[args.length - 2];
      Result result = run(args);
      assertThat(result.code).as(String.join(" ", args)).isEqualTo(2);
      assertThat(result.err)
          .contains(
              "Invalid value for option '"
                  + option
                  + "': '"
                  + args[args.length - 1]
                  + "' is not 1 or more");
    }
    assertThat(run("run", "--spec", "spec.yaml", "--parallelism", "two").err)
        .contains("Invalid value for option '--parallelism': 'two' is not a whole number");
    assertThat(directory.resolve("store")).doesNotExist();
  }

  @Test
  void refusesAFlinkUiPortThatCannotServe() throws IOException {
    Result outside =
        run("demo", "--flink-ui", "70000", "--store", directory.resolve("store").toString());
    assertThat(outside.code).isEqualTo(2);
    assertThat(outside.err).contains("--flink-ui 70000: a port in [1, 65535]");
    try (ServerSocket taken = new ServerSocket(0)) {
      String port = Integer.toString(taken.getLocalPort());
      Result busy =
          run("demo", "--flink-ui", port, "--store", directory.resolve("store").toString());
      assertThat(busy.code).isEqualTo(2);
      assertThat(busy.err).contains("--flink-ui " + port + ": cannot serve there (");
    }
    assertThat(directory.resolve("store")).doesNotExist();
  }

  @Test
  void refusesUnknownLabelColumn() {
    Result result =
        run(
            "demo",
            "--input",
            sharedData("wdbc.csv"),
            "--label",
            "nope",
            "--store",
            directory.toString());
    assertThat(result.code).isEqualTo(2);
    assertThat(result.err).contains("no column 'nope'; the columns are [mean_radius");
  }

  @Test
  void refusesSegmentsByAColumnThatIsNotCategorical() {
    Result result =
        run(
            "demo",
            "--input",
            sharedData("wdbc.csv"),
            "--label",
            "diagnosis",
            "--segment-by",
            "mean_radius",
            "--store",
            directory.toString());
    assertThat(result.code).isEqualTo(2);
    assertThat(result.err)
        .contains(
            "spec key 'segments.by' = 'mean_radius': the name of a categorical feature, and the"
                + " spec has none");
  }

  @Test
  void refusesTriesThatAreNotAGrid() {
    Result malformed =
        run(
            "demo",
            "--input",
            sharedData("wdbc.csv"),
            "--label",
            "diagnosis",
            "--try",
            "training.learning-rate",
            "--store",
            directory.toString());
    assertThat(malformed.code).isEqualTo(2);
    assertThat(malformed.err)
        .contains(
            "--try 'training.learning-rate': KEY=VALUE,VALUE..., e.g. --try"
                + " training.learning-rate=0.01,0.1");
    Result mixed =
        run(
            "demo",
            "--input",
            sharedData("wdbc.csv"),
            "--label",
            "diagnosis",
            "--try",
            "model.type=logistic,mlp",
            "--try",
            "model.hidden-layers=[],[8]",
            "--store",
            directory.toString());
    assertThat(mixed.code).isEqualTo(2);
    assertThat(mixed.err)
        .contains(
            "spec key 'candidates[1].model.hidden-layers' = [8]: only an mlp has hidden layers"
                + " (candidate c2 of candidates.grid: {model.type=logistic,"
                + " model.hidden-layers=[8]})");
  }

  @Test
  void scoresWithAVersionOrBySegmentAndSaysWhichIsMissing() throws Exception {
    Path rows = directory.resolve("rows.csv");
    Files.writeString(rows, "x\n1\n");
    Result neither =
        run("score", "--input", rows.toString(), "--output", directory.resolve("o").toString());
    assertThat(neither.code).isEqualTo(2);
    assertThat(neither.err)
        .contains("give one of --model (a version) and --segments (a pipeline's segment models)");
    Result none =
        run(
            "score",
            "--segments",
            directory.resolve("shops").toString(),
            "--input",
            rows.toString(),
            "--output",
            directory.resolve("o").toString());
    assertThat(none.code).isEqualTo(2);
    assertThat(none.err)
        .contains(
            "--segments " + directory.resolve("shops") + ": no segment models shops.<segment>");

    Path aliases = Files.createDirectories(directory.resolve("store/churn/aliases"));
    Files.writeString(aliases.resolve("latest"), "3");
    Path champion = directory.resolve("store/churn/champion");
    Result noAlias =
        run(
            "score",
            "--model",
            champion.toString(),
            "--input",
            rows.toString(),
            "--output",
            directory.resolve("o").toString());
    assertThat(noAlias.code).isEqualTo(2);
    assertThat(noAlias.err)
        .contains(
            "--model " + champion + ": model churn has no alias 'champion'; its aliases: [latest]");
    Result notAVersion =
        run(
            "score",
            "--model",
            directory.resolve("store").toString(),
            "--input",
            rows.toString(),
            "--output",
            directory.resolve("o").toString());
    assertThat(notAVersion.code).isEqualTo(2);
    assertThat(notAVersion.err)
        .contains(
            "--model "
                + directory.resolve("store")
                + " is not a version directory (no manifest.json) nor <store>/<model>/<alias>");
    Path modelDirectory = directory.resolve("store").resolve("churn");
    Result aModel =
        run(
            "score",
            "--model",
            modelDirectory.toString(),
            "--input",
            rows.toString(),
            "--output",
            directory.resolve("o").toString());
    assertThat(aModel.code).isEqualTo(2);
    assertThat(aModel.err)
        .contains(
            "--model "
                + modelDirectory
                + " is a model's directory: name one of its versions or aliases, e.g. "
                + modelDirectory.resolve("latest"));
    Result noVersion =
        run(
            "score",
            "--model",
            modelDirectory.resolve("9").toString(),
            "--input",
            rows.toString(),
            "--output",
            directory.resolve("o").toString());
    assertThat(noVersion.code).isEqualTo(2);
    assertThat(noVersion.err)
        .contains(
            "--model "
                + modelDirectory.resolve("9")
                + ": model churn has no version 9; it has no versions");
  }

  /**
   * {@code score-stream} says, before it looks for Kafka, when the store has no such model or
   * alias, and which model to name when the pipeline trains several.
   */
  @Test
  void scoreStreamNamesTheModelOrVersionItCannotFind() throws Exception {
    Path spec = directory.resolve("scoring.yaml");
    Files.writeString(
        spec,
        "name: shop\nsource: {bootstrap-servers: '127.0.0.1:"
            + closedPort()
            + "'}\nfeatures: [{name: x, type: numeric}]\nstore: {uri: '"
            + directory.resolve("store")
            + "'}\n");
    Result loop = run("score-stream", "--spec", spec.toString(), "--output-topic", "events");
    assertThat(loop.code).isEqualTo(2);
    assertThat(loop.err)
        .contains(
            "--output-topic events is one of the pipeline's own topics (source.topic events and"
                + " its dead-letter, metrics and labels topics); predictions need a topic of their"
                + " own, e.g. events.predictions");
    Path joined = directory.resolve("joined.yaml");
    Files.writeString(joined, Files.readString(spec).replace("source: {", "source: {labels: {}, "));
    Result labels =
        run("score-stream", "--spec", joined.toString(), "--output-topic", "events.labels");
    assertThat(labels.code).isEqualTo(2);
    assertThat(labels.err).contains("--output-topic events.labels is one of the pipeline's own");
    Result missing = run("score-stream", "--spec", spec.toString());
    assertThat(missing.code).isEqualTo(2);
    assertThat(missing.err)
        .contains("model shop has no version latest in " + directory.resolve("store"))
        .contains("the store holds no models yet");

    Path candidates = directory.resolve("candidates.yaml");
    Files.writeString(
        candidates,
        Files.readString(spec)
            + "candidates: [{name: slow, training: {learning-rate: 0.01}}, {name: fast, training: {learning-rate: 0.5}}]\n");
    Result several = run("score-stream", "--spec", candidates.toString());
    assertThat(several.code).isEqualTo(2);
    assertThat(several.err)
        .contains(
            "pipeline 'shop' trains a model per candidate: choose the one to score with,"
                + " --candidate best (whichever ranks first, followed as the ranking moves) or"
                + " --candidate NAME, or --model shop.<name>");
    Result candidate =
        run(
            "score-stream",
            "--spec",
            candidates.toString(),
            "--model",
            "shop.slow",
            "--candidate",
            "slow");
    assertThat(candidate.code).isEqualTo(2);
    assertThat(candidate.err)
        .contains(
            "a candidate (slow) is chosen among the candidates of the spec's pipeline shop, not"
                + " of the model shop.slow: leave the model out");
    Result best = run("score-stream", "--spec", candidates.toString(), "--candidate", "best");
    assertThat(best.code).isEqualTo(2);
    assertThat(best.err)
        .contains(
            "no hyper-parameter candidate models shop.<candidate> with a latest version in "
                + directory.resolve("store")
                + "; the store holds no models yet");
    Result champion =
        run(
            "score-stream",
            "--spec",
            candidates.toString(),
            "--candidate",
            "best",
            "--version",
            "champion");
    assertThat(champion.code).isEqualTo(2);
    assertThat(champion.err)
        .contains(
            "the best candidate is chosen among the candidates' latest versions: leave the"
                + " version (champion) out");
  }

  /** Each command answers --help (score and score-stream have a --version of their own). */
  @Test
  void everyCommandAnswersHelp() {
    java.io.PrintStream console = System.out;
    try {
      System.setOut(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
      for (String command :
          new picocli.CommandLine(new StreamLearnCli()).getSubcommands().keySet()) {
        Result help = run(command, "--help");
        assertThat(help.code).as(command + " --help: " + help.err).isZero();
      }
    } finally {
      System.setOut(console);
    }
  }

  /**
   * The top-level help lists each command with the first line of its description: that line is a
   * whole sentence, not the start of one cut off.
   */
  @Test
  void listsEachCommandWithAWholeSentence() {
    assertCommandsListedWithWholeSentences(new picocli.CommandLine(new StreamLearnCli()));
  }

  private static void assertCommandsListedWithWholeSentences(picocli.CommandLine parent) {
    parent
        .getSubcommands()
        .forEach(
            (name, command) -> {
              String[] description = command.getCommandSpec().usageMessage().description();
              String path = parent.getCommandName() + " " + name;
              assertThat(description).as(path).isNotEmpty();
              assertThat(description[0].strip()).as(path).endsWith(".");
              assertCommandsListedWithWholeSentences(command);
            });
  }

  @Test
  void refusesBadSpecBeforeStarting() throws Exception {
    Path spec = directory.resolve("bad.yaml");
    Files.writeString(
        spec, "features: [{name: x, type: numeric}]\ntraining: {learning-rate: -1}\n");
    Result result = run("run", "--spec", spec.toString());
    assertThat(result.code).isEqualTo(2);
    assertThat(result.err)
        .contains("spec key 'training.learning-rate' = -1: a number in [1.0E-9, 100.0]");
  }

  /**
   * The resume command a stopped run prints reads the same cluster and publishes to the same store:
   * it repeats the overrides the run was given, quoted for the shell, and leaves out the duration.
   */
  @Test
  void resumeCommandRepeatsTheRunsOverrides() {
    RunCommand run = new RunCommand();
    new picocli.CommandLine(run)
        .parseArgs(
            "--spec", "my specs/credit.yaml",
            "--bootstrap-servers", "localhost:9392",
            "--topic", "credit-events",
            "--store", "/tmp/models",
            "--parallelism", "2",
            "--duration", "30s");
    assertThat(run.resumeCommand("file:/tmp/run/savepoints/savepoint-1"))
        .isEqualTo(
            "./streamlearn run --spec 'my specs/credit.yaml' --bootstrap-servers localhost:9392"
                + " --topic credit-events --store /tmp/models --parallelism 2"
                + " --from-savepoint file:/tmp/run/savepoints/savepoint-1");

    RunCommand plain = new RunCommand();
    new picocli.CommandLine(plain).parseArgs("--spec", "credit.yaml");
    assertThat(plain.resumeCommand("file:/s"))
        .isEqualTo("./streamlearn run --spec credit.yaml --from-savepoint file:/s");
    assertThat(RunCommand.shellWord("it's")).isEqualTo("'it'\\''s'");
    assertThat(RunCommand.shellWord("")).isEqualTo("''");
  }

  /**
   * A file that cannot be read as it should is named with what is wrong, on one line and without a
   * stack trace; so is an output that cannot be written.
   */
  @Test
  void namesAMalformedFileWithoutATrace() throws Exception {
    Path rows = Files.writeString(directory.resolve("short-row.csv"), "amount,label\n1,0\n3\n");
    Path spec = shopSpecWithoutABroker();
    Result produced = run("produce", "--spec", spec.toString(), "--input", rows.toString());
    assertThat(produced.code).isEqualTo(1);
    assertThat(produced.err)
        .isEqualTo("streamlearn: " + rows + " line 3 has 1 fields; the header has 2\n");
    assertThat(StreamLearnCli.describe(new java.nio.file.AccessDeniedException("/data/s.csv")))
        .isEqualTo("AccessDeniedException: /data/s.csv");
  }

  @Test
  void kafkaRefusesASaslUserWithoutAPassword() {
    Result refused = run("kafka", "--port", "9", "--sasl-plain", "alice");
    assertThat(refused.code).isEqualTo(2);
    assertThat(refused.err).isEqualTo("streamlearn: --sasl-plain: USER:PASSWORD, both not empty\n");
  }

  /** A misspelt Kafka client setting fails before Kafka is asked, naming the key. */
  @Test
  void refusesKafkaSettingsNoClientKnowsBeforeAskingKafka() throws Exception {
    Path spec = shopSpecWithoutABroker();
    Files.writeString(
        spec,
        Files.readString(spec)
            .replace("topic: shop}", "topic: shop, kafka: {sasl.mechanizm: PLAIN}}"));
    Result refused =
        run("run", "--spec", spec.toString(), "--store", directory.resolve("store").toString());
    assertThat(refused.code).isEqualTo(2);
    assertThat(refused.err)
        .isEqualTo(
            "streamlearn: spec key 'source.kafka.sasl.mechanizm': not a setting of Kafka's"
                + " clients; did you mean sasl.mechanism?\n");
  }

  @Test
  void refusesBadDuration() {
    Result result = run("demo", "--duration", "forever", "--store", directory.toString());
    assertThat(result.code).isEqualTo(2);
    assertThat(result.err)
        .contains("spec key '--duration' = 'forever': a duration such as 500ms, 10s");
  }

  /**
   * A wrong address fails at once with the address and the key, instead of a job that reads nothing
   * forever or a producer that waits for metadata.
   */
  @Test
  void refusesToRunOrProduceWhenNoBrokerAnswers() throws Exception {
    int closedPort = closedPort();
    String servers = "localhost:" + closedPort;
    Path spec = directory.resolve("spec.yaml");
    Files.writeString(spec, "features: [{name: x, type: numeric}]\n");
    Path csv = directory.resolve("rows.csv");
    Files.writeString(csv, "x,label\n1,0\n2,1\n");
    String expected =
        "no Kafka broker answered at "
            + servers
            + " (source.bootstrap-servers, or --bootstrap-servers) within 2 s";

    Result run =
        run(
            "run",
            "--spec",
            spec.toString(),
            "--bootstrap-servers",
            servers,
            "--kafka-timeout",
            "2s");
    assertThat(run.code).isEqualTo(2);
    assertThat(run.err).contains(expected);

    String[] produce = {"produce", "--spec", spec.toString(), "--input", csv.toString()};
    Result toClosedPort =
        run(with(produce, "--bootstrap-servers", servers, "--kafka-timeout", "2s"));
    assertThat(toClosedPort.code).isEqualTo(2);
    assertThat(toClosedPort.err).contains(expected);

    Result unresolvable =
        run(
            with(
                produce,
                "--bootstrap-servers",
                "no-such-host.invalid:9092",
                "--kafka-timeout",
                "2s"));
    assertThat(unresolvable.code).isEqualTo(2);
    assertThat(unresolvable.err)
        .contains("no Kafka broker answered at no-such-host.invalid:9092")
        .contains("No resolvable bootstrap urls");
  }

  /** A server that is not there, or that answers 404, is one line, not a stack trace. */
  @Test
  void namesAServerThatDoesNotAnswerOrHasNoSuchModel() throws Exception {
    int closedPort = closedPort();
    String nobody = "http://127.0.0.1:" + closedPort + "/";
    Result unreachable = run("models", "--store", nobody, "list");
    assertThat(unreachable.code).isEqualTo(1);
    assertThat(unreachable.err)
        .contains("streamlearn: cannot reach the model store server at " + nobody)
        .doesNotContain("\tat ");

    Path store = Files.createDirectories(directory.resolve("served"));
    Files.writeString(directory.resolve("rows.csv"), "x\n1\n");
    try (ModelStoreServer server =
        ModelStoreServer.start(
            new LocalModelStore(store), new InetSocketAddress("127.0.0.1", 0), null)) {
      Result missing =
          run(
              "score",
              "--model",
              server.url() + "api/v1/models/churn/versions/latest",
              "--input",
              directory.resolve("rows.csv").toString(),
              "--output",
              directory.resolve("scores.csv").toString());
      assertThat(missing.code).isEqualTo(1);
      assertThat(missing.err)
          .contains("streamlearn: GET ")
          .contains(": 404")
          .doesNotContain("\tat ");
    }
  }

  /** A port nothing listens on (it was free a moment ago). */
  private static int closedPort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private static String[] with(String[] args, String... more) {
    String[] all = java.util.Arrays.copyOf(args, args.length + more.length);
    System.arraycopy(more, 0, all, args.length, more.length);
    return all;
  }

  /**
   * {@code produce} refuses a file with none of the columns the spec's features read before it asks
   * Kafka for anything (the broker here does not exist).
   */
  @Test
  void refusesToProduceAFileWithNoneOfTheSpecsColumns() throws Exception {
    Path spec = directory.resolve("shop.yaml");
    Files.writeString(
        spec,
        "name: shop\nsource: {bootstrap-servers: '127.0.0.1:"
            + closedPort()
            + "', topic: shop}\nfeatures: [{name: amount, type: numeric}, {name: country, type:"
            + " categorical}]\n");
    Path rows = directory.resolve("other.csv");
    Files.writeString(rows, "x,y,label\n1,2,0\n");
    Result refused =
        run("produce", "--spec", spec.toString(), "--input", rows.toString(), "--label", "label");
    assertThat(refused.code).isEqualTo(2);
    assertThat(refused.err)
        .contains(
            "--input "
                + rows
                + " has none of the 2 columns the features of "
                + spec
                + " read (amount, country); its columns: [x, y, label]")
        .doesNotContain("Kafka");
  }

  /**
   * {@code run} refuses a store it could not publish to before it asks Kafka (no broker answers
   * there) or starts the job, which would otherwise fail and restart at its first version.
   */
  @Test
  void refusesToRunWithAStoreItCannotWrite() throws Exception {
    Path spec = shopSpecWithoutABroker();
    Path file = Files.writeString(directory.resolve("a-file"), "not a directory");
    Result refused =
        run("run", "--spec", spec.toString(), "--store", file.resolve("models").toString());
    assertThat(refused.code).isEqualTo(2);
    assertThat(refused.err)
        .contains(
            "store.uri "
                + file.resolve("models")
                + ": cannot publish versions there: cannot create "
                + file.resolve("models"))
        .doesNotContain("Kafka");
  }

  /** The progress line says when the job failed and restarted, which would pass unseen. */
  @Test
  void progressSaysHowOftenTheJobRestarted() throws Exception {
    dev.streamlearn.jobs.runtime.ProgressMetrics.reset();
    LocalModelStore store = new LocalModelStore(directory.resolve("progress-store"));
    java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
    ProgressPrinter progress =
        ProgressPrinter.of(
            dev.streamlearn.core.spec.SpecLoader.fromTree(
                new java.util.LinkedHashMap<>(
                    java.util.Map.of(
                        "name",
                        "shop",
                        "features",
                        java.util.List.of(java.util.Map.of("name", "amount", "type", "numeric"))))),
            store,
            new java.io.PrintStream(printed, true, java.nio.charset.StandardCharsets.UTF_8));
    progress.print();
    assertThat(printed.toString(java.nio.charset.StandardCharsets.UTF_8))
        .doesNotContain("restarted");
    long[] restarts = {2};
    org.apache.flink.metrics.Gauge<Long> gauge = () -> restarts[0];
    new dev.streamlearn.jobs.runtime.ProgressMetrics()
        .notifyOfAddedMetric(
            gauge,
            dev.streamlearn.jobs.runtime.ProgressMetrics.JOB_RESTARTS,
            org.apache.flink.metrics.groups.UnregisteredMetricsGroup.createOperatorMetricGroup());
    try {
      progress.print();
      assertThat(printed.toString(java.nio.charset.StandardCharsets.UTF_8))
          .contains(" | the job failed and restarted 2 times (why: target/streamlearn.log)");
      // Once the job is over and its gauge gone, the end still says so.
      new dev.streamlearn.jobs.runtime.ProgressMetrics()
          .notifyOfRemovedMetric(
              gauge,
              dev.streamlearn.jobs.runtime.ProgressMetrics.JOB_RESTARTS,
              org.apache.flink.metrics.groups.UnregisteredMetricsGroup.createOperatorMetricGroup());
      assertThat(ProgressPrinter.Counts.now().summary())
          .contains(
              "Restarts: the job failed and restarted 2 times from its last checkpoint; what it had"
                  + " read since that checkpoint it read again, counted once above");
    } finally {
      dev.streamlearn.jobs.runtime.ProgressMetrics.reset();
    }
  }

  /** Serving on a port something else holds says which port, instead of a stack trace. */
  @Test
  void refusesToServeOnAPortInUse() throws Exception {
    Path store = Files.createDirectories(directory.resolve("served-store"));
    try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      int port = taken.getLocalPort();
      Result serve =
          run(
              "models",
              "--store",
              store.toString(),
              "serve",
              "--bind",
              "127.0.0.1",
              "--port",
              String.valueOf(port));
      assertThat(serve.code).isEqualTo(2);
      assertThat(serve.err)
          .contains("--port " + port + ": cannot listen on 127.0.0.1:" + port + " (")
          .contains("choose another port, or 0 for a free one")
          .doesNotContain("\tat ");
    }
  }

  /** A mistyped store or model says so, instead of listing nothing or printing a stack trace. */
  @Test
  void namesAMissingStoreModelOrVersion() throws Exception {
    Path missing = directory.resolve("no-such-store");
    Result list = run("models", "--store", missing.toString(), "list");
    assertThat(list.code).isEqualTo(2);
    assertThat(list.err).contains("no model store at " + missing + " (no such directory)");

    Path store = Files.createDirectories(directory.resolve("store"));
    Result versions = run("models", "--store", store.toString(), "list", "--model", "churn");
    assertThat(versions.code).isEqualTo(2);
    assertThat(versions.err).contains("no model 'churn' in " + store + ", which holds none");

    Result show = run("models", "--store", store.toString(), "show", "--model", "churn");
    assertThat(show.code).isEqualTo(2);
    assertThat(show.err).contains("no model 'churn' in " + store + ", which holds none");
    assertThat(show.err).doesNotContain("\tat ");

    Files.createDirectories(store.resolve("churn").resolve("aliases"));
    Result noAlias =
        run("models", "--store", store.toString(), "show", "--model", "churn", "--version", "best");
    assertThat(noAlias.code).isEqualTo(1);
    assertThat(noAlias.err).contains("streamlearn: not found: model churn has no alias 'best'");
  }

  @Test
  void candidatesNamesAPipelineWithoutCandidateModels() throws Exception {
    Path store = Files.createDirectories(directory.resolve("no-candidates"));
    Result none = run("models", "--store", store.toString(), "candidates", "--pipeline", "churn");
    assertThat(none.code).isEqualTo(2);
    assertThat(none.err)
        .contains(
            "no candidate models of pipeline 'churn' in "
                + store
                + " (a spec with candidates names them <pipeline>.<candidate>)")
        .doesNotContain("\tat ");
    Result missing = run("models", "--store", store.toString(), "candidates");
    assertThat(missing.code).isEqualTo(2);
    assertThat(missing.err).contains("Missing required option: '--pipeline=<pipeline>'");
  }

  @Test
  void listsModelsAndVersionsWithTheirAliasesAndTheInputThatMovedMost() throws Exception {
    LocalModelStore store = new LocalModelStore(directory.resolve("drift-store"));
    for (long version = 1; version <= 2; version++) {
      java.util.Map<String, java.util.Map<String, Double>> metrics = new java.util.HashMap<>();
      metrics.put("window", java.util.Map.of("accuracy", 0.8, "count", 400.0));
      if (version == 2) {
        metrics.put("inputDrift", java.util.Map.of("amount", 0.42, "country", 0.03));
      }
      publish(store, "churn", version, "binary", metrics);
    }
    store.setAlias("churn", "champion", 1);
    String where = directory.resolve("drift-store").toString();
    java.util.List<String> lines =
        printedLines("models", "--store", where, "list", "--model", "churn");
    assertThat(lines.get(1)).startsWith("       1").contains(" champion ").doesNotContain("moved");
    assertThat(lines.get(2))
        .startsWith("       2")
        .contains(" latest ")
        .endsWith(
            "accuracy 0.8000  on 400 events  | input that moved most: amount 0.420 (shifted)");

    java.util.List<String> models = printedLines("models", "--store", where, "list");
    assertThat(models).hasSize(2);
    assertThat(models.get(0)).startsWith("model  versions  newest  aliases");
    assertThat(models.get(1))
        .matches(
            "churn +2 +2  champion -> 1, latest -> 2 +accuracy 0.8000  on 400 events  \\| input"
                + " that moved most: amount 0.420 \\(shifted\\)");
  }

  /**
   * {@code curves} draws the metrics of the model's task unless told which, and refuses a metric no
   * version measured, naming those they did.
   */
  @Test
  void drawsTheCurvesOfTheModelsTaskAndRefusesMetricsNoVersionMeasured() throws Exception {
    LocalModelStore store = new LocalModelStore(directory.resolve("curves-store"));
    for (long version = 1; version <= 3; version++) {
      publish(
          store,
          "price",
          version,
          "regression",
          java.util.Map.of(
              "window",
              java.util.Map.of("rmse", 2.0 / version, "mae", 1.0 / version, "r2", 0.2 * version)));
    }
    String where = directory.resolve("curves-store").toString();
    Path png = directory.resolve("price.png");
    assertThat(
            printedLines(
                "curves", "--store", where, "--model", "price", "--output", png.toString()))
        .containsExactly("Wrote " + png + ": 3 versions of price, metrics [rmse, mae, r2]");
    java.awt.image.BufferedImage image = javax.imageio.ImageIO.read(png.toFile());
    assertThat(image.getHeight()).isEqualTo(40 + 3 * (220 + 40) + 30);

    Result bogus =
        run(
            "curves",
            "--store",
            where,
            "--model",
            "price",
            "--metrics",
            "rmse,accuracy",
            "--output",
            directory.resolve("bogus.png").toString());
    assertThat(bogus.code).isEqualTo(2);
    assertThat(bogus.err)
        .contains(
            "--metrics accuracy: no version's validation window measured it; they measured [mae,"
                + " r2, rmse]");
    assertThat(directory.resolve("bogus.png")).doesNotExist();
  }

  /** A version of {@code model} with these metrics and one byte of parameters. */
  private static void publish(
      LocalModelStore store,
      String model,
      long version,
      String task,
      java.util.Map<String, java.util.Map<String, Double>> metrics)
      throws IOException {
    store.publish(
        new dev.streamlearn.store.Manifest(
            dev.streamlearn.store.Manifest.FORMAT_VERSION,
            model,
            null,
            null,
            version,
            version > 1 ? version - 1 : null,
            "2026-11-23T00:00:0" + version + "Z",
            task,
            task.equals("regression") ? java.util.List.of() : java.util.List.of("0", "1"),
            java.util.List.of("amount"),
            "hash",
            "fp",
            "java",
            "fp32",
            metrics,
            null,
            null,
            null,
            null),
        java.util.Map.of(dev.streamlearn.store.ModelStore.PARAMETERS, new byte[] {1}));
  }

  /** What the command line printed to standard output, a line each; fails unless it exits 0. */
  private static java.util.List<String> printedLines(String... args) {
    java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
    java.io.PrintStream console = System.out;
    Result result;
    try {
      System.setOut(
          new java.io.PrintStream(printed, true, java.nio.charset.StandardCharsets.UTF_8));
      result = run(args);
    } finally {
      System.setOut(console);
    }
    assertThat(result.code).as(result.err).isZero();
    return printed.toString(java.nio.charset.StandardCharsets.UTF_8).lines().toList();
  }

  /** A spec with one numeric feature, {@code amount}, whose broker does not answer. */
  private Path shopSpecWithoutABroker() throws IOException {
    return Files.writeString(
        directory.resolve("shop.yaml"),
        "name: shop\nsource: {bootstrap-servers: '127.0.0.1:"
            + closedPort()
            + "', topic: shop}\nfeatures: [{name: amount, type: numeric}]\n");
  }

  private record Result(int code, String err) {}

  private static Result run(String... args) {
    StringWriter err = new StringWriter();
    int code = StreamLearnCli.execute(new PrintWriter(err, true), args);
    return new Result(code, err.toString());
  }

  private static String sharedData(String name) {
    Path directory = Path.of("").toAbsolutePath();
    while (directory != null) {
      Path candidate = directory.resolveSibling("shared").resolve("data").resolve(name);
      if (Files.exists(candidate)) {
        return candidate.toString();
      }
      directory = directory.getParent();
    }
    throw new IllegalStateException("shared/data/" + name + " not found");
  }
}
