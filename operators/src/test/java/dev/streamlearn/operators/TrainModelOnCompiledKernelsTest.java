package dev.streamlearn.operators;

import dev.streamlearn.core.device.CpuCompiledKernelOps;
import dev.streamlearn.core.device.Precision;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;

/**
 * The trainer operator stepping on the CUDA kernel source compiled for the CPU, launched as the GPU
 * would be. Skipped, with the reason, where g++ or the JNI headers are missing.
 */
class TrainModelOnCompiledKernelsTest extends TrainingOnDeviceContract {

  @BeforeEach
  void needsTheCompiledKernels() {
    String reason = CpuCompiledKernelOps.unavailableReason();
    Assumptions.assumeTrue(reason == null, () -> "kernels.cu not compiled for the CPU: " + reason);
  }

  @Override
  TrainModel.DeviceFactory devices() {
    return (backend, index, precision) -> CpuCompiledKernelOps.open(Precision.of(precision));
  }

  @Override
  String deviceName() {
    return "cpu-compiled-kernels";
  }
}
