package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.core.data.RecordEventDecoder;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecException;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.schemas.codec.AvroCodec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.avro.Conversions;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.message.BinaryMessageEncoder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The producers' own Avro records: every kind of field a feature can read becomes the raw value the
 * cleaning rules expect, in each framing; bytes of another schema or framing are refused as
 * malformed, values that break a rule as unclean; and a spec whose fields are not in the schema
 * fails before anything starts, naming the key.
 */
class RecordEventDecoderTest {

  static final Schema PAYMENT =
      new Schema.Parser()
          .parse(
              """
              {"type": "record", "name": "Payment", "namespace": "com.example.payments",
               "fields": [
                 {"name": "payment_id", "type": "string"},
                 {"name": "created_at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
                 {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal",
                                             "precision": 12, "scale": 2}},
                 {"name": "currency", "type": {"type": "enum", "name": "Currency",
                                               "symbols": ["EUR", "USD", "GBP"]}},
                 {"name": "merchant", "type": ["null", {"type": "record", "name": "Merchant",
                   "fields": [
                     {"name": "country", "type": "string"},
                     {"name": "risk", "type": ["null", "double"], "default": null},
                     {"name": "category_id", "type": "long"}]}], "default": null},
                 {"name": "card_present", "type": "boolean"},
                 {"name": "installments", "type": "int"},
                 {"name": "tags", "type": {"type": "array", "items": "string"}, "default": []},
                 {"name": "is_fraud", "type": ["null", "boolean"], "default": null},
                 {"name": "weight", "type": ["null", "float"], "default": null}
               ]}
              """);

  private static final String FEATURES =
      """
      features:
        - {name: amount, type: numeric}
        - {name: currency, type: categorical}
        - {name: merchant.country, type: categorical}
        - {name: merchant.risk, type: numeric}
        - {name: merchant.category_id, type: categorical}
        - {name: card_present, type: numeric}
        - {name: installments, type: numeric}
        - {name: hour, type: datetime, parts: [hour], cyclic: false}
      """;

  @Test
  void readsEveryKindOfFieldIntoTheExample() throws Exception {
    RecordEventDecoder decoder = new RecordEventDecoder(spec("confluent", Map.of()));
    GenericRecord payment = payment("p-1", 1_700_000_123_456_789L, "12.34", "USD", true);
    Example example = decoder.decode(confluent(payment), 2, 77, 5L);

    assertThat(example.id).isEqualTo("p-1");
    assertThat(example.timestamp).isEqualTo(1_700_000_123_456L);
    assertThat(example.label).isEqualTo(1.0);
    assertThat(example.weight).isEqualTo(0.5f);
    assertThat(example.partition).isEqualTo(2);
    assertThat(example.offset).isEqualTo(77);
    // numeric: amount, merchant.risk, card_present, installments, hour (epoch millis)
    assertThat(example.numeric).containsExactly(12.34, 0.25, 1.0, 3.0, (double) example.timestamp);
    // categorical: currency, merchant.country, merchant.category_id (a long, written exactly)
    assertThat(example.categorical).containsExactly("USD", "DE", "123456789012345678");
  }

  @Test
  void aNullAlongThePathIsAMissingValue() throws Exception {
    RecordEventDecoder decoder = new RecordEventDecoder(spec("confluent", Map.of()));
    GenericRecord payment = payment("p-2", 1_000_000L, "0.10", "EUR", false);
    payment.put("merchant", null);
    payment.put("weight", null);
    Example example = decoder.decode(confluent(payment), 0, 0, 0L);
    assertThat(example.label).isEqualTo(0.0);
    assertThat(example.weight).isEqualTo(1f);
    assertThat(example.numeric[1]).isNaN();
    assertThat(example.categorical).containsExactly("EUR", null, null);
  }

  /** A record without its label waits for it where the spec has a labels topic. */
  @Test
  void aRecordWithoutItsLabelWaitsForItWithALabelsTopic() throws Exception {
    GenericRecord payment = payment("p-3", 1_000_000L, "5.00", "GBP", true);
    payment.put("is_fraud", null);
    assertThatThrownBy(
            () ->
                new RecordEventDecoder(spec("confluent", Map.of()))
                    .decode(confluent(payment), 0, 0, 0L))
        .isInstanceOf(ExampleExtractor.RefusedException.class)
        .hasMessage("event has no label");
    Map<String, Object> tree = tree("confluent", Map.of(), FEATURES);
    SpecLoader.override(tree, "source.labels.topic", "payments.outcomes");
    Example example =
        new RecordEventDecoder(SpecLoader.fromTree(tree)).decode(confluent(payment), 0, 0, 0L);
    assertThat(example.id).isEqualTo("p-3");
    assertThat(example.awaitsLabel()).isTrue();
    assertThat(example.categorical).containsExactly("GBP", "DE", "123456789012345678");
  }

  @Test
  void eachFramingReadsTheSameRecordAndRefusesTheOthers() throws Exception {
    GenericRecord payment = payment("p-3", 5_000_000L, "99.99", "GBP", true);
    byte[] raw = body(payment);
    byte[] singleObject =
        new BinaryMessageEncoder<GenericRecord>(GenericData.get(), PAYMENT).encode(payment).array();
    byte[] confluent = confluent(payment);
    Map<String, byte[]> framed =
        Map.of("raw", raw, "single-object", singleObject, "confluent", confluent);
    Example reference = new RecordEventDecoder(spec("raw", Map.of())).decode(raw, 0, 0, 0L);
    for (String framing : PipelineSpec.RecordSchema.FRAMINGS) {
      RecordEventDecoder decoder = new RecordEventDecoder(spec(framing, Map.of()));
      Example example = decoder.decode(framed.get(framing), 0, 0, 0L);
      assertThat(example.id).isEqualTo(reference.id);
      assertThat(example.numeric).containsExactly(reference.numeric);
      assertThat(example.categorical).containsExactly(reference.categorical);
    }

    RecordEventDecoder single = new RecordEventDecoder(spec("single-object", Map.of()));
    byte[] otherSchema = singleObject.clone();
    otherSchema[5] ^= 1;
    assertRefusedAsMalformed(single, otherSchema, "written with a schema this pipeline does not");
    assertRefusedAsMalformed(single, confluent, "not Avro single-object encoded");

    RecordEventDecoder wire = new RecordEventDecoder(spec("confluent", Map.of()));
    assertRefusedAsMalformed(wire, singleObject, "not in the Confluent wire format");
    assertRefusedAsMalformed(wire, new byte[] {0, 0, 0}, "not in the Confluent wire format");
    assertRefusedAsMalformed(
        wire, Arrays.copyOf(confluent, confluent.length - 3), "malformed com.example.payments");
    byte[] longer = Arrays.copyOf(confluent, confluent.length + 2);
    assertRefusedAsMalformed(wire, longer, "bytes are left over after the record");
    assertRefusedAsMalformed(wire, null, "record has no value");
  }

  @Test
  void valuesThatBreakARuleAreRefusedWithTheEventId() throws Exception {
    RecordEventDecoder decoder = new RecordEventDecoder(spec("confluent", Map.of()));
    GenericRecord unlabeled = payment("p-4", 1L, "1.00", "EUR", true);
    unlabeled.put("is_fraud", null);
    assertThatThrownBy(() -> decoder.decode(confluent(unlabeled), 0, 0, 0L))
        .isInstanceOf(ExampleExtractor.RefusedException.class)
        .hasMessage("event has no label");
    assertThat(decoder.lastId()).isEqualTo("p-4");

    GenericRecord noId = payment(" ", 1L, "1.00", "EUR", true);
    assertThatThrownBy(() -> decoder.decode(confluent(noId), 0, 0, 0L))
        .hasMessage("event has an empty id");

    GenericRecord heavy = payment("p-5", 1L, "1.00", "EUR", true);
    heavy.put("weight", -2f);
    assertThatThrownBy(() -> decoder.decode(confluent(heavy), 0, 0, 0L))
        .hasMessageContaining("weight -2.0 is not a finite number >= 0");

    RecordEventDecoder ranged =
        new RecordEventDecoder(
            spec(
                "confluent",
                Map.of(),
                FEATURES.replace(
                    "{name: amount, type: numeric}",
                    "{name: amount, type: numeric, range: [0, 10]}")));
    assertThatThrownBy(() -> ranged.decode(confluent(heavy), 0, 0, 0L))
        .isInstanceOf(ExampleExtractor.RefusedException.class);
    GenericRecord large = payment("p-6", 1L, "12.50", "EUR", true);
    assertThatThrownBy(() -> ranged.decode(confluent(large), 0, 0, 0L))
        .hasMessage("feature amount = 12.5 is outside its range [0.0, 10.0]");
  }

  @Test
  void withoutAnIdOrTimeFieldTheKafkaRecordGivesThem() throws Exception {
    RecordEventDecoder decoder =
        new RecordEventDecoder(spec("confluent", Map.of("id", "", "timestamp", "")));
    Example example =
        decoder.decode(confluent(payment("p-7", 1L, "1.00", "EUR", true)), 3, 41, 1234L);
    assertThat(example.id).isEqualTo("3-41");
    assertThat(example.timestamp).isEqualTo(1234L);
  }

  @Test
  void classNamesMatchStringsEnumsAndBooleans() throws Exception {
    PipelineSpec spec =
        spec(
            "raw",
            Map.of("label", "currency"),
            FEATURES.replace("  - {name: currency, type: categorical}\n", "")
                + "label: {task: multiclass, classes: [EUR, USD, GBP]}\n");
    Example example =
        new RecordEventDecoder(spec).decode(body(payment("p-8", 1L, "1.00", "GBP", true)), 0, 0, 0);
    assertThat(example.label).isEqualTo(2.0);

    PipelineSpec named =
        spec("raw", Map.of(), FEATURES + "label: {task: binary, classes: ['false', 'true']}\n");
    assertThat(
            new RecordEventDecoder(named)
                .decode(body(payment("p-9", 1L, "1.00", "GBP", false)), 0, 0, 0)
                .label)
        .isEqualTo(0.0);
  }

  @Test
  void aSpecWhoseFieldsAreNotInTheSchemaFailsNamingTheKey() {
    assertThatThrownBy(
            () -> spec("raw", Map.of(), FEATURES.replace("merchant.country", "merchant.county")))
        .isInstanceOf(SpecException.class)
        .hasMessage(
            "spec key 'features[2].name' = 'merchant.county': record Merchant (at merchant) has"
                + " no field 'county'; its fields: country, risk, category_id");
    assertThatThrownBy(
            () -> spec("raw", Map.of(), FEATURES + "  - {name: tags, type: categorical}\n"))
        .hasMessageStartingWith(
            "spec key 'features[8].name' = 'tags': tags has type array; a field read here holds");
    assertThatThrownBy(
            () ->
                spec("raw", Map.of(), FEATURES + "  - {name: currency.code, type: categorical}\n"))
        .hasMessageContaining("currency has type enum Currency, not a record");
    assertThatThrownBy(() -> spec("raw", Map.of("label", "fraud")))
        .hasMessageStartingWith(
            "spec key 'source.schema.label' = 'fraud': record Payment has no field 'fraud'");
    assertThatThrownBy(() -> spec("raw", Map.of("timestamp", "merchant")))
        .hasMessageContaining("source.schema.timestamp")
        .hasMessageContaining("merchant has type [null, record Merchant]");
    assertThatThrownBy(() -> spec("zip", Map.of()))
        .hasMessage(
            "spec key 'source.schema.framing' = 'zip': one of [single-object, confluent, raw]");
    assertThatThrownBy(
            () ->
                SpecLoader.parse(
                    FEATURES + "source: {unknown-fields: refuse, schema: {avro: '\"int\"'}}\n"))
        .hasMessage(
            "spec key 'source.schema.avro' = '\"int\"': an Avro record schema; this one is a int");
    assertThatThrownBy(() -> SpecLoader.parse(FEATURES + "source: {schema: {framing: raw}}\n"))
        .hasMessageStartingWith("spec key 'source.schema.file' = (missing): either file");
    assertThatThrownBy(
            () -> SpecLoader.parse(FEATURES + "source: {schema: {avro: '{\"type\": \"rec'}}\n"))
        .hasMessageStartingWith("spec key 'source.schema.avro'")
        .hasMessageContaining("an Avro schema (JSON)");
    Map<String, Object> tree = tree("raw", Map.of(), FEATURES);
    SpecLoader.override(tree, "source.unknown-fields", "refuse");
    assertThatThrownBy(() -> SpecLoader.fromTree(tree))
        .hasMessageStartingWith("spec key 'source.unknown-fields' = 'refuse'");
  }

  /**
   * Records written with an earlier version of the schema (no weight, no tags, a field since
   * dropped) are read as the current one, told apart by fingerprint or Confluent schema id.
   */
  @Test
  void recordsOfAnEarlierSchemaAreReadAsTheCurrentOne() throws Exception {
    Schema earlier = earlierPayment(Set.of("tags", "weight"));
    GenericRecord current = payment("p-10", 9_000_000L, "45.60", "EUR", true);
    current.put("weight", null);
    GenericRecord old = new GenericData.Record(earlier);
    for (Schema.Field field : earlier.getFields()) {
      old.put(field.name(), field.name().equals("channel") ? "web" : current.get(field.name()));
    }
    byte[] oldBody = body(old);

    Map<String, Object> tree = tree("confluent", Map.of(), FEATURES);
    SpecLoader.override(
        tree, "source.schema.writers", List.of(Map.of("avro", earlier.toString(), "id", 7)));
    RecordEventDecoder confluent = new RecordEventDecoder(SpecLoader.fromTree(tree));
    Example expected = confluent.decode(confluent(current), 0, 0, 0L);
    byte[] framed =
        ByteBuffer.allocate(5 + oldBody.length).put((byte) 0).putInt(7).put(oldBody).array();
    assertSameExample(confluent.decode(framed, 0, 0, 0L), expected);

    tree = tree("single-object", Map.of(), FEATURES);
    SpecLoader.override(tree, "source.schema.writers", List.of(Map.of("avro", earlier.toString())));
    RecordEventDecoder single = new RecordEventDecoder(SpecLoader.fromTree(tree));
    byte[] oldSingle =
        new BinaryMessageEncoder<GenericRecord>(GenericData.get(), earlier).encode(old).array();
    assertSameExample(single.decode(oldSingle, 0, 0, 0L), expected);
    byte[] unknown = oldSingle.clone();
    unknown[3] ^= 1;
    assertRefusedAsMalformed(single, unknown, "source.schema.writers lists 1");
  }

  @Test
  void writerSchemasAreCheckedBeforeAnythingStarts() {
    Schema noInstallments = earlierPayment(Set.of("installments"));
    Map<String, Object> tree = tree("confluent", Map.of(), FEATURES);
    SpecLoader.override(
        tree, "source.schema.writers", List.of(Map.of("avro", noInstallments.toString(), "id", 7)));
    assertThatThrownBy(() -> SpecLoader.fromTree(tree))
        .hasMessageStartingWith("spec key 'source.schema.writers[0].avro'")
        .hasMessageContaining("can be read as com.example.payments.Payment; they cannot:")
        .hasMessageContaining("installments");

    Schema earlier = earlierPayment(Set.of("tags"));
    SpecLoader.override(tree, "source.schema.writers", List.of(Map.of("avro", earlier.toString())));
    assertThatThrownBy(() -> SpecLoader.fromTree(tree))
        .hasMessage(
            "spec key 'source.schema.writers[0].id' = (missing): the Confluent schema id its"
                + " records carry");
    SpecLoader.override(
        tree,
        "source.schema.writers",
        List.of(
            Map.of("avro", earlier.toString(), "id", 7),
            Map.of("avro", PAYMENT.toString(), "id", 7)));
    assertThatThrownBy(() -> SpecLoader.fromTree(tree))
        .hasMessage("spec key 'source.schema.writers[1].id' = 7: each writer's id once");
    SpecLoader.override(tree, "source.schema.framing", "single-object");
    assertThatThrownBy(() -> SpecLoader.fromTree(tree))
        .hasMessageStartingWith("spec key 'source.schema.writers[0].id' = '7': no id with single");
    SpecLoader.override(tree, "source.schema.writers", List.of(Map.of("avro", PAYMENT.toString())));
    assertThatThrownBy(() -> SpecLoader.fromTree(tree))
        .hasMessageEndingWith("a schema listed once and other than source.schema's own");
    SpecLoader.override(tree, "source.schema.framing", "raw");
    assertThatThrownBy(() -> SpecLoader.fromTree(tree))
        .hasMessageStartingWith("spec key 'source.schema.writers' = '1 schemas': none with raw");
  }

  /** The payment schema without some fields, and with a {@code channel} field it no longer has. */
  private static Schema earlierPayment(Set<String> without) {
    List<Schema.Field> fields = new ArrayList<>();
    for (Schema.Field field : PAYMENT.getFields()) {
      if (!without.contains(field.name())) {
        fields.add(new Schema.Field(field, field.schema()));
      }
    }
    fields.add(new Schema.Field("channel", Schema.create(Schema.Type.STRING)));
    return Schema.createRecord(PAYMENT.getName(), null, PAYMENT.getNamespace(), false, fields);
  }

  private static void assertSameExample(Example actual, Example expected) {
    assertThat(actual.id).isEqualTo(expected.id);
    assertThat(actual.timestamp).isEqualTo(expected.timestamp);
    assertThat(actual.label).isEqualTo(expected.label);
    assertThat(actual.weight).isEqualTo(expected.weight);
    assertThat(actual.numeric).containsExactly(expected.numeric);
    assertThat(actual.categorical).containsExactly(expected.categorical);
  }

  @Test
  void aSchemaFileIsReadRelativeToTheSpecFile(@TempDir Path folder) throws IOException {
    Files.createDirectories(folder.resolve("schemas"));
    Files.writeString(folder.resolve("schemas/payment.avsc"), PAYMENT.toString(true));
    Path specFile = folder.resolve("pipeline.yaml");
    Files.writeString(
        specFile,
        FEATURES + "source: {schema: {file: schemas/payment.avsc, label: is_fraud}}\n",
        StandardCharsets.UTF_8);
    PipelineSpec spec = SpecLoader.load(specFile);
    assertThat(new Schema.Parser().parse(spec.source().recordSchema().avroSchema()))
        .isEqualTo(PAYMENT);
    assertThat(spec.source().recordSchema().framing()).isEqualTo("single-object");

    Files.writeString(
        specFile, FEATURES + "source: {schema: {file: nowhere.avsc, label: is_fraud}}\n");
    assertThatThrownBy(() -> SpecLoader.load(specFile))
        .hasMessageStartingWith(
            "spec key 'source.schema.file' = '" + folder.resolve("nowhere.avsc") + "'")
        .hasMessageContaining("NoSuchFileException");
  }

  static GenericRecord payment(
      String id, long micros, String amount, String currency, boolean fraud) {
    GenericRecord merchant =
        new GenericData.Record(PAYMENT.getField("merchant").schema().getTypes().get(1));
    merchant.put("country", "DE");
    merchant.put("risk", 0.25);
    merchant.put("category_id", 123456789012345678L);
    GenericRecord payment = new GenericData.Record(PAYMENT);
    payment.put("payment_id", id);
    payment.put("created_at", micros);
    Schema amountSchema = PAYMENT.getField("amount").schema();
    payment.put(
        "amount",
        new Conversions.DecimalConversion()
            .toBytes(new BigDecimal(amount), amountSchema, LogicalTypes.decimal(12, 2)));
    payment.put(
        "currency", new GenericData.EnumSymbol(PAYMENT.getField("currency").schema(), currency));
    payment.put("merchant", merchant);
    payment.put("card_present", true);
    payment.put("installments", 3);
    payment.put("tags", List.of("a"));
    payment.put("is_fraud", fraud);
    payment.put("weight", 0.5f);
    return payment;
  }

  static byte[] body(GenericRecord record) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
    new GenericDatumWriter<GenericRecord>(record.getSchema()).write(record, encoder);
    encoder.flush();
    return out.toByteArray();
  }

  /** The Confluent wire format: a zero byte, a 4-byte schema id, the body. */
  static byte[] confluent(GenericRecord record) throws IOException {
    byte[] body = body(record);
    return ByteBuffer.allocate(5 + body.length).put((byte) 0).putInt(42).put(body).array();
  }

  private static void assertRefusedAsMalformed(
      RecordEventDecoder decoder, byte[] bytes, String reason) {
    assertThatThrownBy(() -> decoder.decode(bytes, 0, 0, 0L))
        .isInstanceOf(AvroCodec.DecodeException.class)
        .hasMessageContaining(reason);
  }

  static PipelineSpec spec(String framing, Map<String, String> mapping) {
    return spec(framing, mapping, FEATURES);
  }

  private static PipelineSpec spec(String framing, Map<String, String> mapping, String yaml) {
    return SpecLoader.fromTree(tree(framing, mapping, yaml));
  }

  /** A spec tree mapping the payment schema: id, time, label and weight unless mapped otherwise. */
  private static Map<String, Object> tree(
      String framing, Map<String, String> mapping, String yaml) {
    Map<String, Object> tree = SpecLoader.readTree(yaml, "test");
    SpecLoader.override(tree, "source.schema.avro", PAYMENT.toString());
    SpecLoader.override(tree, "source.schema.framing", framing);
    Map<String, String> fields =
        new java.util.HashMap<>(
            Map.of(
                "id", "payment_id",
                "timestamp", "created_at",
                "label", "is_fraud",
                "weight", "weight"));
    fields.putAll(mapping);
    fields.forEach(
        (key, path) -> {
          if (!path.isEmpty()) {
            SpecLoader.override(tree, "source.schema." + key, path);
          }
        });
    return tree;
  }
}
