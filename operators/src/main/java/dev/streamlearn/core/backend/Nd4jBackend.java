package dev.streamlearn.core.backend;

import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * ND4J on the CPU (nd4j-native, OpenBLAS): the default backend everywhere. Products too thin or too
 * small to repay copying their operands into native buffers (matrix-vector products, such as every
 * product of a logistic regression, and anything under {@value #SMALL} multiply-adds) run in plain
 * Java loops instead. Larger products copy their operands once into native matrices this backend
 * keeps between calls.
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
    INDArray left =
        transposeA ? matrix(LEFT, a, aOffset, k, m, true) : matrix(LEFT, a, aOffset, m, k, true);
    INDArray right =
        transposeB ? matrix(RIGHT, b, bOffset, n, k, true) : matrix(RIGHT, b, bOffset, k, n, true);
    INDArray result = matrix(RESULT, c, cOffset, m, n, beta != 0);
    Nd4j.gemm(left, right, result, transposeA, transposeB, alpha, beta);
    new FloatPointer(result.data().addressPointer()).get(c, cOffset, m * n);
  }

  private static final int LEFT = 0;
  private static final int RIGHT = 1;
  private static final int RESULT = 2;

  private record Slot(int role, int rows, int cols) {}

  /** More shapes than a step of any network here uses; a batch of another size evicts some. */
  static final int SCRATCH_SLOTS = 64;

  /**
   * Native matrices kept between calls, one per operand role and shape, least recently used first:
   * a network's step uses a handful of shapes over and over, and allocating (and first touching)
   * large native buffers on every product cost more than the copies.
   */
  private final Map<Slot, INDArray> scratch =
      new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Slot, INDArray> eldest) {
          if (size() > SCRATCH_SLOTS) {
            eldest.getValue().close();
            return true;
          }
          return false;
        }
      };

  /** The scratch matrix for this role and shape, holding {@code values} from {@code offset}. */
  private INDArray matrix(int role, float[] values, int offset, int rows, int cols, boolean fill) {
    INDArray matrix =
        scratch.computeIfAbsent(
            new Slot(role, rows, cols),
            slot -> Nd4j.createUninitialized(DataType.FLOAT, slot.rows(), slot.cols()));
    if (fill) {
      new FloatPointer(matrix.data().addressPointer()).put(values, offset, rows * cols);
    }
    return matrix;
  }

  @Override
  public void close() {
    scratch.values().forEach(INDArray::close);
    scratch.clear();
  }
}
