package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.data.DirectEventDecoder;
import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.schemas.LabeledEvent;
import dev.streamlearn.schemas.codec.Topics;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The direct decoder gives what Avro's reader plus the extractor give, example or refusal. */
class DirectEventDecoderTest {

  private static final PipelineSpec SPEC =
      SpecLoader.parse(
          "label: {classes: [neg, pos]}\n"
              + "features: [{name: a, type: numeric}, {name: b, type: numeric}, {name: c, type: categorical}]\n");

  @Test
  void agreesWithTheGeneralPathOnGoodAndBadEvents() throws Exception {
    Random random = new Random(1);
    Object[] values = {
      null,
      1.5,
      -0.0,
      Double.NaN,
      Double.POSITIVE_INFINITY,
      "2.25",
      "",
      "x",
      true,
      false,
      7.0,
      "k".repeat(2000)
    };
    Object[] labels = {"neg", "pos", "other", 1.0, null};
    List<LabeledEvent> events = new ArrayList<>();
    for (int i = 0; i < 3000; i++) {
      Map<String, Object> features = new HashMap<>();
      for (String name : new String[] {"a", "b", "c", "unused"}) {
        if (random.nextInt(5) > 0) {
          features.put(name, values[random.nextInt(values.length)]);
        }
      }
      events.add(
          LabeledEvent.newBuilder()
              .setId(random.nextInt(50) == 0 ? " " : "e" + i)
              .setTimestamp(Instant.ofEpochMilli(random.nextInt(1_000_000)))
              .setEntity(random.nextBoolean() ? "u" + i : null)
              .setLabel(labels[random.nextInt(labels.length)])
              .setWeight(
                  random.nextInt(10) == 0
                      ? Double.valueOf(-1.0)
                      : random.nextBoolean() ? Double.valueOf(2.0) : null)
              .setFeatures(features)
              .build());
    }
    DirectEventDecoder direct = new DirectEventDecoder(SPEC);
    ExampleExtractor extractor = new ExampleExtractor(SPEC);
    int good = 0;
    for (LabeledEvent event : events) {
      byte[] bytes = Topics.labeledEvents().encode(event);
      assertThat(DirectEventDecoder.canRead(bytes)).isTrue();
      String expected;
      try {
        expected = describe(extractor.extract(Topics.labeledEvents().decode(bytes), 3, 9));
        good++;
      } catch (ExampleExtractor.RefusedException e) {
        expected = "refused";
      }
      String actual;
      try {
        actual = describe(direct.decode(bytes, 3, 9));
      } catch (ExampleExtractor.RefusedException e) {
        actual = "refused";
      }
      assertThat(actual).as("event %s", event).isEqualTo(expected);
    }
    assertThat(good).isBetween(300, 2700);
  }

  @Test
  void leavesOtherSchemasAndTruncatedBytesToTheRightPlaces() throws Exception {
    byte[] bytes =
        Topics.labeledEvents()
            .encode(
                LabeledEvent.newBuilder()
                    .setId("e")
                    .setTimestamp(Instant.EPOCH)
                    .setLabel("pos")
                    .setFeatures(Map.of("a", 1.0))
                    .build());
    byte[] truncated = java.util.Arrays.copyOf(bytes, bytes.length - 3);
    assertThat(DirectEventDecoder.canRead(truncated)).isTrue();
    try {
      new DirectEventDecoder(SPEC).decode(truncated, 0, 0);
      throw new AssertionError("decoded a truncated record");
    } catch (dev.streamlearn.schemas.codec.AvroCodec.DecodeException e) {
      assertThat(e.getMessage()).startsWith("malformed dev.streamlearn.schemas.LabeledEvent");
    }
    byte[] other = Topics.windowMetrics().schema().toString().getBytes();
    assertThat(DirectEventDecoder.canRead(other)).isFalse();
  }

  private static String describe(Example e) {
    return e.id
        + "|"
        + e.timestamp
        + "|"
        + e.label
        + "|"
        + e.weight
        + "|"
        + java.util.Arrays.toString(e.numeric)
        + "|"
        + java.util.Arrays.toString(e.categorical)
        + "|"
        + e.partition
        + "|"
        + e.offset;
  }
}
