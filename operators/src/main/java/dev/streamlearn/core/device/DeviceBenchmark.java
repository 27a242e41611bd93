package dev.streamlearn.core.device;

import dev.streamlearn.core.backend.Backend;
import dev.streamlearn.core.backend.Backends;
import dev.streamlearn.core.model.Activation;
import dev.streamlearn.core.model.Loss;
import dev.streamlearn.core.model.Network;
import dev.streamlearn.core.model.NetworkShape;
import dev.streamlearn.core.model.SplitMix64;
import dev.streamlearn.core.optim.Optimizer;
import dev.streamlearn.core.optim.OptimizerSettings;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Training throughput of the device step: examples/s for logistic regression (d = 128, 1024) and an
 * MLP 1024-4096-4096-1000 at batch sizes 256 to 16384 in fp32, tf32 and bf16, with the matrix
 * product ceiling measured in the same run (a large square product per precision) and the share of
 * it each step reaches. {@code --cpu NAME} measures the CPU backend instead (ND4J: {@code nd4j}).
 *
 * <pre>
 * java ... dev.streamlearn.core.device.DeviceBenchmark [--device N] [--seconds S] [--cpu nd4j]
 * java ... dev.streamlearn.core.device.DeviceBenchmark [--device N] --check
 * </pre>
 *
 * {@code --check} runs {@link DeviceCheck} in every precision instead, and exits 1 when a check
 * fails.
 *
 * <p>Prints one JSON object a line.
 */
public final class DeviceBenchmark {

  record Model(String name, NetworkShape shape) {}

  static List<Model> models() {
    return List.of(
        new Model(
            "logistic-d128",
            new NetworkShape(128, new int[0], Activation.RELU, 0, 1, Loss.BINARY_CROSS_ENTROPY, 1)),
        new Model(
            "logistic-d1024",
            new NetworkShape(
                1024, new int[0], Activation.RELU, 0, 1, Loss.BINARY_CROSS_ENTROPY, 1)),
        new Model(
            "mlp-1024-4096-4096-1000",
            new NetworkShape(
                1024, new int[] {4096, 4096}, Activation.RELU, 0, 1000, Loss.CROSS_ENTROPY, 1)));
  }

  static final int[] BATCHES = {256, 1024, 4096, 16384};

  private static final OptimizerSettings ADAM =
      new OptimizerSettings("adam", 0, false, 0.9, 0.999, 1e-8, 0, 0, 0, 0);

  /** How many runs fit in the measuring time (at least the minimum), and the seconds they took. */
  record Timed(long runs, double seconds) {}

  /** Calls {@code run} with 0, 1, 2, ... until {@code seconds} passed and {@code minimum} ran. */
  /** On a device the benchmark waits for the queued steps every this many steps. */
  static final int WAIT_EVERY = 8;

  static Timed repeat(double seconds, int minimum, java.util.function.LongConsumer run) {
    long start = System.nanoTime();
    long runs = 0;
    while (System.nanoTime() - start < seconds * 1e9 || runs < minimum) {
      run.accept(runs++);
    }
    return new Timed(runs, (System.nanoTime() - start) / 1e9);
  }

  public static void main(String[] args) {
    int device = 0;
    double seconds = 2;
    String cpu = null;
    boolean check = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--device" -> device = Integer.parseInt(args[++i]);
        case "--seconds" -> seconds = Double.parseDouble(args[++i]);
        case "--cpu" -> cpu = args[++i];
        case "--check" -> check = true;
        default ->
            throw new IllegalArgumentException(
                "unknown argument "
                    + args[i]
                    + "; use --device N, --seconds S, --cpu NAME, --check");
      }
    }
    if (check) {
      if (!DeviceCheck.checkCuda(device, System.out)) {
        System.exit(1);
      }
      return;
    }
    if (cpu != null) {
      benchmarkCpu(cpu, seconds);
      return;
    }
    for (Precision precision : Precision.values()) {
      try (DeviceOps ops = CudaDeviceOps.open(device, precision)) {
        double ceiling = gemmCeiling(ops, 8192, seconds);
        System.out.printf(
            Locale.ROOT,
            "{\"device\": \"%s\", \"precision\": \"%s\", \"gemm\": \"8192^3\", \"tflops\": %.1f}%n",
            ops.description(),
            precision.id(),
            ceiling / 1e12);
        for (Model model : models()) {
          for (int batch : BATCHES) {
            benchmarkDevice(ops, model, batch, seconds, ceiling);
          }
        }
      }
    }
  }

  /** FLOP/s of C = A B for n x n matrices in this device's precision. */
  static double gemmCeiling(DeviceOps ops, int n, double seconds) {
    long size = (long) n * n;
    DeviceOps.Buffer a = ops.allocate(size);
    DeviceOps.Buffer b = ops.allocate(size);
    DeviceOps.Buffer c = ops.allocate(size);
    float[] chunk = new float[n];
    Random random = new Random(1);
    for (int row = 0; row < n; row++) {
      for (int j = 0; j < n; j++) {
        chunk[j] = (float) random.nextGaussian();
      }
      ops.upload(chunk, 0, a, (long) row * n, n);
      ops.upload(chunk, 0, b, (long) row * n, n);
    }
    ops.gemm(false, false, n, n, n, a, 0, b, 0, 0f, c, 0);
    ops.synchronize();
    long start = System.nanoTime();
    int runs = 0;
    while (System.nanoTime() - start < seconds * 1e9 || runs < 3) {
      ops.gemm(false, false, n, n, n, a, 0, b, 0, 0f, c, 0);
      runs++;
      if (runs % 10 == 0) {
        ops.synchronize();
      }
    }
    ops.synchronize();
    double elapsed = (System.nanoTime() - start) / 1e9;
    ops.free(a);
    ops.free(b);
    ops.free(c);
    return 2.0 * n * n * n * runs / elapsed;
  }

  /** Matrix-product FLOPs of one training step: forward, input gradient and weight gradient. */
  static double stepFlops(NetworkShape shape, int batch) {
    double flops = 0;
    for (int l = 0; l < shape.layers(); l++) {
      double product = 2.0 * batch * shape.width(l) * shape.width(l + 1);
      flops += l == 0 ? 2 * product : 3 * product;
    }
    return flops;
  }

  private static Batch batch(NetworkShape shape, int rows) {
    Random random = new Random(7);
    float[] x = DeviceCheck.gaussians(random, rows * shape.inputs());
    float[] y = new float[rows];
    float[] w = new float[rows];
    for (int r = 0; r < rows; r++) {
      y[r] = shape.outputs() > 1 ? random.nextInt(shape.outputs()) : random.nextInt(2);
      w[r] = 1f;
    }
    return new Batch(x, y, w);
  }

  record Batch(float[] x, float[] y, float[] w) {}

  static void benchmarkDevice(
      DeviceOps ops, Model model, int rows, double seconds, double ceiling) {
    NetworkShape shape = model.shape();
    Batch batch = batch(shape, rows);
    try (DeviceNetwork network = new DeviceNetwork(shape, ADAM, ops, rows)) {
      float[] params = shape.initialParameters(1);
      network.upload(params, new float[params.length], new float[params.length]);
      SplitMix64 random = new SplitMix64(1);
      network.step(batch.x, batch.y, batch.w, rows, random, 1, 1e-3);
      // Steps are queued as the trainer queues them; the host waits for the device every
      // WAIT_EVERY steps (as it does for held-out scores) and at the end, inside the timing.
      long start = System.nanoTime();
      Timed timed =
          repeat(
              seconds,
              WAIT_EVERY,
              n -> {
                network.queueStep(batch.x, batch.y, batch.w, rows, random, n + 2, 1e-3);
                if (n % WAIT_EVERY == WAIT_EVERY - 1) {
                  network.lastLoss();
                }
              });
      network.lastLoss();
      long steps = timed.runs();
      double elapsed = (System.nanoTime() - start) / 1e9;
      double perSecond = steps * (double) rows / elapsed;
      double flops = stepFlops(shape, rows) * steps / elapsed;
      System.out.printf(
          Locale.ROOT,
          "{\"model\": \"%s\", \"precision\": \"%s\", \"batch\": %d, \"examples_per_s\": %.0f,"
              + " \"step_ms\": %.3f, \"tflops\": %.2f, \"of_gemm_ceiling\": %.3f}%n",
          model.name(),
          ops.precision().id(),
          rows,
          perSecond,
          elapsed * 1e3 / steps,
          flops / 1e12,
          flops / ceiling);
    }
  }

  static void benchmarkCpu(String name, double seconds) {
    try (Backend backend = Backends.create(name)) {
      for (Model model : models()) {
        for (int rows : BATCHES) {
          NetworkShape shape = model.shape();
          Batch batch = batch(shape, rows);
          Network network = new Network(shape, backend, rows);
          Optimizer optimizer = new Optimizer(ADAM, shape.weightMask());
          float[] params = shape.initialParameters(1);
          float[] gradient = new float[params.length];
          float[][] slots = {new float[params.length], new float[params.length]};
          SplitMix64 random = new SplitMix64(1);
          Timed timed =
              repeat(
                  seconds,
                  1,
                  n -> {
                    network.lossAndGradient(
                        params, batch.x, batch.y, batch.w, rows, random, gradient);
                    optimizer.apply(params, gradient, slots, n + 1, 1e-3);
                  });
          long steps = timed.runs();
          double elapsed = timed.seconds();
          System.out.printf(
              Locale.ROOT,
              "{\"model\": \"%s\", \"backend\": \"%s\", \"batch\": %d, \"examples_per_s\": %.0f,"
                  + " \"step_ms\": %.3f, \"cores\": %d}%n",
              model.name(),
              backend.name(),
              rows,
              steps * (double) rows / elapsed,
              elapsed * 1e3 / steps,
              Runtime.getRuntime().availableProcessors());
        }
      }
    }
  }

  private DeviceBenchmark() {}
}
