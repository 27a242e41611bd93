package dev.streamlearn.schemas.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamlearn.schemas.LabeledEvent;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.junit.jupiter.api.Test;

class SchemaEvolutionTest {

  /** LabeledEvent as a future producer might write it: one more optional field. */
  private static final Schema NEWER = newerSchema();

  private static Schema newerSchema() {
    String current = LabeledEvent.getClassSchema().toString();
    String added =
        "{\"name\":\"source\",\"type\":[\"null\",\"string\"],\"default\":null},"
            + "{\"name\":\"weight\"";
    return new Schema.Parser().parse(current.replace("{\"name\":\"weight\"", added));
  }

  @Test
  void currentReaderReadsRecordWrittenWithNewerSchema() throws Exception {
    GenericRecord written = new GenericData.Record(NEWER);
    written.put("id", "e-1");
    written.put("timestamp", 1_700_000_000_000L);
    written.put("entity", null);
    written.put("label", "M");
    Map<String, Object> features = new HashMap<>();
    features.put("radius", 17.5);
    features.put("color", "red");
    written.put("features", features);
    written.put("source", "sensor-7");
    written.put("weight", 2.0);
    ByteBuffer bytes =
        new BinaryMessageEncoder<GenericRecord>(GenericData.get(), NEWER).encode(written);

    AvroCodec<LabeledEvent> codec = Topics.labeledEvents().addWriterSchema(NEWER);
    LabeledEvent read = codec.decode(toArray(bytes));

    assertThat(read.getId()).isEqualTo("e-1");
    assertThat(read.getTimestamp()).isEqualTo(Instant.ofEpochMilli(1_700_000_000_000L));
    assertThat(read.getLabel()).isEqualTo("M");
    assertThat(read.getFeatures()).containsEntry("radius", 17.5).containsEntry("color", "red");
    assertThat(read.getWeight()).isEqualTo(2.0);
  }

  @Test
  void newerReaderReadsRecordWrittenWithCurrentSchema() throws Exception {
    LabeledEvent event =
        LabeledEvent.newBuilder()
            .setId("e-2")
            .setTimestamp(Instant.ofEpochMilli(5L))
            .setLabel(1.0)
            .setFeatures(Map.of("x", 0.25))
            .build();
    byte[] bytes = Topics.labeledEvents().encode(event);

    BinaryMessageDecoder<GenericRecord> newerReader =
        new BinaryMessageDecoder<>(GenericData.get(), NEWER);
    newerReader.addSchema(LabeledEvent.getClassSchema());
    GenericRecord read = newerReader.decode(bytes);

    assertThat(read.get("id").toString()).isEqualTo("e-2");
    assertThat(read.get("label")).isEqualTo(1.0);
    assertThat(read.get("source")).isNull();
    assertThat(read.get("weight")).isNull();
  }

  @Test
  void unregisteredSchemaIsRefusedWithReason() throws Exception {
    GenericRecord written = new GenericData.Record(NEWER);
    written.put("id", "e-3");
    written.put("timestamp", 1L);
    written.put("features", Map.of());
    byte[] bytes =
        toArray(new BinaryMessageEncoder<GenericRecord>(GenericData.get(), NEWER).encode(written));

    assertThatThrownBy(() -> Topics.labeledEvents().decode(bytes))
        .isInstanceOf(AvroCodec.DecodeException.class)
        .hasMessageContaining("schema this pipeline does not know");
  }

  @Test
  void malformedBytesAreRefusedWithReason() {
    assertThatThrownBy(() -> Topics.labeledEvents().decode(new byte[] {1, 2, 3}))
        .isInstanceOf(AvroCodec.DecodeException.class)
        .hasMessageContaining("not Avro single-object encoded");
    byte[] truncated =
        Topics.labeledEvents()
            .encode(
                LabeledEvent.newBuilder()
                    .setId("e-4")
                    .setTimestamp(Instant.EPOCH)
                    .setFeatures(Map.of("a", "b"))
                    .build());
    byte[] cut = java.util.Arrays.copyOf(truncated, truncated.length - 3);
    assertThatThrownBy(() -> Topics.labeledEvents().decode(cut))
        .isInstanceOf(AvroCodec.DecodeException.class)
        .hasMessageContaining("malformed");
  }

  private static byte[] toArray(ByteBuffer buffer) {
    byte[] bytes = new byte[buffer.remaining()];
    buffer.get(bytes);
    return bytes;
  }
}
