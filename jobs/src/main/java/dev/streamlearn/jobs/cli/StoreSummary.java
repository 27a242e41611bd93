package dev.streamlearn.jobs.cli;

import dev.streamlearn.core.data.ModelRouter;
import dev.streamlearn.core.metrics.InputDrift;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.jobs.runtime.ProgressMetrics;
import dev.streamlearn.operators.PipelineCounters;
import dev.streamlearn.store.CandidateRanking;
import dev.streamlearn.store.LocalModelStore;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ModelStore;
import dev.streamlearn.store.Pruning;
import java.io.IOException;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * What a run left in the store, printed at its end by {@code demo} and {@code run}: the candidates
 * ranked, each segment's model, or the model's versions and aliases, with the command that scores
 * with them.
 */
final class StoreSummary {

  private final PrintStream out;
  private final String labelColumn;

  /**
   * @param labelColumn the column of a CSV file that holds its label, for the score commands it
   *     prints ({@code --label}); null when the run read no file
   */
  StoreSummary(PrintStream out, String labelColumn) {
    this.out = out;
    this.labelColumn = labelColumn;
  }

  /** {@code --label COLUMN} for the score commands printed, when the run read a CSV file. */
  private String labelOption() {
    return labelColumn == null ? "" : " --label " + RunCommand.shellWord(labelColumn);
  }

  /** What the run left in the store: the candidates ranked, each segment's model, or the model. */
  void print(PipelineSpec spec, ModelStore models) throws IOException {
    if (spec.hasCandidates()) {
      printCandidates(spec, models);
      return;
    }
    if (spec.segments().enabled()) {
      printSegments(spec, models);
      return;
    }
    printModel(spec, models);
  }

  /** How many versions the spec's models have in the store. */
  static long versionCount(ModelStore models, PipelineSpec spec) throws IOException {
    long count = 0;
    for (String model : modelsOf(spec, models)) {
      count += models.versions(model).size();
    }
    return count;
  }

  /**
   * Before a job that starts afresh (not from a savepoint): what the store holds already of the
   * models it trains, which its versions follow instead of replacing.
   */
  static void printVersionsBefore(PrintStream out, PipelineSpec spec, ModelStore models)
      throws IOException {
    if (!spec.segments().enabled() && !spec.hasCandidates()) {
      List<Long> versions = models.versions(spec.name());
      if (!versions.isEmpty()) {
        long newest = versions.get(versions.size() - 1);
        out.printf(
            "  %s already holds %d versions of '%s' (%d..%d): this run's versions follow them,"
                + " from %d%n",
            models.location(), versions.size(), spec.name(), versions.get(0), newest, newest + 1);
      }
      return;
    }
    long count = versionCount(models, spec);
    if (count > 0) {
      out.printf(
          "  %s already holds %d versions of %d of this pipeline's models: each model's versions"
              + " in this run follow its newest%n",
          models.location(), count, modelsOf(spec, models).size());
    }
  }

  /** The models the spec trains that are in the store: its own, or its segments' or candidates'. */
  static List<String> modelsOf(PipelineSpec spec, ModelStore models) throws IOException {
    if (!spec.segments().enabled() && !spec.hasCandidates()) {
      return List.of(spec.name());
    }
    return ModelRouter.pipelineModels(spec.name(), models.models());
  }

  /** Each segment's model: its versions, last held-out window and since-start accuracy. */
  private void printSegments(PipelineSpec spec, ModelStore models) throws IOException {
    List<String> segments = modelsOf(spec, models);
    out.printf(
        "%d segment models by %s in %s:%n",
        segments.size(), spec.segments().feature(), models.location());
    for (String model : segments) {
      List<Long> versions = models.versions(model);
      if (versions.isEmpty()) {
        continue;
      }
      Manifest last = models.manifest(model, versions.get(versions.size() - 1)).orElseThrow();
      out.printf(
          "  %s: %s, v%d held-out %s%n",
          model,
          versionsAndRange(versions),
          last.version(),
          ProgressPrinter.describeMetrics(java.util.Optional.of(last)));
    }
    out.printf(
        "Score a CSV by segment: ./streamlearn score --segments %s/%s --input FILE.csv --output"
            + " scores.csv%s%n",
        models.location(), spec.name(), labelOption());
  }

  /** The candidates ranked on their newest versions, and how to see the ranking again. */
  private void printCandidates(PipelineSpec spec, ModelStore models) throws IOException {
    List<Manifest> newest = CandidateRanking.newestCandidates(models, spec.name());
    out.printf(
        "%d candidate models trained side by side in %s, by held-out %s on their newest"
            + " versions:%n",
        newest.size(), models.location(), spec.validation().metric());
    Map<String, Pruning> pruned = CandidateRanking.prunings(models, newest);
    ModelsCommand.printRankings(newest, pruned, out);
    if (spec.pruning().enabled()) {
      printPruned(spec, pruned, newest.size());
    }
    out.printf(
        "Again later: ./streamlearn models --store %s candidates --pipeline %s%n",
        models.location(), spec.name());
    if (spec.segments().enabled()) {
      out.printf(
          "Score a CSV by segment with each segment's best: ./streamlearn score --segments %s/%s"
              + " --candidate best --input FILE.csv --output scores.csv%s%n",
          models.location(), spec.name(), labelOption());
    }
  }

  private void printModel(PipelineSpec spec, ModelStore models) throws IOException {
    List<Long> versions = models.versions(spec.name());
    String moved = inputsThatMovedMost(models, spec.name(), versions);
    if (moved != null) {
      out.println(moved);
    }
    out.printf(
        "Models are in %s/%s: %s, alias latest -> %s, %s.%n",
        models.location(),
        spec.name(),
        versionsAndRange(versions),
        models.alias(spec.name(), "latest").map(String::valueOf).orElse("none"),
        models
            .alias(spec.name(), "champion")
            .map(v -> "champion -> " + v)
            .orElseGet(() -> whyNoChampion(spec)));
    if (!versions.isEmpty() && models instanceof LocalModelStore) {
      out.printf(
          "Score a CSV: ./streamlearn score --model %s/%s/latest --input FILE.csv --output"
              + " scores.csv%s%n",
          models.location(), spec.name(), labelOption());
    }
  }

  /** "no versions", "1 version (1)", "5 versions (1..5)". */
  static String versionsAndRange(List<Long> versions) {
    return switch (versions.size()) {
      case 0 -> "no versions";
      case 1 -> "1 version (" + versions.get(0) + ")";
      default ->
          versions.size()
              + " versions ("
              + versions.get(0)
              + ".."
              + versions.get(versions.size() - 1)
              + ")";
    };
  }

  /**
   * Why no version became the champion: the gate compares only windows that held out at least
   * {@code publish.min-held-out} events, which a small input may never reach.
   */
  private static String whyNoChampion(PipelineSpec spec) {
    return String.format(
        "no champion (no validation window held out publish.min-held-out = %d events)",
        spec.publish().minHeldOut());
  }

  /**
   * The three inputs whose distribution moved most from one window to the next over the model's
   * versions (their largest population stability index, and the version); null when no version
   * measured it.
   */
  static String inputsThatMovedMost(ModelStore models, String model, List<Long> versions)
      throws IOException {
    Map<String, double[]> largest = new LinkedHashMap<>();
    for (long version : versions) {
      Map<String, Double> drift =
          models.manifest(model, version).orElseThrow().metrics().get("inputDrift");
      if (drift == null) {
        continue;
      }
      drift.forEach(
          (input, index) -> {
            double[] seen = largest.computeIfAbsent(input, k -> new double[] {-1, 0});
            if (index > seen[0]) {
              seen[0] = index;
              seen[1] = version;
            }
          });
    }
    if (largest.isEmpty()) {
      return null;
    }
    return "Inputs that moved most from one window to the next (population stability index;"
        + " above "
        + InputDrift.SHIFTED
        + ": shifted): "
        + largest.entrySet().stream()
            .sorted((a, b) -> Double.compare(b.getValue()[0], a.getValue()[0]))
            .limit(3)
            .map(
                e ->
                    String.format(
                        "%s %.3f (v%d)", e.getKey(), e.getValue()[0], (long) e.getValue()[1]))
            .collect(Collectors.joining(", "));
  }

  /**
   * How many candidates were pruned while the stream ran, as the store records them beside their
   * versions, and as the job counted its decisions; the ranking above says why.
   */
  private void printPruned(PipelineSpec spec, Map<String, Pruning> pruned, int candidates) {
    out.printf(
        "Pruned while the stream ran (every %d windows the worse half, down to %d): %d of %d"
            + " candidates recorded in the store (the job counted %,d).%n",
        spec.pruning().windows(),
        spec.pruning().keep(),
        pruned.size(),
        candidates,
        ProgressMetrics.count(PipelineCounters.CANDIDATES_PRUNED));
  }
}
