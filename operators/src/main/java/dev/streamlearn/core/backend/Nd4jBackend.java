package dev.streamlearn.core.backend;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** ND4J on the CPU (nd4j-native, OpenBLAS): the default backend everywhere. */
public final class Nd4jBackend implements Backend {

  @Override
  public String name() {
    return "nd4j";
  }

  @Override
  public String precision() {
    return "fp32";
  }

  @Override
  public void multiply(float[] a, int rows, int cols, float[] x, float[] y) {
    INDArray matrix = matrix(a, rows, cols);
    INDArray vector = column(x, cols);
    INDArray result = matrix.mmul(vector);
    copyOut(result, y, rows);
  }

  @Override
  public void multiplyTransposed(float[] a, int rows, int cols, float[] v, float[] y) {
    INDArray matrix = matrix(a, rows, cols);
    INDArray vector = column(v, rows);
    INDArray result = Nd4j.gemm(matrix, vector, true, false);
    copyOut(result, y, cols);
  }

  private static INDArray column(float[] values, int length) {
    float[] used = values.length == length ? values : java.util.Arrays.copyOf(values, length);
    return Nd4j.create(used, new long[] {length, 1}, 'c');
  }

  private static INDArray matrix(float[] a, int rows, int cols) {
    if (a.length == rows * cols) {
      return Nd4j.create(a, new long[] {rows, cols}, 'c');
    }
    float[] used = new float[rows * cols];
    System.arraycopy(a, 0, used, 0, used.length);
    return Nd4j.create(used, new long[] {rows, cols}, 'c');
  }

  private static void copyOut(INDArray result, float[] out, int length) {
    float[] values = result.castTo(DataType.FLOAT).data().asFloat();
    System.arraycopy(values, 0, out, 0, length);
  }
}
