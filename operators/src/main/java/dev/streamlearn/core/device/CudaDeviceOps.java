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

import java.util.EnumMap;
import java.util.Map;
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
public final class CudaDeviceOps extends KernelDeviceOps {

  private final int device;
  private final String description;
  private final int multiprocessors;
  private final CUstream_st stream = new CUstream_st();
  private final cublasContext cublas = new cublasContext();
  private final CUmod_st module = new CUmod_st();
  private final Map<Kernel, CUfunc_st> functions = new EnumMap<>(Kernel.class);

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

  /** The instance whose device each thread last made current. */
  private static final ThreadLocal<CudaDeviceOps> CURRENT = new ThreadLocal<>();

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
    super(precision);
    this.device = device;
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
      for (Kernel kernel : Kernel.values()) {
        CUfunc_st function = new CUfunc_st();
        checkDriver(
            cuModuleGetFunction(function, module, kernel.symbol),
            "cuModuleGetFunction " + kernel.symbol);
        functions.put(kernel, function);
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

  @Override
  public String name() {
    return "cuda";
  }

  @Override
  public String description() {
    return "CUDA device " + device + ": " + description;
  }

  @Override
  public Buffer allocate(long length) {
    onThisThread();
    Pointer pointer = new Pointer();
    check(cudaMalloc(pointer, Math.max(1, length) * 4), "cudaMalloc of " + length + " floats");
    return new DeviceBuffer(pointer.address(), length);
  }

  @Override
  public void free(Buffer buffer) {
    onThisThread();
    if (buffer != null) {
      cudaFree(new NativeAddress(((DeviceBuffer) buffer).address));
    }
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
    FloatPointer staging = new FloatPointer(new NativeAddress(pinned.address() + pinnedUsed));
    staging.put(source, sourceOffset, count);
    check(
        cudaMemcpyAsync(
            new NativeAddress(address(target, targetOffset)),
            staging,
            bytes,
            cudaMemcpyHostToDevice,
            stream),
        "upload");
    pinnedUsed += (bytes + 255) & ~255L;
    countUploaded(bytes);
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
            new NativeAddress(address(source, sourceOffset)),
            bytes,
            cudaMemcpyDeviceToHost,
            stream),
        "download");
    synchronize();
    new FloatPointer(new NativeAddress(pinned.address())).get(target, targetOffset, count);
    countDownloaded(bytes);
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
    check(
        cudaMemsetAsync(new NativeAddress(address(buffer, offset)), 0, 4 * count, stream),
        "memset");
  }

  @Override
  protected int multiprocessors() {
    return multiprocessors;
  }

  @Override
  protected void columnMajorGemm(
      ColumnMajorGemm shape, long first, long second, boolean bf16Operands, float beta, long c) {
    onThisThread();
    int opFirst = shape.transposeFirst() ? CUBLAS_OP_T : CUBLAS_OP_N;
    int opSecond = shape.transposeSecond() ? CUBLAS_OP_T : CUBLAS_OP_N;
    betaValue.put(0, beta);
    if (bf16Operands) {
      checkBlas(
          cublasGemmEx(
              cublas,
              opFirst,
              opSecond,
              shape.m(),
              shape.n(),
              shape.k(),
              one,
              new NativeAddress(first),
              CUDA_R_16BF,
              shape.ldFirst(),
              new NativeAddress(second),
              CUDA_R_16BF,
              shape.ldSecond(),
              betaValue,
              new NativeAddress(c),
              CUDA_R_32F,
              shape.ldc(),
              CUBLAS_COMPUTE_32F,
              CUBLAS_GEMM_DEFAULT),
          "cublasGemmEx");
    } else {
      checkBlas(
          cublasSgemm_v2(
              cublas,
              opFirst,
              opSecond,
              shape.m(),
              shape.n(),
              shape.k(),
              one,
              new FloatPointer(new NativeAddress(first)),
              shape.ldFirst(),
              new FloatPointer(new NativeAddress(second)),
              shape.ldSecond(),
              betaValue,
              new FloatPointer(new NativeAddress(c)),
              shape.ldc()),
          "cublasSgemm");
    }
  }

  @Override
  protected void launch(
      Kernel kernel,
      int gridX,
      int gridY,
      int block,
      PointerPointer<Pointer> parameters,
      int argumentCount) {
    onThisThread();
    checkDriver(
        cuLaunchKernel(
            functions.get(kernel),
            gridX,
            gridY,
            1,
            block,
            1,
            1,
            0,
            stream,
            parameters,
            (PointerPointer) null),
        "cuLaunchKernel " + kernel.symbol);
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
    freeScratch();
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
