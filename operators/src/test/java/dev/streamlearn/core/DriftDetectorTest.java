package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.drift.DriftDetector;
import dev.streamlearn.core.drift.DriftState;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DriftDetectorTest {

  private static final DriftDetector ADWIN = new DriftDetector("adwin", 0.002, 0.005, 50, 30);
  private static final DriftDetector PAGE_HINKLEY =
      new DriftDetector("page-hinkley", 0.002, 0.005, 100, 30);

  @Test
  void staysQuietOnAStationaryStream() {
    for (DriftDetector detector : new DriftDetector[] {ADWIN, PAGE_HINKLEY}) {
      Random random = new Random(1);
      DriftState state = new DriftState();
      int alarms = 0;
      for (int i = 0; i < 20_000; i++) {
        alarms += detector.add(state, random.nextDouble() < 0.2 ? 1 : 0) ? 1 : 0;
      }
      assertThat(alarms).as("alarms of %s", detector).isZero();
    }
  }

  @Test
  void detectsAnIncreaseInErrorSoonAfterIt() {
    for (DriftDetector detector : new DriftDetector[] {ADWIN, PAGE_HINKLEY}) {
      Random random = new Random(2);
      DriftState state = new DriftState();
      long detectedAt = -1;
      for (int i = 0; i < 10_000 && detectedAt < 0; i++) {
        double rate = i < 5_000 ? 0.2 : 0.5;
        if (detector.add(state, random.nextDouble() < rate ? 1 : 0)) {
          detectedAt = i;
        }
      }
      assertThat(detectedAt).as("detection point").isBetween(5_000L, 5_600L);
      assertThat(state.detections).isEqualTo(1);
    }
  }

  @Test
  void adwinDoesNotAlarmOnADecrease() {
    Random random = new Random(3);
    DriftState state = new DriftState();
    int alarms = 0;
    for (int i = 0; i < 10_000; i++) {
      alarms += ADWIN.add(state, random.nextDouble() < (i < 5_000 ? 0.5 : 0.1) ? 1 : 0) ? 1 : 0;
    }
    assertThat(alarms).isZero();
    assertThat(state.width).as("ADWIN shrank its window to the new regime").isLessThan(6_000);
  }
}
