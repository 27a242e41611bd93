package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.device.DeviceOps;
import dev.streamlearn.core.device.HostDeviceOps;
import dev.streamlearn.core.device.Precision;
import org.junit.jupiter.api.Test;

/** The device contract on the CPU emulation, in every build. */
class HostDeviceOpsTest extends DeviceNetworkContract {

  @Override
  DeviceOps open(Precision precision) {
    return new HostDeviceOps(precision);
  }

  @Test
  void precisionsRoundOperandsToTheirMantissa() {
    float third = 1f / 3f;
    assertThat(Precision.FP32.round(third)).isEqualTo(third);
    // bf16 keeps 8 significant bits, tf32 11: 1/3 = 0.0101010101...b
    assertThat(Precision.BF16.round(third)).isEqualTo(0.333984375f);
    assertThat(Precision.TF32.round(third)).isEqualTo(1365f / 4096f);
    assertThat(Precision.BF16.round(1f + 0x1p-8f)).as("a tie rounds to even").isEqualTo(1f);
    assertThat(Precision.BF16.round(Float.NaN)).isNaN();
  }
}
