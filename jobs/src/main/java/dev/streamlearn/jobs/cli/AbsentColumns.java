package dev.streamlearn.jobs.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * The columns a CSV file lacks of those something reads from it (a model's input fields, a spec's
 * features): {@code score} and {@code produce} refuse a file that has none of them and warn about
 * one that lacks some.
 *
 * @param absent the columns read that the file lacks, in the reader's order
 * @param read how many columns are read
 */
record AbsentColumns(List<String> absent, int read) {

  static AbsentColumns of(List<String> read, List<String> header) {
    List<String> absent = new ArrayList<>(read);
    absent.removeAll(header);
    return new AbsentColumns(absent, read.size());
  }

  boolean some() {
    return !absent.isEmpty();
  }

  /** True when the file has none of the columns read (and something is read). */
  boolean all() {
    return !absent.isEmpty() && absent.size() == read;
  }

  /** The first ten of them by name, then "...". */
  String named() {
    return absent.size() <= 10
        ? String.join(", ", absent)
        : String.join(", ", absent.subList(0, 10)) + ", ...";
  }
}
