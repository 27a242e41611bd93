package dev.streamlearn.core.model;

/**
 * The same network as {@link Network}, written out plainly in float64 with no backend and no
 * workspaces: the oracle for gradient checks and for every backend: clarity over speed.
 */
public final class ReferenceNetwork {

  private final NetworkShape shape;

  public ReferenceNetwork(NetworkShape shape) {
    this.shape = shape;
  }

  /** Outputs for one row: probabilities or values. */
  public double[] predict(double[] params, double[] x) {
    return forward(params, x, null).output;
  }

  /**
   * Weighted mean loss over the rows and its gradient (added into {@code gradient}, which must
   * start at zero). Dropout masks come from {@code random} in the same order as {@link Network}
   * draws them.
   */
  public double lossAndGradient(
      double[] params,
      double[][] x,
      double[] y,
      double[] weight,
      SplitMix64 random,
      double[] gradient) {
    double weightSum = 0;
    for (double w : weight) {
      weightSum += w;
    }
    // Network draws all masks of a layer for the whole batch before the next layer, so do the same.
    int layers = shape.layers();
    double[][][] masks = new double[x.length][layers][];
    if (shape.dropout() > 0 && random != null) {
      for (int l = 1; l < layers; l++) {
        for (int r = 0; r < x.length; r++) {
          masks[r][l] = new double[shape.width(l)];
          for (int j = 0; j < shape.width(l); j++) {
            masks[r][l][j] =
                random.nextDouble() < 1 - shape.dropout() ? 1 / (1 - shape.dropout()) : 0;
          }
        }
      }
    }
    double loss = 0;
    for (int r = 0; r < x.length; r++) {
      double scale = weight[r] / weightSum;
      Pass pass = forward(params, x[r], masks[r]);
      double[] d = new double[shape.outputs()];
      loss += scale * outputLossAndDelta(pass, y[r], d);
      for (int j = 0; j < d.length; j++) {
        d[j] *= scale;
      }
      for (int l = layers - 1; l >= 0; l--) {
        int in = shape.width(l);
        int out = shape.width(l + 1);
        double[] input = pass.activations[l];
        for (int i = 0; i < in; i++) {
          for (int j = 0; j < out; j++) {
            gradient[shape.weightOffset(l) + i * out + j] += input[i] * d[j];
          }
        }
        for (int j = 0; j < out; j++) {
          gradient[shape.biasOffset(l) + j] += d[j];
        }
        if (l > 0) {
          double[] previous = new double[in];
          for (int i = 0; i < in; i++) {
            double sum = 0;
            for (int j = 0; j < out; j++) {
              sum += params[shape.weightOffset(l) + i * out + j] * d[j];
            }
            double mask = masks[r][l] == null ? 1 : masks[r][l][i];
            double unmasked = pass.preMask[l][i];
            previous[i] = sum * mask * shape.activation().derivativeFromOutput(unmasked);
          }
          d = previous;
        }
      }
    }
    return loss;
  }

  private double outputLossAndDelta(Pass pass, double y, double[] d) {
    double[] z = pass.logits;
    double[] p = pass.output;
    switch (shape.loss()) {
      case BINARY_CROSS_ENTROPY:
        d[0] = p[0] - y;
        return Loss.softplus(z[0]) - y * z[0];
      case CROSS_ENTROPY:
        double max = Double.NEGATIVE_INFINITY;
        for (double value : z) {
          max = Math.max(max, value);
        }
        double sum = 0;
        for (double value : z) {
          sum += Math.exp(value - max);
        }
        for (int j = 0; j < z.length; j++) {
          d[j] = p[j] - (j == (int) y ? 1 : 0);
        }
        return max + Math.log(sum) - z[(int) y];
      case MSE:
        d[0] = 2 * (z[0] - y);
        return (z[0] - y) * (z[0] - y);
      default:
        double residual = z[0] - y;
        double delta = shape.huberDelta();
        if (Math.abs(residual) <= delta) {
          d[0] = residual;
          return 0.5 * residual * residual;
        }
        d[0] = delta * Math.signum(residual);
        return delta * (Math.abs(residual) - 0.5 * delta);
    }
  }

  private static final class Pass {
    double[][] activations;
    double[][] preMask;
    double[] logits;
    double[] output;
  }

  private Pass forward(double[] params, double[] x, double[][] masks) {
    int layers = shape.layers();
    Pass pass = new Pass();
    pass.activations = new double[layers + 1][];
    pass.preMask = new double[layers + 1][];
    pass.activations[0] = x;
    for (int l = 0; l < layers; l++) {
      int in = shape.width(l);
      int out = shape.width(l + 1);
      double[] z = new double[out];
      for (int j = 0; j < out; j++) {
        double sum = params[shape.biasOffset(l) + j];
        for (int i = 0; i < in; i++) {
          sum += pass.activations[l][i] * params[shape.weightOffset(l) + i * out + j];
        }
        z[j] = sum;
      }
      if (l < layers - 1) {
        double[] a = new double[out];
        double[] pre = new double[out];
        for (int j = 0; j < out; j++) {
          pre[j] = shape.activation().apply(z[j]);
          a[j] = masks != null && masks[l + 1] != null ? pre[j] * masks[l + 1][j] : pre[j];
        }
        pass.preMask[l + 1] = pre;
        pass.activations[l + 1] = a;
      } else {
        pass.logits = z;
        pass.output = new double[out];
        switch (shape.output()) {
          case SIGMOID -> pass.output[0] = Activation.sigmoid(z[0]);
          case SOFTMAX -> {
            double max = Double.NEGATIVE_INFINITY;
            for (double value : z) {
              max = Math.max(max, value);
            }
            double sum = 0;
            for (double value : z) {
              sum += Math.exp(value - max);
            }
            for (int j = 0; j < out; j++) {
              pass.output[j] = Math.exp(z[j] - max) / sum;
            }
          }
          case IDENTITY -> System.arraycopy(z, 0, pass.output, 0, out);
        }
      }
    }
    return pass;
  }
}
