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
    if (!transposeA && (transposeB || n == 1)) {
      // Rows of A against contiguous rows of B (A B^T, and X w): dot products.
      for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
          c[cOffset + i * n + j] += alpha * dot(a, aOffset + i * k, b, bOffset + j * k, k);
        }
      }
      return;
    }
    if (transposeB || (!transposeA && n <= 4)) {
      // Strided operands, thin results: one dot product per entry of C.
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
    if (transposeA && n == 1) {
      // X^T r (the gradient of X w): one scaled row of X added per entry of r.
      for (int p = 0; p < k; p++) {
        float scale = alpha * b[bOffset + p];
        if (scale != 0f) {
          axpy(scale, a, aOffset + p * m, c, cOffset, m);
        }
      }
      return;
    }
    for (int p = 0; p < k; p++) {
      int bRow = bOffset + p * n;
      for (int i = 0; i < m; i++) {
        float left = alpha * (transposeA ? a[aOffset + p * m + i] : a[aOffset + i * k + p]);
        if (left != 0f) {
          axpy(left, b, bRow, c, cOffset + i * n, n);
        }
      }
    }
  }

  /**
   * The dot product of {@code k} contiguous values from each array, in eight running sums: one sum
   * waits for each addition before the next, eight keep the adder busy.
   */
  static float dot(float[] a, int aStart, float[] b, int bStart, int k) {
    float s0 = 0f;
    float s1 = 0f;
    float s2 = 0f;
    float s3 = 0f;
    float s4 = 0f;
    float s5 = 0f;
    float s6 = 0f;
    float s7 = 0f;
    int p = 0;
    for (; p + 7 < k; p += 8) {
      int i = aStart + p;
      int j = bStart + p;
      s0 += a[i] * b[j];
      s1 += a[i + 1] * b[j + 1];
      s2 += a[i + 2] * b[j + 2];
      s3 += a[i + 3] * b[j + 3];
      s4 += a[i + 4] * b[j + 4];
      s5 += a[i + 5] * b[j + 5];
      s6 += a[i + 6] * b[j + 6];
      s7 += a[i + 7] * b[j + 7];
    }
    for (; p < k; p++) {
      s0 += a[aStart + p] * b[bStart + p];
    }
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
  }

  /** {@code y += scale * x} over {@code count} contiguous values (a loop the JIT vectorizes). */
  static void axpy(float scale, float[] x, int xStart, float[] y, int yStart, int count) {
    for (int i = 0; i < count; i++) {
      y[yStart + i] += scale * x[xStart + i];
    }
  }
}
