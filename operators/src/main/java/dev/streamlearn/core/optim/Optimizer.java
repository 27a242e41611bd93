package dev.streamlearn.core.optim;

/**
 * Applies one update to a flat parameter array in place: gradient clipping by global norm, L1 and
 * L2 penalties and decoupled weight decay on weights (not biases), then SGD (with momentum or
 * Nesterov), Adam, AdamW, RMSprop or AdaGrad. The optimizer's per-parameter state ({@link
 * OptimizerSettings#slots()} arrays) and step count belong to the caller.
 */
public final class Optimizer {

  private final OptimizerSettings settings;
  private final boolean[] isWeight;

  public Optimizer(OptimizerSettings settings, boolean[] isWeight) {
    this.settings = settings;
    this.isWeight = isWeight;
  }

  public OptimizerSettings settings() {
    return settings;
  }

  /**
   * @param step the 1-based number of this update (Adam's bias correction)
   * @return the gradient's global L2 norm before clipping
   */
  public double apply(
      float[] params, float[] gradient, float[][] slots, long step, double learningRate) {
    double norm = 0;
    for (float g : gradient) {
      norm += (double) g * g;
    }
    norm = Math.sqrt(norm);
    double clip =
        settings.clipNorm() > 0 && norm > settings.clipNorm() ? settings.clipNorm() / norm : 1.0;
    double beta1 = settings.beta1();
    double beta2 = settings.beta2();
    double epsilon = settings.epsilon();
    double correction1 = 1 - Math.pow(beta1, step);
    double correction2 = 1 - Math.pow(beta2, step);
    String type = settings.type();
    for (int i = 0; i < params.length; i++) {
      double w = params[i];
      double g = gradient[i] * clip;
      if (isWeight[i]) {
        g += settings.l2() * w + settings.l1() * Math.signum(w);
        if (settings.weightDecay() > 0 && !type.equals("adam")) {
          w -= learningRate * settings.weightDecay() * w;
        }
      }
      switch (type) {
        case "sgd" -> {
          if (settings.momentum() > 0) {
            double velocity = settings.momentum() * slots[0][i] + g;
            slots[0][i] = (float) velocity;
            g = settings.nesterov() ? g + settings.momentum() * velocity : velocity;
          }
          w -= learningRate * g;
        }
        case "adam", "adamw" -> {
          if (type.equals("adam") && isWeight[i] && settings.weightDecay() > 0) {
            g += settings.weightDecay() * w;
          }
          double m = beta1 * slots[0][i] + (1 - beta1) * g;
          double v = beta2 * slots[1][i] + (1 - beta2) * g * g;
          slots[0][i] = (float) m;
          slots[1][i] = (float) v;
          w -= learningRate * (m / correction1) / (Math.sqrt(v / correction2) + epsilon);
        }
        case "rmsprop" -> {
          double v = beta2 * slots[0][i] + (1 - beta2) * g * g;
          slots[0][i] = (float) v;
          w -= learningRate * g / (Math.sqrt(v) + epsilon);
        }
        case "adagrad" -> {
          double v = slots[0][i] + g * g;
          slots[0][i] = (float) v;
          w -= learningRate * g / (Math.sqrt(v) + epsilon);
        }
        default -> throw new IllegalStateException("optimizer " + type);
      }
      params[i] = (float) w;
    }
    return norm;
  }
}
