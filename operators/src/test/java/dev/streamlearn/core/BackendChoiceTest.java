package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamlearn.core.backend.Backends;
import dev.streamlearn.core.device.CudaDeviceOps;
import dev.streamlearn.core.device.DeviceOps;
import org.junit.jupiter.api.Test;

/** {@code backend: cpu | cuda | auto}: which device trains, and what happens without a GPU. */
class BackendChoiceTest {

  @Test
  void cpuNeverOpensADevice() {
    assertThat(Backends.openDevice("cpu", 0, "fp32")).isNull();
    assertThat(Backends.openDevice("nd4j", 0, "fp32")).isNull();
  }

  @Test
  void withoutAGpuAutoFallsBackToTheCpuAndCudaFailsWithTheReason() {
    String reason = CudaDeviceOps.unavailableReason(0);
    if (reason == null) {
      try (DeviceOps auto = Backends.openDevice("auto", 0, "tf32")) {
        assertThat(auto.name()).isEqualTo("cuda");
        assertThat(auto.precision().id()).isEqualTo("tf32");
      }
      return;
    }
    assertThat(Backends.openDevice("auto", 0, "fp32")).isNull();
    assertThatThrownBy(() -> Backends.openDevice("cuda", 0, "fp32"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("backend: cuda, but " + reason);
  }

  @Test
  void aDeviceIndexBeyondThosePresentIsRefused() {
    assertThat(CudaDeviceOps.unavailableReason(1023)).isNotNull();
  }
}
