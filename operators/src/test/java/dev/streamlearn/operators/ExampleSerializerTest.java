package dev.streamlearn.operators;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.data.Example;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

class ExampleSerializerTest {

  @Test
  void roundTripsEveryFieldIncludingMissingValues() throws Exception {
    Example example = new Example();
    example.id = "évènement-1";
    example.timestamp = 1_700_000_000_123L;
    example.label = 3;
    example.weight = 0.5f;
    example.numeric = new double[] {1.5, Double.NaN, -0.0};
    example.categorical = new String[] {"red", null, ""};
    example.partition = 7;
    example.offset = 1L << 40;
    example.ingestTime = 42;
    example.candidate = 2;
    example.labelOnly = true;
    example.countsEvent = false;

    DataOutputSerializer out = new DataOutputSerializer(64);
    ExampleSerializer.INSTANCE.serialize(example, out);
    ExampleSerializer.INSTANCE.serialize(example, out);
    DataInputDeserializer in = new DataInputDeserializer(out.getCopyOfBuffer());
    for (int i = 0; i < 2; i++) {
      assertSame(ExampleSerializer.INSTANCE.deserialize(in), example);
    }
    assertThat(in.available()).isZero();
    Example copy = ExampleSerializer.INSTANCE.copy(example);
    assertSame(copy, example);
    assertThat(copy.numeric).isNotSameAs(example.numeric);
    assertThat(ExampleSerializer.INSTANCE.snapshotConfiguration().restoreSerializer())
        .isEqualTo(ExampleSerializer.INSTANCE);
  }

  /**
   * The flags byte was the {@code labelOnly} boolean: examples written before (all of them
   * counting) read back as they were, and a counting example is written as it was then.
   */
  @Test
  void readsTheEarlierLabelOnlyByteAsACountingExample() throws Exception {
    for (boolean labelOnly : new boolean[] {false, true}) {
      Example example = new Example();
      example.id = "e";
      example.numeric = new double[0];
      example.categorical = new String[0];
      example.labelOnly = labelOnly;
      DataOutputSerializer out = new DataOutputSerializer(64);
      ExampleSerializer.INSTANCE.serialize(example, out);
      byte[] bytes = out.getCopyOfBuffer();
      DataOutputSerializer earlier = new DataOutputSerializer(1);
      earlier.writeBoolean(labelOnly);
      assertThat(bytes[bytes.length - 1]).isEqualTo(earlier.getCopyOfBuffer()[0]);
      Example read = ExampleSerializer.INSTANCE.deserialize(new DataInputDeserializer(bytes));
      assertThat(read.countsEvent).isTrue();
      assertThat(read.labelOnly).isEqualTo(labelOnly);
    }
  }

  private static void assertSame(Example actual, Example expected) {
    assertThat(actual.id).isEqualTo(expected.id);
    assertThat(actual.timestamp).isEqualTo(expected.timestamp);
    assertThat(actual.label).isEqualTo(expected.label);
    assertThat(actual.weight).isEqualTo(expected.weight);
    // Bit for bit, so NaN and -0.0 survive.
    assertThat(java.util.Arrays.equals(actual.numeric, expected.numeric)).isTrue();
    assertThat(actual.categorical).containsExactly(expected.categorical);
    assertThat(actual.partition).isEqualTo(expected.partition);
    assertThat(actual.offset).isEqualTo(expected.offset);
    assertThat(actual.ingestTime).isEqualTo(expected.ingestTime);
    assertThat(actual.candidate).isEqualTo(expected.candidate);
    assertThat(actual.labelOnly).isEqualTo(expected.labelOnly);
    assertThat(actual.countsEvent).isEqualTo(expected.countsEvent);
  }
}
