package dev.streamlearn.core.backend;

/**
 * The tensor work of a training step, on plain row-major float arrays so that callers never hold
 * device- or library-specific objects (Flink streams carry these arrays). Implementations may keep
 * their own buffers and are not thread-safe: one per trainer.
 */
public interface Backend extends AutoCloseable {

  /** Short name recorded in manifests: {@code nd4j}, {@code reference}. */
  String name();

  /** Numeric precision of the products: {@code fp32}, {@code fp64}. */
  String precision();

  /** {@code y[0..rows) = A x} for a row-major {@code rows x cols} matrix A. */
  void multiply(float[] a, int rows, int cols, float[] x, float[] y);

  /** {@code y[0..cols) = A^T v} for a row-major {@code rows x cols} matrix A. */
  void multiplyTransposed(float[] a, int rows, int cols, float[] v, float[] y);

  @Override
  default void close() {}
}
