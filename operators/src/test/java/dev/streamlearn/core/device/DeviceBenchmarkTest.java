package dev.streamlearn.core.device;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The GPU benchmark's device loop, run on the CPU emulation: one JSON line per model and batch. */
class DeviceBenchmarkTest {

  @Test
  void queuedStepsRunAndAreReportedAsOneJsonLine() throws Exception {
    DeviceBenchmark.Model model = DeviceBenchmark.models().get(0);
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    PrintStream out = System.out;
    System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
    try (DeviceOps ops = new HostDeviceOps(Precision.FP32)) {
      DeviceBenchmark.benchmarkDevice(ops, model, 64, 0.05, 1e12);
    } finally {
      System.setOut(out);
    }
    JsonNode line = new ObjectMapper().readTree(printed.toString(StandardCharsets.UTF_8).trim());
    assertThat(line.get("model").asText()).isEqualTo(model.name());
    assertThat(line.get("precision").asText()).isEqualTo("fp32");
    assertThat(line.get("batch").asInt()).isEqualTo(64);
    assertThat(line.get("examples_per_s").asDouble()).isPositive();
    assertThat(line.has("of_gemm_ceiling")).isTrue();
  }
}
