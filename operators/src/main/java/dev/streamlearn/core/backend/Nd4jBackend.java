package dev.streamlearn.core.backend;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * ND4J on the CPU (nd4j-native, OpenBLAS): the default backend everywhere. Products too thin or too
 * small to repay copying their operands into native buffers (matrix-vector products, such as every
 * product of a logistic regression, and anything under {@value #SMALL} multiply-adds) run in plain
 * Java loops instead.
 */
public final class Nd4jBackend implements Backend {

  static final long SMALL = 1 << 16;
  private final JavaBackend loops = new JavaBackend();

  @Override
  public String name() {
    return "nd4j";
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
    if (Math.min(m, Math.min(n, k)) <= 4 || (long) m * n * k < SMALL) {
      loops.gemm(transposeA, transposeB, m, n, k, alpha, a, aOffset, b, bOffset, beta, c, cOffset);
      return;
    }
    INDArray left = transposeA ? matrix(a, aOffset, k, m) : matrix(a, aOffset, m, k);
    INDArray right = transposeB ? matrix(b, bOffset, n, k) : matrix(b, bOffset, k, n);
    INDArray result = beta == 0 ? Nd4j.create(DataType.FLOAT, m, n) : matrix(c, cOffset, m, n);
    Nd4j.gemm(left, right, result, transposeA, transposeB, alpha, beta);
    float[] values = result.data().asFloat();
    System.arraycopy(values, 0, c, cOffset, m * n);
  }

  private static INDArray matrix(float[] values, int offset, int rows, int cols) {
    int length = rows * cols;
    float[] used =
        offset == 0 && values.length == length
            ? values
            : Arrays.copyOfRange(values, offset, offset + length);
    return Nd4j.create(used, new long[] {rows, cols}, 'c');
  }
}
