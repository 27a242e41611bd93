package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.streamlearn.core.optim.LearningRateSchedule;
import dev.streamlearn.core.optim.Optimizer;
import dev.streamlearn.core.optim.OptimizerSettings;
import org.junit.jupiter.api.Test;

class OptimizerTest {

  private static OptimizerSettings settings(String type, double momentum, boolean nesterov) {
    return new OptimizerSettings(type, momentum, nesterov, 0.9, 0.999, 1e-8, 0, 0, 0, 0);
  }

  @Test
  void firstStepsMatchTheirDefinitions() {
    boolean[] weights = {true, false};
    // Plain SGD: w - lr g.
    float[] params = {1f, 2f};
    new Optimizer(settings("sgd", 0, false), weights)
        .apply(params, new float[] {0.5f, -1f}, new float[0][], 1, 0.1);
    assertThat(params).containsExactly(0.95f, 2.1f);

    // Momentum: v = mu v + g; two steps with g = 1: v1 = 1, v2 = 1.9.
    params = new float[] {0f, 0f};
    float[][] slots = {new float[2]};
    Optimizer momentum = new Optimizer(settings("sgd", 0.9, false), weights);
    momentum.apply(params, new float[] {1f, 1f}, slots, 1, 0.1);
    momentum.apply(params, new float[] {1f, 1f}, slots, 2, 0.1);
    assertThat((double) params[0]).isCloseTo(-0.29, within(1e-6));

    // Nesterov: step uses g + mu v: first step 1 + 0.9 = 1.9.
    params = new float[] {0f, 0f};
    new Optimizer(settings("sgd", 0.9, true), weights)
        .apply(params, new float[] {1f, 1f}, new float[][] {new float[2]}, 1, 0.1);
    assertThat((double) params[0]).isCloseTo(-0.19, within(1e-6));

    // Adam's first step moves by lr * sign(g), whatever the gradient's size.
    params = new float[] {0f, 0f};
    new Optimizer(settings("adam", 0, false), weights)
        .apply(
            params,
            new float[] {123f, -0.001f},
            new float[][] {new float[2], new float[2]},
            1,
            0.01);
    assertThat((double) params[0]).isCloseTo(-0.01, within(1e-6));
    assertThat((double) params[1]).isCloseTo(0.01, within(1e-5));

    // AdaGrad's first step: lr g / |g| as well.
    params = new float[] {0f, 0f};
    new Optimizer(settings("adagrad", 0, false), weights)
        .apply(params, new float[] {4f, 4f}, new float[][] {new float[2]}, 1, 0.5);
    assertThat((double) params[0]).isCloseTo(-0.5, within(1e-6));

    // RMSprop's first step: lr g / sqrt((1 - rho) g^2).
    params = new float[] {0f, 0f};
    new Optimizer(settings("rmsprop", 0, false), weights)
        .apply(params, new float[] {2f, 2f}, new float[][] {new float[2]}, 1, 0.01);
    assertThat((double) params[0]).isCloseTo(-0.01 / Math.sqrt(0.001), within(1e-4));
  }

  @Test
  void regularizesWeightsNotBiases() {
    boolean[] weights = {true, false};
    float[] params = {1f, 1f};
    OptimizerSettings decay =
        new OptimizerSettings("adamw", 0, false, 0.9, 0.999, 1e-8, 0, 0, 0.5, 0);
    new Optimizer(decay, weights)
        .apply(params, new float[] {0f, 0f}, new float[][] {new float[2], new float[2]}, 1, 0.1);
    assertThat((double) params[0]).isCloseTo(0.95, within(1e-6));
    assertThat(params[1]).isEqualTo(1f);

    params = new float[] {2f, 2f};
    OptimizerSettings l1l2 =
        new OptimizerSettings("sgd", 0, false, 0.9, 0.999, 1e-8, 0.1, 0.5, 0, 0);
    new Optimizer(l1l2, weights).apply(params, new float[] {0f, 0f}, new float[0][], 1, 0.1);
    assertThat((double) params[0]).isCloseTo(2 - 0.1 * (0.5 * 2 + 0.1), within(1e-6));
    assertThat(params[1]).isEqualTo(2f);
  }

  @Test
  void clipsGradientByGlobalNorm() {
    float[] params = {0f, 0f};
    OptimizerSettings clipped =
        new OptimizerSettings("sgd", 0, false, 0.9, 0.999, 1e-8, 0, 0, 0, 1.0);
    double norm =
        new Optimizer(clipped, new boolean[] {true, true})
            .apply(params, new float[] {3f, 4f}, new float[0][], 1, 1.0);
    assertThat(norm).isEqualTo(5.0);
    assertThat((double) params[0]).isCloseTo(-0.6, within(1e-6));
    assertThat((double) params[1]).isCloseTo(-0.8, within(1e-6));
  }

  @Test
  void everyOptimizerMinimizesAQuadratic() {
    for (String type : OptimizerSettings.TYPES) {
      float[] params = {3f, -2f};
      float[][] slots = {new float[2], new float[2]};
      Optimizer optimizer =
          new Optimizer(
              settings(type, type.equals("sgd") ? 0.5 : 0, false), new boolean[] {true, true});
      for (int step = 1; step <= 2000; step++) {
        optimizer.apply(
            params,
            new float[] {2 * params[0], 8 * params[1]},
            slots,
            step,
            type.equals("adagrad") ? 0.5 : 0.01);
      }
      assertThat(Math.abs(params[0]) + Math.abs(params[1])).as(type).isLessThan(0.05f);
    }
  }

  @Test
  void schedulesFollowTheirFormulas() {
    assertThat(new LearningRateSchedule("step", 1.0, 10, 0.5, 1, 0, 0).rate(21)).isEqualTo(0.25);
    assertThat(new LearningRateSchedule("exponential", 1.0, 1, 0.9, 1, 0, 0).rate(3))
        .isCloseTo(0.81, within(1e-12));
    LearningRateSchedule cosine = new LearningRateSchedule("cosine", 1.0, 1, 1, 100, 0.1, 0);
    assertThat(cosine.rate(1)).isEqualTo(1.0);
    assertThat(cosine.rate(51)).isCloseTo(0.55, within(1e-12));
    assertThat(cosine.rate(101)).isCloseTo(0.1, within(1e-12));
    LearningRateSchedule warm = new LearningRateSchedule("constant", 0.2, 1, 1, 1, 0, 4);
    assertThat(warm.rate(1)).isCloseTo(0.05, within(1e-12));
    assertThat(warm.rate(4)).isCloseTo(0.2, within(1e-12));
    assertThat(warm.rate(5)).isCloseTo(0.2, within(1e-12));
  }
}
