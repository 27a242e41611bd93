package dev.streamlearn.jobs.cli;

import dev.streamlearn.core.data.CsvReader;
import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.core.serve.ModelScorer;
import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code streamlearn score}: one prediction per row of a CSV file, with a stored model version. */
@Command(
    name = "score",
    mixinStandardHelpOptions = true,
    description = {
      "Scores each row of a CSV file with a model version, from a store or a server.",
      "Uses exactly the features the model was trained with. Writes row, prediction, and one",
      "probability per class (classification) or the value (regression)."
    })
final class ScoreCommand implements Callable<Integer> {

  @Option(
      names = "--model",
      required = true,
      description = {
        "A version directory (<store>/<model>/<version>), or a version on a server:",
        "http://host:port/api/v1/models/<model>/versions/<version or alias>."
      })
  String model;

  @Option(names = "--input", required = true, description = "CSV file with a header row.")
  Path input;

  @Option(names = "--output", required = true, description = "CSV file to write.")
  Path output;

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
    if (!Files.isRegularFile(directory.resolve("manifest.json"))) {
      throw new IllegalArgumentException(
          "--model " + model + " is not a version directory (no manifest.json)");
    }
    return directory;
  }

  @Override
  public Integer call() throws Exception {
    ModelScorer scorer = ModelScorer.load(versionDirectory(model));
    List<String> classes = scorer.manifest().classes();
    boolean regression = "regression".equals(scorer.manifest().task());
    CsvReader.Table table = CsvReader.read(input);
    long refused = 0;
    try (BufferedWriter out = Files.newBufferedWriter(output, StandardCharsets.UTF_8)) {
      StringBuilder header = new StringBuilder("row,prediction");
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
          float[] scores = scorer.score(fields);
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
    System.out.printf(
        "Scored %,d rows of %s with %s version %d into %s (%,d refused).%n",
        table.rows().size(),
        input,
        scorer.manifest().name(),
        scorer.manifest().version(),
        output,
        refused);
    return 0;
  }
}
