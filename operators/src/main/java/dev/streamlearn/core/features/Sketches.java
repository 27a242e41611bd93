package dev.streamlearn.core.features;

import java.lang.reflect.Field;
import java.util.Random;
import org.apache.datasketches.common.ArrayOfStringsSerDe;
import org.apache.datasketches.frequencies.ErrorType;
import org.apache.datasketches.frequencies.ItemsSketch;
import org.apache.datasketches.kll.KllDoublesSketch;
import org.apache.datasketches.kll.KllSketch;
import org.apache.datasketches.memory.Memory;
import org.apache.datasketches.quantilescommon.QuantileSearchCriteria;

/**
 * The featurizer's Apache DataSketches: KLL for quantiles and frequent items for category counts,
 * kept as bytes between refreshes.
 *
 * <p>KLL halves its buffers with coin flips from one random generator shared by all sketches. A
 * refresh reseeds it from the sketch's own count, under a lock, so that a run restored from a
 * checkpoint draws the same flips as the run it replaces and computes the same quantiles.
 */
final class Sketches {

  /** KLL accuracy parameter: normalized rank error about 1.65 % (single quantile, 99 %). */
  static final int QUANTILE_K = 200;

  private static final ArrayOfStringsSerDe STRINGS = new ArrayOfStringsSerDe();
  private static final Random KLL_RANDOM = kllRandom();

  static byte[] emptyQuantiles() {
    return KllDoublesSketch.newHeapInstance(QUANTILE_K).toByteArray();
  }

  /** Adds values (NaN skipped) and reads the quantiles at the given ranks (NaN while empty). */
  static byte[] addQuantiles(
      byte[] sketch, double[] values, int[] positions, double[] ranks, double[] out, int outAt) {
    KllDoublesSketch kll = KllDoublesSketch.heapify(Memory.wrap(sketch));
    Object lock = KLL_RANDOM == null ? Sketches.class : KLL_RANDOM;
    synchronized (lock) {
      if (KLL_RANDOM != null) {
        KLL_RANDOM.setSeed(0x9E3779B97F4A7C15L ^ kll.getN());
      }
      for (int position : positions) {
        double value = values[position];
        if (!Double.isNaN(value)) {
          kll.update(value);
        }
      }
    }
    for (int i = 0; i < ranks.length; i++) {
      out[outAt + i] =
          kll.isEmpty() ? Double.NaN : kll.getQuantile(ranks[i], QuantileSearchCriteria.INCLUSIVE);
    }
    return kll.toByteArray();
  }

  static byte[] emptyFrequencies(int vocabularySize) {
    return new ItemsSketch<String>(frequencyMapSize(vocabularySize)).toByteArray(STRINGS);
  }

  static ItemsSketch<String> frequencies(byte[] sketch) {
    return ItemsSketch.getInstance(Memory.wrap(sketch), STRINGS);
  }

  static byte[] bytes(ItemsSketch<String> sketch) {
    return sketch.toByteArray(STRINGS);
  }

  /** The value with the highest estimated count; ties go to the smaller value. Null when empty. */
  static String mostFrequent(ItemsSketch<String> sketch) {
    String best = null;
    long bestCount = -1;
    for (ItemsSketch.Row<String> row : sketch.getFrequentItems(ErrorType.NO_FALSE_NEGATIVES)) {
      if (row.getEstimate() > bestCount
          || (row.getEstimate() == bestCount && row.getItem().compareTo(best) < 0)) {
        best = row.getItem();
        bestCount = row.getEstimate();
      }
    }
    return best;
  }

  /** Room for eight times the vocabulary (at least 64 values), a power of two as required. */
  private static int frequencyMapSize(int vocabularySize) {
    return Integer.highestOneBit(Math.max(64, vocabularySize * 8) - 1) << 1;
  }

  private static Random kllRandom() {
    try {
      Field field = KllSketch.class.getDeclaredField("random");
      field.setAccessible(true);
      return (Random) field.get(null);
    } catch (ReflectiveOperationException | RuntimeException e) {
      org.slf4j.LoggerFactory.getLogger(Sketches.class)
          .warn(
              "Cannot seed the KLL sketches' random generator ({}); a restored run's quantiles"
                  + " match the original's only within the sketch's error",
              e.toString());
      return null;
    }
  }

  private Sketches() {}
}
