package dev.streamlearn.core.train;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import org.apache.commons.codec.digest.MurmurHash3;

/**
 * Decides, from the event id alone, whether an event is held out. The same id always lands on the
 * same side, on every run, subtask and restart.
 */
public final class HoldoutSplit implements Serializable {

  private static final int SEED = 0x401D;
  private final double fraction;

  public HoldoutSplit(double fraction) {
    this.fraction = fraction;
  }

  public boolean isHeldOut(String eventId) {
    byte[] bytes = eventId.getBytes(StandardCharsets.UTF_8);
    int hash = MurmurHash3.hash32x86(bytes, 0, bytes.length, SEED);
    double unit = (hash & 0xFFFFFFFFL) / 4294967296.0;
    return unit < fraction;
  }
}
