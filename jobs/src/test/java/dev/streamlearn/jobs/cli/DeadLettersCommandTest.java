package dev.streamlearn.jobs.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.jobs.runtime.EmbeddedKafka;
import dev.streamlearn.schemas.DeadLetter;
import dev.streamlearn.schemas.codec.Topics;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code streamlearn dead-letters} on a real broker: a dead-letter topic written as the pipeline
 * writes it (a copy written twice, dead letters without payload, one record that is not a dead
 * letter), and the topics the refused records came from.
 */
class DeadLettersCommandTest {

  @TempDir static Path directory;
  private static EmbeddedKafka kafka;
  private static Path spec;

  @BeforeAll
  static void writeTopics() throws Exception {
    kafka = EmbeddedKafka.start(directory.resolve("kafka"));
    kafka.createTopic("visits", 1);
    kafka.createTopic("visits.labels", 1);
    kafka.createTopic("visits.dead-letter", 1);
    spec = directory.resolve("visits.yaml");
    Files.writeString(
        spec,
        String.join(
            "\n",
            "name: visits",
            "source: {bootstrap-servers: '" + kafka.bootstrapServers() + "', topic: visits,",
            "         labels: {topic: visits.labels}}",
            "label: {classes: [stayed, left]}",
            "features: [{name: x, type: numeric}]",
            ""));
    Instant now = Instant.now();
    try (KafkaProducer<byte[], byte[]> producer = DemoCommand.producer(kafka.bootstrapServers())) {
      for (int i = 0; i < 5; i++) {
        producer.send(new ProducerRecord<>("visits", bytes("v" + i), bytes("event " + i))).get();
      }
      producer.send(new ProducerRecord<>("visits.labels", null, bytes("label of v9"))).get();
      List<DeadLetter> letters =
          List.of(
              letter(
                  "event 0", "visits", 0, "decode", "not Avro: first bytes 0x65 0x76", null, now),
              letter(
                  "event 1", "visits", 1, "clean", "feature x is 12.5, outside [0, 10]", "v1", now),
              letter(
                  "event 1", "visits", 1, "clean", "feature x is 12.5, outside [0, 10]", "v1", now),
              letter(
                  "event 2", "visits", 2, "clean", "feature x is -3, outside [0, 10]", "v2", now),
              letter("", "visits", 3, "join-labels", noLabel(), "v3", now.minusSeconds(7200)),
              letter("", "visits", 4, "join-labels", noLabel(), "v4", now),
              letter("", "visits", 99, "join-labels", noLabel(), "v99", now),
              letter(
                  "label of v9",
                  "visits.labels",
                  0,
                  "join-labels",
                  "no event arrived on visits within PT1H of the label",
                  "v9",
                  now));
      for (DeadLetter letter : letters) {
        producer
            .send(
                new ProducerRecord<>(
                    "visits.dead-letter", null, Topics.deadLetters().encode(letter)))
            .get();
      }
      producer
          .send(new ProducerRecord<>("visits.dead-letter", null, bytes("not a dead letter")))
          .get();
    }
  }

  @AfterAll
  static void stopKafka() throws Exception {
    kafka.close();
  }

  @Test
  void summaryCountsTheDeadLettersByKind() {
    Result result = run("summary");
    assertThat(result.code).as(result.err).isZero();
    assertThat(result.out)
        .contains(
            "Dead-letter topic visits.dead-letter at "
                + kafka.bootstrapServers()
                + ": 8 dead letters (and 1 records that are not dead letters, the first at"
                + " visits.dead-letter-0@8), refused ")
        .contains("  1 of them are second copies of a refusal")
        .contains("  3 carry no payload")
        .containsPattern(
            "\\s+3  join-labels  visits\\s+no label arrived on visits.labels within PT1H of the"
                + " event\\n")
        .containsPattern("\\s+3  clean\\s+visits\\s+feature x is 12.5, outside \\[0, 10\\]\\n")
        .containsPattern("\\s+1  decode\\s+visits\\s+not Avro");
    // Most first: the two kinds of three before the kinds of one.
    assertThat(result.out.indexOf("clean")).isLessThan(result.out.indexOf("decode "));

    Result few = run("summary", "--kinds", "1", "--stage", "clean,decode");
    assertThat(few.out)
        .contains("; 4 chosen (stage clean or decode)")
        .contains("and 1 more kinds of 1 records (--kinds 2 lists them)");
  }

  @Test
  void showListsTheChosenOnes() {
    Result result = run("show", "--from-topic", "visits.labels");
    assertThat(result.code).as(result.err).isZero();
    assertThat(result.out)
        .contains("; 1 chosen (from visits.labels)")
        .contains("  visits.dead-letter-0@7  ")
        .contains(
            "  join-labels  visits.labels-0@0  id v9  11 bytes  no event arrived on visits within"
                + " PT1H of the label");
    Result limited = run("show", "--limit", "2", "--since", "1h");
    assertThat(limited.out)
        .contains("; 7 chosen (since ")
        .contains("and 5 more (--limit 0 lists all)");
  }

  @Test
  void replaySendsEachRefusedRecordOnceAndReadsBackThoseWithoutPayload() {
    Result result = run("replay", "--to-topic", "visits.replayed");
    assertThat(result.code).isEqualTo(1);
    assertThat(result.err)
        .contains(
            "1 refused records are no longer in their topic (past its retention, or compacted"
                + " away) and were not replayed; the first: visits-0@99");
    assertThat(result.out)
        .contains("Created topic visits.replayed")
        .contains(
            "Replayed 6 to visits.replayed (1 second copies of a refusal left out); 2 read back"
                + " from their topic, the dead letter carrying no payload.");
    List<ConsumerRecord<byte[], byte[]>> replayed = readTopic("visits.replayed");
    assertThat(replayed.stream().map(r -> text(r.value())))
        .containsExactly("event 0", "event 1", "event 2", "event 3", "event 4", "label of v9");
    assertThat(replayed.stream().map(r -> r.key() == null ? null : text(r.key())))
        .containsExactly(null, "v1", "v2", "v3", "v4", "v9");
  }

  @Test
  void replayToTheTopicsReadFromSaysWhichEventsDeduplicationStillRemembers() {
    Result dry = run("replay", "--stage", "join-labels", "--from-topic", "visits", "--dry-run");
    assertThat(dry.out)
        .contains("Would replay 2 to visits; 2 read back from their topic")
        // v3 was refused two hours ago, past dedup.ttl (1h); v4 just now.
        .contains(
            "Note: 1 of these events passed deduplication before they were given up on, less than"
                + " dedup.ttl (PT1H) ago");
    assertThat(readTopic("visits")).hasSize(5);

    Result sent = run("replay", "--stage", "clean", "--reason", "OUTSIDE");
    assertThat(sent.code).as(sent.err).isZero();
    assertThat(sent.out).contains("Replayed 2 to visits (1 second copies of a refusal left out).");
    assertThat(readTopic("visits").stream().skip(5).map(r -> text(r.value())))
        .containsExactly("event 1", "event 2");
  }

  @Test
  void refusesWhatItCannotRead() {
    Result since = run("summary", "--since", "yesterday");
    assertThat(since.code).isEqualTo(2);
    assertThat(since.err)
        .contains("--since 'yesterday': an instant such as 2026-11-24T03:00:00Z or a duration");
    Result missing = run("summary", "--dead-letter-topic", "nowhere");
    assertThat(missing.code).isEqualTo(2);
    assertThat(missing.err)
        .contains(
            "dead-letter topic 'nowhere' does not exist at "
                + kafka.bootstrapServers()
                + " (--dead-letter-topic)");
    Result noSubcommand = run();
    assertThat(noSubcommand.code).isEqualTo(2);
    assertThat(noSubcommand.err).contains("name a subcommand: summary, show, replay");
  }

  @Test
  void kindsOfReasonLeaveOutValuesAndNumbers() {
    assertThat(DeadLetterTopic.kindOf("feature x is 12.5, outside [0, 10]"))
        .isEqualTo(DeadLetterTopic.kindOf("feature x is -3, outside [0, 10]"))
        .isEqualTo("feature x is …, outside […]");
    assertThat(DeadLetterTopic.kindOf("label 'maybe' is not one of the classes [stayed, left]"))
        .isEqualTo("label '…' is not one of the classes […]");
    assertThat(DeadLetterTopic.kindOf("no label arrived on t2.labels within PT1H of the event"))
        .isEqualTo("no label arrived on t2.labels within PT1H of the event");
    assertThat(DeadLetterTopic.kindOf("feature x is NaN"))
        .isNotEqualTo(DeadLetterTopic.kindOf("feature y is NaN"));
  }

  private static String noLabel() {
    return "no label arrived on visits.labels within PT1H of the event";
  }

  private static DeadLetter letter(
      String payload,
      String topic,
      long offset,
      String stage,
      String reason,
      String eventId,
      Instant refusedAt) {
    return DeadLetter.newBuilder()
        .setPayload(ByteBuffer.wrap(bytes(payload)))
        .setTopic(topic)
        .setPartition(0)
        .setOffset(offset)
        .setStage(stage)
        .setReason(reason)
        .setEventId(eventId)
        .setRefusedAt(refusedAt)
        .build();
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static String text(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private static List<ConsumerRecord<byte[], byte[]>> readTopic(String topic) {
    List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
    DeadLetterTopic.readToEnd(
        dev.streamlearn.jobs.KafkaEndpoint.plain(kafka.bootstrapServers()),
        topic,
        "topic",
        records::add);
    return records;
  }

  private record Result(int code, String out, String err) {}

  private Result run(String... args) {
    List<String> all = new ArrayList<>(List.of("dead-letters"));
    if (args.length > 0) {
      all.add(args[0]);
      all.add("--spec");
      all.add(spec.toString());
      all.addAll(List.of(args).subList(1, args.length));
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    StringWriter err = new StringWriter();
    PrintStream console = System.out;
    PrintStream consoleErr = System.err;
    int code;
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(stderr, true, StandardCharsets.UTF_8));
      code = StreamLearnCli.execute(new PrintWriter(err, true), all.toArray(String[]::new));
    } finally {
      System.setOut(console);
      System.setErr(consoleErr);
    }
    return new Result(
        code, out.toString(StandardCharsets.UTF_8), err + stderr.toString(StandardCharsets.UTF_8));
  }
}
