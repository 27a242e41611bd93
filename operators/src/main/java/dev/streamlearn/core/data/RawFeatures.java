package dev.streamlearn.core.data;

import dev.streamlearn.core.data.ExampleExtractor.RefusedException;
import dev.streamlearn.core.spec.PipelineSpec;
import java.io.Serializable;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The stateless cleaning rules: reads each feature's raw value from an event's fields into the
 * example's arrays, coercing types, applying range rules, the non-finite policy, the {@code drop}
 * missing policy and the unknown-field policy. What breaks a rule is refused with the reason (the
 * pipeline dead-letters it); the stateful rules (imputation, outliers, scaling, encodings) are the
 * featurizer's. Training and serving both read events through this class.
 */
public final class RawFeatures implements Serializable {

  /**
   * Marks a raw value that is a number kept unboxed in the numbers array passed beside the raw
   * values (the decoder's fast path).
   */
  public static final Object NUMBER = new Object();

  /** Separates crossed values before they are hashed together. */
  public static final String CROSS_SEPARATOR = "\u001F";

  private final PipelineSpec.Feature[] features;
  private final int[] slot;
  private final int[][] fieldsOf;
  private final String[] fieldNames;
  private final Map<String, Integer> fieldIndex;
  private final ZoneId[] zones;
  private final boolean refuseUnknown;
  private final boolean[] nonFiniteIsMissing;

  /** Fields read only as numbers by numeric features, which may stay unboxed. */
  private final boolean[] numberFields;

  private final int numericCount;
  private final int textCount;

  public RawFeatures(List<PipelineSpec.Feature> features, boolean refuseUnknownFields) {
    this.features = features.toArray(PipelineSpec.Feature[]::new);
    this.refuseUnknown = refuseUnknownFields;
    slot = new int[this.features.length];
    fieldsOf = new int[this.features.length][];
    zones = new ZoneId[this.features.length];
    Map<String, Integer> index = new LinkedHashMap<>();
    int numeric = 0;
    int text = 0;
    for (int f = 0; f < this.features.length; f++) {
      PipelineSpec.Feature feature = this.features[f];
      slot[f] = !feature.readsRaw() ? -1 : feature.readsNumber() ? numeric++ : text++;
      List<String> raw = feature.rawFields();
      fieldsOf[f] = new int[raw.size()];
      for (int i = 0; i < raw.size(); i++) {
        fieldsOf[f][i] = index.computeIfAbsent(raw.get(i), name -> index.size());
      }
      if (feature.dateTime() != null) {
        zones[f] = ZoneId.of(feature.dateTime().timeZone());
      }
    }
    numericCount = numeric;
    textCount = text;
    fieldNames = index.keySet().toArray(String[]::new);
    nonFiniteIsMissing = new boolean[this.features.length];
    numberFields = new boolean[fieldNames.length];
    java.util.Arrays.fill(numberFields, true);
    for (int f = 0; f < this.features.length; f++) {
      PipelineSpec.Feature feature = this.features[f];
      if (feature.type().equals(PipelineSpec.Feature.NUMERIC)) {
        nonFiniteIsMissing[f] = feature.numeric().nonFinite().equals("missing");
      } else {
        for (int field : fieldsOf[f]) {
          numberFields[field] = false;
        }
      }
    }
    fieldIndex = new HashMap<>(index);
  }

  public RawFeatures(PipelineSpec spec) {
    this(spec.features(), spec.source().unknownFields().equals("refuse"));
  }

  /** The event fields the features read, in the order of {@link #fieldIndex}. */
  public List<String> fieldNames() {
    return List.of(fieldNames);
  }

  /** The position of a field in the raw values array; -1 for a field no feature reads. */
  public int fieldIndex(String name) {
    Integer index = fieldIndex.get(name);
    return index == null ? -1 : index;
  }

  /** Where a categorical feature's value is in an example's categorical array; -1 if not one. */
  public int categoricalSlot(String feature) {
    for (int f = 0; f < features.length; f++) {
      if (features[f].name().equals(feature)
          && features[f].type().equals(PipelineSpec.Feature.CATEGORICAL)) {
        return slot[f];
      }
    }
    return -1;
  }

  public int numericCount() {
    return numericCount;
  }

  public int categoricalCount() {
    return textCount;
  }

  /** An event field that no feature reads: refused when the policy says so, else ignored. */
  public void unknownField(String name) throws RefusedException {
    if (refuseUnknown) {
      throw new RefusedException(
          "field '"
              + abbreviate(name)
              + "' is not read by any feature and source.unknown-fields is refuse");
    }
  }

  /** Reads a field map (an event's features, a CSV row) into the example's arrays. */
  public void read(Map<String, ?> fields, long timestamp, double[] numeric, String[] text)
      throws RefusedException {
    Object[] raw = new Object[fieldNames.length];
    if (fields != null) {
      for (Map.Entry<String, ?> entry : fields.entrySet()) {
        int index = fieldIndex(entry.getKey());
        if (index < 0) {
          unknownField(entry.getKey());
        } else {
          raw[index] = entry.getValue();
        }
      }
    }
    fill(raw, timestamp, numeric, text);
  }

  /**
   * Applies every feature's rules to the raw values (indexed like {@link #fieldNames}; null where
   * missing).
   */
  public void fill(Object[] raw, long timestamp, double[] numeric, String[] text)
      throws RefusedException {
    fill(raw, null, timestamp, numeric, text);
  }

  /**
   * Like {@link #fill(Object[], long, double[], String[])}, where a raw value that is {@link
   * #NUMBER} stands for {@code numbers} at the same index.
   */
  public void fill(Object[] raw, double[] numbers, long timestamp, double[] numeric, String[] text)
      throws RefusedException {
    if (numbers != null) {
      for (int i = 0; i < raw.length; i++) {
        if (raw[i] == NUMBER && !numberFields[i]) {
          raw[i] = numbers[i];
        }
      }
    }
    for (int f = 0; f < features.length; f++) {
      PipelineSpec.Feature feature = features[f];
      if (!feature.readsRaw()) {
        continue;
      }
      String name = feature.name();
      boolean missing;
      switch (feature.type()) {
        case PipelineSpec.Feature.NUMERIC -> {
          PipelineSpec.NumericRules rules = feature.numeric();
          int field = fieldsOf[f][0];
          double value =
              raw[field] == NUMBER
                  ? ExampleExtractor.numericValue(name, numbers[field], nonFiniteIsMissing[f])
                  : ExampleExtractor.numericValue(name, raw[field], nonFiniteIsMissing[f]);
          if (value < rules.min() || value > rules.max()) {
            throw new RefusedException(
                "feature "
                    + name
                    + " = "
                    + value
                    + " is outside its range ["
                    + rules.min()
                    + ", "
                    + rules.max()
                    + "]");
          }
          numeric[slot[f]] = value;
          missing = Double.isNaN(value);
        }
        case PipelineSpec.Feature.DATETIME -> {
          double millis =
              fieldsOf[f].length == 0
                  ? timestamp
                  : epochMillis(name, feature.dateTime().field(), raw[fieldsOf[f][0]], zones[f]);
          numeric[slot[f]] = millis;
          missing = Double.isNaN(millis);
        }
        case PipelineSpec.Feature.CATEGORICAL -> {
          String value = ExampleExtractor.categoricalValue(name, raw[fieldsOf[f][0]]);
          text[slot[f]] = value;
          missing = value == null;
        }
        default -> {
          StringBuilder crossed = new StringBuilder();
          missing = false;
          for (int i = 0; i < fieldsOf[f].length && !missing; i++) {
            int field = fieldsOf[f][i];
            String value = ExampleExtractor.categoricalValue(fieldNames[field], raw[field]);
            missing = value == null;
            if (i > 0) {
              crossed.append(CROSS_SEPARATOR);
            }
            crossed.append(value);
          }
          text[slot[f]] = missing ? null : crossed.toString();
        }
      }
      if (missing && feature.missing().policy().equals("drop")) {
        throw new RefusedException(
            "feature " + name + " is missing and its missing policy is drop");
      }
    }
  }

  /**
   * A time as epoch milliseconds: a number as it is, text as ISO-8601; NaN when missing.
   *
   * @param feature the feature that reads it, for messages; null for the event's own time
   */
  static double epochMillis(String feature, String field, Object value, ZoneId zone)
      throws RefusedException {
    if (value == null) {
      return Double.NaN;
    }
    if (value instanceof Number number) {
      double millis = number.doubleValue();
      if (!Double.isFinite(millis) || Math.abs(millis) > 1e16) {
        throw new RefusedException(
            what(feature) + ": field " + field + " = " + millis + " is not a time");
      }
      return Math.floor(millis);
    }
    String text = value.toString().trim();
    if (text.isEmpty()) {
      return Double.NaN;
    }
    try {
      if (text.length() == 10) {
        return LocalDate.parse(text).atStartOfDay(zone).toInstant().toEpochMilli();
      }
      if (text.endsWith("Z")) {
        return Instant.parse(text).toEpochMilli();
      }
      if (text.matches(".*[+-]\\d{2}:\\d{2}$")) {
        return OffsetDateTime.parse(text).toInstant().toEpochMilli();
      }
      return LocalDateTime.parse(text).atZone(zone).toInstant().toEpochMilli();
    } catch (DateTimeParseException e) {
      throw new RefusedException(
          what(feature)
              + ": field "
              + field
              + " = '"
              + abbreviate(text)
              + "' is not a time (epoch milliseconds or ISO-8601)");
    }
  }

  private static String what(String feature) {
    return feature == null ? "the event time" : "feature " + feature;
  }

  static String abbreviate(String text) {
    return text.length() <= 40 ? text : text.substring(0, 40) + "...";
  }
}
