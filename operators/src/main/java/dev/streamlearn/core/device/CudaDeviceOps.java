package dev.streamlearn.core.device;

import static org.bytedeco.cuda.global.cublas.CUBLAS_COMPUTE_32F;
import static org.bytedeco.cuda.global.cublas.CUBLAS_DEFAULT_MATH;
import static org.bytedeco.cuda.global.cublas.CUBLAS_GEMM_DEFAULT;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_N;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_T;
import static org.bytedeco.cuda.global.cublas.CUBLAS_TF32_TENSOR_OP_MATH;
import static org.bytedeco.cuda.global.cublas.cublasCreate_v2;
import static org.bytedeco.cuda.global.cublas.cublasDestroy_v2;
import static org.bytedeco.cuda.global.cublas.cublasGemmEx;
import static org.bytedeco.cuda.global.cublas.cublasSetMathMode;
import static org.bytedeco.cuda.global.cublas.cublasSetStream_v2;
import static org.bytedeco.cuda.global.cublas.cublasSgemm_v2;
import static org.bytedeco.cuda.global.cudart.CUDA_R_16BF;
import static org.bytedeco.cuda.global.cudart.CUDA_R_32F;
import static org.bytedeco.cuda.global.cudart.cuGetErrorString;
import static org.bytedeco.cuda.global.cudart.cuLaunchKernel;
import static org.bytedeco.cuda.global.cudart.cuModuleGetFunction;
import static org.bytedeco.cuda.global.cudart.cuModuleLoadData;
import static org.bytedeco.cuda.global.cudart.cuModuleUnload;
import static org.bytedeco.cuda.global.cudart.cudaFree;
import static org.bytedeco.cuda.global.cudart.cudaFreeHost;
import static org.bytedeco.cuda.global.cudart.cudaGetDeviceCount;
import static org.bytedeco.cuda.global.cudart.cudaGetDeviceProperties;
import static org.bytedeco.cuda.global.cudart.cudaGetErrorString;
import static org.bytedeco.cuda.global.cudart.cudaMalloc;
import static org.bytedeco.cuda.global.cudart.cudaMallocHost;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyAsync;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToHost;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyHostToDevice;
import static org.bytedeco.cuda.global.cudart.cudaMemsetAsync;
import static org.bytedeco.cuda.global.cudart.cudaRuntimeGetVersion;
import static org.bytedeco.cuda.global.cudart.cudaSetDevice;
import static org.bytedeco.cuda.global.cudart.cudaStreamCreateWithFlags;
import static org.bytedeco.cuda.global.cudart.cudaStreamDestroy;
import static org.bytedeco.cuda.global.cudart.cudaStreamNonBlocking;
import static org.bytedeco.cuda.global.cudart.cudaStreamSynchronize;
import static org.bytedeco.cuda.global.nvrtc.nvrtcCompileProgram;
import static org.bytedeco.cuda.global.nvrtc.nvrtcCreateProgram;
import static org.bytedeco.cuda.global.nvrtc.nvrtcDestroyProgram;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetCUBIN;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetCUBINSize;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetErrorString;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetProgramLog;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetProgramLogSize;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.cudart.cudaDeviceProp;
import org.bytedeco.cuda.nvrtc._nvrtcProgram;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * {@link DeviceOps} on an NVIDIA GPU through JavaCPP's CUDA 13 bindings: cuBLAS for the matrix
 * products (fp32, tf32 tensor-op math, or bf16 operands with fp32 accumulation through {@code
 * cublasGemmEx}), and the kernels of {@code kernels.cu} compiled with NVRTC at start for the
 * device's own architecture. All work is queued on one stream; uploads go through pinned host
 * memory and only downloads wait. The CUDA libraries come from the machine ({@code
 * LD_LIBRARY_PATH}); {@link #unavailableReason} says why they cannot be used where they cannot.
 */
public final class CudaDeviceOps implements DeviceOps {

  private static final String KERNELS = "/dev/streamlearn/core/device/kernels.cu";
  private static final int MAX_ARGS = 24;

  private final int device;
  private final Precision precision;
  private final String description;
  private final int multiprocessors;
  private final CUstream_st stream = new CUstream_st();
  private final cublasContext cublas = new cublasContext();
  private final CUmod_st module = new CUmod_st();
  private final CUfunc_st biasActivation = new CUfunc_st();
  private final CUfunc_st outputLoss = new CUfunc_st();
  private final CUfunc_st outputOnly = new CUfunc_st();
  private final CUfunc_st sumReduce = new CUfunc_st();
  private final CUfunc_st columnSums = new CUfunc_st();
  private final CUfunc_st activationBackward = new CUfunc_st();
  private final CUfunc_st optimizerUpdate = new CUfunc_st();
  private final CUfunc_st toBf16 = new CUfunc_st();

  /**
   * Kernel arguments: one 8-byte slot each, and the table of their addresses that {@code
   * cuLaunchKernel} reads (its {@code void**} as a PointerPointer: JavaCPP's {@code Pointer}
   * overload of that parameter would pass the address of a pointer to the table instead).
   */
  private final BytePointer args = new BytePointer(8L * MAX_ARGS);

  private final PointerPointer<Pointer> kernelParams = new PointerPointer<>(MAX_ARGS);
  private int argCount;

  private final FloatPointer one = new FloatPointer(1f);
  private final FloatPointer betaValue = new FloatPointer(1);

  /**
   * Pinned staging for uploads, filled from the front until the next wait (a download, or the
   * staging full); queued uploads do not wait for the device.
   */
  private BytePointer pinned;

  /** The staging grows to hold this many bytes of queued uploads, or one larger upload. */
  private static final long STAGING_LIMIT = 64L << 20;

  private long pinnedBytes;
  private long pinnedUsed;
  private long uploaded;
  private long downloaded;
  private CudaBuffer bf16A;
  private CudaBuffer bf16B;

  /** The instance whose device each thread last made current. */
  private static final ThreadLocal<CudaDeviceOps> CURRENT = new ThreadLocal<>();

  /** A buffer of device memory. */
  static final class CudaBuffer implements Buffer {
    final long address;
    final long length;

    CudaBuffer(long address, long length) {
      this.address = address;
      this.length = length;
    }

    @Override
    public long length() {
      return length;
    }
  }

  /** A pointer to an address JavaCPP did not allocate (device memory). */
  private static final class Address extends Pointer {
    Address(long address) {
      this.address = address;
    }
  }

  /**
   * Null when CUDA is usable here, else why not (libraries not found, no device, too few devices).
   */
  public static String unavailableReason(int deviceIndex) {
    String failure = libraryFailure();
    if (failure != null) {
      return failure;
    }
    try {
      int[] count = new int[1];
      int status = cudaGetDeviceCount(count);
      if (status != 0) {
        return "no usable CUDA device (" + cudaGetErrorString(status).getString() + ")";
      }
      if (count[0] <= deviceIndex) {
        return "CUDA device " + deviceIndex + " asked for, " + count[0] + " present";
      }
      return null;
    } catch (Throwable e) {
      return "CUDA failed: " + e;
    }
  }

  private static String libraryFailure;
  private static boolean probed;

  /** Loads the bindings once per JVM; null when they load, else why not. */
  private static synchronized String libraryFailure() {
    if (!probed) {
      probed = true;
      try {
        Loader.load(org.bytedeco.cuda.global.cudart.class);
        Loader.load(org.bytedeco.cuda.global.cublas.class);
        Loader.load(org.bytedeco.cuda.global.nvrtc.class);
      } catch (Throwable e) {
        libraryFailure =
            "the CUDA 13 libraries (libcuda.so.1, libcudart.so.13, libcublas.so.13, libnvrtc.so.13)"
                + " cannot be loaded: "
                + e.getMessage()
                + "; on a GPU machine, add their folder to LD_LIBRARY_PATH";
      }
    }
    return libraryFailure;
  }

  public static CudaDeviceOps open(int deviceIndex, Precision precision) {
    String reason = unavailableReason(deviceIndex);
    if (reason != null) {
      throw new IllegalStateException(reason);
    }
    return new CudaDeviceOps(deviceIndex, precision);
  }

  private CudaDeviceOps(int device, Precision precision) {
    this.device = device;
    this.precision = precision;
    onThisThread();
    // What was created before a failure is released, so that a caller that goes on without this
    // device (backend: auto) leaves nothing behind on it.
    boolean moduleLoaded = false;
    boolean streamCreated = false;
    boolean blasCreated = false;
    try {
      check(cudaFree(null), "creating the CUDA context");
      cudaDeviceProp properties = new cudaDeviceProp();
      check(cudaGetDeviceProperties(properties, device), "cudaGetDeviceProperties");
      int major = properties.major();
      int minor = properties.minor();
      multiprocessors = properties.multiProcessorCount();
      int[] runtime = new int[1];
      cudaRuntimeGetVersion(runtime);
      description =
          String.format(
              "%s, %.0f GiB, sm_%d%d, %d multiprocessors, CUDA runtime %d.%d, %s",
              properties.name().getString(),
              properties.totalGlobalMem() / (double) (1L << 30),
              major,
              minor,
              multiprocessors,
              runtime[0] / 1000,
              runtime[0] % 1000 / 10,
              precision.id());
      byte[] cubin = compileKernels(kernelSource(), "sm_" + major + minor);
      BytePointer image = new BytePointer(cubin.length);
      image.put(cubin);
      checkDriver(cuModuleLoadData(module, image), "cuModuleLoadData");
      image.close();
      moduleLoaded = true;
      function(biasActivation, "bias_activation");
      function(outputLoss, "output_loss");
      function(outputOnly, "output_only");
      function(sumReduce, "sum_reduce");
      function(columnSums, "column_sums");
      function(activationBackward, "activation_backward");
      function(optimizerUpdate, "optimizer_update");
      function(toBf16, "to_bf16");
      for (int i = 0; i < MAX_ARGS; i++) {
        kernelParams.put(i, new Address(args.address() + 8L * i));
      }
      check(cudaStreamCreateWithFlags(stream, cudaStreamNonBlocking), "cudaStreamCreate");
      streamCreated = true;
      checkBlas(cublasCreate_v2(cublas), "cublasCreate");
      blasCreated = true;
      checkBlas(cublasSetStream_v2(cublas, stream), "cublasSetStream");
      checkBlas(
          cublasSetMathMode(
              cublas,
              precision == Precision.TF32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
          "cublasSetMathMode");
    } catch (RuntimeException e) {
      if (blasCreated) {
        cublasDestroy_v2(cublas);
      }
      if (streamCreated) {
        cudaStreamDestroy(stream);
      }
      if (moduleLoaded) {
        cuModuleUnload(module);
      }
      CURRENT.remove();
      throw e;
    }
  }

  /**
   * Makes this device current on the calling thread. The CUDA runtime's current device is per
   * thread; Flink may open an operator on one thread and close it on another, and one thread may
   * drive two devices.
   */
  private void onThisThread() {
    if (CURRENT.get() != this) {
      check(cudaSetDevice(device), "cudaSetDevice " + device);
      CURRENT.set(this);
    }
  }

  /** The kernel source shipped in this jar. */
  public static String kernelSource() {
    try (InputStream in = CudaDeviceOps.class.getResourceAsStream(KERNELS)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Compiles the kernels with NVRTC into machine code for {@code architecture} (e.g. sm_90). */
  static byte[] compileKernels(String source, String architecture) {
    _nvrtcProgram program = new _nvrtcProgram();
    checkNvrtc(
        nvrtcCreateProgram(
            program,
            new BytePointer(source),
            new BytePointer("kernels.cu"),
            0,
            (PointerPointer) null,
            (PointerPointer) null),
        "nvrtcCreateProgram");
    try {
      int status =
          nvrtcCompileProgram(
              program,
              2,
              new PointerPointer<>("--gpu-architecture=" + architecture, "--std=c++17"));
      if (status != 0) {
        SizeTPointer size = new SizeTPointer(1);
        nvrtcGetProgramLogSize(program, size);
        BytePointer log = new BytePointer(size.get());
        nvrtcGetProgramLog(program, log);
        throw new IllegalStateException(
            "NVRTC could not compile the kernels for " + architecture + ":\n" + log.getString());
      }
      SizeTPointer size = new SizeTPointer(1);
      checkNvrtc(nvrtcGetCUBINSize(program, size), "nvrtcGetCUBINSize");
      BytePointer cubin = new BytePointer(size.get());
      checkNvrtc(nvrtcGetCUBIN(program, cubin), "nvrtcGetCUBIN");
      byte[] bytes = new byte[(int) size.get()];
      cubin.get(bytes);
      return bytes;
    } finally {
      nvrtcDestroyProgram(program);
    }
  }

  private void function(CUfunc_st function, String name) {
    checkDriver(cuModuleGetFunction(function, module, name), "cuModuleGetFunction " + name);
  }

  @Override
  public String name() {
    return "cuda";
  }

  @Override
  public String description() {
    return "CUDA device " + device + ": " + description;
  }

  @Override
  public Precision precision() {
    return precision;
  }

  @Override
  public Buffer allocate(long length) {
    onThisThread();
    Pointer pointer = new Pointer();
    check(cudaMalloc(pointer, Math.max(1, length) * 4), "cudaMalloc of " + length + " floats");
    return new CudaBuffer(pointer.address(), length);
  }

  @Override
  public void free(Buffer buffer) {
    onThisThread();
    if (buffer != null) {
      cudaFree(new Address(((CudaBuffer) buffer).address));
    }
  }

  private static long address(Buffer buffer, long offset) {
    return ((CudaBuffer) buffer).address + 4 * offset;
  }

  private static FloatPointer floats(Buffer buffer, long offset) {
    return new FloatPointer(new Address(address(buffer, offset)));
  }

  @Override
  public void upload(
      float[] source, int sourceOffset, Buffer target, long targetOffset, int count) {
    if (count == 0) {
      return;
    }
    onThisThread();
    long bytes = 4L * count;
    if (pinnedUsed + bytes > pinnedBytes) {
      // Full: wait for the queued copies, and grow the staging towards what this run of uploads
      // needed, so that the next runs (a few batches) queue without a wait.
      long wanted = Math.max(bytes, Math.min(pinnedUsed + bytes, STAGING_LIMIT));
      synchronize();
      growPinned(wanted);
    }
    FloatPointer staging = new FloatPointer(new Address(pinned.address() + pinnedUsed));
    staging.put(source, sourceOffset, count);
    check(
        cudaMemcpyAsync(
            new Address(address(target, targetOffset)),
            staging,
            bytes,
            cudaMemcpyHostToDevice,
            stream),
        "upload");
    pinnedUsed += (bytes + 255) & ~255L;
    uploaded += bytes;
  }

  @Override
  public void download(
      Buffer source, long sourceOffset, float[] target, int targetOffset, int count) {
    if (count == 0) {
      return;
    }
    onThisThread();
    long bytes = 4L * count;
    synchronize();
    growPinned(bytes);
    check(
        cudaMemcpyAsync(
            pinned,
            new Address(address(source, sourceOffset)),
            bytes,
            cudaMemcpyDeviceToHost,
            stream),
        "download");
    synchronize();
    new FloatPointer(new Address(pinned.address())).get(target, targetOffset, count);
    downloaded += bytes;
  }

  @Override
  public long bytesUploaded() {
    return uploaded;
  }

  @Override
  public long bytesDownloaded() {
    return downloaded;
  }

  /** Makes the pinned staging hold at least {@code bytes}; call only after a wait. */
  private void growPinned(long bytes) {
    if (bytes > pinnedBytes) {
      if (pinned != null) {
        cudaFreeHost(pinned);
      }
      pinnedBytes = Math.max(bytes, Math.min(2 * pinnedBytes, STAGING_LIMIT));
      pinned = new BytePointer();
      check(cudaMallocHost(pinned, pinnedBytes), "cudaMallocHost");
    }
  }

  @Override
  public void zero(Buffer buffer, long offset, long count) {
    onThisThread();
    check(cudaMemsetAsync(new Address(address(buffer, offset)), 0, 4 * count, stream), "memset");
  }

  @Override
  public void gemm(
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
    onThisThread();
    // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands.
    int opB = transposeB ? CUBLAS_OP_T : CUBLAS_OP_N;
    int opA = transposeA ? CUBLAS_OP_T : CUBLAS_OP_N;
    int ldb = transposeB ? k : n;
    int lda = transposeA ? m : k;
    betaValue.put(0, beta);
    if (precision == Precision.BF16) {
      bf16A = roundToBf16(a, aOffset, (long) m * k, bf16A);
      bf16B = roundToBf16(b, bOffset, (long) k * n, bf16B);
      checkBlas(
          cublasGemmEx(
              cublas,
              opB,
              opA,
              n,
              m,
              k,
              one,
              new Address(bf16B.address),
              CUDA_R_16BF,
              ldb,
              new Address(bf16A.address),
              CUDA_R_16BF,
              lda,
              betaValue,
              new Address(address(c, cOffset)),
              CUDA_R_32F,
              n,
              CUBLAS_COMPUTE_32F,
              CUBLAS_GEMM_DEFAULT),
          "cublasGemmEx");
    } else {
      checkBlas(
          cublasSgemm_v2(
              cublas,
              opB,
              opA,
              n,
              m,
              k,
              one,
              floats(b, bOffset),
              ldb,
              floats(a, aOffset),
              lda,
              betaValue,
              floats(c, cOffset),
              n),
          "cublasSgemm");
    }
  }

  /** A bf16 copy of {@code count} values into scratch (2 bytes a value), grown as needed. */
  private CudaBuffer roundToBf16(Buffer source, long offset, long count, CudaBuffer scratch) {
    if (scratch == null || scratch.length * 2 < count) {
      free(scratch);
      scratch = (CudaBuffer) allocate((count + 1) / 2);
    }
    begin();
    pointerArg(address(source, offset));
    pointerArg(scratch.address);
    longArg(count);
    launch(toBf16, gridFor(count, 256), 1, 256);
    return scratch;
  }

  @Override
  public void biasActivation(
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
    launch(biasActivation, gridFor(n, 256), 1, 256);
  }

  @Override
  public void outputLoss(
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
    launch(outputLoss, (rows + 127) / 128, 1, 128);
  }

  @Override
  public void outputOnly(Buffer logits, Buffer out, int rows, int outputs, int output) {
    begin();
    pointerArg(address(logits, 0));
    pointerArg(address(out, 0));
    intArg(rows);
    intArg(outputs);
    intArg(output);
    launch(outputOnly, (rows + 127) / 128, 1, 128);
  }

  @Override
  public void sum(
      Buffer values, long offset, long count, boolean squares, Buffer result, long resultOffset) {
    zero(result, resultOffset, 1);
    begin();
    pointerArg(address(values, offset));
    longArg(count);
    intArg(squares ? 1 : 0);
    pointerArg(address(result, resultOffset));
    launch(sumReduce, gridFor(count, 1024), 1, 1024);
  }

  @Override
  public void columnSums(Buffer m, int rows, int cols, Buffer out, long outOffset) {
    zero(out, outOffset, cols);
    int chunk = 64;
    begin();
    pointerArg(address(m, 0));
    intArg(rows);
    intArg(cols);
    intArg(chunk);
    pointerArg(address(out, outOffset));
    launch(columnSums, (cols + 255) / 256, Math.max(1, (rows + chunk - 1) / chunk), 256);
  }

  @Override
  public void activationBackward(
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
    launch(activationBackward, gridFor(count, 256), 1, 256);
  }

  @Override
  public void optimizerUpdate(
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
    launch(optimizerUpdate, gridFor(count, 256), 1, 256);
  }

  /** Enough blocks to fill the device a few times over; the kernels stride over the rest. */
  private int gridFor(long count, int block) {
    long blocks = (count + block - 1) / block;
    return (int) Math.max(1, Math.min(blocks, 8L * multiprocessors));
  }

  private void begin() {
    onThisThread();
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

  private void launch(CUfunc_st function, int gridX, int gridY, int block) {
    checkDriver(
        cuLaunchKernel(
            function, gridX, gridY, 1, block, 1, 1, 0, stream, kernelParams, (PointerPointer) null),
        "cuLaunchKernel");
  }

  @Override
  public void synchronize() {
    onThisThread();
    check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    pinnedUsed = 0;
  }

  @Override
  public void close() {
    synchronize();
    free(bf16A);
    free(bf16B);
    if (pinned != null) {
      cudaFreeHost(pinned);
    }
    cublasDestroy_v2(cublas);
    cudaStreamDestroy(stream);
    cuModuleUnload(module);
    CURRENT.remove();
  }

  private static void check(int status, String what) {
    if (status != 0) {
      throw new IllegalStateException(what + ": " + cudaGetErrorString(status).getString());
    }
  }

  private static void checkDriver(int status, String what) {
    if (status != 0) {
      BytePointer message = new BytePointer((Pointer) null);
      cuGetErrorString(status, message);
      throw new IllegalStateException(
          what
              + ": CUDA driver error "
              + status
              + (message.isNull() ? "" : " " + message.getString()));
    }
  }

  private static void checkBlas(int status, String what) {
    if (status != 0) {
      throw new IllegalStateException(what + ": cuBLAS status " + status);
    }
  }

  private static void checkNvrtc(int status, String what) {
    if (status != 0) {
      throw new IllegalStateException(what + ": " + nvrtcGetErrorString(status).getString());
    }
  }
}
