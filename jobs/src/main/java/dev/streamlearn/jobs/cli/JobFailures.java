package dev.streamlearn.jobs.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.streamlearn.jobs.runtime.ProgressMetrics;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * Why a local job failed before it restarted, in a few words on the console rather than only in the
 * log: the newest entry of the job's exception history, as Flink's REST API on the MiniCluster
 * serves it ({@code /jobs/<id>/exceptions}). Asked once per new restart.
 */
final class JobFailures {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MOST_CHARACTERS = 200;

  private final String jobId;
  private final URI exceptions;
  private final HttpClient http;
  private long restartsAsked;
  private String latest;

  /**
   * The failures of job {@code jobId} on the cluster whose REST endpoint is at {@code restPort}.
   */
  JobFailures(int restPort, String jobId) {
    this.jobId = jobId;
    this.exceptions =
        URI.create(
            "http://localhost:" + restPort + "/jobs/" + jobId + "/exceptions?maxExceptions=1");
    this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  }

  /**
   * The note a progress line ends with once the job has restarted: how often, and the last failure
   * where Flink says it; empty before any restart.
   */
  String progressNote() {
    // Before a restart, latest asks nothing.
    long restarts = ProgressMetrics.restarts(jobId);
    return progressNote(restarts, latest(restarts));
  }

  /**
   * {@code | the job failed and restarted 2 times (...)}, with {@code failure} (the last one), or
   * where to look when it is null; empty with no restart.
   */
  static String progressNote(long restarts, String failure) {
    if (restarts == 0) {
      return "";
    }
    return String.format(
        " | the job failed and restarted %d time%s (%s)",
        restarts,
        restarts == 1 ? "" : "s",
        failure == null
            ? "why: target/streamlearn.log"
            : "last: " + failure + "; more in target/streamlearn.log");
  }

  /** The line a run ends with after restarts: the last failure; null when none is known. */
  String summaryLine() {
    long restarts = ProgressMetrics.restarts(jobId);
    String failure = restarts == 0 ? null : latest(restarts);
    return failure == null ? null : "Last failure before a restart: " + failure;
  }

  /** The newest failure, looked up again when {@code restarts} has grown since the last answer. */
  private synchronized String latest(long restarts) {
    if (restarts > restartsAsked) {
      String answer = ask();
      if (answer != null) {
        latest = answer;
        restartsAsked = restarts;
      }
    }
    return latest;
  }

  /** The newest entry of the exception history; null when the endpoint does not answer with one. */
  private String ask() {
    try {
      HttpResponse<String> response =
          http.send(
              HttpRequest.newBuilder(exceptions).timeout(Duration.ofSeconds(2)).build(),
              HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        return null;
      }
      JsonNode entries = JSON.readTree(response.body()).path("exceptionHistory").path("entries");
      if (!entries.isArray() || entries.isEmpty()) {
        return null;
      }
      JsonNode newest = entries.get(0);
      // "decode-events (1/1) - execution #0": the attempt's number says nothing here.
      String task = newest.path("taskName").asText("").replaceFirst(" - execution #\\d+$", "");
      return rootCause(newest.path("stacktrace").asText(newest.path("exceptionName").asText("")))
          + (task.isEmpty() ? "" : " in " + task);
    } catch (java.io.IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /**
   * The innermost cause of a Java stack trace, its class without its package: {@code IOException:
   * disk full} from {@code ...Caused by: java.io.IOException: disk full}; cut to 200 characters.
   */
  static String rootCause(String stackTrace) {
    String cause = stackTrace.lines().findFirst().orElse("").trim();
    for (String line : (Iterable<String>) stackTrace.lines()::iterator) {
      if (line.startsWith("Caused by: ")) {
        cause = line.substring("Caused by: ".length()).trim();
      }
    }
    int colon = cause.indexOf(':');
    String type = colon < 0 ? cause : cause.substring(0, colon);
    if (type.matches("[\\w$.]+")) {
      cause = type.substring(type.lastIndexOf('.') + 1) + (colon < 0 ? "" : cause.substring(colon));
    }
    return cause.length() <= MOST_CHARACTERS ? cause : cause.substring(0, MOST_CHARACTERS) + "...";
  }
}
