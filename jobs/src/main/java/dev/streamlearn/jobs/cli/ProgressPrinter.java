package dev.streamlearn.jobs.cli;

import dev.streamlearn.core.data.ModelRouter;
import dev.streamlearn.jobs.runtime.ProgressMetrics;
import dev.streamlearn.operators.PipelineCounters;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ModelStore;
import java.io.IOException;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Prints one line of progress: the counters, the rate, the latest version and its metrics. */
final class ProgressPrinter {

  private final String model;

  /** What the pipeline's several models are ("segment models", "candidates"); null for one. */
  private final String several;

  private final ModelStore store;

  /** {@code source.labels.max-wait}; null when the events carry their labels. */
  private final java.time.Duration labelsMaxWait;

  private final PrintStream out;
  private LocalJobRun run;
  private final long startNanos = System.nanoTime();
  private long lastRead;
  private long lastNanos = startNanos;

  /** Progress of the models {@code spec} trains: one, or one per segment or candidate. */
  static ProgressPrinter of(
      dev.streamlearn.core.spec.PipelineSpec spec, ModelStore store, PrintStream out) {
    String several =
        spec.segments().enabled()
            ? spec.hasCandidates() ? "segment candidate models" : "segment models"
            : spec.hasCandidates() ? "candidates" : null;
    return new ProgressPrinter(
        spec.name(),
        several,
        store,
        spec.source().labelsFollow() ? spec.source().labels().maxWait() : null,
        out);
  }

  /**
   * @param several what the pipeline's models are when it trains several, named {@code
   *     <model>.<segment or candidate>}; null when it trains one
   */
  private ProgressPrinter(
      String model,
      String several,
      ModelStore store,
      java.time.Duration labelsMaxWait,
      PrintStream out) {
    this.model = model;
    this.several = several;
    this.store = store;
    this.labelsMaxWait = labelsMaxWait;
    this.out = out;
  }

  /**
   * Counter totals at this moment: the events', and the labels' of a labels topic (zero without
   * one); and how often the training job restarted after a failure.
   */
  record Counts(
      long read,
      long trained,
      long heldOut,
      long deduplicated,
      long deadLettered,
      long labelsRead,
      long labelsJoined,
      long labelsDeadLettered,
      long restarts) {

    /** The counts of the training job that {@code run} follows. */
    static Counts of(LocalJobRun run) {
      return now(ProgressMetrics.restarts(run.jobId()));
    }

    /** The counts, with the restarts of every job since the counters were reset. */
    static Counts now() {
      return now(ProgressMetrics.restarts());
    }

    private static Counts now(long restarts) {
      return new Counts(
          ProgressMetrics.count(PipelineCounters.READ),
          ProgressMetrics.count(PipelineCounters.TRAINED),
          ProgressMetrics.count(PipelineCounters.HELD_OUT),
          ProgressMetrics.count(PipelineCounters.DEDUPLICATED),
          ProgressMetrics.count(PipelineCounters.DEAD_LETTERED),
          ProgressMetrics.count(PipelineCounters.LABELS_READ),
          ProgressMetrics.count(PipelineCounters.LABELS_JOINED),
          ProgressMetrics.count(PipelineCounters.LABELS_DEAD_LETTERED),
          restarts);
    }

    long accountedFor() {
      return trained + heldOut + deduplicated + deadLettered;
    }

    boolean labelsAddUp() {
      return labelsRead == labelsJoined + labelsDeadLettered;
    }

    boolean addsUp() {
      return read == accountedFor() && labelsAddUp();
    }

    /** The accounting line printed when a run ends, saying whether it adds up. */
    String summary() {
      String line = "Accounted for: " + describe() + verdict(read == accountedFor());
      if (labelsRead > 0) {
        line +=
            String.format(
                "%nLabels: read %,d = joined with their event %,d + dead-lettered %,d%s",
                labelsRead, labelsJoined, labelsDeadLettered, verdict(labelsAddUp()));
        org.apache.flink.metrics.Histogram delay =
            ProgressMetrics.histogram(PipelineCounters.LABEL_DELAY);
        if (delay != null && delay.getCount() > 0) {
          var statistics = delay.getStatistics();
          line +=
              String.format(
                  "%nLabel delay, event time from an event to its label: p50 %s, p99 %s, max %s"
                      + " (of the last %,d joined; source.labels.max-wait bounds it)",
                  readable(statistics.getQuantile(0.5)),
                  readable(statistics.getQuantile(0.99)),
                  readable(statistics.getMax()),
                  statistics.size());
        }
      }
      if (restarts > 0) {
        line +=
            String.format(
                "%nRestarts: the job failed and restarted %d time%s from its last checkpoint; what"
                    + " it had read since that checkpoint it read again, counted once above (the"
                    + " counters went back to the checkpoint with the models; the dead-letter topic"
                    + " may hold second copies: dead-letters says how many)",
                restarts, restarts == 1 ? "" : "s");
      }
      long late = ProgressMetrics.count(PipelineCounters.LATE);
      if (late > 0) {
        line +=
            String.format(
                "%nLate: %,d of the events trained on or held out reached their model after their"
                    + " validation window had closed (more than source.max-out-of-orderness out of"
                    + " order) and counted in a later one",
                late);
      }
      return line;
    }

    /** What an accounting line ends with: whether its two sides are equal. */
    static String verdict(boolean addsUp) {
      return addsUp ? "  (adds up)" : "  (DOES NOT ADD UP)";
    }

    /** Milliseconds as a person reads them: 850 ms, 2.5 s, 3.2 min, 1.5 h. */
    static String readable(double millis) {
      if (millis < 1_000) {
        return String.format("%.0f ms", millis);
      }
      if (millis < 60_000) {
        return String.format("%.1f s", millis / 1_000);
      }
      if (millis < 3_600_000) {
        return String.format("%.1f min", millis / 60_000);
      }
      return String.format("%.1f h", millis / 3_600_000);
    }

    /** How often each cleaning and encoding rule acted, when any did. */
    static String features() {
      StringBuilder line = new StringBuilder();
      for (String name : dev.streamlearn.core.features.Featurizer.COUNTERS) {
        long count = ProgressMetrics.count(PipelineCounters.featureCounter(name));
        if (count > 0) {
          line.append(line.length() == 0 ? "Feature rules: " : ", ")
              .append(String.format("%s %,d", name, count));
        }
      }
      return line.toString();
    }

    String describe() {
      return String.format(
          "read %,d = trained %,d + held out %,d + deduplicated %,d + dead-lettered %,d",
          read, trained, heldOut, deduplicated, deadLettered);
    }
  }

  void print() {
    long now = System.nanoTime();
    Counts counts = Counts.now();
    double rate = (counts.read - lastRead) / Math.max(1e-9, (now - lastNanos) / 1e9);
    lastRead = counts.read;
    lastNanos = now;
    out.printf(
        "[%4ds] read %,d | trained %,d | held out %,d | deduplicated %,d | dead-lettered %,d%s | %,.0f events/s%s | %s%s%n",
        (now - startNanos) / 1_000_000_000L,
        counts.read,
        counts.trained,
        counts.heldOut,
        counts.deduplicated,
        counts.deadLettered,
        labelsMaxWait != null || counts.labelsRead > 0
            ? String.format(
                " | labels read %,d, joined %,d, dead-lettered %,d; events waiting ~%,d%s",
                counts.labelsRead,
                counts.labelsJoined,
                counts.labelsDeadLettered,
                Math.max(0, counts.read - counts.accountedFor()),
                labelsBehind())
            : "",
        rate,
        waitingInKafka(run),
        latestVersion(),
        restarts());
    out.flush();
  }

  /**
   * How many records the job's event source has yet to read from Kafka (Flink's {@code
   * pendingRecords}): a job that keeps up reads about as fast as they come, and this stays small.
   * Empty before the source has said.
   */
  static String waitingInKafka(LocalJobRun run) {
    if (run == null) {
      return "";
    }
    java.util.OptionalLong waiting = ProgressMetrics.recordsWaiting(run.jobId());
    return waiting.isEmpty() ? "" : String.format(", %,d waiting in Kafka", waiting.getAsLong());
  }

  /**
   * The job's restarts after failures, which would otherwise pass unseen, and the last failure
   * where the job's {@link JobFailures} are known.
   */
  private String restarts() {
    return run != null
        ? run.failures().progressNote()
        : JobFailures.progressNote(ProgressMetrics.restarts(), null);
  }

  /**
   * Says how far behind Kafka the job of {@code run} is, and at each restart the failure behind it.
   */
  ProgressPrinter following(LocalJobRun run) {
    this.run = run;
    return this;
  }

  /**
   * How far the labels are behind the events, in event time, at the join subtask furthest behind;
   * past {@code max-wait}, what that means.
   */
  private String labelsBehind() {
    java.util.OptionalLong behind = ProgressMetrics.gaugeMax(PipelineCounters.LABELS_BEHIND);
    if (behind.isEmpty() || labelsMaxWait == null) {
      return "";
    }
    String line = "; labels " + Counts.readable(behind.getAsLong()) + " behind the events";
    return behind.getAsLong() > labelsMaxWait.toMillis()
        ? line
            + " (more than source.labels.max-wait "
            + Counts.readable(labelsMaxWait.toMillis())
            + ": events wait for them, none is given up on)"
        : line;
  }

  String latestVersion() {
    return several != null ? severalVersions() : latestVersion(model);
  }

  /** How many models there are, their versions, and the first few's latest metric. */
  private String severalVersions() {
    try {
      List<String> models = ModelRouter.pipelineModels(model, store.models());
      if (models.isEmpty()) {
        return "no version yet";
      }
      long versions = 0;
      StringBuilder latest = new StringBuilder();
      for (String each : models) {
        List<Long> numbers = store.versions(each);
        versions += numbers.size();
        if (numbers.isEmpty() || latest.length() > 120) {
          continue;
        }
        long last = numbers.get(numbers.size() - 1);
        Map<String, Double> window =
            store.manifest(each, last).map(m -> m.metrics().get("window")).orElse(null);
        latest.append(latest.length() == 0 ? " | " : ", ");
        latest.append(each.substring(model.length() + 1)).append(" v").append(last);
        if (window != null && window.containsKey("accuracy")) {
          latest.append(String.format(" accuracy %.3f", window.get("accuracy")));
        } else if (window != null && window.containsKey("rmse")) {
          latest.append(String.format(" RMSE %.4g", window.get("rmse")));
        }
      }
      long pruned = ProgressMetrics.count(PipelineCounters.CANDIDATES_PRUNED);
      return String.format(
          "%s %d%s, versions %d%s",
          several, models.size(), pruned > 0 ? " (" + pruned + " pruned)" : "", versions, latest);
    } catch (IOException e) {
      return "store unreadable: " + e.getMessage();
    }
  }

  private String latestVersion(String model) {
    try {
      List<Long> versions = store.versions(model);
      if (versions.isEmpty()) {
        return "no version yet";
      }
      long latest = versions.get(versions.size() - 1);
      Optional<Manifest> manifest = store.manifest(model, latest);
      String control = "";
      if (manifest.isPresent() && manifest.get().metrics().get("control") != null) {
        Map<String, Double> values = manifest.get().metrics().get("control");
        double champion = values.getOrDefault("championVersion", 0.0);
        control =
            String.format(
                " | drift alarms %.0f%s, %s",
                values.getOrDefault("driftDetections", 0.0),
                values.getOrDefault("challengerActive", 0.0) > 0 ? " (challenger training)" : "",
                champion > 0 ? String.format("champion v%.0f", champion) : "no champion yet");
      }
      return String.format(
          "versions %d, v%d held-out %s%s",
          versions.size(), latest, describeMetrics(manifest), control);
    } catch (IOException e) {
      return "store unreadable: " + e.getMessage();
    }
  }

  static String describeMetrics(Optional<Manifest> manifest) {
    if (manifest.isEmpty() || manifest.get().metrics() == null) {
      return "(no metrics)";
    }
    return dev.streamlearn.core.metrics.MetricsText.describe(
        manifest.get().metrics().get("window"), "events");
  }
}
