package dev.streamlearn.jobs.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalFlinkTest {

  @TempDir Path directory;

  /** With a web UI port, the local cluster serves Flink's dashboard and its REST API there. */
  @Test
  void servesFlinksWebUiOnTheAskedPort() throws Exception {
    int port;
    try (ServerSocket free = new ServerSocket(0)) {
      port = free.getLocalPort();
    }
    StreamExecutionEnvironment env = LocalFlink.environment(1, directory, null, -1, port);
    env.fromSequence(0, Long.MAX_VALUE).sinkTo(new DiscardingSink<>()).name("discard");
    JobClient job = env.executeAsync("web-ui-check");
    try {
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      String page = get(http, "http://localhost:" + port + "/");
      assertThat(page).contains("<title>Apache Flink Web Dashboard</title>");
      String jobs = get(http, "http://localhost:" + port + "/jobs/overview");
      assertThat(jobs).contains("\"name\":\"web-ui-check\"").contains(job.getJobID().toString());
    } finally {
      job.cancel().get();
    }
  }

  private static String get(HttpClient http, String url) throws Exception {
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(url).isEqualTo(200);
    return response.body();
  }
}
