package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.model.NetworkShape;
import dev.streamlearn.core.model.ReferenceNetwork;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Analytic gradients of every model x loss equal central finite differences in float64. */
class GradientCheckTest {

  @Test
  void analyticGradientsMatchFiniteDifferences() {
    Random random = new Random(1);
    for (NetworkShape shape : NetworkCases.all(0)) {
      ReferenceNetwork network = new ReferenceNetwork(shape);
      NetworkCases.Batch batch = NetworkCases.batch(shape, 6, random);
      double[][] x = batch.xRows(shape.inputs());
      double[] y = batch.yDouble();
      double[] weight = batch.weightDouble();
      double[] params = new double[shape.parameterCount()];
      for (int i = 0; i < params.length; i++) {
        params[i] = random.nextGaussian() * 0.5;
      }
      double[] analytic = new double[params.length];
      network.lossAndGradient(params, x, y, weight, null, analytic);
      double h = 1e-5;
      double worst = 0;
      for (int i = 0; i < params.length; i++) {
        double saved = params[i];
        params[i] = saved + h;
        double plus =
            network.lossAndGradient(params, x, y, weight, null, new double[params.length]);
        params[i] = saved - h;
        double minus =
            network.lossAndGradient(params, x, y, weight, null, new double[params.length]);
        params[i] = saved;
        double numeric = (plus - minus) / (2 * h);
        double error =
            Math.abs(numeric - analytic[i])
                / Math.max(1e-7, Math.abs(numeric) + Math.abs(analytic[i]));
        worst = Math.max(worst, error);
      }
      assertThat(worst).as("relative gradient error of %s", shape).isLessThan(1e-6);
    }
  }
}
