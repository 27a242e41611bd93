package dev.streamlearn.core.data;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.LogicalType;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericFixed;
import org.apache.avro.generic.GenericRecord;

/**
 * A field of an Avro record named by a dotted path ({@code amount}, {@code merchant.country}), and
 * how its value becomes a raw value the cleaning rules read: integers as {@code Long}, floating
 * point numbers and decimals as {@code Double}, booleans as {@code Boolean}, strings and enum
 * symbols as {@code String}, times as epoch milliseconds. A null anywhere on the path is a missing
 * value.
 */
public final class RecordField {

  private static final long MILLIS_PER_DAY = 86_400_000L;

  private final String path;
  private final int[] positions;
  private final Schema schema;

  private RecordField(String path, int[] positions, Schema schema) {
    this.path = path;
    this.positions = positions;
    this.schema = schema;
  }

  /**
   * Finds a path in a record schema.
   *
   * @throws IllegalArgumentException saying which part of the path is not there, or that the field
   *     holds something other than a number, boolean, text, enum, decimal or time
   */
  public static RecordField resolve(Schema record, String path) {
    String[] parts = path.split("\\.", -1);
    int[] positions = new int[parts.length];
    Schema current = record;
    Schema leaf = null;
    String at = "";
    for (int i = 0; i < parts.length; i++) {
      Schema.Field field = current.getField(parts[i]);
      if (field == null) {
        throw new IllegalArgumentException(
            "record "
                + current.getName()
                + (at.isEmpty() ? "" : " (at " + at + ")")
                + " has no field '"
                + parts[i]
                + "'; its fields: "
                + String.join(", ", current.getFields().stream().map(Schema.Field::name).toList()));
      }
      positions[i] = field.pos();
      at = at.isEmpty() ? parts[i] : at + "." + parts[i];
      if (i < parts.length - 1) {
        Schema nested = withoutNull(field.schema());
        if (nested.getType() != Schema.Type.RECORD) {
          throw new IllegalArgumentException(
              at + " has type " + describe(field.schema()) + ", not a record, so it has no fields");
        }
        current = nested;
      } else {
        leaf = field.schema();
        for (Schema branch : branches(field.schema())) {
          if (!readable(branch)) {
            throw new IllegalArgumentException(
                at
                    + " has type "
                    + describe(field.schema())
                    + "; a field read here holds numbers, booleans, strings, enums, decimals or"
                    + " times (or a union of those with null)");
          }
        }
      }
    }
    return new RecordField(path, positions, leaf);
  }

  /**
   * Every path resolved in a record schema, in order.
   *
   * @throws IllegalArgumentException as {@link #resolve} does, for the first path that fails
   */
  public static RecordField[] resolveAll(Schema record, List<String> paths) {
    RecordField[] fields = new RecordField[paths.size()];
    for (int i = 0; i < fields.length; i++) {
      fields[i] = resolve(record, paths.get(i));
    }
    return fields;
  }

  /** Each field's value in a record into {@code raw} at the field's index. */
  public static void readAll(RecordField[] fields, GenericRecord record, Object[] raw) {
    for (int i = 0; i < fields.length; i++) {
      raw[i] = fields[i].read(record);
    }
  }

  public String path() {
    return path;
  }

  /** The field's value in a record read with the schema it was resolved in; null when missing. */
  public Object read(GenericRecord record) {
    Object value = record;
    for (int position : positions) {
      value = ((GenericRecord) value).get(position);
      if (value == null) {
        return null;
      }
    }
    return convert(value, schema);
  }

  private static Object convert(Object value, Schema schema) {
    if (schema.getType() == Schema.Type.UNION) {
      schema = schema.getTypes().get(GenericData.get().resolveUnion(schema, value));
    }
    LogicalType logical = schema.getLogicalType();
    return switch (schema.getType()) {
      case INT, LONG -> {
        long n = ((Number) value).longValue();
        if (logical instanceof LogicalTypes.TimestampMicros
            || logical instanceof LogicalTypes.LocalTimestampMicros) {
          yield Math.floorDiv(n, 1_000L);
        }
        if (logical instanceof LogicalTypes.TimestampNanos
            || logical instanceof LogicalTypes.LocalTimestampNanos) {
          yield Math.floorDiv(n, 1_000_000L);
        }
        if (logical instanceof LogicalTypes.Date) {
          yield n * MILLIS_PER_DAY;
        }
        yield n;
      }
      case FLOAT, DOUBLE -> ((Number) value).doubleValue();
      case BOOLEAN -> value;
      case BYTES -> {
        ByteBuffer buffer = ((ByteBuffer) value).duplicate();
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        yield decimal(bytes, logical);
      }
      case FIXED -> decimal(((GenericFixed) value).bytes(), logical);
      default -> value.toString();
    };
  }

  private static double decimal(byte[] bytes, LogicalType logical) {
    int scale = ((LogicalTypes.Decimal) logical).getScale();
    return bytes.length == 0 ? 0.0 : new BigDecimal(new BigInteger(bytes), scale).doubleValue();
  }

  private static boolean readable(Schema schema) {
    return switch (schema.getType()) {
      case NULL, INT, LONG, FLOAT, DOUBLE, BOOLEAN, STRING, ENUM -> true;
      case BYTES, FIXED -> schema.getLogicalType() instanceof LogicalTypes.Decimal;
      default -> false;
    };
  }

  private static List<Schema> branches(Schema schema) {
    return schema.getType() == Schema.Type.UNION ? schema.getTypes() : List.of(schema);
  }

  /** A union of null and one other type is read as that type. */
  private static Schema withoutNull(Schema schema) {
    if (schema.getType() != Schema.Type.UNION) {
      return schema;
    }
    List<Schema> other = new ArrayList<>();
    for (Schema branch : schema.getTypes()) {
      if (branch.getType() != Schema.Type.NULL) {
        other.add(branch);
      }
    }
    return other.size() == 1 ? other.get(0) : schema;
  }

  private static String describe(Schema schema) {
    return switch (schema.getType()) {
      case UNION ->
          "["
              + String.join(", ", schema.getTypes().stream().map(RecordField::describe).toList())
              + "]";
      case RECORD, ENUM, FIXED -> schema.getType().getName() + " " + schema.getName();
      default ->
          schema.getLogicalType() == null
              ? schema.getType().getName()
              : schema.getType().getName() + " (" + schema.getLogicalType().getName() + ")";
    };
  }
}
