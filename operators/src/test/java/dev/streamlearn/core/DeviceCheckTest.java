package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.device.DeviceCheck;
import dev.streamlearn.core.device.HostDeviceOps;
import dev.streamlearn.core.device.Precision;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DeviceCheckTest {

  @Test
  void passesADeviceThatComputesWhatTheReferenceComputes() {
    for (Precision precision : Precision.values()) {
      ByteArrayOutputStream printed = new ByteArrayOutputStream();
      try (var device = new HostDeviceOps(precision);
          var reference = new HostDeviceOps(precision)) {
        boolean passed =
            new DeviceCheck(
                    device,
                    reference,
                    DeviceCheck.toleranceFor(precision),
                    new PrintStream(printed, true, StandardCharsets.UTF_8))
                .run();
        String lines = printed.toString(StandardCharsets.UTF_8);
        assertThat(passed).as(lines).isTrue();
        // A transfer, four products, and three lines for each of 12 networks.
        assertThat(lines.lines().filter(line -> line.startsWith("ok "))).hasSize(1 + 4 + 36);
      }
    }
  }

  @Test
  void failsADeviceWhoseProductsAreLessPreciseThanItClaims() {
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    try (var bf16 = new HostDeviceOps(Precision.BF16);
        var fp32 = new HostDeviceOps(Precision.FP32)) {
      boolean passed =
          new DeviceCheck(
                  bf16,
                  fp32,
                  DeviceCheck.toleranceFor(Precision.FP32),
                  new PrintStream(printed, true, StandardCharsets.UTF_8))
              .run();
      String lines = printed.toString(StandardCharsets.UTF_8);
      System.out.print(lines);
      assertThat(passed).isFalse();
      assertThat(lines).contains("ok   transfer of 100003 floats: largest error 0.00e+00");
      assertThat(lines.lines().filter(line -> line.startsWith("FAIL matrix product"))).hasSize(4);
      assertThat(lines).containsPattern("FAIL 24-33-17-4 relu, cross_entropy loss.*two steps");
    }
  }
}
