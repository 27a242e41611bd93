package dev.streamlearn.core.backend;

/**
 * Plain Java with float64 accumulation: slow, simple and exact enough to be the oracle that every
 * other backend is tested against.
 */
public final class ReferenceBackend implements Backend {

  @Override
  public String name() {
    return "reference";
  }

  @Override
  public String precision() {
    return "fp64";
  }

  @Override
  public void multiply(float[] a, int rows, int cols, float[] x, float[] y) {
    for (int r = 0; r < rows; r++) {
      double sum = 0;
      int base = r * cols;
      for (int c = 0; c < cols; c++) {
        sum += (double) a[base + c] * x[c];
      }
      y[r] = (float) sum;
    }
  }

  @Override
  public void multiplyTransposed(float[] a, int rows, int cols, float[] v, float[] y) {
    double[] sums = new double[cols];
    for (int r = 0; r < rows; r++) {
      double factor = v[r];
      int base = r * cols;
      for (int c = 0; c < cols; c++) {
        sums[c] += a[base + c] * factor;
      }
    }
    for (int c = 0; c < cols; c++) {
      y[c] = (float) sums[c];
    }
  }
}
