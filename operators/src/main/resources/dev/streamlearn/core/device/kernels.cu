// Element-wise kernels of the device training step, compiled with NVRTC at start for the device's
// own architecture. HostDeviceOps runs the same arithmetic in Java, line for line: keep them alike.
// Row-major matrices; every kernel takes element counts and guards its index.

#define ACT_NONE -1
#define ACT_RELU 0
#define ACT_TANH 1
#define ACT_SIGMOID 2

#define LOSS_BCE 0
#define LOSS_CE 1
#define LOSS_MSE 2
#define LOSS_HUBER 3

#define OPT_SGD 0
#define OPT_ADAM 1
#define OPT_ADAMW 2
#define OPT_RMSPROP 3
#define OPT_ADAGRAD 4

__device__ __forceinline__ float activate(float z, int act) {
  switch (act) {
    case ACT_RELU: return z > 0.f ? z : 0.f;
    case ACT_TANH: return tanhf(z);
    case ACT_SIGMOID: return 1.f / (1.f + expf(-z));
    default: return z;
  }
}

__device__ __forceinline__ float derivative_from_output(float a, int act) {
  switch (act) {
    case ACT_RELU: return a > 0.f ? 1.f : 0.f;
    case ACT_TANH: return 1.f - a * a;
    default: return a * (1.f - a);
  }
}

// out = softmax(z) over one row; returns log(sum(exp(z))), computed from the row's maximum.
__device__ float softmax_row(const float* z, float* out, int outputs) {
  float max = -__int_as_float(0x7f800000);
  for (int j = 0; j < outputs; j++) max = fmaxf(max, z[j]);
  float sum = 0.f;
  for (int j = 0; j < outputs; j++) sum += expf(z[j] - max);
  for (int j = 0; j < outputs; j++) out[j] = expf(z[j] - max) / sum;
  return max + logf(sum);
}

// SplitMix64's draw number (index + 1) after `state`: the same numbers, in the same order, as the
// CPU network's generator, so dropout masks agree element for element.
__device__ __forceinline__ double uniform_draw(unsigned long long state, unsigned long long index) {
  unsigned long long z = state + (index + 1ULL) * 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z = z ^ (z >> 31);
  return (double)(z >> 11) * 0x1.0p-53;
}

// z[r][c] += bias[c]; then the activation (act >= 0) and inverted dropout (keep < 1).
extern "C" __global__ void bias_activation(float* z, const float* bias, int rows, int cols, int act,
                                           double keep, unsigned long long seed, float* mask) {
  long long n = (long long)rows * cols;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    float v = activate(z[i] + bias[i % cols], act);
    if (keep < 1.0) {
      float m = uniform_draw(seed, (unsigned long long)i) < keep ? (float)(1.0 / keep) : 0.f;
      mask[i] = m;
      v *= m;
    }
    z[i] = v;
  }
}

// One thread per row: the output (probabilities or values), dLoss/dz times the row's share of the
// weight into delta, and the row's weighted loss into row_loss.
extern "C" __global__ void output_loss(const float* logits, float* out, float* delta, const float* y,
                                       const float* weight, float inv_weight_sum, int rows,
                                       int outputs, int loss, float huber, float* row_loss) {
  int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  float scale = weight[r] * inv_weight_sum;
  float target = y[r];
  long long base = (long long)r * outputs;
  float l;
  if (loss == LOSS_BCE) {
    float z = logits[base];
    float p = 1.f / (1.f + expf(-z));
    out[base] = p;
    delta[base] = (p - target) * scale;
    float softplus = z > 0.f ? z + log1pf(expf(-z)) : log1pf(expf(z));
    l = softplus - target * z;
  } else if (loss == LOSS_CE) {
    int label = (int)target;
    float log_sum = softmax_row(logits + base, out + base, outputs);
    for (int j = 0; j < outputs; j++) {
      delta[base + j] = (out[base + j] - (j == label ? 1.f : 0.f)) * scale;
    }
    l = log_sum - logits[base + label];
  } else {
    float value = logits[base];
    out[base] = value;
    float residual = value - target;
    if (loss == LOSS_MSE) {
      delta[base] = 2.f * residual * scale;
      l = residual * residual;
    } else if (fabsf(residual) <= huber) {
      delta[base] = residual * scale;
      l = 0.5f * residual * residual;
    } else {
      delta[base] = huber * copysignf(1.f, residual) * scale;
      l = huber * (fabsf(residual) - 0.5f * huber);
    }
  }
  row_loss[r] = scale * l;
}

// Prediction outputs without a loss: sigmoid (1), softmax (2) or identity (0) of the logits.
extern "C" __global__ void output_only(const float* logits, float* out, int rows, int outputs,
                                       int output) {
  int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  long long base = (long long)r * outputs;
  if (output == 1) {
    out[base] = 1.f / (1.f + expf(-logits[base]));
  } else if (output == 2) {
    softmax_row(logits + base, out + base, outputs);
  } else {
    for (int j = 0; j < outputs; j++) out[base + j] = logits[base + j];
  }
}

// result[0] += sum of v (squares when squares != 0); result is zeroed by the caller.
extern "C" __global__ void sum_reduce(const float* v, long long n, int squares, float* result) {
  __shared__ float partial[1024];
  float s = 0.f;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    float x = v[i];
    s += squares ? x * x : x;
  }
  partial[threadIdx.x] = s;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) atomicAdd(result, partial[0]);
}

// out[c] += sum over a chunk of rows of m[r][c]: the bias gradient. Grid: (column blocks, row
// chunks of `chunk` rows); out is zeroed by the caller.
extern "C" __global__ void column_sums(const float* m, int rows, int cols, int chunk, float* out) {
  int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  int start = blockIdx.y * chunk;
  int end = min(rows, start + chunk);
  float s = 0.f;
  for (int r = start; r < end; r++) s += m[(long long)r * cols + c];
  atomicAdd(out + c, s);
}

// delta = upstream * act'(a) (the activation before dropout), times the dropout mask.
extern "C" __global__ void activation_backward(const float* upstream, const float* a,
                                               const float* mask, float* delta, long long n,
                                               int act, int dropout) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    float m = dropout ? mask[i] : 1.f;
    float d = upstream[i] * derivative_from_output(a[i] / (m != 0.f ? m : 1.f), act);
    delta[i] = dropout ? d * m : d;
  }
}

// One fused optimizer step over all parameters: clipping by the global norm (from the sum of
// squares the caller reduced into *sum_squares), L1/L2 and weight decay on weights, then the rule.
extern "C" __global__ void optimizer_update(float* params, const float* grad, float* m1, float* m2,
                                            const float* is_weight, long long n, int type, float lr,
                                            float momentum, int nesterov, float beta1, float beta2,
                                            float eps, float l1, float l2, float weight_decay,
                                            float correction1, float correction2,
                                            const float* sum_squares, float clip_norm) {
  float norm = sqrtf(*sum_squares);
  float clip = clip_norm > 0.f && norm > clip_norm ? clip_norm / norm : 1.f;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    float w = params[i];
    float g = grad[i] * clip;
    if (is_weight[i] != 0.f) {
      g += l2 * w + l1 * (w > 0.f ? 1.f : (w < 0.f ? -1.f : 0.f));
      if (weight_decay > 0.f && type != OPT_ADAM) w -= lr * weight_decay * w;
    }
    if (type == OPT_SGD) {
      if (momentum > 0.f) {
        float velocity = momentum * m1[i] + g;
        m1[i] = velocity;
        g = nesterov ? g + momentum * velocity : velocity;
      }
      w -= lr * g;
    } else if (type == OPT_ADAM || type == OPT_ADAMW) {
      if (type == OPT_ADAM && is_weight[i] != 0.f && weight_decay > 0.f) g += weight_decay * w;
      float m = beta1 * m1[i] + (1.f - beta1) * g;
      float v = beta2 * m2[i] + (1.f - beta2) * g * g;
      m1[i] = m;
      m2[i] = v;
      w -= lr * (m / correction1) / (sqrtf(v / correction2) + eps);
    } else if (type == OPT_RMSPROP) {
      float v = beta2 * m1[i] + (1.f - beta2) * g * g;
      m1[i] = v;
      w -= lr * g / (sqrtf(v) + eps);
    } else {
      float v = m1[i] + g * g;
      m1[i] = v;
      w -= lr * g / (sqrtf(v) + eps);
    }
    params[i] = w;
  }
}

// bfloat16 copies (round to nearest even) of fp32 operands, for bf16 matrix products.
extern "C" __global__ void to_bf16(const float* in, unsigned short* out, long long n) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    unsigned int u = __float_as_uint(in[i]);
    u += 0x7FFFu + ((u >> 16) & 1u);
    out[i] = (unsigned short)(u >> 16);
  }
}
