package dev.streamlearn.operators;

import dev.streamlearn.core.backend.Backends;
import dev.streamlearn.core.device.CudaDeviceOps;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;

/**
 * The trainer operator with {@code backend: cuda} on a GPU, as a job would open it. Skipped, with
 * the reason, where no CUDA device and libraries are usable.
 */
@Tag("gpu")
class TrainModelOnCudaTest extends TrainingOnDeviceContract {

  private static final String UNAVAILABLE = CudaDeviceOps.unavailableReason(0);

  @BeforeEach
  void needsADevice() {
    Assumptions.assumeTrue(UNAVAILABLE == null, () -> "no GPU here: " + UNAVAILABLE);
  }

  @Override
  TrainModel.DeviceFactory devices() {
    return Backends::openDevice;
  }

  @Override
  String deviceName() {
    return "cuda";
  }
}
