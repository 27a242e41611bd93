package dev.streamlearn.core.device;

import dev.streamlearn.core.model.Activation;
import dev.streamlearn.core.model.Loss;
import dev.streamlearn.core.model.NetworkShape;
import dev.streamlearn.core.model.SplitMix64;
import dev.streamlearn.core.optim.OptimizerSettings;
import java.io.PrintStream;
import java.util.Locale;
import java.util.Random;

/**
 * A quick check that a device computes what the CPU emulation of its kernels computes: transfers,
 * the four transposes of the matrix product, and training steps and predictions that run every
 * kernel, on small inputs. Each line prints as its check completes, so a device that fails, or
 * crashes the process, shows where. {@code streamlearn bench gpu --check} runs it per precision.
 */
public final class DeviceCheck {

  private final DeviceOps device;
  private final DeviceOps reference;
  private final double tolerance;
  private final PrintStream out;
  private int failures;

  /**
   * @param reference the same operations, trusted (the CPU emulation in the device's precision)
   * @param tolerance for products and a step's parameter moves: the largest error allowed, relative
   *     to the largest value compared
   */
  public DeviceCheck(DeviceOps device, DeviceOps reference, double tolerance, PrintStream out) {
    this.device = device;
    this.reference = reference;
    this.tolerance = tolerance;
    this.out = out;
  }

  /**
   * Errors that rounding explains, per precision: fp32 rounding over a few dozen products; tf32 and
   * bf16 keep 11 and 8 significant bits of each operand (the device and the emulation may round
   * them differently), and two steps compound them. A wrong kernel is off by far more.
   */
  public static double toleranceFor(Precision precision) {
    return switch (precision) {
      case FP32 -> 1e-5;
      case TF32 -> 2e-2;
      case BF16 -> 1e-1;
    };
  }

  /**
   * Checks CUDA device {@code index} in every precision against the CPU emulation, printing a line
   * per check and a header per precision; true when all passed.
   */
  public static boolean checkCuda(int index, PrintStream out) {
    boolean passed = true;
    for (Precision precision : Precision.values()) {
      try (DeviceOps cuda = CudaDeviceOps.open(index, precision);
          DeviceOps emulation = new HostDeviceOps(precision)) {
        out.println("== " + cuda.description() + ", against the CPU emulation");
        out.flush();
        passed &= new DeviceCheck(cuda, emulation, toleranceFor(precision), out).run();
      }
    }
    out.println(passed ? "every check passed" : "some checks FAILED");
    return passed;
  }

  /** Runs every check; true when all passed. */
  public boolean run() {
    Random random = new Random(11);
    checkTransfer(random);
    for (boolean transposeA : new boolean[] {false, true}) {
      for (boolean transposeB : new boolean[] {false, true}) {
        checkProduct(random, transposeA, transposeB);
      }
    }
    OptimizerSettings momentum =
        new OptimizerSettings("sgd", 0.9, true, 0.9, 0.999, 1e-8, 1e-4, 1e-3, 0, 1.0);
    for (Activation activation : Activation.values()) {
      for (Loss loss : Loss.values()) {
        int outputs = loss == Loss.CROSS_ENTROPY ? 4 : 1;
        checkStep(
            random,
            new NetworkShape(24, new int[] {33, 17}, activation, 0.25, outputs, loss, 0.5),
            momentum);
      }
    }
    return failures == 0;
  }

  private void checkTransfer(Random random) {
    float[] values = gaussians(random, 100_003);
    DeviceOps.Buffer buffer = device.allocate(values.length + 5);
    try {
      device.upload(values, 0, buffer, 5, values.length);
      float[] back = new float[values.length];
      device.download(buffer, 5, back, 0, values.length);
      report("transfer of " + values.length + " floats", largestError(values, back), 0);
    } finally {
      device.free(buffer);
    }
  }

  private void checkProduct(Random random, boolean transposeA, boolean transposeB) {
    int m = 37;
    int n = 29;
    int k = 53;
    float[] a = gaussians(random, 3 + m * k);
    float[] b = gaussians(random, 1 + k * n);
    float[] c = gaussians(random, 2 + m * n);
    float[] onDevice = product(device, transposeA, transposeB, m, n, k, a, 3, b, 1, 0.5f, c, 2);
    float[] expected = product(reference, transposeA, transposeB, m, n, k, a, 3, b, 1, 0.5f, c, 2);
    report(
        String.format(
            Locale.ROOT,
            "matrix product %s%s (%dx%dx%d, offsets, beta 0.5)",
            transposeA ? "T" : "N",
            transposeB ? "T" : "N",
            m,
            n,
            k),
        largestError(expected, onDevice),
        tolerance);
  }

  /**
   * {@link DeviceOps#gemm} on host arrays: copies {@code a}, {@code b} and {@code c} whole to the
   * device, multiplies from the offsets, and returns the whole of {@code c} as the device left it.
   */
  public static float[] product(
      DeviceOps ops,
      boolean transposeA,
      boolean transposeB,
      int m,
      int n,
      int k,
      float[] a,
      int aOffset,
      float[] b,
      int bOffset,
      float beta,
      float[] c,
      int cOffset) {
    DeviceOps.Buffer left = ops.allocate(a.length);
    DeviceOps.Buffer right = ops.allocate(b.length);
    DeviceOps.Buffer result = ops.allocate(c.length);
    try {
      ops.upload(a, 0, left, 0, a.length);
      ops.upload(b, 0, right, 0, b.length);
      ops.upload(c, 0, result, 0, c.length);
      ops.gemm(
          transposeA, transposeB, m, n, k, left, aOffset, right, bOffset, beta, result, cOffset);
      float[] values = new float[c.length];
      ops.download(result, 0, values, 0, c.length);
      return values;
    } finally {
      ops.free(left);
      ops.free(right);
      ops.free(result);
    }
  }

  /** Two steps and a prediction of the same network from the same state on both. */
  private void checkStep(Random random, NetworkShape shape, OptimizerSettings settings) {
    int rows = 50;
    float[] x = gaussians(random, rows * shape.inputs());
    float[] y = new float[rows];
    float[] weight = new float[rows];
    for (int r = 0; r < rows; r++) {
      y[r] =
          switch (shape.loss()) {
            case CROSS_ENTROPY -> random.nextInt(shape.outputs());
            case BINARY_CROSS_ENTROPY -> random.nextInt(2);
            default -> (float) random.nextGaussian();
          };
      weight[r] = 0.5f + random.nextFloat();
    }
    float[] initial = shape.initialParameters(random.nextLong());
    float[][] after = new float[2][];
    float[][] predictions = new float[2][rows * shape.outputs()];
    double[] loss = new double[2];
    DeviceOps[] both = {device, reference};
    for (int i = 0; i < 2; i++) {
      try (DeviceNetwork network = new DeviceNetwork(shape, settings, both[i], rows)) {
        float[] params = initial.clone();
        float[] moment = new float[params.length];
        network.upload(params, moment, new float[0]);
        SplitMix64 dropout = new SplitMix64(5);
        network.step(x, y, weight, rows, dropout, 1, 0.05);
        loss[i] = network.step(x, y, weight, rows, dropout, 2, 0.05);
        network.download(params, moment, new float[0]);
        network.predict(x, rows, predictions[i]);
        after[i] = params;
      }
    }
    // The step's error, relative to how far the parameters moved.
    double moved = 0;
    double apart = 0;
    for (int i = 0; i < initial.length; i++) {
      moved = Math.max(moved, Math.abs(after[1][i] - initial[i]));
      apart = Math.max(apart, Math.abs(after[0][i] - after[1][i]));
    }
    String name =
        String.format(
            Locale.ROOT,
            "%s %s, %s loss, dropout, Nesterov momentum",
            shape.inputs() + "-33-17-" + shape.outputs(),
            shape.activation().name().toLowerCase(Locale.ROOT),
            shape.loss().name().toLowerCase(Locale.ROOT));
    report(name + ": two steps", moved == 0 ? apart : apart / moved, tolerance);
    report(
        name + ": loss",
        Math.abs(loss[0] - loss[1]) / Math.max(1e-3, Math.abs(loss[1])),
        Math.max(1e-4, tolerance));
    report(name + ": predictions", largestError(predictions[1], predictions[0]), tolerance);
  }

  private void report(String what, double error, double allowed) {
    boolean ok = error <= allowed;
    if (!ok) {
      failures++;
    }
    out.printf(
        Locale.ROOT,
        "%-4s %s: largest error %.2e (allowed %.0e)%n",
        ok ? "ok" : "FAIL",
        what,
        error,
        allowed);
    out.flush();
  }

  /** The largest difference, relative to the largest expected magnitude (NaN counts as failing). */
  private static double largestError(float[] expected, float[] actual) {
    double scale = 1e-6;
    for (float value : expected) {
      scale = Math.max(scale, Math.abs(value));
    }
    double largest = 0;
    for (int i = 0; i < expected.length; i++) {
      double error = Math.abs((double) expected[i] - actual[i]);
      if (Double.isNaN(error)) {
        return Double.POSITIVE_INFINITY;
      }
      largest = Math.max(largest, error);
    }
    return largest / scale;
  }

  /** {@code length} standard normal draws from {@code random}, as floats. */
  public static float[] gaussians(Random random, int length) {
    float[] values = new float[length];
    for (int i = 0; i < length; i++) {
      values[i] = (float) random.nextGaussian();
    }
    return values;
  }
}
