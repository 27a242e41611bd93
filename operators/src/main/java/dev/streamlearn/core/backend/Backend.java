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

  /**
   * {@code C = alpha * op(A) * op(B) + beta * C} with row-major matrices: {@code op(A)} is m x k
   * ({@code A} is k x m when {@code transposeA}), {@code op(B)} is k x n ({@code B} is n x k when
   * {@code transposeB}), {@code C} is m x n. Each matrix starts at its offset in its array.
   */
  void gemm(
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
      int cOffset);

  @Override
  default void close() {}
}
