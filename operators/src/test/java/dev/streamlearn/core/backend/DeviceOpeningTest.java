package dev.streamlearn.core.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamlearn.core.device.DeviceOps;
import dev.streamlearn.core.device.HostDeviceOps;
import dev.streamlearn.core.device.Precision;
import org.junit.jupiter.api.Test;

/**
 * {@code auto} trains on the CPU when a device is present but does not open (kernels that do not
 * compile for it, memory taken, a device held by another process); {@code cuda} fails with that
 * error. The device here is the CPU emulation standing in for a GPU.
 */
class DeviceOpeningTest {

  private static final Backends.DeviceOpener FAILS =
      (index, precision) -> {
        throw new IllegalStateException("cuModuleLoadData: CUDA driver error 209");
      };

  @Test
  void autoTrainsOnTheCpuWhenThePresentDeviceDoesNotOpen() {
    assertThat(Backends.openDevice("auto", 0, "fp32", index -> null, FAILS)).isNull();
  }

  @Test
  void cudaFailsWithTheErrorOfTheDeviceThatDidNotOpen() {
    assertThatThrownBy(() -> Backends.openDevice("cuda", 0, "fp32", index -> null, FAILS))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("cuModuleLoadData: CUDA driver error 209");
  }

  @Test
  void aDeviceThatOpensTrainsWithTheIndexAndPrecisionAsked() {
    int[] openedIndex = {-1};
    Backends.DeviceOpener opener =
        (index, precision) -> {
          openedIndex[0] = index;
          return new HostDeviceOps(Precision.of(precision));
        };
    for (String name : new String[] {"auto", "cuda"}) {
      try (DeviceOps device = Backends.openDevice(name, 3, "bf16", index -> null, opener)) {
        assertThat(device).isNotNull();
        assertThat(device.precision()).isEqualTo(Precision.BF16);
        assertThat(openedIndex[0]).isEqualTo(3);
      }
    }
    assertThat(Backends.openDevice("auto", 0, "fp32", index -> "no GPU", opener)).isNull();
    assertThat(Backends.openDevice("nd4j", 0, "fp32", index -> null, opener)).isNull();
  }
}
