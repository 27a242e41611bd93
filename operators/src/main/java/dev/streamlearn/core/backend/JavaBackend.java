package dev.streamlearn.core.backend;

/**
 * Plain Java float32 loops in cache-friendly order: no native code, no copies. The baseline that
 * benchmarks put beside ND4J, and a backend for machines where native libraries cannot load.
 */
public final class JavaBackend implements Backend {

  @Override
  public String name() {
    return "java";
  }

  @Override
  public String precision() {
    return "fp32";
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
    for (int i = 0; i < m * n; i++) {
      c[cOffset + i] = beta == 0 ? 0f : beta * c[cOffset + i];
    }
    if (transposeB || (!transposeA && n <= 4)) {
      // Dot products along contiguous rows: the order that suits A B^T and thin products (X w).
      int bRowStride = transposeB ? k : 1;
      int bStep = transposeB ? 1 : n;
      for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
          float sum = 0f;
          int bIndex = bOffset + j * bRowStride;
          for (int p = 0; p < k; p++) {
            float left = transposeA ? a[aOffset + p * m + i] : a[aOffset + i * k + p];
            sum += left * b[bIndex];
            bIndex += bStep;
          }
          c[cOffset + i * n + j] += alpha * sum;
        }
      }
      return;
    }
    for (int p = 0; p < k; p++) {
      int bRow = bOffset + p * n;
      for (int i = 0; i < m; i++) {
        float left = alpha * (transposeA ? a[aOffset + p * m + i] : a[aOffset + i * k + p]);
        if (left == 0f) {
          continue;
        }
        int cRow = cOffset + i * n;
        for (int j = 0; j < n; j++) {
          c[cRow + j] += left * b[bRow + j];
        }
      }
    }
  }
}
