package dev.streamlearn.core.device;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * The device operations of {@link KernelDeviceOps}, with {@code kernels.cu} itself compiled for the
 * CPU by g++ (with {@code kernels_on_cpu.cpp}, which defines CUDA's built-ins on the host) and
 * cuBLAS's column-major product written out in C++. What {@link CudaDeviceOps} would hand to the
 * GPU (the packed argument table, the grid, the operands in cuBLAS's order) is what runs here, so a
 * test on it checks the kernel source and its launches without a GPU. What it cannot check: the
 * GPU's own arithmetic (fused multiply-adds, its exp and log), threads running at once, and the
 * CUDA calls themselves (transfers, streams, cuBLAS).
 */
public final class CpuCompiledKernelOps extends KernelDeviceOps {

  private static final String HARNESS = "/dev/streamlearn/core/device/kernels_on_cpu.cpp";

  /** Grids as a device with this many multiprocessors would get (a few blocks: several). */
  private static final int MULTIPROCESSORS = 2;

  private static boolean probed;
  private static String unavailable;
  private static AssertionError broken;

  /** The kernels whose source calls {@code __syncthreads}: their blocks run as coroutines. */
  private static final Set<Kernel> WITH_BARRIERS = kernelsWithBarriers(kernelSource());

  /** Allocations: address to bytes. */
  private final TreeMap<Long, Long> live = new TreeMap<>();

  private CpuCompiledKernelOps(Precision precision) {
    super(precision);
  }

  /**
   * Null when the kernels compiled and loaded here, else why not (no g++, no JNI headers). A kernel
   * source that g++ cannot compile is no reason to skip: each call throws its log.
   */
  public static synchronized String unavailableReason() {
    if (!probed) {
      probed = true;
      try {
        compileAndLoad();
      } catch (IOException | RuntimeException e) {
        unavailable = e.getMessage();
      } catch (AssertionError e) {
        broken = e;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        unavailable = "interrupted while compiling the kernels";
      }
    }
    if (broken != null) {
      throw broken;
    }
    return unavailable;
  }

  public static CpuCompiledKernelOps open(Precision precision) {
    String reason = unavailableReason();
    if (reason != null) {
      throw new IllegalStateException(reason);
    }
    return new CpuCompiledKernelOps(precision);
  }

  private static void compileAndLoad() throws IOException, InterruptedException {
    Path include = Path.of(System.getProperty("java.home"), "include");
    if (!Files.isRegularFile(include.resolve("jni.h"))) {
      throw new IllegalStateException("no JNI headers under " + include + " (a JDK, not a JRE)");
    }
    Path folder = Path.of("target", "kernels-on-cpu");
    Files.createDirectories(folder);
    folder = Files.createTempDirectory(folder.toAbsolutePath(), "build-");
    Files.writeString(folder.resolve("kernels.cu"), kernelSource());
    try (InputStream in = CpuCompiledKernelOps.class.getResourceAsStream(HARNESS)) {
      Files.write(folder.resolve("kernels_on_cpu.cpp"), in.readAllBytes());
    }
    Path library = folder.resolve("libkernels_on_cpu.so");
    List<String> command =
        new ArrayList<>(
            List.of(
                "g++",
                "-std=c++17",
                "-O2",
                "-fPIC",
                "-shared",
                "-U_FORTIFY_SOURCE",
                "-I" + include,
                "-I" + include.resolve("linux"),
                "-I" + folder,
                folder.resolve("kernels_on_cpu.cpp").toString(),
                "-o",
                library.toString()));
    Process process;
    try {
      process = new ProcessBuilder(command).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new IllegalStateException("g++ cannot be run here: " + e.getMessage());
    }
    String log = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(120, TimeUnit.SECONDS) || process.exitValue() != 0) {
      // A compile error in the kernel source is a failure, not a reason to skip.
      throw new AssertionError("g++ could not compile kernels.cu for the CPU:\n" + log);
    }
    System.load(library.toAbsolutePath().toString());
  }

  /** Kernels whose body, from its signature to the next kernel's, calls __syncthreads. */
  public static Set<Kernel> kernelsWithBarriers(String source) {
    Set<Kernel> found = EnumSet.noneOf(Kernel.class);
    for (Kernel kernel : Kernel.values()) {
      int start = source.indexOf(" " + kernel.symbol + "(");
      if (start < 0) {
        throw new IllegalStateException("kernels.cu has no kernel " + kernel.symbol);
      }
      int end = source.indexOf("__global__", start);
      String body = source.substring(start, end < 0 ? source.length() : end);
      if (body.contains("__syncthreads")) {
        found.add(kernel);
      }
    }
    return found;
  }

  private static native void launchKernel(
      String kernel,
      long parameters,
      int count,
      int gridX,
      int gridY,
      int threads,
      boolean barriers);

  private static native void columnMajorProduct(
      boolean transposeFirst,
      boolean transposeSecond,
      int m,
      int n,
      int k,
      long first,
      int ldFirst,
      long second,
      int ldSecond,
      float beta,
      long c,
      int ldc,
      int operandType);

  private static native long allocate0(long bytes);

  private static native void release(long address);

  private static native void copyIn(float[] source, int offset, long address, int count);

  private static native void copyOut(long address, float[] target, int offset, int count);

  private static native void fillZero(long address, long bytes);

  @Override
  protected int multiprocessors() {
    return MULTIPROCESSORS;
  }

  @Override
  protected void launch(
      Kernel kernel,
      int gridX,
      int gridY,
      int block,
      PointerPointer<Pointer> parameters,
      int argumentCount) {
    launchKernel(
        kernel.symbol,
        parameters.address(),
        argumentCount,
        gridX,
        gridY,
        block,
        WITH_BARRIERS.contains(kernel));
  }

  @Override
  protected void columnMajorGemm(
      ColumnMajorGemm shape, long first, long second, boolean bf16Operands, float beta, long c) {
    int type = bf16Operands ? 2 : precision() == Precision.TF32 ? 1 : 0;
    int operandBytes = bf16Operands ? 2 : 4;
    boolean tf = shape.transposeFirst();
    boolean ts = shape.transposeSecond();
    inside(
        "first operand",
        first,
        tf ? shape.k() : shape.m(),
        tf ? shape.m() : shape.k(),
        shape.ldFirst(),
        operandBytes);
    inside(
        "second operand",
        second,
        ts ? shape.n() : shape.k(),
        ts ? shape.k() : shape.n(),
        shape.ldSecond(),
        operandBytes);
    inside("result", c, shape.m(), shape.n(), shape.ldc(), 4);
    columnMajorProduct(
        shape.transposeFirst(),
        shape.transposeSecond(),
        shape.m(),
        shape.n(),
        shape.k(),
        first,
        shape.ldFirst(),
        second,
        shape.ldSecond(),
        beta,
        c,
        shape.ldc(),
        type);
  }

  /**
   * A column-major operand of {@code rows x cols} with leading dimension {@code ld} must lie inside
   * one allocation: a product past a buffer's end would write over other memory (on a GPU, fault).
   */
  private void inside(String what, long address, int rows, int cols, int ld, int bytes) {
    if (rows == 0 || cols == 0) {
      return;
    }
    long extent = ((long) (cols - 1) * ld + rows) * bytes;
    var allocation = live.floorEntry(address);
    if (allocation == null
        || address + extent > allocation.getKey() + allocation.getValue()
        || ld < rows) {
      throw new IllegalStateException(
          "the product's "
              + what
              + " ("
              + rows
              + " x "
              + cols
              + ", leading dimension "
              + ld
              + ") does not lie inside one buffer");
    }
  }

  @Override
  public String name() {
    return "cpu-compiled-kernels";
  }

  @Override
  public String description() {
    return "the CPU, running kernels.cu compiled by g++, in " + precision().id();
  }

  @Override
  public Buffer allocate(long length) {
    long bytes = 4 * Math.max(1, length);
    long address = allocate0(bytes);
    live.put(address, bytes);
    return new DeviceBuffer(address, length);
  }

  @Override
  public void free(Buffer buffer) {
    if (buffer != null && live.remove(((DeviceBuffer) buffer).address) != null) {
      release(((DeviceBuffer) buffer).address);
    }
  }

  @Override
  public void upload(
      float[] source, int sourceOffset, Buffer target, long targetOffset, int count) {
    check(target, targetOffset, count);
    copyIn(source, sourceOffset, address(target, targetOffset), count);
    countUploaded(4L * count);
  }

  @Override
  public void download(
      Buffer source, long sourceOffset, float[] target, int targetOffset, int count) {
    check(source, sourceOffset, count);
    copyOut(address(source, sourceOffset), target, targetOffset, count);
    countDownloaded(4L * count);
  }

  @Override
  public void zero(Buffer buffer, long offset, long count) {
    check(buffer, offset, count);
    fillZero(address(buffer, offset), 4 * count);
  }

  /** Native memory has no bounds checks of its own: a transfer past a buffer's end fails here. */
  private static void check(Buffer buffer, long offset, long count) {
    if (offset < 0 || count < 0 || offset + count > buffer.length()) {
      throw new IndexOutOfBoundsException(
          count + " floats at " + offset + " of a buffer of " + buffer.length());
    }
  }

  @Override
  public void synchronize() {}

  @Override
  public void close() {
    freeScratch();
    for (long address : live.keySet()) {
      release(address);
    }
    live.clear();
  }
}
