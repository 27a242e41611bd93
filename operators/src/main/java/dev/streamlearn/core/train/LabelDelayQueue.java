package dev.streamlearn.core.train;

import dev.streamlearn.core.data.Example;
import java.util.Arrays;
import java.util.function.BiConsumer;

/**
 * Prequential learning with late labels: examples wait, in arrival order, in a ring of parallel
 * arrays inside the {@link TrainerState} until event time has passed them by the label delay.
 */
final class LabelDelayQueue {

  /** Queues an example; when the queue is full its oldest example is learned from now. */
  static void push(
      TrainerState state,
      Example example,
      int capacity,
      int numeric,
      int categorical,
      BiConsumer<TrainerState, Example> learn) {
    if (state.pendingLabel.length == 0) {
      state.pendingNumeric = new double[capacity * numeric];
      state.pendingCategorical = new String[capacity * categorical];
      state.pendingLabel = new double[capacity];
      state.pendingWeight = new float[capacity];
      state.pendingTime = new long[capacity];
      state.pendingPartition = new int[capacity];
      state.pendingOffset = new long[capacity];
      state.pendingId = new String[capacity];
    }
    if (state.pendingSize == capacity) {
      learn.accept(state, pop(state, new Example()));
    }
    int slot = (state.pendingHead + state.pendingSize) % capacity;
    System.arraycopy(example.numeric, 0, state.pendingNumeric, slot * numeric, numeric);
    System.arraycopy(
        example.categorical, 0, state.pendingCategorical, slot * categorical, categorical);
    state.pendingLabel[slot] = example.label;
    state.pendingWeight[slot] = example.weight;
    state.pendingTime[slot] = example.timestamp;
    state.pendingPartition[slot] = example.partition;
    state.pendingOffset[slot] = example.offset;
    state.pendingId[slot] = example.id;
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
    int capacity = state.pendingLabel.length;
    int numeric = state.pendingNumeric.length / capacity;
    int categorical = state.pendingCategorical.length / capacity;
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
    state.pendingId[slot] = null;
    state.pendingHead = (slot + 1) % capacity;
    state.pendingSize--;
    return into;
  }

  private LabelDelayQueue() {}
}
