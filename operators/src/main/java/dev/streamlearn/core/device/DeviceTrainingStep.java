package dev.streamlearn.core.device;

import dev.streamlearn.core.model.NetworkShape;
import dev.streamlearn.core.model.SplitMix64;
import dev.streamlearn.core.optim.OptimizerSettings;
import java.util.function.DoubleConsumer;

/**
 * The trainer's step on a device. Parameters and optimizer state stay on the device from one step
 * to the next while the trainer hands in the same host arrays (it is <em>bound</em> to them); other
 * arrays (a restored state, a promoted challenger, another key) are uploaded first, after the
 * arrays bound so far have been brought up to date.
 *
 * <p>A step is queued on the device and not waited for: the host prepares the next batch while it
 * runs. Its loss and the parameters stay on the device, ahead of the bound host arrays, until
 * {@link #sync} copies them back (before a validation, a snapshot, or a change on the host); {@link
 * #predictIfHolding} scores with the parameters where they are. For the MLP of the GPU benchmark
 * (25 M parameters, Adam) that is 300 MB a step not copied.
 */
public final class DeviceTrainingStep implements AutoCloseable {

  private final DeviceNetwork network;
  private float[] boundParams;
  private float[] boundFirst;
  private float[] boundSecond;

  /** The device holds newer parameters and optimizer state than the bound host arrays. */
  private boolean ahead;

  private boolean closed;

  /** Receives the loss of the last step, at the next {@link #sync}; null when none is due. */
  private DoubleConsumer pendingLoss;

  public DeviceTrainingStep(
      NetworkShape shape, OptimizerSettings settings, DeviceOps ops, int maxBatch) {
    this.network = new DeviceNetwork(shape, settings, ops, maxBatch);
  }

  /**
   * Queues one step of the parameters in {@code params} (and the optimizer state in the moments) on
   * the batch; {@code loss} receives its loss at the next {@link #sync} (null: not wanted).
   */
  public void step(
      float[] params,
      float[] firstMoment,
      float[] secondMoment,
      float[] x,
      float[] y,
      float[] weight,
      int rows,
      SplitMix64 random,
      long optimizerStep,
      double learningRate,
      DoubleConsumer loss) {
    checkOpen();
    if (params != boundParams || firstMoment != boundFirst || secondMoment != boundSecond) {
      sync();
      network.upload(params, firstMoment, secondMoment);
      boundParams = params;
      boundFirst = firstMoment;
      boundSecond = secondMoment;
    }
    network.queueStep(x, y, weight, rows, random, optimizerStep, learningRate);
    ahead = true;
    pendingLoss = loss;
  }

  /**
   * Predictions for {@code rows} inputs (at most the step's batch) by the parameters on the device,
   * when it holds {@code params} (is bound to them): returns true. Otherwise does nothing and
   * returns false; the host arrays are then current.
   */
  public boolean predictIfHolding(float[] params, float[] x, int rows, float[] predictions) {
    if (closed || params != boundParams) {
      return false;
    }
    network.predict(x, rows, predictions);
    return true;
  }

  /**
   * Brings the bound parameter and optimizer-state arrays up to date with the device, and hands the
   * last step's loss to its receiver.
   */
  public void sync() {
    if (pendingLoss != null) {
      checkOpen();
      DoubleConsumer receiver = pendingLoss;
      pendingLoss = null;
      receiver.accept(network.lastLoss());
    }
    if (ahead) {
      checkOpen();
      network.download(boundParams, boundFirst, boundSecond);
      ahead = false;
    }
  }

  /**
   * The host arrays were changed in place: upload them before the next step. They must have been
   * {@link #sync synced} before the change, or the device's newer values would be lost.
   */
  public void hostChanged() {
    if (ahead || pendingLoss != null) {
      throw new IllegalStateException(
          "host arrays changed while the device was ahead of them: sync() before changing them");
    }
    boundParams = null;
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("the device step was closed; its device memory is released");
    }
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      network.close();
    }
  }
}
