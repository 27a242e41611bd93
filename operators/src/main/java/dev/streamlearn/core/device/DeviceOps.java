package dev.streamlearn.core.device;

/**
 * The operations of a training step on a device's memory: transfers, matrix products and the
 * element-wise kernels of {@code kernels.cu}. {@link CudaDeviceOps} runs them on an NVIDIA GPU;
 * {@link HostDeviceOps} runs the same arithmetic in Java on the CPU, so the step built on them
 * ({@link DeviceNetwork}) is tested without a GPU. Buffers hold fp32 values; offsets and counts are
 * in elements. Not thread-safe: one per trainer.
 */
public interface DeviceOps extends AutoCloseable {

  int ACT_NONE = -1;
  int ACT_RELU = 0;
  int ACT_TANH = 1;
  int ACT_SIGMOID = 2;

  int LOSS_BCE = 0;
  int LOSS_CE = 1;
  int LOSS_MSE = 2;
  int LOSS_HUBER = 3;

  int OUTPUT_IDENTITY = 0;
  int OUTPUT_SIGMOID = 1;
  int OUTPUT_SOFTMAX = 2;

  int OPT_SGD = 0;
  int OPT_ADAM = 1;
  int OPT_ADAMW = 2;
  int OPT_RMSPROP = 3;
  int OPT_ADAGRAD = 4;

  /** A buffer of fp32 values in the device's memory. */
  interface Buffer {
    long length();
  }

  /** {@code cuda} or {@code host}. */
  String name();

  /** The device, in words (model, memory, architecture). */
  String description();

  Precision precision();

  Buffer allocate(long length);

  void free(Buffer buffer);

  /** Host to device; the source may be reused once the call returns. */
  void upload(float[] source, int sourceOffset, Buffer target, long targetOffset, int count);

  /** Device to host, waiting for the work queued before it. */
  void download(Buffer source, long sourceOffset, float[] target, int targetOffset, int count);

  /** Bytes copied from the host to the device since this was opened. */
  long bytesUploaded();

  /** Bytes copied from the device to the host since this was opened. */
  long bytesDownloaded();

  void zero(Buffer buffer, long offset, long count);

  /**
   * {@code C = op(A) * op(B) + beta * C}, row-major as {@link
   * dev.streamlearn.core.backend.Backend#gemm}, in this device's precision.
   */
  void gemm(
      boolean transposeA,
      boolean transposeB,
      int m,
      int n,
      int k,
      Buffer a,
      long aOffset,
      Buffer b,
      long bOffset,
      float beta,
      Buffer c,
      long cOffset);

  /** {@code z += bias} by row, then the activation and inverted dropout (when {@code keep < 1}). */
  void biasActivation(
      Buffer z,
      Buffer bias,
      long biasOffset,
      int rows,
      int cols,
      int activation,
      double keep,
      long seed,
      Buffer mask);

  /** Outputs, {@code dLoss/dz} scaled by each row's share of the weight, and each row's loss. */
  void outputLoss(
      Buffer logits,
      Buffer out,
      Buffer delta,
      Buffer y,
      Buffer weight,
      float inverseWeightSum,
      int rows,
      int outputs,
      int loss,
      float huber,
      Buffer rowLoss);

  /** Outputs without a loss, for predictions. */
  void outputOnly(Buffer logits, Buffer out, int rows, int outputs, int output);

  /** {@code result[resultOffset] = } sum of {@code count} values (or of their squares). */
  void sum(
      Buffer values, long offset, long count, boolean squares, Buffer result, long resultOffset);

  /** {@code out[outOffset + c] = } sum over rows of {@code m[r][c]}. */
  void columnSums(Buffer m, int rows, int cols, Buffer out, long outOffset);

  /** {@code delta = upstream * act'(a)}, times the dropout mask when {@code dropout}. */
  void activationBackward(
      Buffer upstream,
      Buffer a,
      Buffer mask,
      Buffer delta,
      long count,
      int activation,
      boolean dropout);

  /** One optimizer step over {@code count} parameters; see {@code optimizer_update}. */
  void optimizerUpdate(
      Buffer params,
      Buffer grad,
      Buffer m1,
      Buffer m2,
      Buffer isWeight,
      long count,
      OptimizerStep step,
      Buffer sumSquares,
      long sumSquaresOffset);

  /** The scalar arguments of one optimizer update. */
  record OptimizerStep(
      int type,
      float learningRate,
      float momentum,
      boolean nesterov,
      float beta1,
      float beta2,
      float epsilon,
      float l1,
      float l2,
      float weightDecay,
      float correction1,
      float correction2,
      float clipNorm) {}

  /** Waits for all queued work. */
  void synchronize();

  @Override
  void close();
}
