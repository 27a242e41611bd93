package dev.streamlearn.core.device;

import org.bytedeco.javacpp.Pointer;

/** A pointer to an address JavaCPP did not allocate (device memory, a kernel's argument slot). */
final class NativeAddress extends Pointer {
  NativeAddress(long address) {
    this.address = address;
  }
}
