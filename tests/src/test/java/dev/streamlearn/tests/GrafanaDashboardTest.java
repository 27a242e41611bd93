package dev.streamlearn.tests;

import static dev.streamlearn.tests.CommandLineITCase.repositoryFile;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/**
 * The Grafana dashboard of the compose setup ({@code deploy/grafana}): provisioned where
 * docker-compose.yml mounts it, on the data source it provisions, laid out without overlaps, and
 * every query valid PromQL ({@code promtool check rules}, as CI installs it). That its metrics are
 * the ones a run exports is {@code
 * CommandLineITCase.servesItsMetricsToPrometheusUnderTheNamesTheAlertsAndDashboardUse}.
 */
class GrafanaDashboardTest {

  static final String DASHBOARD = "deploy/grafana/dashboards/streamlearn.json";

  @TempDir Path directory;

  @Test
  void isProvisionedWhereTheComposeSetupMountsIt() throws Exception {
    Map<String, Object> compose = yaml("docker-compose.yml");
    Map<String, Object> grafana = map(map(compose.get("services")).get("grafana"));
    assertThat(grafana).as("docker-compose.yml has a grafana service").isNotNull();
    @SuppressWarnings("unchecked")
    List<String> volumes = (List<String>) grafana.get("volumes");
    Map<String, Object> provider =
        map(
            ((List<?>)
                    yaml("deploy/grafana/provisioning/dashboards/streamlearn.yml").get("providers"))
                .get(0));
    String dashboards = (String) map(provider.get("options")).get("path");
    assertThat(volumes)
        .contains(
            "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro",
            "./deploy/grafana/dashboards:" + dashboards + ":ro");

    Map<String, Object> source =
        map(
            ((List<?>)
                    yaml("deploy/grafana/provisioning/datasources/prometheus.yml")
                        .get("datasources"))
                .get(0));
    assertThat(source.get("url")).isEqualTo("http://prometheus:9090");
    assertThat(map(compose.get("services"))).containsKey("prometheus");
    JsonNode dashboard = dashboard();
    assertThat(dashboard.path("uid").asText()).isEqualTo("streamlearn");
    for (JsonNode panel : queryPanels(dashboard)) {
      assertThat(panel.path("datasource").path("uid").asText())
          .as(panel.path("title").asText())
          .isEqualTo(source.get("uid"));
      for (JsonNode target : panel.path("targets")) {
        assertThat(target.path("datasource").path("uid").asText()).isEqualTo(source.get("uid"));
      }
    }
    assertThat(dashboard.path("templating").path("list").get(0).path("datasource").path("uid"))
        .hasToString("\"" + source.get("uid") + "\"");
  }

  @Test
  void panelsFitTheGridWithoutOverlapping() throws Exception {
    List<int[]> taken = new ArrayList<>();
    Set<Integer> ids = new HashSet<>();
    for (JsonNode panel : dashboard().path("panels")) {
      JsonNode at = panel.path("gridPos");
      int x = at.path("x").asInt();
      int y = at.path("y").asInt();
      int w = at.path("w").asInt();
      int h = at.path("h").asInt();
      String title = panel.path("title").asText();
      assertThat(ids.add(panel.path("id").asInt())).as("id of " + title).isTrue();
      assertThat(w).as(title).isPositive();
      assertThat(h).as(title).isPositive();
      assertThat(x + w).as(title).isLessThanOrEqualTo(24);
      for (int[] other : taken) {
        boolean apart =
            x + w <= other[0]
                || other[0] + other[2] <= x
                || y + h <= other[1]
                || other[1] + other[3] <= y;
        assertThat(apart)
            .as(title + " overlaps a panel at x " + other[0] + ", y " + other[1])
            .isTrue();
      }
      taken.add(new int[] {x, y, w, h});
    }
    assertThat(taken).hasSizeGreaterThan(10);
  }

  /** Every query, its Grafana variables given values, as a recording rule for promtool to parse. */
  @Test
  void everyQueryIsValidPromQl() throws Exception {
    Assumptions.assumeTrue(
        onPath("promtool"),
        "promtool is not installed (CI installs Debian's prometheus package for it)");
    List<String> queries = queries(dashboard());
    assertThat(queries).hasSizeGreaterThan(20);
    StringBuilder rules = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
    for (int i = 0; i < queries.size(); i++) {
      String expr =
          queries
              .get(i)
              .replace("$__rate_interval", "1m")
              .replace("$job_name", ".*")
              .replace("'", "''");
      rules.append("      - record: dashboard:query").append(i).append('\n');
      rules.append("        expr: '").append(expr).append("'\n");
    }
    Path file = directory.resolve("dashboard-rules.yml");
    Files.writeString(file, rules);
    Process check =
        new ProcessBuilder("promtool", "check", "rules", file.toString())
            .redirectErrorStream(true)
            .start();
    String out = new String(check.getInputStream().readAllBytes());
    assertThat(check.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(check.exitValue()).as(out).isZero();
    assertThat(out).contains("SUCCESS: " + queries.size() + " rules found");
  }

  /** The dashboard's PromQL queries, the variable's included. */
  static List<String> queries(JsonNode dashboard) {
    List<String> queries = new ArrayList<>();
    for (JsonNode panel : queryPanels(dashboard)) {
      for (JsonNode target : panel.path("targets")) {
        assertThat(target.path("expr").asText()).as(panel.path("title").asText()).isNotBlank();
        queries.add(target.path("expr").asText());
      }
    }
    for (JsonNode variable : dashboard.path("templating").path("list")) {
      String query = variable.path("query").path("query").asText();
      // label_values(SELECTOR, label) is Grafana's: its selector is PromQL.
      queries.add(query.substring("label_values(".length(), query.lastIndexOf(',')));
    }
    return queries;
  }

  static JsonNode dashboard() throws Exception {
    return new ObjectMapper().readTree(Files.readString(repositoryFile(DASHBOARD)));
  }

  private static List<JsonNode> queryPanels(JsonNode dashboard) {
    List<JsonNode> panels = new ArrayList<>();
    for (JsonNode panel : dashboard.path("panels")) {
      if (!panel.path("type").asText().equals("row")) {
        panels.add(panel);
      }
    }
    return panels;
  }

  private static Map<String, Object> yaml(String file) throws Exception {
    return new Yaml().load(Files.readString(repositoryFile(file)));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object node) {
    return (Map<String, Object>) node;
  }

  private static boolean onPath(String command) {
    for (String folder : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (Files.isExecutable(Path.of(folder, command))) {
        return true;
      }
    }
    return false;
  }
}
