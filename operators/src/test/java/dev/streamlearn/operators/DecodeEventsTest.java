package dev.streamlearn.operators;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.schemas.EventLabel;
import dev.streamlearn.schemas.LabeledEvent;
import dev.streamlearn.schemas.codec.Topics;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

class DecodeEventsTest {

  private static final PipelineSpec SPEC =
      SpecLoader.parse(
          "label: {classes: ['no', 'yes']}\n"
              + "features: [{name: a, type: numeric}, {name: c, type: categorical}]\n");

  @Test
  void passesGoodEventsAndRefusesBadOnesWithReasons() throws Exception {
    try (var harness =
        new OneInputStreamOperatorTestHarness<>(new ProcessOperator<>(new DecodeEvents(SPEC)))) {
      harness.open();
      Map<String, Object> features = new HashMap<>();
      features.put("a", "2.5");
      features.put("c", 7.0);
      features.put("ignored", true);
      harness.processElement(record(event("ok", "yes", features), 0));
      harness.processElement(record(event("wrong-type", 1.0, Map.of("a", 1.0)), 1));
      harness.processElement(record(event("unknown-class", "maybe", Map.of("a", 1.0)), 2));
      harness.processElement(new StreamRecord<>(new SourceRecord(new byte[] {9, 9}, "t", 0, 3, 0)));
      harness.processElement(new StreamRecord<>(new SourceRecord(null, "t", 0, 4, 0)));

      assertThat(harness.extractOutputValues()).hasSize(1);
      Example example = harness.extractOutputValues().get(0);
      assertThat(example.id).isEqualTo("ok");
      assertThat(example.label).isEqualTo(1.0);
      assertThat(example.numeric).containsExactly(2.5);
      assertThat(example.categorical).containsExactly("7");
      assertThat(example.offset).isZero();

      var refused = harness.getSideOutput(DecodeEvents.REFUSED);
      assertThat(refused).hasSize(4);
      assertThat(
              refused.stream()
                  .map(
                      r ->
                          r.getValue().offset
                              + " "
                              + r.getValue().stage
                              + ": "
                              + r.getValue().reason))
          .containsExactly(
              "1 clean: label 1.0 is a number, but label.classes lists class names [no, yes]",
              "2 clean: label 'maybe' is not one of the classes [no, yes]",
              "3 decode: not Avro single-object encoded dev.streamlearn.schemas.LabeledEvent: Not enough header bytes",
              "4 decode: the record has no value (null payload)");
    }
  }

  @Test
  void withALabelsTopicEventsMayComeWithoutTheirLabelAndLabelsAreDecoded() throws Exception {
    PipelineSpec spec =
        SpecLoader.parse(
            "label: {classes: ['no', 'yes']}\n"
                + "features: [{name: a, type: numeric}]\n"
                + "source: {topic: t, labels: {topic: t.labels}}\n");
    try (var harness =
        new OneInputStreamOperatorTestHarness<>(new ProcessOperator<>(new DecodeEvents(spec)))) {
      harness.open();
      harness.processElement(record(event("waits", null, Map.of("a", 1.0)), 0));
      harness.processElement(record(event("own", "no", Map.of("a", 2.0)), 1));
      harness.processElement(label("waits", "yes", 7, 5_000));
      harness.processElement(label("bad", "maybe", 8, 5_000));
      harness.processElement(
          new StreamRecord<>(new SourceRecord(new byte[] {1, 2, 3}, "t.labels", 0, 9, 0)));
      // An event on the labels topic is not a label.
      harness.processElement(
          new StreamRecord<>(
              new SourceRecord(
                  Topics.labeledEvents().encode(event("x", "no", Map.of())),
                  "t.labels",
                  0,
                  10,
                  0)));

      assertThat(harness.extractOutputValues())
          .extracting(e -> e.id + " " + e.label + " " + e.labelOnly + " " + e.timestamp)
          .containsExactly("waits NaN false 1", "own 0.0 false 1", "waits 1.0 true 5000");
      assertThat(harness.extractOutputValues().get(0).awaitsLabel()).isTrue();
      assertThat(harness.extractOutputValues().get(2).offset).isEqualTo(7);
      assertThat(
              harness.getSideOutput(DecodeEvents.REFUSED).stream()
                  .map(
                      r ->
                          r.getValue().topic
                              + "@"
                              + r.getValue().offset
                              + " "
                              + r.getValue().stage))
          .containsExactly("t.labels@8 clean", "t.labels@9 decode", "t.labels@10 decode");
      assertThat(harness.getSideOutput(DecodeEvents.REFUSED).peek().getValue().reason)
          .isEqualTo("label 'maybe' is not one of the classes [no, yes]");
    }
    // Without one, an event without a label is refused as before.
    try (var harness =
        new OneInputStreamOperatorTestHarness<>(new ProcessOperator<>(new DecodeEvents(SPEC)))) {
      harness.open();
      harness.processElement(record(event("waits", null, Map.of("a", 1.0)), 0));
      assertThat(harness.extractOutputValues()).isEmpty();
      assertThat(harness.getSideOutput(DecodeEvents.REFUSED).peek().getValue().reason)
          .isEqualTo("event has no label");
    }
  }

  private static StreamRecord<SourceRecord> label(String id, String label, long offset, long time) {
    EventLabel record =
        EventLabel.newBuilder()
            .setId(id)
            .setTimestamp(Instant.ofEpochMilli(time))
            .setLabel(label)
            .build();
    return new StreamRecord<>(
        new SourceRecord(Topics.eventLabels().encode(record), "t.labels", 0, offset, time));
  }

  private static StreamRecord<SourceRecord> record(LabeledEvent event, long offset) {
    return new StreamRecord<>(
        new SourceRecord(Topics.labeledEvents().encode(event), "t", 0, offset, 0));
  }

  private static LabeledEvent event(String id, Object label, Map<String, Object> features) {
    return LabeledEvent.newBuilder()
        .setId(id)
        .setTimestamp(Instant.ofEpochMilli(1))
        .setLabel(label)
        .setFeatures(new HashMap<>(features))
        .build();
  }
}
