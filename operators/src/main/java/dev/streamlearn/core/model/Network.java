package dev.streamlearn.core.model;

import dev.streamlearn.core.backend.Backend;

/**
 * A feed-forward network in float32: matrix products on a {@link Backend}, the element-wise work in
 * plain Java. Holds only workspaces sized for {@code maxBatch} rows; parameters, gradients and the
 * random state are passed in, so the caller keeps them (in Flink state).
 */
public final class Network {

  private final NetworkShape shape;
  private final Backend backend;
  private final int maxBatch;

  /** activations[i]: rows x width(i); activations[0] is unused (the input is passed in). */
  private final float[][] activations;

  private final float[][] dropoutMasks;
  private final float[] logits;
  private final float[] delta;
  private final float[] previousDelta;

  public Network(NetworkShape shape, Backend backend, int maxBatch) {
    this.shape = shape;
    this.backend = backend;
    this.maxBatch = maxBatch;
    int layers = shape.layers();
    activations = new float[layers + 1][];
    dropoutMasks = new float[layers][];
    for (int i = 1; i <= layers; i++) {
      activations[i] = new float[maxBatch * shape.width(i)];
      if (i < layers) {
        dropoutMasks[i] = new float[maxBatch * shape.width(i)];
      }
    }
    logits = new float[maxBatch * shape.outputs()];
    delta = new float[maxBatch * shape.maxWidth()];
    previousDelta = new float[maxBatch * shape.maxWidth()];
  }

  public NetworkShape shape() {
    return shape;
  }

  public Backend backend() {
    return backend;
  }

  /**
   * Predictions for {@code rows} inputs into {@code out} (rows x outputs): probabilities for
   * sigmoid and softmax outputs, values for identity. No dropout.
   */
  public void predict(float[] params, float[] x, int rows, float[] out) {
    forward(params, x, rows, null);
    System.arraycopy(activations[shape.layers()], 0, out, 0, rows * shape.outputs());
  }

  /**
   * Forward and backward pass on one batch: writes the gradient of the weighted mean loss into
   * {@code gradient} and returns that loss. Dropout draws from {@code random} when it is set.
   */
  public double lossAndGradient(
      float[] params,
      float[] x,
      float[] y,
      float[] weight,
      int rows,
      SplitMix64 random,
      float[] gradient) {
    forward(params, x, rows, shape.dropout() > 0 ? random : null);
    double weightSum = 0;
    for (int r = 0; r < rows; r++) {
      weightSum += weight[r];
    }
    java.util.Arrays.fill(gradient, 0f);
    if (weightSum <= 0) {
      return 0;
    }
    int outputs = shape.outputs();
    double loss = 0;
    for (int r = 0; r < rows; r++) {
      double scale = weight[r] / weightSum;
      loss += scale * outputDelta(r, y[r], scale);
    }
    for (int l = shape.layers() - 1; l >= 0; l--) {
      int in = shape.width(l);
      int out = shape.width(l + 1);
      float[] input = l == 0 ? x : activations[l];
      backend.gemm(
          true, false, in, out, rows, 1f, input, 0, delta, 0, 0f, gradient, shape.weightOffset(l));
      int bias = shape.biasOffset(l);
      for (int r = 0; r < rows; r++) {
        int base = r * out;
        for (int j = 0; j < out; j++) {
          gradient[bias + j] += delta[base + j];
        }
      }
      if (l > 0) {
        backend.gemm(
            false,
            true,
            rows,
            in,
            out,
            1f,
            delta,
            0,
            params,
            shape.weightOffset(l),
            0f,
            previousDelta,
            0);
        float[] a = activations[l];
        float[] mask = dropoutMasks[l];
        boolean dropout = shape.dropout() > 0 && random != null;
        for (int i = 0; i < rows * in; i++) {
          double d =
              previousDelta[i]
                  * shape
                      .activation()
                      .derivativeFromOutput(a[i] / (dropout && mask[i] != 0 ? mask[i] : 1f));
          delta[i] = (float) (dropout ? d * mask[i] : d);
        }
      }
    }
    return loss;
  }

  /** Writes row r's dLoss/dz (times scale) into delta and returns its loss. */
  private double outputDelta(int r, float target, double scale) {
    int outputs = shape.outputs();
    int base = r * outputs;
    float[] out = activations[shape.layers()];
    switch (shape.loss()) {
      case BINARY_CROSS_ENTROPY -> {
        double z = logits[base];
        delta[base] = (float) ((out[base] - target) * scale);
        return Loss.softplus(z) - target * z;
      }
      case CROSS_ENTROPY -> {
        int label = (int) target;
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < outputs; j++) {
          max = Math.max(max, logits[base + j]);
        }
        double sum = 0;
        for (int j = 0; j < outputs; j++) {
          sum += Math.exp(logits[base + j] - max);
        }
        for (int j = 0; j < outputs; j++) {
          delta[base + j] = (float) ((out[base + j] - (j == label ? 1 : 0)) * scale);
        }
        return max + Math.log(sum) - logits[base + label];
      }
      case MSE -> {
        double residual = (double) out[base] - target;
        delta[base] = (float) (2 * residual * scale);
        return residual * residual;
      }
      default -> {
        double residual = (double) out[base] - target;
        double limit = shape.huberDelta();
        if (Math.abs(residual) <= limit) {
          delta[base] = (float) (residual * scale);
          return 0.5 * residual * residual;
        }
        delta[base] = (float) (limit * Math.signum(residual) * scale);
        return limit * (Math.abs(residual) - 0.5 * limit);
      }
    }
  }

  private void forward(float[] params, float[] x, int rows, SplitMix64 random) {
    if (rows < 0 || rows > maxBatch) {
      throw new IllegalArgumentException(
          "batch of " + rows + " rows; this network holds at most " + maxBatch);
    }
    int layers = shape.layers();
    for (int l = 0; l < layers; l++) {
      int in = shape.width(l);
      int out = shape.width(l + 1);
      float[] input = l == 0 ? x : activations[l];
      boolean last = l == layers - 1;
      float[] target = last ? logits : activations[l + 1];
      backend.gemm(
          false, false, rows, out, in, 1f, input, 0, params, shape.weightOffset(l), 0f, target, 0);
      int bias = shape.biasOffset(l);
      for (int r = 0; r < rows; r++) {
        int base = r * out;
        for (int j = 0; j < out; j++) {
          target[base + j] += params[bias + j];
        }
      }
      if (!last) {
        float[] a = activations[l + 1];
        float[] mask = dropoutMasks[l + 1];
        double keep = 1 - shape.dropout();
        for (int i = 0; i < rows * out; i++) {
          double value = shape.activation().apply(a[i]);
          if (random != null) {
            mask[i] = random.nextDouble() < keep ? (float) (1 / keep) : 0f;
            value *= mask[i];
          }
          a[i] = (float) value;
        }
      } else {
        finishOutput(rows);
      }
    }
  }

  private void finishOutput(int rows) {
    int outputs = shape.outputs();
    float[] out = activations[shape.layers()];
    switch (shape.output()) {
      case SIGMOID -> {
        for (int r = 0; r < rows; r++) {
          out[r] = (float) Activation.sigmoid(logits[r]);
        }
      }
      case SOFTMAX -> {
        for (int r = 0; r < rows; r++) {
          int base = r * outputs;
          double max = Double.NEGATIVE_INFINITY;
          for (int j = 0; j < outputs; j++) {
            max = Math.max(max, logits[base + j]);
          }
          double sum = 0;
          for (int j = 0; j < outputs; j++) {
            sum += Math.exp(logits[base + j] - max);
          }
          for (int j = 0; j < outputs; j++) {
            out[base + j] = (float) (Math.exp(logits[base + j] - max) / sum);
          }
        }
      }
      case IDENTITY -> System.arraycopy(logits, 0, out, 0, rows * outputs);
    }
  }
}
