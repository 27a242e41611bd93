package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.backend.Backend;
import dev.streamlearn.core.backend.Nd4jBackend;
import dev.streamlearn.core.backend.ReferenceBackend;
import dev.streamlearn.core.model.LogisticRegression;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** ND4J equals the float64 reference on the same batches within float32 rounding. */
class BackendAgreementTest {

  /** Relative tolerance for float32 products of length up to a few hundred. */
  static final double TOLERANCE = 1e-5;

  @Test
  void nd4jProductsMatchReference() {
    Random random = new Random(7);
    int rows = 33;
    int cols = 17;
    float[] a = randomArray(random, rows * cols);
    float[] x = randomArray(random, cols);
    float[] v = randomArray(random, rows);
    float[] expected = new float[Math.max(rows, cols)];
    float[] actual = new float[Math.max(rows, cols)];
    try (Backend nd4j = new Nd4jBackend()) {
      new ReferenceBackend().multiply(a, rows, cols, x, expected);
      nd4j.multiply(a, rows, cols, x, actual);
      assertClose(expected, actual, rows);
      new ReferenceBackend().multiplyTransposed(a, rows, cols, v, expected);
      nd4j.multiplyTransposed(a, rows, cols, v, actual);
      assertClose(expected, actual, cols);
    }
  }

  @Test
  void logisticStepsAgreeAcrossBackends() {
    Random random = new Random(11);
    int dimension = 12;
    int rows = 64;
    LogisticRegression model = new LogisticRegression(dimension, rows);
    float[] onReference = model.initialParameters();
    float[] onNd4j = model.initialParameters();
    float[] y = new float[rows];
    float[] weight = new float[rows];
    try (Backend nd4j = new Nd4jBackend()) {
      for (int step = 0; step < 50; step++) {
        float[] x = randomArray(random, rows * dimension);
        for (int r = 0; r < rows; r++) {
          y[r] = x[r * dimension] + 0.5f * x[r * dimension + 1] > 0 ? 1 : 0;
          weight[r] = 1;
        }
        double lossReference =
            model.step(new ReferenceBackend(), onReference, x, y, weight, rows, 0.5, 1e-3);
        double lossNd4j = model.step(nd4j, onNd4j, x, y, weight, rows, 0.5, 1e-3);
        assertThat(lossNd4j).isCloseTo(lossReference, org.assertj.core.data.Offset.offset(1e-4));
      }
    }
    assertClose(onReference, onNd4j, onReference.length);
    assertThat(onReference[0]).isGreaterThan(0.5f);
  }

  private static void assertClose(float[] expected, float[] actual, int length) {
    for (int i = 0; i < length; i++) {
      double scale = Math.max(1.0, Math.abs(expected[i]));
      assertThat(Math.abs(expected[i] - actual[i]) / scale)
          .as("entry %d: %s vs %s", i, expected[i], actual[i])
          .isLessThan(TOLERANCE);
    }
  }

  private static float[] randomArray(Random random, int length) {
    float[] values = new float[length];
    for (int i = 0; i < length; i++) {
      values[i] = (float) random.nextGaussian();
    }
    return values;
  }
}
