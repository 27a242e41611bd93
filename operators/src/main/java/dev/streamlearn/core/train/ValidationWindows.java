package dev.streamlearn.core.train;

import java.util.Arrays;

/**
 * The open validation windows of a {@link TrainerState} ({@code openWindows}, oldest first, with
 * how many events each keeps) and the rows kept for them in parallel arrays, each row tagged with
 * its window.
 */
final class ValidationWindows {

  /** The position of {@code window} among the open windows, or -1 when it is not open. */
  static int indexOf(TrainerState state, long window) {
    long[] open = state.openWindows;
    for (int i = 0; i < open.length; i++) {
      if (open[i] == window) {
        return i;
      }
    }
    return -1;
  }

  /** Opens {@code window} (in order) unless it is open; returns its position. */
  static int open(TrainerState state, long window) {
    int at = indexOf(state, window);
    if (at >= 0) {
      return at;
    }
    long[] open = state.openWindows;
    int insert = 0;
    while (insert < open.length && open[insert] < window) {
      insert++;
    }
    state.openWindows = insert(open, insert, window);
    state.openWindowKept = insert(state.openWindowKept, insert);
    state.openWindowTrained = insert(state.openWindowTrained, insert, 0);
    state.openWindowLate = insert(state.openWindowLate, insert, 0);
    return insert;
  }

  private static long[] insert(long[] values, int at, long value) {
    long[] grown = new long[values.length + 1];
    System.arraycopy(values, 0, grown, 0, at);
    grown[at] = value;
    System.arraycopy(values, at, grown, at + 1, values.length - at);
    return grown;
  }

  private static int[] insert(int[] values, int at) {
    int[] grown = new int[values.length + 1];
    System.arraycopy(values, 0, grown, 0, at);
    System.arraycopy(values, at, grown, at + 1, values.length - at);
    return grown;
  }

  /** A window that closed: its index, and how many training and late events counted in it. */
  record Closed(long window, long trained, long late) {}

  /** Closes the oldest open window: it becomes the newest closed one. */
  static Closed closeOldest(TrainerState state) {
    Closed closed =
        new Closed(state.openWindows[0], state.openWindowTrained[0], state.openWindowLate[0]);
    state.closedWindow = closed.window();
    state.openWindows = Arrays.copyOfRange(state.openWindows, 1, state.openWindows.length);
    state.openWindowKept = Arrays.copyOfRange(state.openWindowKept, 1, state.openWindowKept.length);
    state.openWindowTrained =
        Arrays.copyOfRange(state.openWindowTrained, 1, state.openWindowTrained.length);
    state.openWindowLate = Arrays.copyOfRange(state.openWindowLate, 1, state.openWindowLate.length);
    return closed;
  }

  /** The rows among the first {@code count} whose window is {@code window}, in order. */
  static int[] rowsOf(long[] rowWindow, int count, long window) {
    int[] rows = new int[count];
    int found = 0;
    for (int r = 0; r < count; r++) {
      if (rowWindow[r] == window) {
        rows[found++] = r;
      }
    }
    return Arrays.copyOf(rows, found);
  }

  /**
   * Removes the rows of {@code window} from the first {@code count} rows of {@code rowWindow} and
   * of the parallel {@code arrays} ({@code strides[i]} entries a row; an empty array is skipped),
   * keeping the others in order. Returns the number of rows left.
   */
  static int removeRows(long[] rowWindow, int count, long window, Object[] arrays, int[] strides) {
    int kept = 0;
    for (int r = 0; r < count; r++) {
      if (rowWindow[r] == window) {
        continue;
      }
      if (kept != r) {
        rowWindow[kept] = rowWindow[r];
        for (int a = 0; a < arrays.length; a++) {
          if (java.lang.reflect.Array.getLength(arrays[a]) > 0) {
            System.arraycopy(arrays[a], r * strides[a], arrays[a], kept * strides[a], strides[a]);
          }
        }
      }
      kept++;
    }
    for (int a = 0; a < arrays.length; a++) {
      if (arrays[a] instanceof Object[] objects && objects.length > 0) {
        // Nothing a checkpoint would write for rows no longer kept.
        java.util.Arrays.fill(objects, kept * strides[a], count * strides[a], null);
      }
    }
    return kept;
  }

  /** The fewest rows the arrays of kept rows have once something is kept. */
  static final int SMALLEST_ROWS = 64;

  /** The rows after arrays of {@code rows} filled up: twice as many. */
  static int grown(int rows) {
    return Math.max(SMALLEST_ROWS, 2 * rows);
  }

  /**
   * The rows for arrays of {@code rows} that now hold {@code count}: halved while a quarter of them
   * or less would be used (0 when nothing is kept).
   */
  static int shrunk(int rows, int count) {
    if (count == 0) {
      return 0;
    }
    while (rows > SMALLEST_ROWS && count <= rows / 4) {
      rows /= 2;
    }
    return rows;
  }

  /** {@code rows} of {@code values} ({@code stride} entries a row), one after another. */
  static float[] gather(float[] values, int[] rows, int stride) {
    float[] out = new float[Math.max(1, rows.length) * stride];
    for (int i = 0; i < rows.length; i++) {
      System.arraycopy(values, rows[i] * stride, out, i * stride, stride);
    }
    return out;
  }

  private ValidationWindows() {}
}
