// kernels.cu compiled for the CPU, for CpuCompiledKernelOps. CUDA's built-ins are defined here on
// the host; a launch reads the kernel's arguments through a void** table by the types of its C
// signature, as cuLaunchKernel does, then runs the grid's blocks one after another. A block's
// threads run one after another too, or, for a kernel that calls __syncthreads, as coroutines that
// all reach each barrier before any goes past it. Also here: cuBLAS's column-major product (fp32,
// tf32-rounded or bf16 operands, fp32 accumulation) and the memory the buffers live in.
#include <jni.h>
#include <math.h>
#include <setjmp.h>
#include <ucontext.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

// Volatile: the coroutines switch inside __syncthreads, behind the compiler's back.
struct dim3 {
  volatile unsigned int x, y, z;
};
dim3 threadIdx, blockIdx, blockDim, gridDim;

#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static volatile

static inline float __int_as_float(int i) {
  float f;
  std::memcpy(&f, &i, sizeof f);
  return f;
}

static inline unsigned int __float_as_uint(float f) {
  unsigned int u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// One thread at a time runs, so the read-modify-write is whole.
static inline float atomicAdd(float* address, float value) {
  float old = *address;
  *address = old + value;
  return old;
}

using std::min;

void __syncthreads();

#include "kernels.cu"

namespace {

constexpr size_t kStackBytes = 64 * 1024;

struct Stop {
  jmp_buf at;
};

// The block being run: its threads' stacks and where each stopped, where the scheduler waits, and
// which threads are done. A thread starts with setcontext on its own stack; after that, switches
// are _setjmp/_longjmp, which (unlike swapcontext) make no system call.
struct Block {
  const std::function<void()>* body = nullptr;
  bool barriers = false;
  unsigned current = 0;
  jmp_buf scheduler;
  ucontext_t start_template;
  std::vector<ucontext_t> starts;
  std::vector<Stop> stopped;
  std::vector<char> started;
  std::vector<char> finished;
  std::vector<char> stacks;
};

Block block;

void thread_entry() {
  (*block.body)();
  block.finished[block.current] = 1;
  _longjmp(block.scheduler, 1);
}

void run_block(unsigned threads) {
  if (!block.barriers) {
    for (unsigned t = 0; t < threads; t++) {
      block.current = t;
      threadIdx.x = t;
      (*block.body)();
    }
    return;
  }
  if (block.starts.empty()) getcontext(&block.start_template);
  block.starts.resize(threads);
  block.stopped.resize(threads);
  block.started.assign(threads, 0);
  block.finished.assign(threads, 0);
  block.stacks.resize(threads * kStackBytes);
  for (unsigned t = 0; t < threads; t++) {
    ucontext_t& start = block.starts[t];
    start = block.start_template;
    start.uc_stack.ss_sp = block.stacks.data() + t * kStackBytes;
    start.uc_stack.ss_size = kStackBytes;
    start.uc_link = nullptr;
    makecontext(&start, thread_entry, 0);
  }
  // A round runs every live thread to its next barrier (or its end): no thread passes a barrier
  // before all have reached it.
  bool live = true;
  while (live) {
    live = false;
    for (unsigned t = 0; t < threads; t++) {
      if (block.finished[t]) continue;
      block.current = t;
      threadIdx.x = t;
      if (_setjmp(block.scheduler) == 0) {
        if (block.started[t]) {
          _longjmp(block.stopped[t].at, 1);
        }
        block.started[t] = 1;
        setcontext(&block.starts[t]);
      }
      if (!block.finished[t]) live = true;
    }
  }
}

template <typename... A, size_t... I>
std::tuple<A...> read_arguments(void** parameters, std::index_sequence<I...>) {
  return std::tuple<A...>(*static_cast<A*>(parameters[I])...);
}

template <typename... A>
void launch(void (*kernel)(A...), void** parameters, int count, unsigned grid_x, unsigned grid_y,
            unsigned threads, bool barriers) {
  if (count != static_cast<int>(sizeof...(A))) {
    throw std::invalid_argument(std::to_string(count) + " arguments packed, the kernel takes " +
                                std::to_string(sizeof...(A)));
  }
  // Read once at the launch, as the driver copies them then.
  std::tuple<A...> arguments = read_arguments<A...>(parameters, std::index_sequence_for<A...>{});
  std::function<void()> body = [&] { std::apply(kernel, arguments); };
  block.body = &body;
  block.barriers = barriers;
  gridDim.x = grid_x;
  gridDim.y = grid_y;
  gridDim.z = 1;
  blockDim.x = threads;
  blockDim.y = 1;
  blockDim.z = 1;
  threadIdx.y = 0;
  threadIdx.z = 0;
  blockIdx.z = 0;
  for (unsigned y = 0; y < grid_y; y++) {
    for (unsigned x = 0; x < grid_x; x++) {
      blockIdx.x = x;
      blockIdx.y = y;
      run_block(threads);
    }
  }
}

void launch_named(const std::string& name, void** parameters, int count, unsigned grid_x,
                  unsigned grid_y, unsigned threads, bool barriers) {
  if (name == "bias_activation") {
    launch(bias_activation, parameters, count, grid_x, grid_y, threads, barriers);
  } else if (name == "output_loss") {
    launch(output_loss, parameters, count, grid_x, grid_y, threads, barriers);
  } else if (name == "output_only") {
    launch(output_only, parameters, count, grid_x, grid_y, threads, barriers);
  } else if (name == "sum_reduce") {
    launch(sum_reduce, parameters, count, grid_x, grid_y, threads, barriers);
  } else if (name == "column_sums") {
    launch(column_sums, parameters, count, grid_x, grid_y, threads, barriers);
  } else if (name == "activation_backward") {
    launch(activation_backward, parameters, count, grid_x, grid_y, threads, barriers);
  } else if (name == "optimizer_update") {
    launch(optimizer_update, parameters, count, grid_x, grid_y, threads, barriers);
  } else if (name == "to_bf16") {
    launch(to_bf16, parameters, count, grid_x, grid_y, threads, barriers);
  } else {
    throw std::invalid_argument("no kernel of that name in kernels_on_cpu.cpp");
  }
}

// The operand as the tensor cores see it: fp32, fp32 rounded to tf32's 10 mantissa bits, or bf16.
float operand(const void* base, long long index, int type) {
  if (type == 2) {
    uint32_t u = static_cast<uint32_t>(static_cast<const uint16_t*>(base)[index]) << 16;
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
  }
  float v = static_cast<const float*>(base)[index];
  if (type == 0 || !isfinite(v)) return v;
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  u += 0xFFFu + ((u >> 13) & 1u);
  u &= ~0x1FFFu;
  std::memcpy(&v, &u, sizeof v);
  return v;
}

void throw_java(JNIEnv* env, const char* type, const std::string& message) {
  jclass exception = env->FindClass(type);
  if (exception != nullptr) env->ThrowNew(exception, message.c_str());
}

}  // namespace

// Called by a kernel that was launched without barriers: its result would be wrong, so say so.
void __syncthreads() {
  if (!block.barriers) {
    throw std::logic_error("calls __syncthreads, but was launched without barriers");
  }
  if (_setjmp(block.stopped[block.current].at) == 0) _longjmp(block.scheduler, 1);
}

extern "C" {

JNIEXPORT void JNICALL Java_dev_streamlearn_core_device_CpuCompiledKernelOps_launchKernel(
    JNIEnv* env, jclass, jstring kernel, jlong parameters, jint count, jint grid_x, jint grid_y,
    jint threads, jboolean barriers) {
  const char* name = env->GetStringUTFChars(kernel, nullptr);
  std::string symbol(name);
  env->ReleaseStringUTFChars(kernel, name);
  // The emulation's state (the built-in variables, the block being run, __shared__ arrays) is
  // one per process: trainers on several threads launch one kernel at a time.
  static std::mutex one_at_a_time;
  std::lock_guard<std::mutex> hold(one_at_a_time);
  try {
    launch_named(symbol, reinterpret_cast<void**>(parameters), count, grid_x, grid_y, threads,
                 barriers);
  } catch (const std::exception& e) {
    throw_java(env, "java/lang/IllegalStateException", symbol + ": " + e.what());
  }
}

JNIEXPORT void JNICALL Java_dev_streamlearn_core_device_CpuCompiledKernelOps_columnMajorProduct(
    JNIEnv* env, jclass, jboolean transpose_first, jboolean transpose_second, jint m, jint n, jint k,
    jlong first, jint ld_first, jlong second, jint ld_second, jfloat beta, jlong c, jint ldc,
    jint type) {
  // cuBLAS refuses these (CUBLAS_STATUS_INVALID_VALUE): so must this.
  long long rows_first = transpose_first ? k : m;
  long long rows_second = transpose_second ? n : k;
  if (m < 0 || n < 0 || k < 0 || ld_first < std::max(1LL, rows_first) ||
      ld_second < std::max(1LL, rows_second) || ldc < std::max(1, static_cast<int>(m))) {
    throw_java(env, "java/lang/IllegalStateException",
               "cublasSgemm would refuse m " + std::to_string(m) + " n " + std::to_string(n) +
                   " k " + std::to_string(k) + " lda " + std::to_string(ld_first) + " ldb " +
                   std::to_string(ld_second) + " ldc " + std::to_string(ldc));
    return;
  }
  const void* a = reinterpret_cast<const void*>(first);
  const void* b = reinterpret_cast<const void*>(second);
  float* out = reinterpret_cast<float*>(c);
  for (long long j = 0; j < n; j++) {
    for (long long i = 0; i < m; i++) {
      float sum = 0.f;
      for (long long l = 0; l < k; l++) {
        float x = operand(a, transpose_first ? l + i * ld_first : i + l * ld_first, type);
        float y = operand(b, transpose_second ? j + l * ld_second : l + j * ld_second, type);
        sum += x * y;
      }
      float& at = out[i + j * ldc];
      at = beta == 0.f ? sum : sum + beta * at;
    }
  }
}

JNIEXPORT jlong JNICALL Java_dev_streamlearn_core_device_CpuCompiledKernelOps_allocate0(
    JNIEnv* env, jclass, jlong bytes) {
  void* memory = std::calloc(1, static_cast<size_t>(bytes));
  if (memory == nullptr) {
    throw_java(env, "java/lang/OutOfMemoryError", std::to_string(bytes) + " bytes");
  }
  return reinterpret_cast<jlong>(memory);
}

JNIEXPORT void JNICALL Java_dev_streamlearn_core_device_CpuCompiledKernelOps_release(JNIEnv*,
                                                                                     jclass,
                                                                                     jlong address) {
  std::free(reinterpret_cast<void*>(address));
}

JNIEXPORT void JNICALL Java_dev_streamlearn_core_device_CpuCompiledKernelOps_copyIn(
    JNIEnv* env, jclass, jfloatArray source, jint offset, jlong address, jint count) {
  env->GetFloatArrayRegion(source, offset, count, reinterpret_cast<jfloat*>(address));
}

JNIEXPORT void JNICALL Java_dev_streamlearn_core_device_CpuCompiledKernelOps_copyOut(
    JNIEnv* env, jclass, jlong address, jfloatArray target, jint offset, jint count) {
  env->SetFloatArrayRegion(target, offset, count, reinterpret_cast<const jfloat*>(address));
}

JNIEXPORT void JNICALL Java_dev_streamlearn_core_device_CpuCompiledKernelOps_fillZero(
    JNIEnv*, jclass, jlong address, jlong bytes) {
  std::memset(reinterpret_cast<void*>(address), 0, static_cast<size_t>(bytes));
}

}  // extern "C"
