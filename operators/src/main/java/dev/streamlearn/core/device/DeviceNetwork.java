package dev.streamlearn.core.device;

import dev.streamlearn.core.device.DeviceOps.Buffer;
import dev.streamlearn.core.device.DeviceOps.OptimizerStep;
import dev.streamlearn.core.model.NetworkShape;
import dev.streamlearn.core.model.SplitMix64;
import dev.streamlearn.core.optim.OptimizerSettings;
import java.util.ArrayList;
import java.util.List;

/**
 * The training step of {@link dev.streamlearn.core.model.Network} and {@link
 * dev.streamlearn.core.optim.Optimizer} on a device: parameters, gradient and optimizer state live
 * in device memory between steps; a step copies in only the batch and runs forward, backward, the
 * global-norm reduction and the fused optimizer update there. The caller moves parameters and
 * optimizer state between host arrays and the device with {@link #upload} and {@link #download}.
 * Dropout masks come from the same SplitMix64 sequence as on the CPU, element for element.
 */
public final class DeviceNetwork implements AutoCloseable {

  private final NetworkShape shape;
  private final OptimizerSettings settings;
  private final DeviceOps ops;
  private final int maxBatch;
  private final int parameterCount;

  private final Buffer params;
  private final Buffer gradient;
  private final Buffer moment1;
  private final Buffer moment2;
  private final Buffer isWeight;
  private final Buffer x;
  private final Buffer y;
  private final Buffer weight;

  /** activations[i]: rows x width(i) for 1 <= i < layers; logits for the last layer. */
  private final Buffer[] activations;

  private final Buffer[] masks;
  private final Buffer logits;
  private final Buffer out;
  private final Buffer delta;
  private final Buffer previousDelta;
  private final Buffer rowLoss;

  /** [0]: the batch's loss, [1]: the gradient's sum of squares. */
  private final Buffer scalars;

  private final float[] scalarsHost = new float[2];

  /** Every buffer this network allocated, freed by {@link #close}. */
  private final List<Buffer> owned = new ArrayList<>();

  /** Whether the last step's rows had any weight (else its loss is 0 and was not computed). */
  private boolean lastStepWeighted;

  public DeviceNetwork(
      NetworkShape shape, OptimizerSettings settings, DeviceOps ops, int maxBatch) {
    this.shape = shape;
    this.settings = settings;
    this.ops = ops;
    this.maxBatch = maxBatch;
    this.parameterCount = shape.parameterCount();
    try {
      int layers = shape.layers();
      params = own(parameterCount);
      gradient = own(parameterCount);
      moment1 = own(Math.max(1, settings.slots() >= 1 ? parameterCount : 0));
      moment2 = own(Math.max(1, settings.slots() >= 2 ? parameterCount : 0));
      isWeight = own(parameterCount);
      boolean[] mask = shape.weightMask();
      float[] maskValues = new float[parameterCount];
      for (int i = 0; i < parameterCount; i++) {
        maskValues[i] = mask[i] ? 1f : 0f;
      }
      ops.upload(maskValues, 0, isWeight, 0, parameterCount);
      x = own((long) maxBatch * shape.inputs());
      y = own(maxBatch);
      weight = own(maxBatch);
      activations = new Buffer[layers];
      masks = new Buffer[layers];
      for (int i = 1; i < layers; i++) {
        activations[i] = own((long) maxBatch * shape.width(i));
        masks[i] = shape.dropout() > 0 ? own((long) maxBatch * shape.width(i)) : null;
      }
      logits = own((long) maxBatch * shape.outputs());
      out = own((long) maxBatch * shape.outputs());
      delta = own((long) maxBatch * shape.maxWidth());
      previousDelta = own((long) maxBatch * shape.maxWidth());
      rowLoss = own(maxBatch);
      scalars = own(2);
    } catch (RuntimeException e) {
      // A device without room for the network (or another failure half way): give back what was
      // taken, so that the caller can go on without it.
      close();
      throw e;
    }
  }

  private Buffer own(long length) {
    Buffer buffer = ops.allocate(length);
    owned.add(buffer);
    return buffer;
  }

  public NetworkShape shape() {
    return shape;
  }

  public DeviceOps ops() {
    return ops;
  }

  /** Copies parameters and the optimizer's state (arrays of length 0 when unused) to the device. */
  public void upload(float[] parameters, float[] firstMoment, float[] secondMoment) {
    ops.upload(parameters, 0, params, 0, parameterCount);
    if (firstMoment.length > 0) {
      ops.upload(firstMoment, 0, moment1, 0, parameterCount);
    }
    if (secondMoment.length > 0) {
      ops.upload(secondMoment, 0, moment2, 0, parameterCount);
    }
  }

  /** Copies parameters and the optimizer's state back into host arrays. */
  public void download(float[] parameters, float[] firstMoment, float[] secondMoment) {
    ops.download(params, 0, parameters, 0, parameterCount);
    if (firstMoment.length > 0) {
      ops.download(moment1, 0, firstMoment, 0, parameterCount);
    }
    if (secondMoment.length > 0) {
      ops.download(moment2, 0, secondMoment, 0, parameterCount);
    }
  }

  /**
   * One mini-batch step on the device-resident parameters: the gradient of the weighted mean loss,
   * then the optimizer's update with {@code learningRate}. Returns the batch's loss, once the step
   * is done; {@code random} advances past the dropout draws, as on the CPU.
   *
   * @param optimizerStep the 1-based number of this update (Adam's bias correction)
   */
  public double step(
      float[] batchX,
      float[] batchY,
      float[] batchWeight,
      int rows,
      SplitMix64 random,
      long optimizerStep,
      double learningRate) {
    queueStep(batchX, batchY, batchWeight, rows, random, optimizerStep, learningRate);
    return lastLoss();
  }

  /**
   * {@link #step} without waiting for it: the batch is copied (the arrays may be reused once this
   * returns) and the step queued on the device, where it runs while the host goes on. {@link
   * #lastLoss} waits for it.
   */
  public void queueStep(
      float[] batchX,
      float[] batchY,
      float[] batchWeight,
      int rows,
      SplitMix64 random,
      long optimizerStep,
      double learningRate) {
    checkRows(rows);
    double weightSum = 0;
    for (int r = 0; r < rows; r++) {
      weightSum += batchWeight[r];
    }
    lastStepWeighted = weightSum > 0;
    if (weightSum > 0) {
      ops.upload(batchX, 0, x, 0, rows * shape.inputs());
      ops.upload(batchY, 0, y, 0, rows);
      ops.upload(batchWeight, 0, weight, 0, rows);
      forward(rows, shape.dropout() > 0 ? random : null);
      ops.outputLoss(
          logits,
          out,
          delta,
          y,
          weight,
          (float) (1 / weightSum),
          rows,
          shape.outputs(),
          lossCode(),
          (float) shape.huberDelta(),
          rowLoss);
      ops.sum(rowLoss, 0, rows, false, scalars, 0);
      backward(rows);
    } else {
      ops.zero(gradient, 0, parameterCount);
      ops.zero(scalars, 0, 1);
    }
    ops.sum(gradient, 0, parameterCount, true, scalars, 1);
    ops.optimizerUpdate(
        params,
        gradient,
        moment1,
        moment2,
        isWeight,
        parameterCount,
        optimizerStep(optimizerStep, learningRate),
        scalars,
        1);
  }

  /**
   * The loss of the last step (0 when its rows weighed nothing), waiting for the step to finish.
   */
  public double lastLoss() {
    if (!lastStepWeighted) {
      return 0;
    }
    ops.download(scalars, 0, scalarsHost, 0, 1);
    return scalarsHost[0];
  }

  /** Predictions for {@code rows} inputs from the device-resident parameters (no dropout). */
  public void predict(float[] batchX, int rows, float[] predictions) {
    checkRows(rows);
    ops.upload(batchX, 0, x, 0, rows * shape.inputs());
    forward(rows, null);
    ops.outputOnly(logits, out, rows, shape.outputs(), outputCode());
    ops.download(out, 0, predictions, 0, rows * shape.outputs());
  }

  private void checkRows(int rows) {
    if (rows < 0 || rows > maxBatch) {
      throw new IllegalArgumentException(
          "batch of " + rows + " rows; this network holds at most " + maxBatch);
    }
  }

  private void forward(int rows, SplitMix64 random) {
    int layers = shape.layers();
    for (int l = 0; l < layers; l++) {
      int in = shape.width(l);
      int width = shape.width(l + 1);
      Buffer input = l == 0 ? x : activations[l];
      boolean last = l == layers - 1;
      Buffer target = last ? logits : activations[l + 1];
      ops.gemm(
          false, false, rows, width, in, input, 0, params, shape.weightOffset(l), 0f, target, 0);
      double keep = !last && random != null ? 1 - shape.dropout() : 1;
      long seed = random == null ? 0 : random.state();
      ops.biasActivation(
          target,
          params,
          shape.biasOffset(l),
          rows,
          width,
          last ? DeviceOps.ACT_NONE : activationCode(),
          keep,
          seed,
          last ? null : masks[l + 1]);
      if (keep < 1) {
        random.skip((long) rows * width);
      }
    }
  }

  private void backward(int rows) {
    boolean dropout = shape.dropout() > 0;
    for (int l = shape.layers() - 1; l >= 0; l--) {
      int in = shape.width(l);
      int width = shape.width(l + 1);
      Buffer input = l == 0 ? x : activations[l];
      ops.gemm(
          true, false, in, width, rows, input, 0, delta, 0, 0f, gradient, shape.weightOffset(l));
      ops.columnSums(delta, rows, width, gradient, shape.biasOffset(l));
      if (l > 0) {
        ops.gemm(
            false,
            true,
            rows,
            in,
            width,
            delta,
            0,
            params,
            shape.weightOffset(l),
            0f,
            previousDelta,
            0);
        ops.activationBackward(
            previousDelta,
            activations[l],
            masks[l],
            delta,
            (long) rows * in,
            activationCode(),
            dropout);
      }
    }
  }

  /** The {@code optimizer_update} kernel's number for an optimizer's name. */
  public static int optimizerType(String name) {
    return switch (name) {
      case "sgd" -> DeviceOps.OPT_SGD;
      case "adam" -> DeviceOps.OPT_ADAM;
      case "adamw" -> DeviceOps.OPT_ADAMW;
      case "rmsprop" -> DeviceOps.OPT_RMSPROP;
      case "adagrad" -> DeviceOps.OPT_ADAGRAD;
      default -> throw new IllegalStateException("optimizer " + name);
    };
  }

  private OptimizerStep optimizerStep(long step, double learningRate) {
    double beta1 = settings.beta1();
    double beta2 = settings.beta2();
    return new OptimizerStep(
        optimizerType(settings.type()),
        (float) learningRate,
        (float) settings.momentum(),
        settings.nesterov(),
        (float) beta1,
        (float) beta2,
        (float) settings.epsilon(),
        (float) settings.l1(),
        (float) settings.l2(),
        (float) settings.weightDecay(),
        (float) (1 - Math.pow(beta1, step)),
        (float) (1 - Math.pow(beta2, step)),
        (float) settings.clipNorm());
  }

  private int activationCode() {
    return switch (shape.activation()) {
      case RELU -> DeviceOps.ACT_RELU;
      case TANH -> DeviceOps.ACT_TANH;
      case SIGMOID -> DeviceOps.ACT_SIGMOID;
    };
  }

  private int lossCode() {
    return switch (shape.loss()) {
      case BINARY_CROSS_ENTROPY -> DeviceOps.LOSS_BCE;
      case CROSS_ENTROPY -> DeviceOps.LOSS_CE;
      case MSE -> DeviceOps.LOSS_MSE;
      case HUBER -> DeviceOps.LOSS_HUBER;
    };
  }

  private int outputCode() {
    return switch (shape.output()) {
      case IDENTITY -> DeviceOps.OUTPUT_IDENTITY;
      case SIGMOID -> DeviceOps.OUTPUT_SIGMOID;
      case SOFTMAX -> DeviceOps.OUTPUT_SOFTMAX;
    };
  }

  @Override
  public void close() {
    for (Buffer buffer : owned) {
      ops.free(buffer);
    }
    owned.clear();
  }
}
