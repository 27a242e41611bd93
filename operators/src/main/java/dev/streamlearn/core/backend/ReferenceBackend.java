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
  public void gemm(
      boolean transposeA,
      boolean transposeB,
      int m,
      int n,
      int k,
      float alpha,
      float[] a,
      int aOffset,
      float[] b,
      int bOffset,
      float beta,
      float[] c,
      int cOffset) {
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        double sum = 0;
        for (int p = 0; p < k; p++) {
          double left = transposeA ? a[aOffset + p * m + i] : a[aOffset + i * k + p];
          double right = transposeB ? b[bOffset + j * k + p] : b[bOffset + p * n + j];
          sum += left * right;
        }
        int index = cOffset + i * n + j;
        c[index] = (float) (alpha * sum + (beta == 0 ? 0 : beta * (double) c[index]));
      }
    }
  }
}
