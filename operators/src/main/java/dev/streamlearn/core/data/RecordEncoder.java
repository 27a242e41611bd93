package dev.streamlearn.core.data;

import dev.streamlearn.core.spec.PipelineSpec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.avro.Conversions;
import org.apache.avro.LogicalType;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.message.BinaryMessageEncoder;

/**
 * Writes rows (a CSV line, a JSON object) as the producers' own Avro records of a spec's {@code
 * source.schema}, framed as the spec says: the producing side of {@link RecordEventDecoder}. Values
 * come by dotted field path, as text or as JSON numbers and booleans, and are converted to each
 * field's type; a field with no value takes null where its type allows it, else its default.
 */
public final class RecordEncoder {

  private static final Conversions.DecimalConversion DECIMALS = new Conversions.DecimalConversion();

  private final Schema schema;
  private final String framing;
  private final BinaryMessageEncoder<GenericRecord> singleObject;
  private final GenericDatumWriter<GenericRecord> writer;
  private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
  private BinaryEncoder encoder;

  public RecordEncoder(PipelineSpec.RecordSchema mapping) {
    schema = RecordEventDecoder.parse(mapping);
    framing = mapping.framing();
    singleObject = new BinaryMessageEncoder<>(GenericData.get(), schema);
    writer = new GenericDatumWriter<>(schema);
  }

  public Schema schema() {
    return schema;
  }

  /**
   * A record from values by dotted path ({@code amount}, {@code merchant.country}); paths the
   * schema does not have are ignored.
   *
   * @throws IllegalArgumentException naming the field and the value that does not fit its type
   */
  public GenericRecord record(Map<String, ?> values) {
    return record(schema, "", values, false);
  }

  /**
   * Like {@link #record(Map)}, for reading rather than writing: a field with no value is null even
   * where its type has no null (a row to score needs no id, time or label).
   */
  public static GenericRecord recordToRead(Schema schema, Map<String, ?> values) {
    return record(schema, "", values, true);
  }

  /** The record's bytes in the spec's framing (the Confluent schema id written as 0). */
  public byte[] encode(GenericRecord record) {
    try {
      if (framing.equals("single-object")) {
        return singleObject.encode(record).array();
      }
      buffer.reset();
      if (framing.equals("confluent")) {
        buffer.write(new byte[5]);
      }
      encoder = EncoderFactory.get().binaryEncoder(buffer, encoder);
      writer.write(record, encoder);
      encoder.flush();
      return buffer.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static GenericRecord record(
      Schema recordSchema, String prefix, Map<String, ?> values, boolean toRead) {
    GenericRecord record = new GenericData.Record(recordSchema);
    for (Schema.Field field : recordSchema.getFields()) {
      String path = prefix + field.name();
      Object value = values.get(path);
      Schema nested = nestedRecord(field.schema());
      if (nested != null && hasValuesUnder(values, path + ".")) {
        record.put(field.pos(), record(nested, path + ".", values, toRead));
      } else if (!missing(value)) {
        record.put(field.pos(), convert(value, field.schema(), path));
      } else if (toRead || allowsNull(field.schema())) {
        record.put(field.pos(), null);
      } else if (field.hasDefaultValue()) {
        record.put(field.pos(), GenericData.get().getDefaultValue(field));
      } else {
        throw new IllegalArgumentException(
            "field " + path + " has no value, and its type " + field.schema() + " has no null");
      }
    }
    return record;
  }

  private static Object convert(Object value, Schema schema, String path) {
    if (schema.getType() == Schema.Type.UNION) {
      List<String> problems = new ArrayList<>();
      for (Schema branch : schema.getTypes()) {
        if (branch.getType() != Schema.Type.NULL) {
          try {
            return convert(value, branch, path);
          } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
          }
        }
      }
      throw new IllegalArgumentException(String.join("; ", problems));
    }
    String text = value.toString().trim();
    LogicalType logical = schema.getLogicalType();
    try {
      return switch (schema.getType()) {
        case INT ->
            logical instanceof LogicalTypes.Date && !isNumber(value, text)
                ? (int) LocalDate.parse(text).toEpochDay()
                : Math.toIntExact(wholeNumber(value, text));
        case LONG -> isNumber(value, text) ? wholeNumber(value, text) : time(text, logical);
        case FLOAT -> (float) number(value, text);
        case DOUBLE -> number(value, text);
        case BOOLEAN -> bool(value, text);
        case STRING -> value instanceof Double d ? formatNumber(d) : text;
        case ENUM -> {
          String symbol = value instanceof Double d ? formatNumber(d) : text;
          if (!schema.hasEnumSymbol(symbol)) {
            throw new IllegalArgumentException("not one of " + schema.getEnumSymbols());
          }
          yield new GenericData.EnumSymbol(schema, symbol);
        }
        case BYTES, FIXED -> {
          if (!(logical instanceof LogicalTypes.Decimal decimal)) {
            throw new IllegalArgumentException("only decimals are written from text");
          }
          BigDecimal amount =
              new BigDecimal(text).setScale(decimal.getScale(), RoundingMode.HALF_EVEN);
          yield schema.getType() == Schema.Type.BYTES
              ? DECIMALS.toBytes(amount, schema, decimal)
              : DECIMALS.toFixed(amount, schema, decimal);
        }
        default ->
            throw new IllegalArgumentException(
                "a " + schema.getType().getName() + " is not written from a single value");
      };
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          "field "
              + path
              + " = '"
              + RawFeatures.abbreviate(text)
              + "' does not fit its type "
              + schema
              + (e.getMessage() == null ? "" : ": " + e.getMessage()));
    }
  }

  private static boolean isNumber(Object value, String text) {
    if (value instanceof Number) {
      return true;
    }
    try {
      Double.parseDouble(text);
      return true;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private static long wholeNumber(Object value, String text) {
    double number = value instanceof Number n ? n.doubleValue() : Double.NaN;
    if (value instanceof Number && number == Math.rint(number) && Math.abs(number) < 1e15) {
      return (long) number;
    }
    return new BigDecimal(text).longValueExact();
  }

  private static double number(Object value, String text) {
    return value instanceof Number n ? n.doubleValue() : Double.parseDouble(text);
  }

  private static boolean bool(Object value, String text) {
    if (value instanceof Boolean b) {
      return b;
    }
    return switch (text.toLowerCase(java.util.Locale.ROOT)) {
      case "true", "1", "1.0", "yes" -> true;
      case "false", "0", "0.0", "no" -> false;
      default -> throw new IllegalArgumentException("not a boolean (true, false, 1, 0, yes, no)");
    };
  }

  /** An ISO-8601 time in the unit of the field's timestamp type (milliseconds without one). */
  private static long time(String text, LogicalType logical) {
    Instant instant =
        text.endsWith("Z") ? Instant.parse(text) : OffsetDateTime.parse(text).toInstant();
    if (logical instanceof LogicalTypes.TimestampMicros
        || logical instanceof LogicalTypes.LocalTimestampMicros) {
      return Math.addExact(
          Math.multiplyExact(instant.getEpochSecond(), 1_000_000L), instant.getNano() / 1_000);
    }
    if (logical instanceof LogicalTypes.TimestampNanos
        || logical instanceof LogicalTypes.LocalTimestampNanos) {
      return Math.addExact(
          Math.multiplyExact(instant.getEpochSecond(), 1_000_000_000L), instant.getNano());
    }
    return instant.toEpochMilli();
  }

  private static String formatNumber(double value) {
    return value == Math.rint(value) && Math.abs(value) < 1e15
        ? Long.toString((long) value)
        : Double.toString(value);
  }

  private static boolean missing(Object value) {
    return value == null || (value instanceof String text && CsvEvents.isMissing(text));
  }

  private static boolean hasValuesUnder(Map<String, ?> values, String prefix) {
    for (Map.Entry<String, ?> entry : values.entrySet()) {
      if (entry.getKey().startsWith(prefix) && !missing(entry.getValue())) {
        return true;
      }
    }
    return false;
  }

  private static Schema nestedRecord(Schema schema) {
    if (schema.getType() == Schema.Type.RECORD) {
      return schema;
    }
    if (schema.getType() == Schema.Type.UNION) {
      for (Schema branch : schema.getTypes()) {
        if (branch.getType() == Schema.Type.RECORD) {
          return branch;
        }
      }
    }
    return null;
  }

  private static boolean allowsNull(Schema schema) {
    return schema.getType() == Schema.Type.NULL
        || (schema.getType() == Schema.Type.UNION
            && schema.getTypes().stream().anyMatch(s -> s.getType() == Schema.Type.NULL));
  }
}
