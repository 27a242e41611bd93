package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.backend.Backend;
import dev.streamlearn.core.backend.JavaBackend;
import dev.streamlearn.core.backend.Nd4jBackend;
import dev.streamlearn.core.backend.ReferenceBackend;
import dev.streamlearn.core.model.Network;
import dev.streamlearn.core.model.NetworkShape;
import dev.streamlearn.core.model.ReferenceNetwork;
import dev.streamlearn.core.model.SplitMix64;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The float32 network on each backend equals the float64 reference on the same batches, dropout
 * masks included: losses and gradients within {@value #TOLERANCE} relative to the gradient's size.
 */
class BackendAgreementTest {

  /** float32 rounding over sums of a few dozen products, relative to the largest entry. */
  static final double TOLERANCE = 1e-5;

  @Test
  void gemmMatchesReferenceWithOffsetsAndTransposes() {
    Random random = new Random(7);
    try (Backend nd4j = new Nd4jBackend()) {
      for (Backend backend : new Backend[] {nd4j, new JavaBackend()}) {
        // Small products run in Java loops; large ones in ND4J's native matrices, which it keeps
        // between calls: the second round reuses them with other values and the other beta.
        // Matrix-vector products (n = 1: X w, and X^T r) and lengths that are not a multiple of the
        // loops' unrolling run the Java loops' special cases; the others run in blocks of 4 x 4
        // entries of C, with the rows and columns past the last whole block (none, some, or all
        // where m or n is under 4) summed one by one.
        for (int[] size :
            new int[][] {
              {13, 9, 31},
              {70, 40, 50},
              {70, 40, 50},
              {37, 1, 29},
              {3, 1, 7},
              {9, 2, 19},
              {8, 12, 5},
              {2, 7, 3},
              {6, 3, 1}
            }) {
          for (boolean transposeA : new boolean[] {false, true}) {
            for (boolean transposeB : new boolean[] {false, true}) {
              for (float beta : new float[] {0.25f, 0f}) {
                int m = size[0];
                int n = size[1];
                int k = size[2];
                float[] a = dev.streamlearn.core.device.DeviceCheck.gaussians(random, 3 + m * k);
                float[] b = dev.streamlearn.core.device.DeviceCheck.gaussians(random, 5 + k * n);
                float[] expected =
                    dev.streamlearn.core.device.DeviceCheck.gaussians(random, 2 + m * n);
                float[] actual = expected.clone();
                new ReferenceBackend()
                    .gemm(transposeA, transposeB, m, n, k, 0.5f, a, 3, b, 5, beta, expected, 2);
                backend.gemm(transposeA, transposeB, m, n, k, 0.5f, a, 3, b, 5, beta, actual, 2);
                assertClose(expected, actual);
              }
            }
          }
        }
      }
    }
  }

  @Test
  void everyModelAndLossAgreesWithFloat64Reference() {
    try (Backend nd4j = new Nd4jBackend()) {
      for (Backend backend : new Backend[] {new ReferenceBackend(), new JavaBackend(), nd4j}) {
        Random random = new Random(3);
        for (NetworkShape shape : NetworkCases.all(0.25)) {
          int rows = 16;
          NetworkCases.Batch batch = NetworkCases.batch(shape, rows, random);
          float[] params = NetworkCases.randomParameters(shape, random);
          float[] gradient = new float[params.length];
          double loss =
              new Network(shape, backend, rows)
                  .lossAndGradient(
                      params,
                      batch.x(),
                      batch.y(),
                      batch.weight(),
                      rows,
                      new SplitMix64(9),
                      gradient);

          double[] paramsDouble = new double[params.length];
          for (int i = 0; i < params.length; i++) {
            paramsDouble[i] = params[i];
          }
          double[] expected = new double[params.length];
          double expectedLoss =
              new ReferenceNetwork(shape)
                  .lossAndGradient(
                      paramsDouble,
                      batch.xRows(shape.inputs()),
                      batch.yDouble(),
                      batch.weightDouble(),
                      new SplitMix64(9),
                      expected);

          assertThat(loss)
              .as("%s loss on %s", shape, backend.name())
              .isCloseTo(expectedLoss, org.assertj.core.data.Percentage.withPercentage(1e-3));
          double scale = 1e-3;
          for (double value : expected) {
            scale = Math.max(scale, Math.abs(value));
          }
          for (int i = 0; i < params.length; i++) {
            assertThat(Math.abs(gradient[i] - expected[i]) / scale)
                .as("%s gradient %d on %s", shape, i, backend.name())
                .isLessThan(TOLERANCE);
          }
        }
      }
    }
  }

  private static void assertClose(float[] expected, float[] actual) {
    for (int i = 0; i < expected.length; i++) {
      double scale = Math.max(1.0, Math.abs(expected[i]));
      assertThat(Math.abs(expected[i] - actual[i]) / scale).as("entry %d", i).isLessThan(TOLERANCE);
    }
  }
}
