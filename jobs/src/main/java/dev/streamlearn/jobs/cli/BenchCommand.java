package dev.streamlearn.jobs.cli;

import dev.streamlearn.core.backend.Backend;
import dev.streamlearn.core.backend.Backends;
import dev.streamlearn.core.model.Activation;
import dev.streamlearn.core.model.Loss;
import dev.streamlearn.core.model.Network;
import dev.streamlearn.core.model.NetworkShape;
import dev.streamlearn.core.model.SplitMix64;
import dev.streamlearn.core.optim.Optimizer;
import dev.streamlearn.core.optim.OptimizerSettings;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.LongConsumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code streamlearn bench}: the pipeline benchmark, and training-step throughput per backend. */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = {
      "Benchmarks. `bench` or `bench pipeline`: the pipeline against its limits (see bench pipeline --help).",
      "`bench training`: examples/s of one training step (forward, backward, SGD update) per backend.",
      "`bench featurizer`: vectors/s of the featurizer for 20 numeric and 10 categorical fields.",
      "`bench server`: downloads/s and latency of the model store server with 50 concurrent clients.",
      "`bench gpu`: examples/s of the CUDA training step per model, batch and precision."
    },
    subcommands = {
      PipelineBenchmark.class,
      BenchCommand.Training.class,
      FeaturizerBenchmark.class,
      ServerBenchmark.class,
      GpuBenchmark.class
    })
final class BenchCommand implements Runnable {

  /** Without a subcommand: the pipeline benchmark with its defaults. */
  @Override
  public void run() {
    try {
      new PipelineBenchmark().call();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Command(
      name = "training",
      mixinStandardHelpOptions = true,
      description = {
        "Examples/s of one training step per backend.",
        "Examples/s of a full training step, in a tight loop over the same batch, for logistic",
        "regression (d = 32, 128, 1024) and an MLP (128-256-256-10, ReLU, softmax) at batch sizes",
        "32 to 4096, on ND4J and on plain Java float loops doing the same arithmetic."
      })
  static final class Training implements Callable<Integer> {

    @Option(
        names = "--seconds",
        defaultValue = "1.0",
        description = "Measuring time per cell (default ${DEFAULT-VALUE}).")
    double seconds;

    @Option(
        names = "--batches",
        split = ",",
        defaultValue = "32,128,512,1024,4096",
        description = "Batch sizes.")
    int[] batches;

    @Option(
        names = "--backends",
        split = ",",
        defaultValue = "nd4j,java",
        description = "Backends to compare.")
    String[] backends;

    @Override
    public Integer call() {
      List<NetworkShape> models = new ArrayList<>();
      for (int d : new int[] {32, 128, 1024}) {
        models.add(
            new NetworkShape(d, new int[0], Activation.RELU, 0, 1, Loss.BINARY_CROSS_ENTROPY, 1));
      }
      models.add(
          new NetworkShape(
              128, new int[] {256, 256}, Activation.RELU, 0, 10, Loss.CROSS_ENTROPY, 1));
      System.out.printf(
          "Training-step throughput, examples/s (forward + backward + SGD update), %s per cell, 1 thread of %d cores%n",
          seconds + " s", Runtime.getRuntime().availableProcessors());
      StringBuilder header = new StringBuilder(String.format("%-28s %7s", "model", "batch"));
      for (String backend : backends) {
        header.append(String.format(" %14s", backend));
      }
      if (backends.length == 2) {
        header.append(String.format(" %9s", backends[0] + "/" + backends[1]));
      }
      System.out.println(header);
      for (NetworkShape shape : models) {
        for (int batch : batches) {
          double[] rates = new double[backends.length];
          for (int b = 0; b < backends.length; b++) {
            try (Backend backend = Backends.create(backends[b])) {
              rates[b] = measure(shape, backend, batch, seconds);
            }
          }
          StringBuilder row = new StringBuilder(String.format("%-28s %7d", describe(shape), batch));
          for (double rate : rates) {
            row.append(String.format(" %,14.0f", rate));
          }
          if (rates.length == 2) {
            row.append(String.format(" %9.2f", rates[0] / rates[1]));
          }
          System.out.println(row);
        }
      }
      return 0;
    }

    static String describe(NetworkShape shape) {
      if (shape.hidden().length == 0) {
        return "logistic d=" + shape.inputs();
      }
      StringBuilder text = new StringBuilder("mlp " + shape.inputs());
      for (int width : shape.hidden()) {
        text.append('-').append(width);
      }
      return text.append('-').append(shape.outputs()).toString();
    }

    /** Steps over one random batch until {@code seconds} pass (after a warm-up); examples/s. */
    static double measure(NetworkShape shape, Backend backend, int batch, double seconds) {
      SplitMix64 random = new SplitMix64(1);
      float[] x = new float[batch * shape.inputs()];
      for (int i = 0; i < x.length; i++) {
        x[i] = (float) random.nextGaussian();
      }
      float[] y = new float[batch];
      for (int r = 0; r < batch; r++) {
        y[r] =
            shape.outputs() == 1
                ? (x[r * shape.inputs()] > 0 ? 1 : 0)
                : (float) (r % shape.outputs());
      }
      float[] weight = new float[batch];
      Arrays.fill(weight, 1f);
      float[] params = shape.initialParameters(3);
      float[] gradient = new float[params.length];
      Network network = new Network(shape, backend, batch);
      Optimizer optimizer = new Optimizer(OptimizerSettings.sgd(0), shape.weightMask());
      return examplesPerSecond(
          batch,
          seconds * 0.3,
          seconds,
          step -> {
            network.lossAndGradient(params, x, y, weight, batch, null, gradient);
            optimizer.apply(params, gradient, new float[0][], step, 0.01);
          });
    }

    /**
     * Runs {@code step} (given its 1-based number) for {@code warmupSeconds}, at least twice, then
     * for {@code seconds}, at least three times, and returns the measured examples/s.
     */
    static double examplesPerSecond(
        int batch, double warmupSeconds, double seconds, LongConsumer step) {
      long warmupEnd = System.nanoTime() + (long) (warmupSeconds * 1e9);
      long steps = 0;
      while (System.nanoTime() < warmupEnd || steps < 2) {
        step.accept(++steps);
      }
      long start = System.nanoTime();
      long end = start + (long) (seconds * 1e9);
      long measured = 0;
      long now;
      do {
        step.accept(++steps);
        measured++;
        now = System.nanoTime();
      } while (now < end || measured < 3);
      return measured * (double) batch / ((now - start) / 1e9);
    }
  }
}
