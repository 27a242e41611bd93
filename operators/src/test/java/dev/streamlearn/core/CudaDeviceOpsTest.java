package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.device.CudaDeviceOps;
import dev.streamlearn.core.device.DeviceOps;
import dev.streamlearn.core.device.Precision;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The device contract on a CUDA GPU: cuBLAS products and the NVRTC-compiled kernels against the
 * float64 reference. Skipped, with the reason, where no CUDA device and libraries are usable.
 */
@Tag("gpu")
class CudaDeviceOpsTest extends DeviceNetworkContract {

  static final int DEVICE = Integer.getInteger("streamlearn.cuda.device", 0);

  static final String UNAVAILABLE = CudaDeviceOps.unavailableReason(DEVICE);

  @BeforeEach
  void needsADevice() {
    Assumptions.assumeTrue(UNAVAILABLE == null, () -> "no GPU here: " + UNAVAILABLE);
  }

  @Override
  DeviceOps open(Precision precision) {
    return CudaDeviceOps.open(DEVICE, precision);
  }

  @Test
  void describesTheDevice() {
    try (DeviceOps ops = open(Precision.FP32)) {
      System.out.println(ops.description());
      assertThat(ops.description()).contains("sm_");
    }
  }
}
