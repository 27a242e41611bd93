package dev.streamlearn.core.data;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Avro's single-object encoding header: the marker {@code C3 01}, then the writer schema's 64-bit
 * parsing fingerprint, little-endian; the record's body follows.
 */
final class SingleObjectHeader {

  /** Bytes before the body. */
  static final int LENGTH = 10;

  /** True when the bytes start with the marker and are long enough to hold a fingerprint. */
  static boolean present(byte[] bytes) {
    return bytes != null
        && bytes.length >= LENGTH
        && bytes[0] == (byte) 0xC3
        && bytes[1] == (byte) 0x01;
  }

  /** The writer schema's fingerprint; the header must be {@link #present}. */
  static long fingerprint(byte[] bytes) {
    return ByteBuffer.wrap(bytes, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
  }

  private SingleObjectHeader() {}
}
