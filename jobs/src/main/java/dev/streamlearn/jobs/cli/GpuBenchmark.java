package dev.streamlearn.jobs.cli;

import dev.streamlearn.core.device.CudaDeviceOps;
import dev.streamlearn.core.device.DeviceBenchmark;
import dev.streamlearn.core.device.DeviceCheck;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code streamlearn bench gpu}: training examples/s on a CUDA GPU, beside the cuBLAS ceiling. */
@Command(
    name = "gpu",
    mixinStandardHelpOptions = true,
    description = {
      "Examples/s of the CUDA training step per model, batch and precision.",
      "Examples/s of the CUDA training step (forward, backward, fused Adam update, parameters on the",
      "device) for logistic regression at d = 128 and 1024 and an MLP 1024-4096-4096-1000, batches",
      "256 to 16384, in fp32, tf32 and bf16, with the cuBLAS product ceiling (8192^3) measured in the",
      "same run and the share of it each step reaches. One JSON object a line. With --cpu nd4j: the",
      "same models on the CPU backend. Needs the CUDA 13 libraries on LD_LIBRARY_PATH."
    })
final class GpuBenchmark implements Callable<Integer> {

  @Option(names = "--device", defaultValue = "0", description = "GPU index (default 0).")
  int device;

  @Option(
      names = "--seconds",
      defaultValue = "2.0",
      description = "Measuring time per cell (default ${DEFAULT-VALUE}).")
  double seconds;

  @Option(
      names = "--cpu",
      description = "Measure this CPU backend instead (nd4j, java) on the same models.")
  String cpu;

  @Option(
      names = "--check",
      description =
          "Check the GPU against the CPU emulation of its kernels instead (transfers, products,"
              + " training steps and predictions, every precision); exit 1 when a check fails.")
  boolean check;

  @Override
  public Integer call() {
    if (check || cpu == null) {
      String reason = CudaDeviceOps.unavailableReason(device);
      if (reason != null) {
        System.err.println("bench gpu: " + reason);
        return 2;
      }
    }
    if (check) {
      return DeviceCheck.checkCuda(device, System.out) ? 0 : 1;
    }
    List<String> args =
        new ArrayList<>(List.of("--device", "" + device, "--seconds", "" + seconds));
    if (cpu != null) {
      args.add("--cpu");
      args.add(cpu);
    }
    DeviceBenchmark.main(args.toArray(new String[0]));
    return 0;
  }
}
