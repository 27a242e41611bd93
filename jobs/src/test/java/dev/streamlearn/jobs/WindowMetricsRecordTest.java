package dev.streamlearn.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.train.WindowReport;
import dev.streamlearn.schemas.WindowMetrics;
import dev.streamlearn.schemas.codec.Topics;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A window report as the metrics topic carries it, through the Avro codec and back. */
class WindowMetricsRecordTest {

  @Test
  void carriesTheWindowsMetricsAndInputDrift() throws Exception {
    WindowReport report = new WindowReport();
    report.model = "m";
    report.windowStart = 60_000;
    report.windowEnd = 120_000;
    report.trained = 800;
    report.heldOut = 200;
    report.metric = "logLoss";
    report.candidateValue = 0.4;
    report.championValue = Double.NaN;
    report.metricsJson = "{\"logLoss\":0.4,\"accuracy\":0.8}";
    report.inputDriftJson = "{\"amount\":0.31,\"country\":0.02}";
    report.publishedVersion = 3;
    report.late = 7;

    var codec = Topics.windowMetrics();
    WindowMetrics read = codec.decode(codec.encode(KafkaConnectors.toWindowMetrics(report)));

    assertThat(read.getChampion()).isNull();
    assertThat(asStrings(read.getMetrics())).containsEntry("accuracy", 0.8);
    assertThat(asStrings(read.getInputDrift()))
        .containsOnly(Map.entry("amount", 0.31), Map.entry("country", 0.02));
    assertThat(read.getPublishedVersion()).isEqualTo(3L);
    assertThat(read.getLate()).isEqualTo(7L);
  }

  private static Map<String, Double> asStrings(Map<? extends CharSequence, Double> map) {
    Map<String, Double> out = new HashMap<>();
    map.forEach((key, value) -> out.put(key.toString(), value));
    return out;
  }
}
