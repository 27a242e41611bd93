package dev.streamlearn.core.device;

import dev.streamlearn.core.model.NetworkShape;
import dev.streamlearn.core.model.SplitMix64;
import dev.streamlearn.core.optim.OptimizerSettings;

/**
 * The trainer's step on a device. Parameters and optimizer state stay on the device from one step
 * to the next while the trainer hands in the same host arrays; other arrays (a restored state, a
 * promoted challenger, another key) are uploaded first. After each step they are copied back, so
 * the host arrays, which validation, publishing and Flink's snapshots read, are always current, and
 * a restore works on any backend, with or without a GPU.
 */
public final class DeviceTrainingStep implements AutoCloseable {

  private final DeviceNetwork network;
  private float[] boundParams;
  private float[] boundFirst;
  private float[] boundSecond;

  public DeviceTrainingStep(
      NetworkShape shape, OptimizerSettings settings, DeviceOps ops, int maxBatch) {
    this.network = new DeviceNetwork(shape, settings, ops, maxBatch);
  }

  public double step(
      float[] params,
      float[] firstMoment,
      float[] secondMoment,
      float[] x,
      float[] y,
      float[] weight,
      int rows,
      SplitMix64 random,
      long optimizerStep,
      double learningRate) {
    if (params != boundParams || firstMoment != boundFirst || secondMoment != boundSecond) {
      network.upload(params, firstMoment, secondMoment);
      boundParams = params;
      boundFirst = firstMoment;
      boundSecond = secondMoment;
    }
    double loss = network.step(x, y, weight, rows, random, optimizerStep, learningRate);
    network.download(params, firstMoment, secondMoment);
    return loss;
  }

  /** The host arrays were changed in place: upload them before the next step. */
  public void hostChanged() {
    boundParams = null;
  }

  @Override
  public void close() {
    network.close();
  }
}
