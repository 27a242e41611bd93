package dev.streamlearn.core.train;

import dev.streamlearn.core.data.Example;
import java.util.Arrays;
import java.util.function.BiConsumer;

/**
 * Prequential learning with late labels: examples wait, in arrival order, in a ring of parallel
 * arrays inside the {@link TrainerState} until event time has passed them by the label delay. The
 * ring grows (doubling) with what waits, up to {@code holdout.max-pending}, and shrinks when most
 * of it is empty, so the state a checkpoint writes follows the examples waiting, not the bound.
 */
final class LabelDelayQueue {

  /** The ring's smallest length once something waits. */
  static final int SMALLEST = 64;

  /**
   * Queues an example; when {@code capacity} examples wait already, the oldest is learned from now.
   */
  static void push(
      TrainerState state,
      Example example,
      int capacity,
      int numeric,
      int categorical,
      BiConsumer<TrainerState, Example> learn) {
    if (state.pendingIngest.length != state.pendingLabel.length) {
      // A ring restored from before it kept ingest times.
      state.pendingIngest = Arrays.copyOf(state.pendingIngest, state.pendingLabel.length);
    }
    // A ring restored under a smaller holdout.max-pending keeps the newest that fit.
    while (state.pendingSize >= capacity) {
      learn.accept(state, pop(state, new Example()));
    }
    int length = state.pendingLabel.length;
    if (state.pendingSize == length) {
      resize(state, Math.min(capacity, Math.max(SMALLEST, 2 * length)), numeric, categorical);
      length = state.pendingLabel.length;
    }
    int slot = (state.pendingHead + state.pendingSize) % length;
    System.arraycopy(example.numeric, 0, state.pendingNumeric, slot * numeric, numeric);
    System.arraycopy(
        example.categorical, 0, state.pendingCategorical, slot * categorical, categorical);
    state.pendingLabel[slot] = example.label;
    state.pendingWeight[slot] = example.weight;
    state.pendingTime[slot] = example.timestamp;
    state.pendingPartition[slot] = example.partition;
    state.pendingOffset[slot] = example.offset;
    state.pendingId[slot] = example.id;
    state.pendingIngest[slot] = example.ingestTime;
    state.pendingSize++;
  }

  /** Learns from every waiting example whose event time is at or before {@code until}. */
  static void releaseUntil(
      TrainerState state, long until, Example scratch, BiConsumer<TrainerState, Example> learn) {
    while (state.pendingSize > 0 && state.pendingTime[state.pendingHead] <= until) {
      learn.accept(state, pop(state, scratch));
    }
  }

  private static Example pop(TrainerState state, Example into) {
    int length = state.pendingLabel.length;
    int numeric = state.pendingNumeric.length / length;
    int categorical = state.pendingCategorical.length / length;
    int slot = state.pendingHead;
    into.numeric =
        Arrays.copyOfRange(state.pendingNumeric, slot * numeric, slot * numeric + numeric);
    into.categorical =
        Arrays.copyOfRange(
            state.pendingCategorical, slot * categorical, slot * categorical + categorical);
    into.label = state.pendingLabel[slot];
    into.weight = state.pendingWeight[slot];
    into.timestamp = state.pendingTime[slot];
    into.partition = state.pendingPartition[slot];
    into.offset = state.pendingOffset[slot];
    into.id = state.pendingId[slot];
    // A ring restored from before it kept them has none.
    into.ingestTime = slot < state.pendingIngest.length ? state.pendingIngest[slot] : 0;
    state.pendingId[slot] = null;
    state.pendingHead = (slot + 1) % length;
    state.pendingSize--;
    if (length > SMALLEST && state.pendingSize <= length / 4) {
      resize(state, length / 2, numeric, categorical);
    }
    return into;
  }

  /** The waiting examples into a ring of {@code length}, the oldest first. */
  private static void resize(TrainerState state, int length, int numeric, int categorical) {
    int size = state.pendingSize;
    int old = state.pendingLabel.length;
    double[] numericValues = new double[length * numeric];
    String[] categoricalValues = new String[length * categorical];
    double[] labels = new double[length];
    float[] weights = new float[length];
    long[] times = new long[length];
    int[] partitions = new int[length];
    long[] offsets = new long[length];
    String[] ids = new String[length];
    long[] ingest = new long[length];
    for (int i = 0; i < size; i++) {
      int from = (state.pendingHead + i) % old;
      System.arraycopy(state.pendingNumeric, from * numeric, numericValues, i * numeric, numeric);
      System.arraycopy(
          state.pendingCategorical,
          from * categorical,
          categoricalValues,
          i * categorical,
          categorical);
      labels[i] = state.pendingLabel[from];
      weights[i] = state.pendingWeight[from];
      times[i] = state.pendingTime[from];
      partitions[i] = state.pendingPartition[from];
      offsets[i] = state.pendingOffset[from];
      ids[i] = state.pendingId[from];
      ingest[i] = from < state.pendingIngest.length ? state.pendingIngest[from] : 0;
    }
    state.pendingNumeric = numericValues;
    state.pendingCategorical = categoricalValues;
    state.pendingLabel = labels;
    state.pendingWeight = weights;
    state.pendingTime = times;
    state.pendingPartition = partitions;
    state.pendingOffset = offsets;
    state.pendingId = ids;
    state.pendingIngest = ingest;
    state.pendingHead = 0;
  }

  private LabelDelayQueue() {}
}
