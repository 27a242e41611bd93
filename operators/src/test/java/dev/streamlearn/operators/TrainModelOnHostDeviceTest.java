package dev.streamlearn.operators;

import dev.streamlearn.core.device.HostDeviceOps;
import dev.streamlearn.core.device.Precision;

/** The trainer operator stepping on the device's CPU emulation, in every build. */
class TrainModelOnHostDeviceTest extends TrainingOnDeviceContract {

  @Override
  TrainModel.DeviceFactory devices() {
    return (backend, index, precision) -> new HostDeviceOps(Precision.of(precision));
  }

  @Override
  String deviceName() {
    return "host";
  }
}
