package dev.streamlearn.core.data;

import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.schemas.LabeledEvent;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Turns the rows of a CSV table into {@link LabeledEvent}s, and infers what a spec needs from the
 * table: which columns are numeric (every non-empty value parses as a number) and which
 * categorical, and the label's classes.
 */
public final class CsvEvents {

  /** Values that mean "missing" in common CSV exports. */
  private static final Set<String> MISSING = Set.of("", "?", "NA", "N/A", "NaN", "nan", "null");

  private final CsvReader.Table table;
  private final int labelColumn;
  private final boolean[] numeric;
  private final boolean numericLabel;
  private final boolean labelAsNumber;
  private final boolean labelNumbersWherePossible;
  private final String task;

  public CsvEvents(CsvReader.Table table, String labelColumn) {
    this.table = table;
    this.labelColumn = table.column(labelColumn);
    this.numeric = new boolean[table.header().size()];
    for (int c = 0; c < numeric.length; c++) {
      numeric[c] = allNumeric(c);
    }
    this.numericLabel = numeric[this.labelColumn];
    List<String> values = labelValues();
    boolean integral = values.stream().allMatch(value -> value.matches("-?\\d+"));
    if (values.size() == 2) {
      task = "binary";
    } else if (numericLabel && (!integral || values.size() > 20)) {
      task = "regression";
    } else {
      task = "multiclass";
    }
    this.labelAsNumber =
        numericLabel && (task.equals("regression") || Set.of("0", "1").containsAll(values));
    this.labelNumbersWherePossible = false;
  }

  /**
   * The task the label suggests: binary for two values, regression for numbers that are not
   * integers or take more than 20 values, multiclass otherwise.
   */
  public String inferTask() {
    return task;
  }

  /**
   * The classes a spec should list: none when the labels are the numbers 0 and 1 (sent as numbers),
   * else the label's distinct values (sent as strings).
   */
  public List<String> labelClasses() {
    return labelAsNumber ? List.of() : labelValues();
  }

  /** Sends labels as numbers (regression, or binary 0/1) or as class names. */
  public CsvEvents withNumericLabels(boolean numeric) {
    return new CsvEvents(this, numeric, false);
  }

  /**
   * Sends each label that is a number as a number and any other as its text, which a pipeline that
   * learns from numbers (regression, binary 0/1) refuses with the reason: for such a pipeline, a
   * column with a stray text in it would otherwise send every label as text.
   */
  public CsvEvents withNumbersForLabels() {
    return new CsvEvents(this, false, true);
  }

  private CsvEvents(CsvEvents other, boolean numericLabels, boolean numbersWherePossible) {
    this.table = other.table;
    this.labelColumn = other.labelColumn;
    this.numeric = other.numeric;
    this.numericLabel = other.numericLabel;
    this.task = other.task;
    if (numericLabels && !numericLabel) {
      throw new IllegalArgumentException(
          "label column '" + table.header().get(labelColumn) + "' holds text, not numbers");
    }
    this.labelAsNumber = numericLabels;
    this.labelNumbersWherePossible = numbersWherePossible;
  }

  /** The label cells, present and not numbers, in row order. */
  public List<String> labelsThatAreNotNumbers() {
    List<String> texts = new ArrayList<>();
    for (List<String> row : table.rows()) {
      String text = row.get(labelColumn).trim();
      if (!MISSING.contains(text) && number(text) == null) {
        texts.add(text);
      }
    }
    return texts;
  }

  private static Double number(String text) {
    try {
      return Double.parseDouble(text);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** Every column but the label, numeric or categorical as inferred. */
  public List<PipelineSpec.Feature> inferFeatures() {
    List<Object> features = new ArrayList<>();
    for (int c = 0; c < numeric.length; c++) {
      if (c != labelColumn) {
        features.add(
            java.util.Map.of(
                "name",
                table.header().get(c),
                "type",
                numeric[c] ? PipelineSpec.Feature.NUMERIC : PipelineSpec.Feature.CATEGORICAL));
      }
    }
    return dev.streamlearn.core.spec.SpecLoader.parseFeatures(features, "features");
  }

  /** The label's distinct values, sorted (numerically when they are numbers). */
  public List<String> labelValues() {
    return labelValuesOf(table, labelColumn, numericLabel);
  }

  private static List<String> labelValuesOf(
      CsvReader.Table table, int labelColumn, boolean numericLabel) {
    if (numericLabel) {
      TreeSet<Double> values = new TreeSet<>();
      for (List<String> row : table.rows()) {
        String text = row.get(labelColumn).trim();
        if (!MISSING.contains(text)) {
          values.add(Double.parseDouble(text));
        }
      }
      return values.stream().map(CsvEvents::formatNumber).toList();
    }
    TreeSet<String> values = new TreeSet<>();
    for (List<String> row : table.rows()) {
      String text = row.get(labelColumn).trim();
      if (!MISSING.contains(text)) {
        values.add(text);
      }
    }
    return List.copyOf(values);
  }

  /**
   * True for the texts a CSV cell uses for a missing value ({@code ""}, {@code ?}, {@code NA}...).
   */
  public static boolean isMissing(String text) {
    return MISSING.contains(text.trim());
  }

  public int size() {
    return table.rows().size();
  }

  /**
   * Row {@code index} as an event with id {@code prefix + index} and event time {@code start +
   * index} seconds.
   */
  public LabeledEvent event(int index, String idPrefix, long startMillis) {
    List<String> row = table.rows().get(index);
    Map<String, Object> features = new HashMap<>();
    for (int c = 0; c < numeric.length; c++) {
      if (c == labelColumn) {
        continue;
      }
      String text = row.get(c).trim();
      Object value =
          MISSING.contains(text) ? null : numeric[c] ? (Object) Double.parseDouble(text) : text;
      features.put(table.header().get(c), value);
    }
    String labelText = row.get(labelColumn).trim();
    Object label;
    if (MISSING.contains(labelText)) {
      label = null;
    } else if (labelAsNumber) {
      label = Double.parseDouble(labelText);
    } else if (labelNumbersWherePossible) {
      Double number = number(labelText);
      label = number != null ? (Object) number : labelText;
    } else {
      label = numericLabel ? formatNumber(Double.parseDouble(labelText)) : labelText;
    }
    return LabeledEvent.newBuilder()
        .setId(idPrefix + index)
        .setTimestamp(Instant.ofEpochMilli(startMillis + index * 1000L))
        .setLabel(label)
        .setFeatures(features)
        .build();
  }

  private boolean allNumeric(int column) {
    boolean any = false;
    for (List<String> row : table.rows()) {
      String text = row.get(column).trim();
      if (MISSING.contains(text)) {
        continue;
      }
      if (number(text) == null) {
        return false;
      }
      any = true;
    }
    return any;
  }

  private static String formatNumber(double value) {
    return value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
  }
}
