package dev.streamlearn.core.model;

import dev.streamlearn.core.backend.Backend;

/**
 * Binary logistic regression: {@code p = sigmoid(w . x + b)}, trained by mini-batch SGD on the
 * weighted mean cross-entropy plus {@code l2 / 2 * |w|^2}. Parameters live in one array: the {@code
 * dimension} weights, then the bias.
 */
public final class LogisticRegression {

  private final int dimension;
  private final int maxBatch;
  private final float[] logits;
  private final float[] residual;
  private final float[] gradient;

  public LogisticRegression(int dimension, int maxBatch) {
    this.dimension = dimension;
    this.maxBatch = maxBatch;
    this.logits = new float[maxBatch];
    this.residual = new float[maxBatch];
    this.gradient = new float[dimension];
  }

  public int dimension() {
    return dimension;
  }

  public int parameterCount() {
    return dimension + 1;
  }

  /** Zero weights: the convex problem needs no random start. */
  public float[] initialParameters() {
    return new float[parameterCount()];
  }

  /** Probabilities of the positive class for {@code rows} examples of {@code x}. */
  public void predict(Backend backend, float[] params, float[] x, int rows, float[] out) {
    checkRows(rows);
    backend.multiply(x, rows, dimension, params, logits);
    float bias = params[dimension];
    for (int r = 0; r < rows; r++) {
      out[r] = sigmoid(logits[r] + bias);
    }
  }

  /**
   * One SGD step on a batch.
   *
   * @return the batch's weighted mean log loss before the step
   */
  public double step(
      Backend backend,
      float[] params,
      float[] x,
      float[] y,
      float[] weight,
      int rows,
      double learningRate,
      double l2) {
    checkRows(rows);
    backend.multiply(x, rows, dimension, params, logits);
    float bias = params[dimension];
    double weightSum = 0;
    for (int r = 0; r < rows; r++) {
      weightSum += weight[r];
    }
    if (weightSum <= 0) {
      return 0;
    }
    double loss = 0;
    double biasGradient = 0;
    for (int r = 0; r < rows; r++) {
      double z = logits[r] + bias;
      double p = sigmoid(z);
      loss += weight[r] * logLoss(z, y[r]);
      double scaled = (p - y[r]) * weight[r] / weightSum;
      residual[r] = (float) scaled;
      biasGradient += scaled;
    }
    backend.multiplyTransposed(x, rows, dimension, residual, gradient);
    for (int i = 0; i < dimension; i++) {
      params[i] -= (float) (learningRate * (gradient[i] + l2 * params[i]));
    }
    params[dimension] -= (float) (learningRate * biasGradient);
    return loss / weightSum;
  }

  public static float sigmoid(double z) {
    return (float) (z >= 0 ? 1.0 / (1.0 + Math.exp(-z)) : Math.exp(z) / (1.0 + Math.exp(z)));
  }

  /** Cross-entropy of label y in {0,1} for logit z, computed without overflow. */
  public static double logLoss(double z, double y) {
    // log(1 + exp(z)) - y z
    double softplus = z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
    return softplus - y * z;
  }

  private void checkRows(int rows) {
    if (rows < 0 || rows > maxBatch) {
      throw new IllegalArgumentException(
          "batch of " + rows + " rows; this model holds at most " + maxBatch);
    }
  }
}
