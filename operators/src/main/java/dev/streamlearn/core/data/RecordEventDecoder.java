package dev.streamlearn.core.data;

import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.schemas.codec.AvroCodec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;

/**
 * Reads the producers' own Avro records ({@code source.schema}) into {@link Example}s: the id,
 * event time, label and weight from the fields the spec maps them to, each feature's raw value from
 * the field its name gives, then the same cleaning rules as every other event. Bytes that are not a
 * whole record of the schema, in the spec's framing, are refused as malformed. Records written with
 * an earlier schema the spec lists ({@code source.schema.writers}) are read as the current one.
 */
public final class RecordEventDecoder {

  private final Schema schema;
  private final String framing;
  private final long fingerprint;
  private final GenericDatumReader<GenericRecord> reader;

  /** Readers of the earlier schemas, by fingerprint (single-object) or Confluent schema id. */
  private final Map<Long, GenericDatumReader<GenericRecord>> writers = new HashMap<>();

  private final ExampleExtractor extractor;
  private final RawFeatures rules;
  private final RecordField id;
  private final RecordField time;
  private final RecordField label;
  private final RecordField weight;
  private final RecordField[] fields;
  private final boolean booleanLabelsAreNumbers;
  private final Object[] raw;
  private BinaryDecoder decoder;
  private GenericRecord reuse;
  private String lastId;

  public RecordEventDecoder(PipelineSpec spec) {
    PipelineSpec.RecordSchema mapping = spec.source().recordSchema();
    if (mapping == null) {
      throw new IllegalArgumentException("the spec has no source.schema");
    }
    schema = parse(mapping);
    framing = mapping.framing();
    fingerprint = SchemaNormalization.parsingFingerprint64(schema);
    reader = new GenericDatumReader<>(schema);
    for (PipelineSpec.WriterSchema writer : mapping.writers()) {
      Schema written = new Schema.Parser().parse(writer.avroSchema());
      writers.put(
          writer.confluentId() != null
              ? (long) writer.confluentId()
              : SchemaNormalization.parsingFingerprint64(written),
          new GenericDatumReader<>(written, schema));
    }
    extractor = new ExampleExtractor(spec);
    rules = extractor.rules();
    id = optional(mapping.idField());
    time = optional(mapping.timestampField());
    label = RecordField.resolve(schema, mapping.labelField());
    weight = optional(mapping.weightField());
    fields = RecordField.resolveAll(schema, rules.fieldNames());
    raw = new Object[fields.length];
    booleanLabelsAreNumbers = spec.label().classes().isEmpty();
  }

  /** The record schema a spec maps; the spec loader has checked that it parses. */
  public static Schema parse(PipelineSpec.RecordSchema mapping) {
    return new Schema.Parser().parse(mapping.avroSchema());
  }

  /** Avro's 64-bit parsing fingerprint of a schema, in hex, as manifests record it. */
  public static String fingerprint(Schema schema) {
    return String.format("%016x", SchemaNormalization.parsingFingerprint64(schema));
  }

  /** The id of the record decoded last, once it was read; null before. */
  public String lastId() {
    return lastId;
  }

  /**
   * @param recordTimestamp the Kafka record's timestamp: the event time when the spec maps none
   * @throws AvroCodec.DecodeException when the bytes are not a whole record of the schema
   * @throws ExampleExtractor.RefusedException when a value breaks the rules
   */
  public Example decode(byte[] bytes, int partition, long offset, long recordTimestamp)
      throws AvroCodec.DecodeException, ExampleExtractor.RefusedException {
    GenericRecord record = read(bytes);
    Example example = new Example();
    example.partition = partition;
    example.offset = offset;
    example.id = idOf(record, partition, offset);
    example.timestamp = timeOf(record, recordTimestamp);
    example.label = extractor.labelIndex(labelOf(record));
    example.weight = ExampleExtractor.weight(weight == null ? null : weightOf(weight.read(record)));
    example.numeric = new double[rules.numericCount()];
    example.categorical = new String[rules.categoricalCount()];
    RecordField.readAll(fields, record, raw);
    rules.fill(raw, example.timestamp, example.numeric, example.categorical);
    return example;
  }

  /**
   * Reads the record in the bytes, without cleaning it. The record is reused by the next call.
   *
   * @throws AvroCodec.DecodeException when the bytes are not a whole record of the schema
   */
  public GenericRecord read(byte[] bytes) throws AvroCodec.DecodeException {
    lastId = null;
    int start = bodyStart(bytes);
    GenericDatumReader<GenericRecord> readerOfBytes = readerOf(bytes);
    GenericRecord record;
    try {
      decoder = DecoderFactory.get().binaryDecoder(bytes, start, bytes.length - start, decoder);
      record = readerOfBytes.read(reuse, decoder);
      if (!decoder.isEnd()) {
        throw new IOException("bytes are left over after the record");
      }
    } catch (IOException | RuntimeException e) {
      reuse = null;
      throw new AvroCodec.DecodeException(
          "malformed "
              + schema.getFullName()
              + " ("
              + bytes.length
              + " bytes, "
              + framing
              + " framing): "
              + e.getClass().getSimpleName()
              + (e.getMessage() == null ? "" : ": " + e.getMessage()));
    }
    reuse = record;
    return record;
  }

  /** The event id of a record {@link #read}: its id field, else its partition and offset. */
  public String idOf(GenericRecord record, int partition, long offset)
      throws ExampleExtractor.RefusedException {
    lastId = id == null ? partition + "-" + offset : idOf(id.read(record));
    return lastId;
  }

  /** The event time of a record {@link #read}: its time field, else the Kafka record's time. */
  public long timeOf(GenericRecord record, long recordTimestamp)
      throws ExampleExtractor.RefusedException {
    return time == null ? recordTimestamp : timeOf(time.read(record));
  }

  /** The label of a record {@link #read} as a class name or number; null when it has none. */
  public Object labelOf(GenericRecord record) {
    return labelOf(label.read(record));
  }

  private int bodyStart(byte[] bytes) throws AvroCodec.DecodeException {
    if (bytes == null) {
      throw new AvroCodec.DecodeException("record has no value");
    }
    switch (framing) {
      case "single-object" -> {
        if (!SingleObjectHeader.present(bytes)) {
          throw new AvroCodec.DecodeException(
              "not Avro single-object encoded (source.schema.framing is single-object): "
                  + header(bytes));
        }
        long written = SingleObjectHeader.fingerprint(bytes);
        if (written != fingerprint && !writers.containsKey(written)) {
          throw new AvroCodec.DecodeException(
              String.format(
                  "written with a schema this pipeline does not know (fingerprint %016x; "
                      + "source.schema %s has %016x%s)",
                  written,
                  schema.getFullName(),
                  fingerprint,
                  writers.isEmpty() ? "" : ", and source.schema.writers lists " + writers.size()));
        }
        return SingleObjectHeader.LENGTH;
      }
      case "confluent" -> {
        if (bytes.length < 5 || bytes[0] != 0) {
          throw new AvroCodec.DecodeException(
              "not in the Confluent wire format, a zero byte and a 4-byte schema id (source.schema"
                  + ".framing is confluent): "
                  + header(bytes));
        }
        return 5;
      }
      default -> {
        return 0;
      }
    }
  }

  /** The reader for the schema the bytes say they were written with; the framing is checked. */
  private GenericDatumReader<GenericRecord> readerOf(byte[] bytes) {
    if (writers.isEmpty()) {
      return reader;
    }
    long key =
        framing.equals("confluent")
            ? ByteBuffer.wrap(bytes, 1, 4).getInt()
            : SingleObjectHeader.fingerprint(bytes);
    return writers.getOrDefault(key, reader);
  }

  private static String header(byte[] bytes) {
    return bytes.length
        + " bytes starting "
        + HexFormat.ofDelimiter(" ").formatHex(bytes, 0, Math.min(bytes.length, 5));
  }

  private static String idOf(Object value) throws ExampleExtractor.RefusedException {
    String text = value == null ? "" : value.toString();
    if (text.isBlank()) {
      throw new ExampleExtractor.RefusedException("event has an empty id");
    }
    return text;
  }

  private long timeOf(Object value) throws ExampleExtractor.RefusedException {
    if (value == null) {
      throw new ExampleExtractor.RefusedException(
          "event has no time: field " + time.path() + " is null");
    }
    if (value instanceof Boolean) {
      throw new ExampleExtractor.RefusedException(
          "field " + time.path() + " = " + value + " is not a time");
    }
    return (long) RawFeatures.epochMillis(null, time.path(), value, ZoneOffset.UTC);
  }

  private Object labelOf(Object value) {
    if (value instanceof Long n) {
      return n.doubleValue();
    }
    if (value instanceof Boolean b) {
      return booleanLabelsAreNumbers ? (b ? 1.0 : 0.0) : b.toString();
    }
    return value;
  }

  private Double weightOf(Object value) throws ExampleExtractor.RefusedException {
    if (value == null) {
      return null;
    }
    if (!(value instanceof Number number)) {
      throw new ExampleExtractor.RefusedException(
          "weight '" + value + "' (field " + weight.path() + ") is not a number");
    }
    return number.doubleValue();
  }

  private RecordField optional(String path) {
    return path == null ? null : RecordField.resolve(schema, path);
  }
}
