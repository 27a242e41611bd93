package dev.streamlearn.core.device;

import dev.streamlearn.core.model.SplitMix64;

/**
 * {@link DeviceOps} in Java on the CPU: the kernels of {@code kernels.cu} in the same fp32
 * arithmetic, and matrix products whose operands are rounded as the device's precision rounds them.
 * It lets the device training step, its precisions and its place in the trainer be tested where
 * there is no GPU; it is not meant to be fast.
 */
public final class HostDeviceOps implements DeviceOps {

  private final Precision precision;
  private final long memoryFloats;
  private long allocatedFloats;
  private long uploaded;
  private long downloaded;

  public HostDeviceOps(Precision precision) {
    this(precision, Long.MAX_VALUE);
  }

  /**
   * A device with room for {@code memoryFloats} floats: allocations beyond it fail, as {@code
   * cudaMalloc} does on a GPU whose memory is full.
   */
  public HostDeviceOps(Precision precision, long memoryFloats) {
    this.precision = precision;
    this.memoryFloats = memoryFloats;
  }

  /** Floats allocated and not yet freed. */
  public long allocatedFloats() {
    return allocatedFloats;
  }

  /** A buffer in host memory. */
  static final class HostBuffer implements Buffer {
    final float[] data;

    HostBuffer(int length) {
      data = new float[length];
    }

    @Override
    public long length() {
      return data.length;
    }
  }

  private static float[] data(Buffer buffer) {
    return ((HostBuffer) buffer).data;
  }

  @Override
  public String name() {
    return "host";
  }

  @Override
  public String description() {
    return "the CPU, emulating the device kernels in " + precision.id();
  }

  @Override
  public Precision precision() {
    return precision;
  }

  @Override
  public Buffer allocate(long length) {
    long floats = Math.max(1, length);
    if (floats > memoryFloats - allocatedFloats) {
      throw new IllegalStateException(
          "allocation of "
              + length
              + " floats: out of memory ("
              + allocatedFloats
              + " of "
              + memoryFloats
              + " floats in use)");
    }
    allocatedFloats += floats;
    return new HostBuffer(Math.toIntExact(length));
  }

  @Override
  public void free(Buffer buffer) {
    if (buffer != null) {
      allocatedFloats -= Math.max(1, buffer.length());
    }
  }

  @Override
  public void upload(
      float[] source, int sourceOffset, Buffer target, long targetOffset, int count) {
    System.arraycopy(source, sourceOffset, data(target), (int) targetOffset, count);
    uploaded += 4L * count;
  }

  @Override
  public void download(
      Buffer source, long sourceOffset, float[] target, int targetOffset, int count) {
    System.arraycopy(data(source), (int) sourceOffset, target, targetOffset, count);
    downloaded += 4L * count;
  }

  @Override
  public long bytesUploaded() {
    return uploaded;
  }

  @Override
  public long bytesDownloaded() {
    return downloaded;
  }

  @Override
  public void zero(Buffer buffer, long offset, long count) {
    java.util.Arrays.fill(data(buffer), (int) offset, (int) (offset + count), 0f);
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
    float[] av = data(a);
    float[] bv = data(b);
    float[] cv = data(c);
    int ao = (int) aOffset;
    int bo = (int) bOffset;
    int co = (int) cOffset;
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        float sum = 0f;
        for (int p = 0; p < k; p++) {
          float x = av[ao + (transposeA ? p * m + i : i * k + p)];
          float y = bv[bo + (transposeB ? j * k + p : p * n + j)];
          sum += precision.round(x) * precision.round(y);
        }
        int at = co + i * n + j;
        cv[at] = beta == 0f ? sum : sum + beta * cv[at];
      }
    }
  }

  private static float activate(float z, int activation) {
    return switch (activation) {
      case ACT_RELU -> z > 0f ? z : 0f;
      case ACT_TANH -> (float) Math.tanh(z);
      case ACT_SIGMOID -> 1f / (1f + (float) Math.exp(-z));
      default -> z;
    };
  }

  private static float derivativeFromOutput(float a, int activation) {
    return switch (activation) {
      case ACT_RELU -> a > 0f ? 1f : 0f;
      case ACT_TANH -> 1f - a * a;
      default -> a * (1f - a);
    };
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
    float[] zv = data(z);
    float[] bv = data(bias);
    long n = (long) rows * cols;
    for (int i = 0; i < n; i++) {
      float v = activate(zv[i] + bv[(int) biasOffset + i % cols], activation);
      if (keep < 1.0) {
        float m = SplitMix64.uniformAt(seed, i) < keep ? (float) (1.0 / keep) : 0f;
        data(mask)[i] = m;
        v *= m;
      }
      zv[i] = v;
    }
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
    float[] z = data(logits);
    float[] o = data(out);
    float[] d = data(delta);
    for (int r = 0; r < rows; r++) {
      float scale = data(weight)[r] * inverseWeightSum;
      float target = data(y)[r];
      int base = r * outputs;
      float l;
      if (loss == LOSS_BCE) {
        float zr = z[base];
        float p = 1f / (1f + (float) Math.exp(-zr));
        o[base] = p;
        d[base] = (p - target) * scale;
        float softplus =
            zr > 0f ? zr + (float) Math.log1p(Math.exp(-zr)) : (float) Math.log1p(Math.exp(zr));
        l = softplus - target * zr;
      } else if (loss == LOSS_CE) {
        int label = (int) target;
        float logSum = softmaxRow(z, o, base, outputs);
        for (int j = 0; j < outputs; j++) {
          d[base + j] = (o[base + j] - (j == label ? 1f : 0f)) * scale;
        }
        l = logSum - z[base + label];
      } else {
        float value = z[base];
        o[base] = value;
        float residual = value - target;
        if (loss == LOSS_MSE) {
          d[base] = 2f * residual * scale;
          l = residual * residual;
        } else if (Math.abs(residual) <= huber) {
          d[base] = residual * scale;
          l = 0.5f * residual * residual;
        } else {
          d[base] = huber * Math.signum(residual) * scale;
          l = huber * (Math.abs(residual) - 0.5f * huber);
        }
      }
      data(rowLoss)[r] = scale * l;
    }
  }

  /** {@code softmax_row}: one row's softmax into {@code o}; returns log(sum(exp(z))). */
  private static float softmaxRow(float[] z, float[] o, int base, int outputs) {
    float max = Float.NEGATIVE_INFINITY;
    for (int j = 0; j < outputs; j++) {
      max = Math.max(max, z[base + j]);
    }
    float sum = 0f;
    for (int j = 0; j < outputs; j++) {
      sum += (float) Math.exp(z[base + j] - max);
    }
    for (int j = 0; j < outputs; j++) {
      o[base + j] = (float) Math.exp(z[base + j] - max) / sum;
    }
    return max + (float) Math.log(sum);
  }

  @Override
  public void outputOnly(Buffer logits, Buffer out, int rows, int outputs, int output) {
    float[] z = data(logits);
    float[] o = data(out);
    for (int r = 0; r < rows; r++) {
      int base = r * outputs;
      if (output == OUTPUT_SIGMOID) {
        o[base] = 1f / (1f + (float) Math.exp(-z[base]));
      } else if (output == OUTPUT_SOFTMAX) {
        softmaxRow(z, o, base, outputs);
      } else {
        System.arraycopy(z, base, o, base, outputs);
      }
    }
  }

  @Override
  public void sum(
      Buffer values, long offset, long count, boolean squares, Buffer result, long resultOffset) {
    float[] v = data(values);
    // The device sums in a tree of partial sums; float64 here stands in for that accuracy.
    double s = 0;
    for (int i = (int) offset; i < offset + count; i++) {
      s += squares ? (double) v[i] * v[i] : v[i];
    }
    data(result)[(int) resultOffset] = (float) s;
  }

  @Override
  public void columnSums(Buffer m, int rows, int cols, Buffer out, long outOffset) {
    float[] mv = data(m);
    float[] ov = data(out);
    for (int c = 0; c < cols; c++) {
      double s = 0;
      for (int r = 0; r < rows; r++) {
        s += mv[r * cols + c];
      }
      ov[(int) outOffset + c] = (float) s;
    }
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
    float[] up = data(upstream);
    float[] av = data(a);
    float[] d = data(delta);
    for (int i = 0; i < count; i++) {
      float m = dropout ? data(mask)[i] : 1f;
      float value = up[i] * derivativeFromOutput(av[i] / (m != 0f ? m : 1f), activation);
      d[i] = dropout ? value * m : value;
    }
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
    float[] p = data(params);
    float[] g0 = data(grad);
    float[] first = data(m1);
    float[] second = data(m2);
    float[] weight = data(isWeight);
    float norm = (float) Math.sqrt(data(sumSquares)[(int) sumSquaresOffset]);
    float clip = s.clipNorm() > 0f && norm > s.clipNorm() ? s.clipNorm() / norm : 1f;
    float lr = s.learningRate();
    for (int i = 0; i < count; i++) {
      float w = p[i];
      float g = g0[i] * clip;
      if (weight[i] != 0f) {
        g += s.l2() * w + s.l1() * Math.signum(w);
        if (s.weightDecay() > 0f && s.type() != OPT_ADAM) {
          w -= lr * s.weightDecay() * w;
        }
      }
      if (s.type() == OPT_SGD) {
        if (s.momentum() > 0f) {
          float velocity = s.momentum() * first[i] + g;
          first[i] = velocity;
          g = s.nesterov() ? g + s.momentum() * velocity : velocity;
        }
        w -= lr * g;
      } else if (s.type() == OPT_ADAM || s.type() == OPT_ADAMW) {
        if (s.type() == OPT_ADAM && weight[i] != 0f && s.weightDecay() > 0f) {
          g += s.weightDecay() * w;
        }
        float m = s.beta1() * first[i] + (1f - s.beta1()) * g;
        float v = s.beta2() * second[i] + (1f - s.beta2()) * g * g;
        first[i] = m;
        second[i] = v;
        w -= lr * (m / s.correction1()) / ((float) Math.sqrt(v / s.correction2()) + s.epsilon());
      } else if (s.type() == OPT_RMSPROP) {
        float v = s.beta2() * first[i] + (1f - s.beta2()) * g * g;
        first[i] = v;
        w -= lr * g / ((float) Math.sqrt(v) + s.epsilon());
      } else {
        float v = first[i] + g * g;
        first[i] = v;
        w -= lr * g / ((float) Math.sqrt(v) + s.epsilon());
      }
      p[i] = w;
    }
  }

  @Override
  public void synchronize() {}

  @Override
  public void close() {}
}
