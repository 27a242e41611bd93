package dev.streamlearn.jobs.cli;

import dev.streamlearn.core.data.CsvReader;
import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.core.data.ModelRouter;
import dev.streamlearn.core.serve.ModelScorer;
import dev.streamlearn.core.serve.SegmentedScorer;
import dev.streamlearn.store.LocalModelStore;
import dev.streamlearn.store.ModelStore;
import dev.streamlearn.store.http.ModelStoreClient;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code streamlearn score}: one prediction per row of a CSV file, with a stored model version. */
@Command(
    name = "score",
    description = {
      "Scores each row of a CSV file with a model version from a store or a server.",
      "With --segments, scores each row with the model of its segment.",
      "Uses exactly the features the model was trained with. Writes row, prediction, and one",
      "probability per class (classification) or the value (regression)."
    })
final class ScoreCommand implements Callable<Integer> {

  // --version names a model version here, so the standard -V/--version option is left out.
  @Mixin HelpOption help;

  @Option(
      names = "--model",
      description = {
        "A version directory (<store>/<model>/<version>), an alias in a store directory",
        "(<store>/<model>/latest, .../champion), or a version on a server:",
        "http://host:port/api/v1/models/<model>/versions/<version or alias>."
      })
  String model;

  @Option(
      names = "--segments",
      description = {
        "Instead of --model, for a pipeline with segments: each row is scored by the model of its",
        "segment. <store>/<pipeline> (the models <pipeline>.<segment> in a store directory), or",
        "http://host:port/api/v1/models/<pipeline> on a server."
      })
  String segments;

  @Option(
      names = "--candidate",
      description = {
        "With --segments, for a pipeline with segments and hyper-parameter candidates: the",
        "candidate whose model scores each segment's rows, by name, or 'best' (each segment's best",
        "candidate on its newest validation window)."
      })
  String candidate;

  @Option(
      names = "--version",
      defaultValue = "latest",
      description = "With --segments: the version of each segment's model, an alias or a number.")
  String version;

  @Option(names = "--input", required = true, description = "CSV file with a header row.")
  Path input;

  @Option(names = "--output", required = true, description = "CSV file to write.")
  Path output;

  @Option(
      names = "--label",
      description = {
        "The column that holds each row's known label: the model is then also measured on the",
        "rows that have one, with the metrics validation reports (refused rows left out)."
      })
  String label;

  /** The version directory, downloading the version first when it is on a server. */
  static Path versionDirectory(String model) throws java.io.IOException {
    if (model.startsWith("http://") || model.startsWith("https://")) {
      java.util.regex.Matcher url =
          java.util.regex.Pattern.compile(
                  "(https?://[^/]+/)api/v1/models/([^/]+)/versions/([^/]+)/?")
              .matcher(model);
      if (!url.matches()) {
        throw new IllegalArgumentException(
            "--model "
                + model
                + " is not a version URL: http://host:port/api/v1/models/<model>/versions/<version or alias>");
      }
      Path directory = Files.createTempDirectory("streamlearn-model-").resolve("version");
      new dev.streamlearn.store.http.ModelStoreClient(url.group(1), null)
          .download(url.group(2), url.group(3), directory);
      return directory;
    }
    Path directory = Path.of(model);
    if (Files.isRegularFile(directory.resolve("manifest.json"))) {
      return directory;
    }
    if (Files.isDirectory(directory.resolve("aliases"))) {
      throw new IllegalArgumentException(
          "--model "
              + model
              + " is a model's directory: name one of its versions or aliases, e.g. "
              + directory.resolve("latest"));
    }
    Path modelDirectory = directory.toAbsolutePath().normalize().getParent();
    if (Files.exists(directory)
        || modelDirectory == null
        || modelDirectory.getParent() == null
        || !Files.isDirectory(modelDirectory.resolve("aliases"))) {
      throw new IllegalArgumentException(
          "--model "
              + model
              + " is not a version directory (no manifest.json) nor <store>/<model>/<alias>");
    }
    // <store>/<model>/<alias>: the version the alias points at now.
    LocalModelStore store = new LocalModelStore(modelDirectory.getParent());
    String name = modelDirectory.getFileName().toString();
    String alias = directory.getFileName().toString();
    if (alias.chars().allMatch(Character::isDigit)) {
      List<Long> versions = store.versions(name);
      throw new IllegalArgumentException(
          "--model "
              + model
              + ": model "
              + name
              + " has no version "
              + alias
              + "; it has "
              + StoreSummary.versionsAndRange(versions));
    }
    java.util.Optional<Long> version = store.alias(name, alias);
    if (version.isEmpty()) {
      throw new IllegalArgumentException(
          "--model "
              + model
              + ": model "
              + name
              + " has no alias '"
              + alias
              + "'; its aliases: "
              + store.aliases(name).keySet());
    }
    return store.versionDirectory(name, version.get());
  }

  /**
   * The version {@code version} of every segment model of a pipeline: {@code <store>/<pipeline>} or
   * {@code http://host:port/api/v1/models/<pipeline>}.
   */
  static SegmentedScorer pipelineModels(String segments, String version, String candidate)
      throws IOException {
    List<ModelScorer> models = new ArrayList<>();
    java.util.regex.Matcher url =
        java.util.regex.Pattern.compile("(https?://[^/]+/)api/v1/models/([^/]+)/?")
            .matcher(segments);
    String pipeline;
    String where;
    if (url.matches()) {
      pipeline = url.group(2);
      where = url.group(1);
      ModelStoreClient client = new ModelStoreClient(url.group(1), null);
      Path downloads = Files.createTempDirectory("streamlearn-segments-");
      for (String name : ModelRouter.pipelineModels(pipeline, client.models())) {
        models.add(ModelScorer.load(segmentVersion(client, name, version, downloads)));
      }
    } else if (segments.startsWith("http://") || segments.startsWith("https://")) {
      throw new IllegalArgumentException(
          "--segments " + segments + " is not http://host:port/api/v1/models/<pipeline>");
    } else {
      Path path = Path.of(segments);
      Path root = path.getParent() == null ? Path.of(".") : path.getParent();
      pipeline = path.getFileName().toString();
      where = root.toString();
      if (!Files.isDirectory(root)) {
        throw new IllegalArgumentException(
            "--segments " + segments + ": no store directory " + root);
      }
      ModelStore store = new LocalModelStore(root);
      for (String name : ModelRouter.pipelineModels(pipeline, store.models())) {
        Path directory = root.resolve(name).resolve(Long.toString(store.resolve(name, version)));
        models.add(ModelScorer.load(directory));
      }
    }
    models.removeIf(m -> m.manifest().segment() == null);
    if (models.isEmpty()) {
      throw new IllegalArgumentException(
          "--segments " + segments + ": no segment models " + pipeline + ".<segment> in " + where);
    }
    return SegmentedScorer.of(oneCandidatePerSegment(segments, models, candidate));
  }

  /**
   * The segment models to score with: all of them, or, where the segments have hyper-parameter
   * candidates, the one {@code --candidate} names (or each segment's best) per segment.
   */
  private static List<ModelScorer> oneCandidatePerSegment(
      String segments, List<ModelScorer> models, String candidate) {
    java.util.Set<String> names = new java.util.TreeSet<>();
    for (ModelScorer model : models) {
      if (model.manifest().candidate() != null) {
        names.add(model.manifest().candidate().name());
      }
    }
    if (names.isEmpty()) {
      if (candidate != null) {
        throw new IllegalArgumentException(
            "--candidate "
                + candidate
                + ": the segment models of "
                + segments
                + " are not"
                + " hyper-parameter candidates");
      }
      return models;
    }
    if (candidate == null) {
      throw new IllegalArgumentException(
          "--segments "
              + segments
              + ": each segment has hyper-parameter candidates "
              + names
              + "; choose one with --candidate NAME, or --candidate best");
    }
    if (!candidate.equals("best") && !names.contains(candidate)) {
      throw new IllegalArgumentException(
          "--candidate " + candidate + ": no such candidate; the candidates are " + names);
    }
    Map<String, ModelScorer> byName = new HashMap<>();
    List<dev.streamlearn.store.Manifest> manifests = new ArrayList<>();
    for (ModelScorer model : models) {
      byName.put(model.manifest().name(), model);
      manifests.add(model.manifest());
    }
    List<ModelScorer> chosen = new ArrayList<>();
    for (var ranking : dev.streamlearn.store.CandidateRanking.bySegment(manifests).entrySet()) {
      List<dev.streamlearn.store.CandidateRanking.Entry> entries = ranking.getValue().entries();
      var pick =
          candidate.equals("best")
              ? java.util.Optional.of(entries.get(0))
              : entries.stream().filter(e -> e.candidate().equals(candidate)).findFirst();
      if (pick.isEmpty()) {
        throw new IllegalArgumentException(
            "--candidate "
                + candidate
                + ": segment "
                + ranking.getKey().value()
                + " has no such candidate model");
      }
      chosen.add(byName.get(pick.get().model()));
    }
    return chosen;
  }

  private static Path segmentVersion(
      ModelStoreClient client, String name, String version, Path downloads) throws IOException {
    Path directory = downloads.resolve(name);
    client.download(name, version, directory);
    return directory;
  }

  @Override
  public Integer call() throws Exception {
    if ((model == null) == (segments == null)) {
      throw new IllegalArgumentException(
          "give one of --model (a version) and --segments (a pipeline's segment models)");
    }
    if (candidate != null && segments == null) {
      throw new IllegalArgumentException(
          "--candidate goes with --segments; with --model, name the candidate's model itself");
    }
    SegmentedScorer bySegment =
        segments == null ? null : pipelineModels(segments, version, candidate);
    ModelScorer scorer =
        bySegment == null ? ModelScorer.load(versionDirectory(model)) : bySegment.anyModel();
    List<String> classes = scorer.manifest().classes();
    boolean regression = "regression".equals(scorer.manifest().task());
    CsvReader.Table table = CsvReader.read(input);
    AbsentColumns absent = AbsentColumns.of(scorer.inputFields(), table.header());
    if (absent.all()) {
      throw new IllegalArgumentException(
          String.format(
              "--input %s has none of the %d columns the model reads (%s); its columns: %s",
              input, absent.read(), absent.named(), table.header()));
    }
    if (absent.some()) {
      System.out.printf(
          "Warning: %d of the %d input columns the model reads are not in %s; every row is scored"
              + " with them missing (filled as training fills a missing value): %s%n",
          absent.absent().size(), absent.read(), input, absent.named());
    }
    if (label != null && !table.header().contains(label)) {
      throw new IllegalArgumentException(
          "--label " + label + ": no such column in " + input + "; its columns: " + table.header());
    }
    dev.streamlearn.core.metrics.LabeledRows known =
        label == null ? null : new dev.streamlearn.core.metrics.LabeledRows(classes, regression);
    long refused = 0;
    try (BufferedWriter out = Files.newBufferedWriter(output, StandardCharsets.UTF_8)) {
      StringBuilder header =
          new StringBuilder(bySegment == null ? "row,prediction" : "row,model,prediction");
      if (!regression) {
        for (String name : classes) {
          header.append(",p_").append(name.replace(",", "_"));
        }
      }
      out.write(header.append('\n').toString());
      for (int r = 0; r < table.rows().size(); r++) {
        Map<String, Object> fields = new HashMap<>();
        List<String> row = table.rows().get(r);
        for (int c = 0; c < row.size(); c++) {
          fields.put(table.header().get(c), row.get(c).isBlank() ? null : row.get(c));
        }
        StringBuilder line = new StringBuilder().append(r);
        try {
          float[] scores;
          if (bySegment == null) {
            scores = scorer.score(fields);
          } else {
            SegmentedScorer.Scored scored =
                bySegment.scoreWithModel(fields, System.currentTimeMillis());
            line.append(',').append(scored.model().manifest().name());
            scores = scored.scores();
          }
          if (known != null) {
            known.add(scores, (String) fields.get(label));
          }
          if (regression) {
            line.append(',').append(scores[0]);
          } else if (scores.length == 1) {
            line.append(',').append(classes.get(scores[0] >= 0.5f ? 1 : 0));
            line.append(',').append(1 - scores[0]).append(',').append(scores[0]);
          } else {
            int best = 0;
            for (int j = 1; j < scores.length; j++) {
              best = scores[j] > scores[best] ? j : best;
            }
            line.append(',').append(classes.get(best));
            for (float score : scores) {
              line.append(',').append(score);
            }
          }
        } catch (ExampleExtractor.RefusedException e) {
          refused++;
          line.append(",refused: ").append(e.getMessage().replace(',', ';'));
        }
        out.write(line.append('\n').toString());
      }
    }
    String with =
        bySegment == null
            ? String.format("%s version %d", scorer.manifest().name(), scorer.manifest().version())
            : String.format(
                "the %s version of %d segment models by %s%s",
                version,
                bySegment.models().size(),
                bySegment.feature(),
                candidate == null ? "" : " (candidate " + candidate + ")");
    System.out.printf(
        "Scored %,d rows of %s with %s into %s (%,d refused).%n",
        table.rows().size(), input, with, output, refused);
    if (known != null) {
      System.out.println(known.describe(label, refused));
    }
    return 0;
  }
}
