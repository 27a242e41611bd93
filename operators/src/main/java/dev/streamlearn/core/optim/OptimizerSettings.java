package dev.streamlearn.core.optim;

import java.io.Serializable;

/**
 * How parameters move given their gradient.
 *
 * @param type sgd, adam, adamw, rmsprop or adagrad
 * @param momentum sgd: momentum coefficient (0 for plain SGD)
 * @param nesterov sgd: Nesterov momentum
 * @param beta1 adam/adamw: first-moment decay
 * @param beta2 adam/adamw: second-moment decay; rmsprop: the decay of the mean square
 * @param epsilon added to denominators
 * @param l1 L1 penalty on weights, added to the gradient
 * @param l2 L2 penalty on weights, added to the gradient (coupled)
 * @param weightDecay decoupled weight decay: weights shrink by {@code lr * weightDecay} each step
 * @param clipNorm gradients are scaled down to this global L2 norm when longer; 0 turns it off
 */
public record OptimizerSettings(
    String type,
    double momentum,
    boolean nesterov,
    double beta1,
    double beta2,
    double epsilon,
    double l1,
    double l2,
    double weightDecay,
    double clipNorm)
    implements Serializable {

  public static final java.util.List<String> TYPES =
      java.util.List.of("sgd", "adam", "adamw", "rmsprop", "adagrad");

  /** How many state slots per parameter the optimizer keeps. */
  public int slots() {
    return switch (type) {
      case "sgd" -> momentum > 0 ? 1 : 0;
      case "adam", "adamw" -> 2;
      default -> 1;
    };
  }

  public static OptimizerSettings sgd(double l2) {
    return new OptimizerSettings("sgd", 0, false, 0.9, 0.999, 1e-8, 0, l2, 0, 0);
  }
}
