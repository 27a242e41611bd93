package dev.streamlearn.core.backend;

import dev.streamlearn.core.device.CudaDeviceOps;
import dev.streamlearn.core.device.DeviceOps;
import dev.streamlearn.core.device.Precision;
import java.util.List;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses the backends by the spec's name for them: the CPU backend that scores and validates
 * (always), and the device that trains when the name is {@code cuda}, or {@code auto} on a machine
 * where CUDA is usable.
 */
public final class Backends {

  public static final List<String> NAMES =
      List.of("auto", "cpu", "cuda", "nd4j", "java", "reference");

  /** The backends that run on the CPU alone. */
  public static final List<String> CPU_NAMES = List.of("nd4j", "java", "reference");

  private static final Logger LOG = LoggerFactory.getLogger(Backends.class);

  /** The CPU backend for this name: nd4j for auto, cpu and cuda. */
  public static Backend create(String name) {
    switch (name) {
      case "auto":
      case "cpu":
      case "cuda":
      case "nd4j":
        return new Nd4jBackend();
      case "java":
        return new JavaBackend();
      case "reference":
        return new ReferenceBackend();
      default:
        throw new IllegalArgumentException("backend '" + name + "' is not one of " + NAMES);
    }
  }

  /**
   * The GPU that trains, or null for training on the CPU. {@code cuda} fails with the reason when
   * no CUDA device is usable; {@code auto} falls back to the CPU and logs one line that says why,
   * also when the device is present but cannot be opened (its kernels do not compile for it, its
   * memory is taken, it is held by another process).
   */
  public static DeviceOps openDevice(String name, int deviceIndex, String precision) {
    return openDevice(
        name,
        deviceIndex,
        precision,
        CudaDeviceOps::unavailableReason,
        (index, chosen) -> CudaDeviceOps.open(index, Precision.of(chosen)));
  }

  /** How a device is opened: the index and the precision's name. */
  interface DeviceOpener {
    DeviceOps open(int deviceIndex, String precision);
  }

  static DeviceOps openDevice(
      String name,
      int deviceIndex,
      String precision,
      IntFunction<String> unavailableReason,
      DeviceOpener opener) {
    if (!name.equals("cuda") && !name.equals("auto")) {
      return null;
    }
    String reason = unavailableReason.apply(deviceIndex);
    if (reason != null) {
      if (name.equals("cuda")) {
        throw new IllegalStateException("backend: cuda, but " + reason);
      }
      LOG.info("backend auto: training on the CPU: {}", reason);
      return null;
    }
    DeviceOps device;
    try {
      device = opener.open(deviceIndex, precision);
    } catch (RuntimeException e) {
      if (name.equals("cuda")) {
        throw e;
      }
      LOG.warn(
          "backend auto: training on the CPU: CUDA device {} did not open: {}",
          deviceIndex,
          e.toString());
      return null;
    }
    LOG.info("backend {}: training on {}", name, device.description());
    return device;
  }

  private Backends() {}
}
