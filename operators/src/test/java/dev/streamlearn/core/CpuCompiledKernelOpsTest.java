package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.device.CpuCompiledKernelOps;
import dev.streamlearn.core.device.DeviceCheck;
import dev.streamlearn.core.device.DeviceNetwork;
import dev.streamlearn.core.device.DeviceOps;
import dev.streamlearn.core.device.DeviceOps.Buffer;
import dev.streamlearn.core.device.HostDeviceOps;
import dev.streamlearn.core.device.KernelDeviceOps.Kernel;
import dev.streamlearn.core.device.Precision;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The device contract on {@code kernels.cu} itself, compiled for the CPU, and launched exactly as
 * {@link dev.streamlearn.core.device.CudaDeviceOps} launches it: its argument tables, grids and
 * cuBLAS-ordered products. And each kernel against {@link HostDeviceOps}, the Java emulation that
 * the other CPU tests run on, which is meant to do the same arithmetic line for line. Skipped, with
 * the reason, where g++ or the JNI headers are missing.
 */
class CpuCompiledKernelOpsTest extends DeviceNetworkContract {

  @BeforeEach
  void needsTheCompiledKernels() {
    String reason = CpuCompiledKernelOps.unavailableReason();
    Assumptions.assumeTrue(reason == null, () -> "kernels.cu not compiled for the CPU: " + reason);
  }

  @Override
  DeviceOps open(Precision precision) {
    return CpuCompiledKernelOps.open(precision);
  }

  @Test
  void onlyTheReductionWaitsAtBarriers() {
    assertThat(CpuCompiledKernelOps.kernelsWithBarriers(CpuCompiledKernelOps.kernelSource()))
        .isEqualTo(Set.of(Kernel.SUM_REDUCE));
  }

  /**
   * Every kernel, on the same inputs, in the compiled source and in the Java emulation: equal but
   * for the last bits of exp, log and tanh (libm's against Java's), dropout masks equal exactly.
   * Sizes span several blocks of each kernel's grid, and rows of every output kind.
   */
  @Test
  void everyKernelDoesWhatTheJavaEmulationDoes() {
    Random random = new Random(11);
    for (Precision precision : Precision.values()) {
      try (DeviceOps compiled = open(precision);
          DeviceOps java = new HostDeviceOps(precision)) {
        Pair ops = new Pair(compiled, java);
        int rows = 300;
        int cols = 37;
        float[] z = DeviceCheck.gaussians(random, rows * cols);
        float[] bias = DeviceCheck.gaussians(random, cols + 2);
        for (int activation = DeviceOps.ACT_NONE;
            activation <= DeviceOps.ACT_SIGMOID;
            activation++) {
          for (double keep : new double[] {1.0, 0.7}) {
            Buffer[] zs = ops.upload(z);
            Buffer[] masks = ops.allocate(rows * cols);
            for (int i = 0; i < 2; i++) {
              ops.at(i)
                  .biasActivation(
                      zs[i], ops.upload(bias)[i], 2, rows, cols, activation, keep, 99, masks[i]);
            }
            String what = "bias_activation act " + activation + " keep " + keep + " " + precision;
            ops.assertClose(what, zs, rows * cols, 1e-6);
            if (keep < 1) {
              ops.assertClose(what + " mask", masks, rows * cols, 0);
              float[] a = ops.download(zs[0], rows * cols);
              float[] upstream = DeviceCheck.gaussians(random, rows * cols);
              Buffer[] deltas = ops.allocate(rows * cols);
              Buffer[] ups = ops.upload(upstream);
              for (int i = 0; i < 2; i++) {
                ops.at(i)
                    .activationBackward(
                        ups[i],
                        ops.upload(a)[i],
                        masks[i],
                        deltas[i],
                        rows * cols,
                        activation,
                        true);
              }
              ops.assertClose("activation_backward " + what, deltas, rows * cols, 1e-6);
            }
          }
        }

        for (int loss = DeviceOps.LOSS_BCE; loss <= DeviceOps.LOSS_HUBER; loss++) {
          int outputs = loss == DeviceOps.LOSS_CE ? 7 : 1;
          float[] logits = DeviceCheck.gaussians(random, rows * outputs);
          float[] y = new float[rows];
          float[] weight = new float[rows];
          for (int r = 0; r < rows; r++) {
            y[r] =
                switch (loss) {
                  case DeviceOps.LOSS_BCE -> random.nextInt(2);
                  case DeviceOps.LOSS_CE -> random.nextInt(outputs);
                  default -> (float) (3 * random.nextGaussian());
                };
            weight[r] = 0.5f + random.nextFloat();
          }
          Buffer[] logitBuffers = ops.upload(logits);
          Buffer[] out = ops.allocate(rows * outputs);
          Buffer[] delta = ops.allocate(rows * outputs);
          Buffer[] rowLoss = ops.allocate(rows);
          for (int i = 0; i < 2; i++) {
            ops.at(i)
                .outputLoss(
                    logitBuffers[i],
                    out[i],
                    delta[i],
                    ops.upload(y)[i],
                    ops.upload(weight)[i],
                    1f / rows,
                    rows,
                    outputs,
                    loss,
                    1.5f,
                    rowLoss[i]);
          }
          String what = "output_loss " + loss + " " + precision;
          ops.assertClose(what + " outputs", out, rows * outputs, 1e-6);
          ops.assertClose(what + " delta", delta, rows * outputs, 1e-6);
          ops.assertClose(what + " row loss", rowLoss, rows, 1e-6);
          int output =
              switch (loss) {
                case DeviceOps.LOSS_BCE -> DeviceOps.OUTPUT_SIGMOID;
                case DeviceOps.LOSS_CE -> DeviceOps.OUTPUT_SOFTMAX;
                default -> DeviceOps.OUTPUT_IDENTITY;
              };
          Buffer[] only = ops.allocate(rows * outputs);
          for (int i = 0; i < 2; i++) {
            ops.at(i).outputOnly(logitBuffers[i], only[i], rows, outputs, output);
          }
          ops.assertClose("output_only " + output + " " + precision, only, rows * outputs, 1e-6);
        }

        float[] m = DeviceCheck.gaussians(random, 70_001);
        Buffer[] ms = ops.upload(m);
        Buffer[] sums = ops.allocate(4 + cols);
        for (int i = 0; i < 2; i++) {
          ops.at(i).sum(ms[i], 1, 70_000, false, sums[i], 0);
          ops.at(i).sum(ms[i], 1, 70_000, true, sums[i], 1);
          ops.at(i).columnSums(ms[i], 1000, cols, sums[i], 4);
        }
        ops.assertClose("sum_reduce and column_sums " + precision, sums, 4 + cols, 1e-4);

        for (var settings : optimizers()) {
          int count = 5000;
          float[] params = DeviceCheck.gaussians(random, count);
          float[] grad = DeviceCheck.gaussians(random, count);
          float[] m1 = new float[count];
          float[] m2 = new float[count];
          float[] isWeight = new float[count];
          for (int i = 0; i < count; i++) {
            m1[i] = random.nextFloat();
            m2[i] = random.nextFloat();
            isWeight[i] = i % 5 == 0 ? 0 : 1;
          }
          Buffer[] p = ops.upload(params);
          Buffer[] m1s = ops.upload(m1);
          Buffer[] m2s = ops.upload(m2);
          Buffer[] norm = ops.upload(new float[] {0, 900f});
          var step =
              new DeviceOps.OptimizerStep(
                  DeviceNetwork.optimizerType(settings.type()),
                  0.05f,
                  (float) settings.momentum(),
                  settings.nesterov(),
                  (float) settings.beta1(),
                  (float) settings.beta2(),
                  (float) settings.epsilon(),
                  (float) settings.l1(),
                  (float) settings.l2(),
                  (float) settings.weightDecay(),
                  0.1f,
                  0.01f,
                  (float) settings.clipNorm());
          for (int i = 0; i < 2; i++) {
            ops.at(i)
                .optimizerUpdate(
                    p[i],
                    ops.upload(grad)[i],
                    m1s[i],
                    m2s[i],
                    ops.upload(isWeight)[i],
                    count,
                    step,
                    norm[i],
                    1);
          }
          String what = "optimizer_update " + settings.type() + " " + precision;
          ops.assertClose(what + " parameters", p, count, 1e-6);
          ops.assertClose(what + " first moments", m1s, count, 1e-6);
          ops.assertClose(what + " second moments", m2s, count, 1e-6);
        }
      }
    }
  }

  /**
   * bf16 products take operands rounded by the {@code to_bf16} kernel: they must round as {@link
   * Precision#round} does (to nearest, ties to even), or the two would train differently.
   */
  @Test
  void bf16ProductsRoundTheirOperandsAsTheJavaEmulationDoes() {
    float[] a = {1f + 0x1p-8f, 1f + 0x3p-8f, 1f / 3f, -2.5f + 0x1p-9f, 1e-30f, 3e38f};
    try (DeviceOps ops = open(Precision.BF16)) {
      for (int i = 0; i < a.length; i++) {
        float[] product =
            DeviceCheck.product(
                ops, false, false, 1, 1, 1, a, i, new float[] {1f}, 0, 0f, new float[1], 0);
        assertThat(product[0]).as("bf16 of %s", a[i]).isEqualTo(Precision.BF16.round(a[i]));
      }
    }
  }

  /** The same buffers on the compiled kernels (0) and on the Java emulation (1). */
  private record Pair(DeviceOps compiled, DeviceOps java) {

    DeviceOps at(int i) {
      return i == 0 ? compiled : java;
    }

    Buffer[] allocate(int length) {
      return new Buffer[] {compiled.allocate(length), java.allocate(length)};
    }

    Buffer[] upload(float[] values) {
      Buffer[] buffers = allocate(values.length);
      compiled.upload(values, 0, buffers[0], 0, values.length);
      java.upload(values, 0, buffers[1], 0, values.length);
      return buffers;
    }

    float[] download(Buffer buffer, int count) {
      float[] values = new float[count];
      compiled.download(buffer, 0, values, 0, count);
      return values;
    }

    void assertClose(String what, Buffer[] buffers, int count, double relative) {
      float[] mine = new float[count];
      float[] theirs = new float[count];
      compiled.download(buffers[0], 0, mine, 0, count);
      java.download(buffers[1], 0, theirs, 0, count);
      for (int i = 0; i < count; i++) {
        double scale = Math.max(1, Math.abs(theirs[i]));
        if (!(Math.abs(mine[i] - theirs[i]) <= relative * scale)) {
          assertThat(mine[i]).as("%s [%d]", what, i).isEqualTo(theirs[i]);
        }
      }
    }
  }
}
