package dev.streamlearn.core.model;

/** Hidden-layer activations; each derivative is written in terms of the activation's output. */
public enum Activation {
  RELU,
  TANH,
  SIGMOID;

  public double apply(double z) {
    return switch (this) {
      case RELU -> z > 0 ? z : 0;
      case TANH -> Math.tanh(z);
      case SIGMOID -> sigmoid(z);
    };
  }

  /** d activation / dz, from the activation's output {@code a}. */
  public double derivativeFromOutput(double a) {
    return switch (this) {
      case RELU -> a > 0 ? 1 : 0;
      case TANH -> 1 - a * a;
      case SIGMOID -> a * (1 - a);
    };
  }

  public static double sigmoid(double z) {
    return z >= 0 ? 1.0 / (1.0 + Math.exp(-z)) : Math.exp(z) / (1.0 + Math.exp(z));
  }
}
