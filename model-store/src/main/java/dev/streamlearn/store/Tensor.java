package dev.streamlearn.store;

import java.util.Arrays;

/** A named float32 tensor, row-major. */
public record Tensor(String name, long[] shape, float[] data) {

  public Tensor {
    long count = 1;
    for (long dimension : shape) {
      count *= dimension;
    }
    if (count != data.length) {
      throw new IllegalArgumentException(
          "tensor "
              + name
              + " has shape "
              + Arrays.toString(shape)
              + " but "
              + data.length
              + " values");
    }
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof Tensor that
        && name.equals(that.name)
        && Arrays.equals(shape, that.shape)
        && Arrays.equals(data, that.data);
  }

  @Override
  public int hashCode() {
    return 31 * name.hashCode() + Arrays.hashCode(data);
  }

  @Override
  public String toString() {
    return "Tensor[" + name + " " + Arrays.toString(shape) + "]";
  }
}
