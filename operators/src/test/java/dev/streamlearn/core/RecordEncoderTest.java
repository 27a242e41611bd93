package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.RecordEncoder;
import dev.streamlearn.core.data.RecordEventDecoder;
import dev.streamlearn.core.spec.PipelineSpec;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.Test;

/**
 * Rows written as the producers' own records read back, through the decoder, as the values they
 * were written from, in every framing; a value that does not fit its field is refused naming both.
 */
class RecordEncoderTest {

  @Test
  void textRowsAndJsonValuesReadBackAsWritten() throws Exception {
    Map<String, Object> text = new HashMap<>();
    text.put("payment_id", "p-1");
    text.put("created_at", "2024-03-01T12:00:00.123456Z");
    text.put("amount", "12.345");
    text.put("currency", "USD");
    text.put("merchant.country", "DE");
    text.put("merchant.category_id", "5411");
    text.put("card_present", "yes");
    text.put("installments", "3");
    text.put("is_fraud", "true");
    text.put("weight", "");
    text.put("not.in.the.schema", "ignored");
    Map<String, Object> json = new HashMap<>(text);
    json.put("created_at", 1_709_294_400_123_456.0);
    json.put("merchant.category_id", 5411.0);
    json.put("card_present", true);
    json.put("installments", 3.0);
    json.put("is_fraud", true);
    json.put("weight", null);

    for (String framing : PipelineSpec.RecordSchema.FRAMINGS) {
      PipelineSpec spec = RecordEventDecoderTest.spec(framing, Map.of());
      RecordEncoder encoder = new RecordEncoder(spec.source().recordSchema());
      RecordEventDecoder decoder = new RecordEventDecoder(spec);
      for (Map<String, Object> row : List.of(text, json)) {
        GenericRecord record = encoder.record(row);
        assertThat(record.get("tags")).as("the field's default").isEqualTo(List.of());
        Example example = decoder.decode(encoder.encode(record), 0, 0, 0L);
        assertThat(example.id).isEqualTo("p-1");
        assertThat(example.timestamp)
            .isEqualTo(Instant.parse("2024-03-01T12:00:00.123Z").toEpochMilli());
        assertThat(example.label).isEqualTo(1.0);
        assertThat(example.weight).isEqualTo(1f);
        // amount rounded half-even to the decimal's scale 2; merchant.risk absent
        assertThat(example.numeric[0]).isEqualTo(12.34);
        assertThat(example.numeric[1]).isNaN();
        assertThat(example.numeric[2]).isEqualTo(1.0);
        assertThat(example.numeric[3]).isEqualTo(3.0);
        assertThat(example.categorical).containsExactly("USD", "DE", "5411");
      }
    }
  }

  @Test
  void aValueThatDoesNotFitItsFieldIsRefusedNamingBoth() {
    RecordEncoder encoder =
        new RecordEncoder(RecordEventDecoderTest.spec("raw", Map.of()).source().recordSchema());
    Map<String, Object> row = new HashMap<>();
    row.put("payment_id", "p-2");
    row.put("created_at", "5");
    row.put("amount", "1");
    row.put("currency", "JPY");
    row.put("card_present", "no");
    row.put("installments", "1");
    assertThatThrownBy(() -> encoder.record(row))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("field currency = 'JPY' does not fit its type")
        .hasMessageEndingWith("not one of [EUR, USD, GBP]");
    row.put("currency", "EUR");
    row.put("installments", "1.5");
    assertThatThrownBy(() -> encoder.record(row))
        .hasMessageStartingWith("field installments = '1.5' does not fit its type \"int\"");
    row.put("installments", "2");
    row.put("created_at", "yesterday");
    assertThatThrownBy(() -> encoder.record(row))
        .hasMessageStartingWith("field created_at = 'yesterday' does not fit its type");
    row.put("created_at", "1");
    row.remove("payment_id");
    assertThatThrownBy(() -> encoder.record(row))
        .hasMessageStartingWith("field payment_id has no value");
    row.put("payment_id", "p-2");
    assertThat(encoder.record(row).get("merchant")).isNull();
  }
}
