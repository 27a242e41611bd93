package dev.streamlearn.core.model;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The architecture of a feed-forward network and where each tensor sits in the flat parameter
 * array. Logistic, softmax and linear regression are the networks without hidden layers. Tensors:
 * {@code layers.<l>.weight} [in, out] row-major, then {@code layers.<l>.bias} [out].
 */
public record NetworkShape(
    int inputs,
    int[] hidden,
    Activation activation,
    double dropout,
    int outputs,
    Loss loss,
    double huberDelta)
    implements Serializable {

  public NetworkShape {
    if (inputs < 1 || outputs < 1) {
      throw new IllegalArgumentException("a network needs at least one input and one output");
    }
    if (loss == Loss.BINARY_CROSS_ENTROPY && outputs != 1
        || loss == Loss.CROSS_ENTROPY && outputs < 2) {
      throw new IllegalArgumentException(loss + " does not fit " + outputs + " outputs");
    }
    hidden = hidden.clone();
  }

  public int layers() {
    return hidden.length + 1;
  }

  /** Width of layer boundary {@code i}: 0 is the input, {@code layers()} the output. */
  public int width(int i) {
    return i == 0 ? inputs : i <= hidden.length ? hidden[i - 1] : outputs;
  }

  public int weightOffset(int layer) {
    int offset = 0;
    for (int l = 0; l < layer; l++) {
      offset += (width(l) + 1) * width(l + 1);
    }
    return offset;
  }

  public int biasOffset(int layer) {
    return weightOffset(layer) + width(layer) * width(layer + 1);
  }

  public int parameterCount() {
    return weightOffset(layers());
  }

  public Output output() {
    return loss.output();
  }

  /** Widest layer boundary, for workspace sizing. */
  public int maxWidth() {
    int widest = 0;
    for (int i = 0; i <= layers(); i++) {
      widest = Math.max(widest, width(i));
    }
    return widest;
  }

  /** Marks which parameters are weights (regularized) rather than biases. */
  public boolean[] weightMask() {
    boolean[] mask = new boolean[parameterCount()];
    for (int l = 0; l < layers(); l++) {
      Arrays.fill(mask, weightOffset(l), biasOffset(l), true);
    }
    return mask;
  }

  /** Tensor names with their shapes, in parameter order. */
  public List<TensorSlot> tensors() {
    List<TensorSlot> slots = new ArrayList<>();
    for (int l = 0; l < layers(); l++) {
      slots.add(
          new TensorSlot(
              "layers." + l + ".weight", new long[] {width(l), width(l + 1)}, weightOffset(l)));
      slots.add(new TensorSlot("layers." + l + ".bias", new long[] {width(l + 1)}, biasOffset(l)));
    }
    return slots;
  }

  /** One named tensor's place in the flat parameter array. */
  public record TensorSlot(String name, long[] shape, int offset) {
    public int size() {
      long size = 1;
      for (long dimension : shape) {
        size *= dimension;
      }
      return (int) size;
    }
  }

  /**
   * Initial parameters: zeros for a network without hidden layers (the problem is convex), else He
   * (ReLU) or Xavier (tanh, sigmoid) normal weights from {@code seed} and zero biases.
   */
  public float[] initialParameters(long seed) {
    float[] params = new float[parameterCount()];
    if (hidden.length == 0) {
      return params;
    }
    SplitMix64 random = new SplitMix64(seed);
    for (int l = 0; l < layers(); l++) {
      int in = width(l);
      int out = width(l + 1);
      boolean he = l < hidden.length && activation == Activation.RELU;
      double std = he ? Math.sqrt(2.0 / in) : Math.sqrt(2.0 / (in + out));
      int offset = weightOffset(l);
      for (int i = 0; i < in * out; i++) {
        params[offset + i] = (float) (random.nextGaussian() * std);
      }
    }
    return params;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof NetworkShape that
        && inputs == that.inputs
        && Arrays.equals(hidden, that.hidden)
        && activation == that.activation
        && dropout == that.dropout
        && outputs == that.outputs
        && loss == that.loss
        && huberDelta == that.huberDelta;
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(hidden) * 31 + inputs * 17 + outputs;
  }

  @Override
  public String toString() {
    return "NetworkShape["
        + inputs
        + " -> "
        + Arrays.toString(hidden)
        + " "
        + activation
        + " dropout "
        + dropout
        + " -> "
        + outputs
        + " "
        + loss
        + "]";
  }
}
