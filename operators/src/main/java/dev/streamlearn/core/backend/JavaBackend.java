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
    if (!transposeA && n == 1) {
      // X w: a dot product of contiguous values per row of X.
      for (int i = 0; i < m; i++) {
        c[cOffset + i] += alpha * dot(a, aOffset + i * k, b, bOffset, k);
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
    // op(A)(i, p) = a[aOffset + i * aRowStep + p * aInnerStep]; op(B)(p, j) likewise.
    blocked(
        m,
        n,
        k,
        alpha,
        a,
        aOffset,
        transposeA ? 1 : k,
        transposeA ? m : 1,
        b,
        bOffset,
        transposeB ? 1 : n,
        transposeB ? k : 1,
        c,
        cOffset);
  }

  /**
   * {@code C += alpha op(A) op(B)}, C in blocks of 4 x 4 entries that stay in registers while
   * {@code p} runs over the inner dimension: each step loads four values of A and four of B for
   * sixteen multiply-adds (adding scaled rows of B to rows of C loads and stores C for every one,
   * and the JIT does not vectorize that loop when the two rows' offsets differ; a dot product per
   * entry loads two values for one). Blocks of columns go outside blocks of rows, so the four
   * columns of B being read stay in the first-level cache for every block of rows. The rows and
   * columns past the last whole block are summed one entry at a time.
   */
  private static void blocked(
      int m,
      int n,
      int k,
      float alpha,
      float[] a,
      int aOffset,
      int aRowStep,
      int aInnerStep,
      float[] b,
      int bOffset,
      int bInnerStep,
      int bColumnStep,
      float[] c,
      int cOffset) {
    int wholeRows = m & ~3;
    int wholeColumns = n & ~3;
    for (int j = 0; j < wholeColumns; j += 4) {
      for (int i = 0; i < wholeRows; i += 4) {
        float c00 = 0f, c01 = 0f, c02 = 0f, c03 = 0f;
        float c10 = 0f, c11 = 0f, c12 = 0f, c13 = 0f;
        float c20 = 0f, c21 = 0f, c22 = 0f, c23 = 0f;
        float c30 = 0f, c31 = 0f, c32 = 0f, c33 = 0f;
        int aIndex = aOffset + i * aRowStep;
        int bIndex = bOffset + j * bColumnStep;
        for (int p = 0; p < k; p++) {
          float a0 = a[aIndex];
          float a1 = a[aIndex + aRowStep];
          float a2 = a[aIndex + 2 * aRowStep];
          float a3 = a[aIndex + 3 * aRowStep];
          float b0 = b[bIndex];
          float b1 = b[bIndex + bColumnStep];
          float b2 = b[bIndex + 2 * bColumnStep];
          float b3 = b[bIndex + 3 * bColumnStep];
          c00 += a0 * b0;
          c01 += a0 * b1;
          c02 += a0 * b2;
          c03 += a0 * b3;
          c10 += a1 * b0;
          c11 += a1 * b1;
          c12 += a1 * b2;
          c13 += a1 * b3;
          c20 += a2 * b0;
          c21 += a2 * b1;
          c22 += a2 * b2;
          c23 += a2 * b3;
          c30 += a3 * b0;
          c31 += a3 * b1;
          c32 += a3 * b2;
          c33 += a3 * b3;
          aIndex += aInnerStep;
          bIndex += bInnerStep;
        }
        int row = cOffset + i * n + j;
        addRow(c, row, alpha, c00, c01, c02, c03);
        addRow(c, row + n, alpha, c10, c11, c12, c13);
        addRow(c, row + 2 * n, alpha, c20, c21, c22, c23);
        addRow(c, row + 3 * n, alpha, c30, c31, c32, c33);
      }
    }
    for (int i = 0; i < m; i++) {
      for (int j = i < wholeRows ? wholeColumns : 0; j < n; j++) {
        float sum = 0f;
        int aIndex = aOffset + i * aRowStep;
        int bIndex = bOffset + j * bColumnStep;
        for (int p = 0; p < k; p++) {
          sum += a[aIndex] * b[bIndex];
          aIndex += aInnerStep;
          bIndex += bInnerStep;
        }
        c[cOffset + i * n + j] += alpha * sum;
      }
    }
  }

  private static void addRow(
      float[] c, int at, float alpha, float v0, float v1, float v2, float v3) {
    c[at] += alpha * v0;
    c[at + 1] += alpha * v1;
    c[at + 2] += alpha * v2;
    c[at + 3] += alpha * v3;
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
