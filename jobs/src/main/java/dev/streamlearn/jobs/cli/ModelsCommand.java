package dev.streamlearn.jobs.cli;

import dev.streamlearn.core.data.ModelRouter;
import dev.streamlearn.core.metrics.InputDrift;
import dev.streamlearn.store.CandidateRanking;
import dev.streamlearn.store.LocalModelStore;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ManifestJson;
import dev.streamlearn.store.ModelStore;
import dev.streamlearn.store.ModelStores;
import dev.streamlearn.store.Pruning;
import dev.streamlearn.store.VersionSource;
import dev.streamlearn.store.http.ModelStoreClient;
import dev.streamlearn.store.http.ModelStoreClient.ModelSummary;
import dev.streamlearn.store.http.ModelStoreServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code streamlearn models}: the model store, local or through its server. */
@Command(
    name = "models",
    mixinStandardHelpOptions = true,
    description = {
      "The model store: list, show, candidates, download, promote, serve.",
      "List models and versions, show a manifest, download a version (checked against its",
      "sha256), promote or roll back an alias, or serve a store over HTTP.",
      "--store is a directory (or file:// URI) or a server URL (http://host:port/)."
    },
    subcommands = {
      ModelsCommand.ListModels.class,
      ModelsCommand.Show.class,
      ModelsCommand.Candidates.class,
      ModelsCommand.Download.class,
      ModelsCommand.Promote.class,
      ModelsCommand.Serve.class
    })
final class ModelsCommand implements Runnable {

  @Option(
      names = "--store",
      defaultValue = "models",
      scope = picocli.CommandLine.ScopeType.INHERIT,
      description = "A store directory or a server URL (default ${DEFAULT-VALUE}).")
  String store;

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(
        new picocli.CommandLine(this),
        "name a subcommand: list, show, candidates, download, promote, serve");
  }

  /** A model the store does not hold, and the models it does. */
  IllegalArgumentException noSuchModel(String model, List<String> names) {
    return new IllegalArgumentException(
        "no model '"
            + model
            + "' in "
            + store
            + (names.isEmpty()
                ? ", which holds none"
                : "; the models there: "
                    + String.join(", ", names.subList(0, Math.min(10, names.size())))
                    + (names.size() > 10 ? " (" + names.size() + " in all)" : "")));
  }

  boolean remote() {
    return store.startsWith("http://") || store.startsWith("https://");
  }

  ModelStoreClient client(String token) {
    return new ModelStoreClient(store, token);
  }

  /**
   * The store named by {@code --store}; a directory must exist (a typo would otherwise read as an
   * empty store).
   */
  ModelStore local() {
    ModelStore opened = ModelStores.open(store);
    if (opened instanceof LocalModelStore directory && !Files.isDirectory(directory.root())) {
      throw new IllegalArgumentException(
          "no model store at "
              + directory.root()
              + " (no such directory); --store names a store directory, a file:// or s3:// URI,"
              + " or a server URL");
    }
    return opened;
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description = "Models, or a model's versions with their held-out metrics.")
  static final class ListModels implements Callable<Integer> {
    @ParentCommand ModelsCommand parent;

    @Option(names = "--model", description = "List this model's versions.")
    String model;

    @Override
    public Integer call() throws IOException {
      List<ModelSummary> models = summaries();
      if (model == null) {
        printModels(models);
        return 0;
      }
      ModelSummary listed =
          models.stream().filter(m -> m.name().equals(model)).findFirst().orElse(null);
      if (listed == null) {
        throw parent.noSuchModel(model, models.stream().map(ModelSummary::name).toList());
      }
      System.out.printf(
          "%8s  %-30s  %-16s  %s%n", "version", "created", "aliases", "held-out window metrics");
      if (parent.remote()) {
        for (ModelStoreClient.VersionInfo version : parent.client(null).versions(model)) {
          printVersion(version.version(), version.created(), listed.aliases(), version.metrics());
        }
      } else {
        ModelStore local = parent.local();
        for (long version : local.versions(model)) {
          Manifest manifest = local.manifest(model, version).orElseThrow();
          printVersion(version, manifest.created(), listed.aliases(), manifest.metrics());
        }
      }
      return 0;
    }

    /** Every model with its versions and aliases: one request to a server, or from the store. */
    private List<ModelSummary> summaries() throws IOException {
      if (parent.remote()) {
        return parent.client(null).summaries();
      }
      ModelStore local = parent.local();
      List<ModelSummary> models = new java.util.ArrayList<>();
      for (String name : local.models()) {
        List<Long> versions = local.versions(name);
        models.add(
            new ModelSummary(
                name,
                versions.size(),
                versions.isEmpty() ? null : versions.get(versions.size() - 1),
                local.aliases(name)));
      }
      return models;
    }

    /** A line per model: its versions, aliases, and the newest version's held-out metrics. */
    private void printModels(List<ModelSummary> models) throws IOException {
      if (models.isEmpty()) {
        System.out.println("No models in " + parent.store + ".");
        return;
      }
      int width = Math.max(5, models.stream().mapToInt(m -> m.name().length()).max().orElse(0));
      String line = "%-" + width + "s  %8s  %6s  %-26s  %s%n";
      System.out.printf(line, "model", "versions", "newest", "aliases", "newest's held-out window");
      VersionSource source = parent.remote() ? parent.client(null) : parent.local();
      for (ModelSummary each : models) {
        Manifest newest =
            each.latest() == null ? null : source.manifest(each.name(), each.latest()).orElse(null);
        System.out.printf(
            line,
            each.name(),
            each.versions(),
            each.latest() == null ? "-" : each.latest(),
            each.aliases().entrySet().stream()
                .map(a -> a.getKey() + " -> " + a.getValue())
                .collect(java.util.stream.Collectors.joining(", ")),
            newest == null ? "" : window(newest.metrics()));
      }
    }

    private static void printVersion(
        long version,
        String created,
        Map<String, Long> aliases,
        Map<String, Map<String, Double>> metrics) {
      String named =
          aliases.entrySet().stream()
              .filter(a -> a.getValue() == version)
              .map(Map.Entry::getKey)
              .collect(java.util.stream.Collectors.joining(", "));
      System.out.printf("%8d  %-30s  %-16s  %s%n", version, created, named, window(metrics));
    }

    private static String window(Map<String, Map<String, Double>> metrics) {
      Map<String, Double> window = metrics == null ? null : metrics.get("window");
      if (window == null) {
        return "";
      }
      StringBuilder text = new StringBuilder();
      for (String name : List.of("accuracy", "auc", "logLoss", "rmse", "r2")) {
        if (window.containsKey(name)) {
          text.append(String.format("%s %.4g  ", name, window.get(name)));
        }
      }
      if (window.containsKey("count")) {
        text.append(String.format("on %,.0f events  ", window.get("count")));
      }
      String moved = movedMost(metrics.get("inputDrift"));
      if (moved != null) {
        text.append("| input that moved most: ").append(moved);
      }
      return text.toString().trim();
    }
  }

  /**
   * The input whose drift index is largest, e.g. {@code amount 0.420 (shifted)}; null without any.
   */
  static String movedMost(Map<String, Double> inputDrift) {
    if (inputDrift == null || inputDrift.isEmpty()) {
      return null;
    }
    Map.Entry<String, Double> most =
        java.util.Collections.max(inputDrift.entrySet(), Map.Entry.comparingByValue());
    return String.format(
        "%s %.3f%s",
        most.getKey(), most.getValue(), most.getValue() > InputDrift.SHIFTED ? " (shifted)" : "");
  }

  /** Which version: a model and a number or an alias. */
  static final class VersionOption {
    @Option(names = "--model", required = true, description = "The model's name.")
    String model;

    @Option(
        names = "--version",
        defaultValue = "latest",
        description = "A number or an alias (default ${DEFAULT-VALUE}).")
    String version;
  }

  @Command(
      name = "show",
      description = "A version's manifest (a number or an alias; default latest).")
  static final class Show implements Callable<Integer> {
    @ParentCommand ModelsCommand parent;

    @Mixin HelpOption help;

    @Mixin VersionOption target;

    @Override
    public Integer call() throws IOException {
      String model = target.model;
      String version = target.version;
      Manifest manifest;
      if (parent.remote()) {
        manifest = parent.client(null).manifest(model, version);
      } else {
        ModelStore local = parent.local();
        List<String> names = local.models();
        if (!names.contains(model)) {
          throw parent.noSuchModel(model, names);
        }
        long number = local.resolve(model, version);
        manifest =
            local
                .manifest(model, number)
                .orElseThrow(
                    () ->
                        new IllegalArgumentException(
                            "model " + model + " has no version " + number));
      }
      System.out.println(ManifestJson.write(manifest));
      return 0;
    }
  }

  @Command(
      name = "candidates",
      mixinStandardHelpOptions = true,
      description = {
        "A pipeline's hyper-parameter candidates, ranked by the held-out metric they are compared by.",
        "Each by its newest version; those validated on the newest window first. 'since start': the"
            + " metric over every held-out event since the start, scored on arrival. With segments: a"
            + " ranking per segment."
      })
  static final class Candidates implements Callable<Integer> {
    @ParentCommand ModelsCommand parent;

    @Option(
        names = "--pipeline",
        required = true,
        description = "The pipeline's name (its spec's name).")
    String pipeline;

    @Override
    public Integer call() throws IOException {
      List<Manifest> newest = new java.util.ArrayList<>();
      VersionSource source;
      if (parent.remote()) {
        ModelStoreClient client = parent.client(null);
        source = client;
        for (String model : ModelRouter.pipelineModels(pipeline, client.models())) {
          Manifest manifest = client.manifest(model, "latest");
          if (manifest.candidate() != null) {
            newest.add(manifest);
          }
        }
      } else {
        source = parent.local();
        newest = CandidateRanking.newestCandidates(parent.local(), pipeline);
      }
      if (newest.isEmpty()) {
        throw new IllegalArgumentException(
            "no candidate models of pipeline '"
                + pipeline
                + "' in "
                + parent.store
                + " (a spec with candidates names them <pipeline>.<candidate>)");
      }
      printRankings(newest, CandidateRanking.prunings(source, newest), System.out);
      return 0;
    }
  }

  /**
   * The candidates' newest versions ranked, one table per segment where there are segments, with
   * the prunings of those pruned while the stream ran (by model name).
   */
  static void printRankings(
      List<Manifest> newest, Map<String, Pruning> pruned, java.io.PrintStream out) {
    for (var ranking : CandidateRanking.bySegment(newest, pruned).entrySet()) {
      Manifest.Segment segment = ranking.getKey();
      if (segment != null) {
        out.printf(
            "Segment %s = %s%s:%n",
            segment.feature(),
            segment.value(),
            segment.others() ? " (and every value of no other segment)" : "");
      }
      printRanking(ranking.getValue(), out);
    }
  }

  /** The ranking as a table, best first, and which candidate is best now. */
  static void printRanking(CandidateRanking ranking, java.io.PrintStream out) {
    out.printf(
        "%4s  %-28s  %7s  %-20s  %8s  %10s  %11s  %s%n",
        "rank",
        "model",
        "version",
        "window end",
        "held out",
        ranking.metric(),
        "since start",
        "settings");
    int rank = 0;
    for (CandidateRanking.Entry entry : ranking.entries()) {
      rank++;
      out.printf(
          "%4s  %-28s  %7d  %-20s  %8d  %10.4f  %11.4f  %s%n",
          entry.current() ? String.valueOf(rank) : "-",
          entry.model(),
          entry.version(),
          entry.window() == null
              ? "unknown"
              : java.time.Instant.ofEpochMilli(entry.window().end()).toString(),
          entry.heldOut(),
          entry.value(),
          entry.sinceStart(),
          entry.settings().entrySet().stream()
              .map(e -> e.getKey() + "=" + e.getValue())
              .collect(java.util.stream.Collectors.joining(", ")));
    }
    ranking
        .best()
        .ifPresentOrElse(
            best ->
                out.printf(
                    "Best on the newest window: %s (version %d, %s %.4f over %d held-out events).%n",
                    best.model(), best.version(), ranking.metric(), best.value(), best.heldOut()),
            () -> out.println("No candidate has a held-out value on the newest window yet."));
    if (ranking.entries().stream().anyMatch(e -> !e.current())) {
      out.println(
          "Ranked '-': the newest version was validated on an older window (not published since).");
    }
    List<CandidateRanking.Entry> pruned =
        ranking.entries().stream().filter(entry -> entry.pruned() != null).toList();
    if (!pruned.isEmpty()) {
      out.println("Pruned while the stream ran:");
      for (CandidateRanking.Entry entry : pruned) {
        out.printf(
            "  %s after the window to %s: %s%n",
            entry.model(),
            java.time.Instant.ofEpochMilli(entry.pruned().windowEnd()),
            entry.pruned().reason());
      }
    }
  }

  @Command(
      name = "download",
      description =
          "Downloads a version from a server into a new directory, checking every file's sha256.")
  static final class Download implements Callable<Integer> {
    @ParentCommand ModelsCommand parent;

    @Mixin HelpOption help;

    @Mixin VersionOption target;

    @Option(
        names = "--output",
        required = true,
        description = "A directory that does not exist yet.")
    Path output;

    @Override
    public Integer call() throws IOException {
      String model = target.model;
      String version = target.version;
      if (!parent.remote()) {
        throw new IllegalArgumentException(
            "--store must be a server URL (http://host:port/) to download");
      }
      Manifest manifest = parent.client(null).download(model, version, output);
      System.out.printf(
          "Downloaded %s version %d (%d files, sha256 checked) into %s%n",
          model, manifest.version(), manifest.files().size() + 1, output);
      return 0;
    }
  }

  @Command(
      name = "promote",
      description = "Points an alias at a version by compare-and-set: promote, or roll back.")
  static final class Promote implements Callable<Integer> {
    @ParentCommand ModelsCommand parent;

    @Mixin HelpOption help;

    @Option(names = "--model", required = true, description = "The model's name.")
    String model;

    @Option(
        names = "--alias",
        defaultValue = "champion",
        description = "The alias to point (default ${DEFAULT-VALUE}).")
    String alias;

    @Option(
        names = "--version",
        required = true,
        description = "The version it is to point at: a newer one, or an older one to roll back.")
    long version;

    @Option(
        names = "--expected",
        description =
            "The version the alias must point at now; without it, whatever it points at when read.")
    Long expected;

    @Option(
        names = "--token",
        defaultValue = "${env:STREAMLEARN_TOKEN}",
        description = "Bearer token of the server (default: $STREAMLEARN_TOKEN).")
    String token;

    @Override
    public Integer call() throws IOException {
      Long from;
      if (parent.remote()) {
        ModelStoreClient client = parent.client(token);
        from = expected != null ? expected : client.alias(model, alias).orElse(null);
        try {
          client.promote(model, alias, version, from);
        } catch (ModelStoreClient.AliasConflictException e) {
          System.err.println("Not moved: " + e.getMessage() + ". Read it again and retry.");
          return 3;
        }
      } else {
        ModelStore local = parent.local();
        from = expected != null ? expected : local.alias(model, alias).orElse(null);
        if (!local.compareAndSetAlias(model, alias, from, version)) {
          System.err.printf(
              "Not moved: alias %s of %s points at %s, not %s. Read it again and retry.%n",
              alias, model, local.alias(model, alias).orElse(null), from);
          return 3;
        }
      }
      System.out.printf(
          "%s of %s: %s -> %d%n", alias, model, from == null ? "(none)" : from, version);
      return 0;
    }
  }

  @Command(
      name = "serve",
      mixinStandardHelpOptions = true,
      description = "Serves a store directory over HTTP until stopped (Ctrl-C).")
  static final class Serve implements Callable<Integer> {
    @ParentCommand ModelsCommand parent;

    @Option(
        names = "--port",
        defaultValue = "8080",
        description = "Default ${DEFAULT-VALUE}; 0 picks a free port.")
    int port;

    @Option(
        names = "--bind",
        defaultValue = "0.0.0.0",
        description = "Address to listen on (default ${DEFAULT-VALUE}).")
    String bind;

    @Option(
        names = "--token",
        defaultValue = "${env:STREAMLEARN_TOKEN}",
        description =
            "Bearer token that writes need (default: $STREAMLEARN_TOKEN; none: read-only).")
    String token;

    @Override
    public Integer call() throws Exception {
      if (parent.remote()) {
        throw new IllegalArgumentException("--store must be a directory to serve");
      }
      ModelStoreServer server;
      try {
        server = ModelStoreServer.start(parent.local(), new InetSocketAddress(bind, port), token);
      } catch (java.net.BindException inUse) {
        throw new IllegalArgumentException(
            "--port "
                + port
                + ": cannot listen on "
                + bind
                + ":"
                + port
                + " ("
                + inUse.getMessage()
                + "); choose another port, or 0 for a free one");
      }
      System.out.printf(
          "Serving %s at %s (%s). Ctrl-C stops.%n",
          parent.local().location(),
          server.url(),
          token == null || token.isEmpty() ? "read-only: no token" : "writes need the token");
      CountDownLatch stopped = new CountDownLatch(1);
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    server.close();
                    stopped.countDown();
                  }));
      stopped.await();
      return 0;
    }
  }
}
