package dev.streamlearn.core.optim;

import java.io.Serializable;

/**
 * The learning rate at each step: constant, step (times {@code gamma} every {@code every} steps),
 * exponential ({@code gamma} per step), or cosine (from the base rate down to {@code minimum} over
 * {@code total} steps), each optionally preceded by a linear warm-up of {@code warmup} steps.
 */
public record LearningRateSchedule(
    String type, double base, long every, double gamma, long total, double minimum, long warmup)
    implements Serializable {

  public static final java.util.List<String> TYPES =
      java.util.List.of("constant", "step", "exponential", "cosine");

  public static LearningRateSchedule constant(double rate) {
    return new LearningRateSchedule("constant", rate, 1, 1, 1, 0, 0);
  }

  /** The rate for the 1-based step {@code step}. */
  public double rate(long step) {
    double rate =
        switch (type) {
          case "step" -> base * Math.pow(gamma, Math.floorDiv(step - 1, every));
          case "exponential" -> base * Math.pow(gamma, step - 1);
          case "cosine" -> {
            double progress = Math.min(1.0, (step - 1) / (double) Math.max(1, total));
            yield minimum + 0.5 * (base - minimum) * (1 + Math.cos(Math.PI * progress));
          }
          default -> base;
        };
    if (warmup > 0 && step <= warmup) {
      rate *= step / (double) warmup;
    }
    return rate;
  }
}
