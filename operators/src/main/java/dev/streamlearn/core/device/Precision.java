package dev.streamlearn.core.device;

import java.util.List;

/**
 * Precision of a device's matrix products. Parameters, optimizer state and accumulation stay fp32
 * in every mode; tf32 and bf16 round the products' operands (tensor cores), fp32 does not.
 */
public enum Precision {
  FP32,
  TF32,
  BF16;

  public static final List<String> NAMES = List.of("fp32", "tf32", "bf16");

  public static Precision of(String name) {
    return valueOf(name.toUpperCase(java.util.Locale.ROOT));
  }

  public String id() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  /** The operand as the tensor cores see it: mantissa rounded to 10 (tf32) or 7 (bf16) bits. */
  public float round(float value) {
    return switch (this) {
      case FP32 -> value;
      case TF32 -> roundMantissa(value, 13);
      case BF16 -> roundMantissa(value, 16);
    };
  }

  /** Round to nearest even, dropping the low {@code bits} bits of the fp32 pattern. */
  private static float roundMantissa(float value, int bits) {
    if (!Float.isFinite(value)) {
      return value;
    }
    int u = Float.floatToRawIntBits(value);
    int half = (1 << (bits - 1)) - 1;
    u += half + ((u >>> bits) & 1);
    return Float.intBitsToFloat(u & (-1 << bits));
  }
}
