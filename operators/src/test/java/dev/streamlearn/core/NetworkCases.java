package dev.streamlearn.core;

import dev.streamlearn.core.model.Activation;
import dev.streamlearn.core.model.Loss;
import dev.streamlearn.core.model.NetworkShape;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Every model x loss the trainer builds, and random batches that fit them. */
final class NetworkCases {

  static List<NetworkShape> all(double dropout) {
    List<NetworkShape> shapes = new ArrayList<>();
    int inputs = 5;
    shapes.add(
        new NetworkShape(
            inputs, new int[0], Activation.RELU, 0, 1, Loss.BINARY_CROSS_ENTROPY, 1)); // logistic
    shapes.add(
        new NetworkShape(
            inputs, new int[0], Activation.RELU, 0, 4, Loss.CROSS_ENTROPY, 1)); // softmax
    shapes.add(new NetworkShape(inputs, new int[0], Activation.RELU, 0, 1, Loss.MSE, 1)); // linear
    shapes.add(
        new NetworkShape(
            inputs, new int[0], Activation.RELU, 0, 1, Loss.HUBER, 0.5)); // linear, huber
    for (Activation activation : Activation.values()) {
      for (Loss loss : Loss.values()) {
        int outputs = loss == Loss.CROSS_ENTROPY ? 3 : 1;
        shapes.add(
            new NetworkShape(inputs, new int[] {7, 6}, activation, dropout, outputs, loss, 0.5));
      }
    }
    return shapes;
  }

  /** A batch: x (rows x inputs), labels fitting the loss, positive weights. */
  record Batch(float[] x, float[] y, float[] weight, int rows) {
    double[][] xRows(int inputs) {
      double[][] rowsOut = new double[rows][inputs];
      for (int r = 0; r < rows; r++) {
        for (int i = 0; i < inputs; i++) {
          rowsOut[r][i] = x[r * inputs + i];
        }
      }
      return rowsOut;
    }

    double[] yDouble() {
      double[] values = new double[rows];
      for (int r = 0; r < rows; r++) {
        values[r] = y[r];
      }
      return values;
    }

    double[] weightDouble() {
      double[] values = new double[rows];
      for (int r = 0; r < rows; r++) {
        values[r] = weight[r];
      }
      return values;
    }
  }

  static Batch batch(NetworkShape shape, int rows, Random random) {
    float[] x = dev.streamlearn.core.device.DeviceCheck.gaussians(random, rows * shape.inputs());
    float[] y = new float[rows];
    float[] weight = new float[rows];
    for (int r = 0; r < rows; r++) {
      y[r] =
          switch (shape.loss()) {
            case BINARY_CROSS_ENTROPY -> random.nextBoolean() ? 1 : 0;
            case CROSS_ENTROPY -> random.nextInt(shape.outputs());
            default -> (float) (random.nextGaussian() * 2);
          };
      weight[r] = 0.5f + random.nextFloat();
    }
    return new Batch(x, y, weight, rows);
  }

  static float[] randomParameters(NetworkShape shape, Random random) {
    float[] params = new float[shape.parameterCount()];
    for (int i = 0; i < params.length; i++) {
      params[i] = (float) (random.nextGaussian() * 0.5);
    }
    return params;
  }

  private NetworkCases() {}
}
