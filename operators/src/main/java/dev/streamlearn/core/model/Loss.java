package dev.streamlearn.core.model;

/** Per-example losses on the last layer's pre-activations {@code z}. */
public enum Loss {
  /** With a sigmoid output: {@code log(1 + e^z) - y z}. */
  BINARY_CROSS_ENTROPY,
  /** With a softmax output: {@code logsumexp(z) - z_y}. */
  CROSS_ENTROPY,
  /** With an identity output: {@code (z - y)^2}. */
  MSE,
  /** With an identity output: quadratic within {@code delta} of the target, linear beyond. */
  HUBER;

  /** The output a loss works with. */
  public Output output() {
    return switch (this) {
      case BINARY_CROSS_ENTROPY -> Output.SIGMOID;
      case CROSS_ENTROPY -> Output.SOFTMAX;
      case MSE, HUBER -> Output.IDENTITY;
    };
  }

  public static double softplus(double z) {
    return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
  }
}
