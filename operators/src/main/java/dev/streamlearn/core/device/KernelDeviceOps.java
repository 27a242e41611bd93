package dev.streamlearn.core.device;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * {@link DeviceOps} as launches of the kernels in {@code kernels.cu} and column-major (cuBLAS)
 * matrix products on device addresses. A launch packs the kernel's arguments, in the order and with
 * the types of its C signature, into the table that {@code cuLaunchKernel} reads (one 8-byte slot
 * per argument, and a table of the slots' addresses), and picks the grid. {@link CudaDeviceOps}
 * carries them out on a GPU; the tests also carry them out with the kernel source compiled for the
 * CPU, which checks the packing, the grids, the operand swap of the products and the kernels
 * themselves where there is no GPU.
 */
public abstract class KernelDeviceOps implements DeviceOps {

  private static final String KERNELS = "/dev/streamlearn/core/device/kernels.cu";
  private static final int MAX_ARGS = 24;

  /** The kernels of {@code kernels.cu}, by the name each is compiled under. */
  public enum Kernel {
    BIAS_ACTIVATION("bias_activation"),
    OUTPUT_LOSS("output_loss"),
    OUTPUT_ONLY("output_only"),
    SUM_REDUCE("sum_reduce"),
    COLUMN_SUMS("column_sums"),
    ACTIVATION_BACKWARD("activation_backward"),
    OPTIMIZER_UPDATE("optimizer_update"),
    TO_BF16("to_bf16");

    public final String symbol;

    Kernel(String symbol) {
      this.symbol = symbol;
    }
  }

  /** A buffer of device memory, by its address. */
  protected static final class DeviceBuffer implements Buffer {
    final long address;
    final long length;

    protected DeviceBuffer(long address, long length) {
      this.address = address;
      this.length = length;
    }

    @Override
    public long length() {
      return length;
    }
  }

  /**
   * cuBLAS's column-major view of a row-major product {@code C = op(A) op(B)}: column-major {@code
   * C^T = op(B)^T op(A)^T}, so the row-major {@code B} is cuBLAS's first operand and {@code A} its
   * second. Fields are in cuBLAS's terms: {@code transposeFirst} applies to the first operand,
   * {@code m x n} is the column-major result, {@code ldFirst}, {@code ldSecond} and {@code ldc} the
   * leading dimensions.
   */
  public record ColumnMajorGemm(
      boolean transposeFirst,
      boolean transposeSecond,
      int m,
      int n,
      int k,
      int ldFirst,
      int ldSecond,
      int ldc) {

    public static ColumnMajorGemm ofRowMajor(
        boolean transposeA, boolean transposeB, int m, int n, int k) {
      return new ColumnMajorGemm(
          transposeB, transposeA, n, m, k, transposeB ? k : n, transposeA ? m : k, n);
    }
  }

  private final Precision precision;

  /**
   * Argument slots, and the table of their addresses that a launch reads ({@code cuLaunchKernel}'s
   * {@code void**} as a PointerPointer: JavaCPP's {@code Pointer} overload of that parameter would
   * pass the address of a pointer to the table instead).
   */
  private final BytePointer args = new BytePointer(8L * MAX_ARGS);

  private final PointerPointer<Pointer> kernelParams = new PointerPointer<>(MAX_ARGS);
  private int argCount;
  private DeviceBuffer bf16A;
  private DeviceBuffer bf16B;

  /** Bytes copied to and from the device so far, as the subclasses' copies count them. */
  private long uploaded;

  private long downloaded;

  protected KernelDeviceOps(Precision precision) {
    this.precision = precision;
    for (int i = 0; i < MAX_ARGS; i++) {
      kernelParams.put(i, new NativeAddress(args.address() + 8L * i));
    }
  }

  /** The kernel source shipped in this jar. */
  public static String kernelSource() {
    try (InputStream in = KernelDeviceOps.class.getResourceAsStream(KERNELS)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Multiprocessors of the device: grids are a few times this many blocks at most. */
  protected abstract int multiprocessors();

  /**
   * Runs {@code kernel} on a {@code gridX x gridY} grid of {@code block}-thread blocks, its {@code
   * argumentCount} arguments read through {@code parameters} (a {@code void**}, as {@code
   * cuLaunchKernel} takes them).
   */
  protected abstract void launch(
      Kernel kernel,
      int gridX,
      int gridY,
      int block,
      PointerPointer<Pointer> parameters,
      int argumentCount);

  /**
   * {@code C = first' * second' + beta * C}, column-major as cuBLAS computes it; the operands are
   * bf16 values (2 bytes each) when {@code bf16Operands}, else fp32, rounded as this device's
   * precision rounds them.
   */
  protected abstract void columnMajorGemm(
      ColumnMajorGemm shape, long first, long second, boolean bf16Operands, float beta, long c);

  @Override
  public Precision precision() {
    return precision;
  }

  /** Counts {@code bytes} copied from the host to the device. */
  protected final void countUploaded(long bytes) {
    uploaded += bytes;
  }

  /** Counts {@code bytes} copied from the device to the host. */
  protected final void countDownloaded(long bytes) {
    downloaded += bytes;
  }

  @Override
  public final long bytesUploaded() {
    return uploaded;
  }

  @Override
  public final long bytesDownloaded() {
    return downloaded;
  }

  protected static long address(Buffer buffer, long offset) {
    return ((DeviceBuffer) buffer).address + 4 * offset;
  }

  @Override
  public final void gemm(
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
      long cOffset) {
    ColumnMajorGemm shape = ColumnMajorGemm.ofRowMajor(transposeA, transposeB, m, n, k);
    if (precision == Precision.BF16) {
      bf16A = roundToBf16(a, aOffset, (long) m * k, bf16A);
      bf16B = roundToBf16(b, bOffset, (long) k * n, bf16B);
      columnMajorGemm(shape, bf16B.address, bf16A.address, true, beta, address(c, cOffset));
    } else {
      columnMajorGemm(
          shape, address(b, bOffset), address(a, aOffset), false, beta, address(c, cOffset));
    }
  }

  /** A bf16 copy of {@code count} values into scratch (2 bytes a value), grown as needed. */
  private DeviceBuffer roundToBf16(Buffer source, long offset, long count, DeviceBuffer scratch) {
    if (scratch == null || scratch.length * 2 < count) {
      free(scratch);
      scratch = (DeviceBuffer) allocate((count + 1) / 2);
    }
    begin();
    pointerArg(address(source, offset));
    pointerArg(scratch.address);
    longArg(count);
    launch(Kernel.TO_BF16, gridFor(count, 256), 1, 256);
    return scratch;
  }

  /** Frees the bf16 scratch; subclasses call it when they close. */
  protected final void freeScratch() {
    free(bf16A);
    free(bf16B);
    bf16A = null;
    bf16B = null;
  }

  @Override
  public final void biasActivation(
      Buffer z,
      Buffer bias,
      long biasOffset,
      int rows,
      int cols,
      int activation,
      double keep,
      long seed,
      Buffer mask) {
    long n = (long) rows * cols;
    begin();
    pointerArg(address(z, 0));
    pointerArg(address(bias, biasOffset));
    intArg(rows);
    intArg(cols);
    intArg(activation);
    doubleArg(keep);
    longArg(seed);
    pointerArg(mask == null ? 0 : address(mask, 0));
    launch(Kernel.BIAS_ACTIVATION, gridFor(n, 256), 1, 256);
  }

  @Override
  public final void outputLoss(
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
      Buffer rowLoss) {
    begin();
    pointerArg(address(logits, 0));
    pointerArg(address(out, 0));
    pointerArg(address(delta, 0));
    pointerArg(address(y, 0));
    pointerArg(address(weight, 0));
    floatArg(inverseWeightSum);
    intArg(rows);
    intArg(outputs);
    intArg(loss);
    floatArg(huber);
    pointerArg(address(rowLoss, 0));
    launch(Kernel.OUTPUT_LOSS, (rows + 127) / 128, 1, 128);
  }

  @Override
  public final void outputOnly(Buffer logits, Buffer out, int rows, int outputs, int output) {
    begin();
    pointerArg(address(logits, 0));
    pointerArg(address(out, 0));
    intArg(rows);
    intArg(outputs);
    intArg(output);
    launch(Kernel.OUTPUT_ONLY, (rows + 127) / 128, 1, 128);
  }

  @Override
  public final void sum(
      Buffer values, long offset, long count, boolean squares, Buffer result, long resultOffset) {
    zero(result, resultOffset, 1);
    begin();
    pointerArg(address(values, offset));
    longArg(count);
    intArg(squares ? 1 : 0);
    pointerArg(address(result, resultOffset));
    launch(Kernel.SUM_REDUCE, gridFor(count, 1024), 1, 1024);
  }

  @Override
  public final void columnSums(Buffer m, int rows, int cols, Buffer out, long outOffset) {
    zero(out, outOffset, cols);
    int chunk = 64;
    begin();
    pointerArg(address(m, 0));
    intArg(rows);
    intArg(cols);
    intArg(chunk);
    pointerArg(address(out, outOffset));
    launch(Kernel.COLUMN_SUMS, (cols + 255) / 256, Math.max(1, (rows + chunk - 1) / chunk), 256);
  }

  @Override
  public final void activationBackward(
      Buffer upstream,
      Buffer a,
      Buffer mask,
      Buffer delta,
      long count,
      int activation,
      boolean dropout) {
    begin();
    pointerArg(address(upstream, 0));
    pointerArg(address(a, 0));
    pointerArg(mask == null ? 0 : address(mask, 0));
    pointerArg(address(delta, 0));
    longArg(count);
    intArg(activation);
    intArg(dropout ? 1 : 0);
    launch(Kernel.ACTIVATION_BACKWARD, gridFor(count, 256), 1, 256);
  }

  @Override
  public final void optimizerUpdate(
      Buffer params,
      Buffer grad,
      Buffer m1,
      Buffer m2,
      Buffer isWeight,
      long count,
      OptimizerStep s,
      Buffer sumSquares,
      long sumSquaresOffset) {
    begin();
    pointerArg(address(params, 0));
    pointerArg(address(grad, 0));
    pointerArg(address(m1, 0));
    pointerArg(address(m2, 0));
    pointerArg(address(isWeight, 0));
    longArg(count);
    intArg(s.type());
    floatArg(s.learningRate());
    floatArg(s.momentum());
    intArg(s.nesterov() ? 1 : 0);
    floatArg(s.beta1());
    floatArg(s.beta2());
    floatArg(s.epsilon());
    floatArg(s.l1());
    floatArg(s.l2());
    floatArg(s.weightDecay());
    floatArg(s.correction1());
    floatArg(s.correction2());
    pointerArg(address(sumSquares, sumSquaresOffset));
    floatArg(s.clipNorm());
    launch(Kernel.OPTIMIZER_UPDATE, gridFor(count, 256), 1, 256);
  }

  /** Enough blocks to fill the device a few times over; the kernels stride over the rest. */
  private int gridFor(long count, int block) {
    long blocks = (count + block - 1) / block;
    return (int) Math.max(1, Math.min(blocks, 8L * multiprocessors()));
  }

  private void begin() {
    argCount = 0;
  }

  private void pointerArg(long address) {
    args.putLong(8L * argCount++, address);
  }

  private void longArg(long value) {
    args.putLong(8L * argCount++, value);
  }

  private void doubleArg(double value) {
    args.putDouble(8L * argCount++, value);
  }

  private void intArg(int value) {
    args.putInt(8L * argCount++, value);
  }

  private void floatArg(float value) {
    args.putFloat(8L * argCount++, value);
  }

  private void launch(Kernel kernel, int gridX, int gridY, int block) {
    launch(kernel, gridX, gridY, block, kernelParams, argCount);
  }
}
