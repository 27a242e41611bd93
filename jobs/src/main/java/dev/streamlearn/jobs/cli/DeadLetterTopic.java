package dev.streamlearn.jobs.cli;

import dev.streamlearn.jobs.KafkaEndpoint;
import dev.streamlearn.schemas.DeadLetter;
import dev.streamlearn.schemas.codec.AvroCodec;
import dev.streamlearn.schemas.codec.Topics;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * A dead-letter topic as it is now: its Avro {@link DeadLetter}s read from the start of every
 * partition to the end it had when reading began, and the records they refused, read back from
 * their own topics where a dead letter does not carry them (an event given up on while it waited
 * for its label keeps only where it was read).
 */
final class DeadLetterTopic {

  /** A dead letter and where it is in the dead-letter topic. */
  record Refused(int partition, long offset, DeadLetter letter) {

    /** Where the refused record was read: the same for every copy of an at-least-once write. */
    Source source() {
      return new Source(letter.getTopic(), letter.getPartition(), letter.getOffset());
    }

    boolean hasPayload() {
      return letter.getPayload().remaining() > 0;
    }

    byte[] payload() {
      var buffer = letter.getPayload().duplicate();
      byte[] bytes = new byte[buffer.remaining()];
      buffer.get(bytes);
      return bytes;
    }

    Instant refusedAt() {
      return letter.getRefusedAt();
    }
  }

  /** A record's place in its topic. */
  record Source(String topic, int partition, long offset) {
    @Override
    public String toString() {
      return topic + "-" + partition + "@" + offset;
    }
  }

  /** What reading found: the dead letters, and the records of the topic that are not ones. */
  record Contents(String topic, List<Refused> refused, List<String> unreadable) {}

  private static final Duration POLL = Duration.ofMillis(500);

  private DeadLetterTopic() {}

  /**
   * Reads {@code topic} from its start to its current end, committed records only (what a {@code
   * read_committed} consumer sees), in partition and offset order.
   *
   * @throws IllegalArgumentException when the topic does not exist
   */
  static Contents read(KafkaEndpoint kafka, String topic) {
    AvroCodec<DeadLetter> codec = Topics.deadLetters();
    List<Refused> refused = new ArrayList<>();
    List<String> unreadable = new ArrayList<>();
    readToEnd(
        kafka,
        topic,
        "dead-letter topic",
        record -> {
          try {
            refused.add(
                new Refused(record.partition(), record.offset(), codec.decode(record.value())));
          } catch (AvroCodec.DecodeException e) {
            unreadable.add(topic + "-" + record.partition() + "@" + record.offset());
          }
        });
    refused.sort(Comparator.comparingInt(Refused::partition).thenComparingLong(Refused::offset));
    return new Contents(topic, refused, unreadable);
  }

  /**
   * Hands every committed record of {@code topic}, from its start to its end when the call began,
   * to {@code each}.
   *
   * @param what what the topic is, for the error (e.g. {@code predictions topic})
   * @throws IllegalArgumentException when the topic does not exist
   */
  static void readToEnd(
      KafkaEndpoint kafka,
      String topic,
      String what,
      java.util.function.Consumer<ConsumerRecord<byte[], byte[]>> each) {
    try (KafkaConsumer<byte[], byte[]> consumer = consumer(kafka)) {
      List<PartitionInfo> partitions = consumer.partitionsFor(topic);
      if (partitions == null || partitions.isEmpty()) {
        throw new IllegalArgumentException(what + " '" + topic + "' does not exist at " + kafka);
      }
      List<TopicPartition> assigned =
          partitions.stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .sorted(Comparator.comparingInt(TopicPartition::partition))
              .toList();
      consumer.assign(assigned);
      consumer.seekToBeginning(assigned);
      Map<TopicPartition, Long> end = consumer.endOffsets(assigned);
      while (assigned.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(POLL)) {
          if (record.offset() < end.get(new TopicPartition(topic, record.partition()))) {
            each.accept(record);
          }
        }
      }
    }
  }

  /**
   * Reads the records at {@code sources} back from their topics; a record no longer there (past the
   * topic's retention, compacted away, or of a topic since deleted) is absent from the answer.
   */
  static Map<Source, ConsumerRecord<byte[], byte[]>> fetch(
      KafkaEndpoint kafka, List<Source> sources) {
    Map<TopicPartition, TreeMap<Long, Source>> wanted = new HashMap<>();
    for (Source source : sources) {
      wanted
          .computeIfAbsent(
              new TopicPartition(source.topic(), source.partition()), p -> new TreeMap<>())
          .put(source.offset(), source);
    }
    Map<Source, ConsumerRecord<byte[], byte[]>> found = new HashMap<>();
    try (KafkaConsumer<byte[], byte[]> consumer = consumer(kafka)) {
      for (var entry : wanted.entrySet()) {
        TopicPartition partition = entry.getKey();
        TreeMap<Long, Source> offsets = entry.getValue();
        List<PartitionInfo> exists = consumer.partitionsFor(partition.topic());
        if (exists == null
            || exists.stream().noneMatch(p -> p.partition() == partition.partition())) {
          continue;
        }
        consumer.assign(List.of(partition));
        long end = consumer.endOffsets(List.of(partition)).get(partition);
        long begin = consumer.beginningOffsets(List.of(partition)).get(partition);
        // Seek to each wanted offset the records polled so far have not passed; a poll brings the
        // records after it too, so offsets close together cost one fetch.
        long next = -1;
        for (long offset : offsets.keySet()) {
          if (offset < begin || offset >= end || next > offset) {
            continue; // gone, or passed over by the records polled: compacted away
          }
          if (next != offset) {
            consumer.seek(partition, offset);
          }
          while (consumer.position(partition) <= offset) {
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(POLL)) {
              Source source = offsets.get(record.offset());
              if (source != null) {
                found.put(source, record);
              }
            }
          }
          next = consumer.position(partition);
        }
      }
    }
    return found;
  }

  private static KafkaConsumer<byte[], byte[]> consumer(KafkaEndpoint kafka) {
    Properties properties = kafka.properties();
    properties.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    properties.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    properties.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    return new KafkaConsumer<>(properties);
  }

  private static final Pattern QUOTED = Pattern.compile("'[^']*'");
  private static final Pattern NUMBER =
      Pattern.compile("(?<![A-Za-z_])(0x[0-9a-fA-F]+|-?\\d+(\\.\\d+)?([eE][-+]?\\d+)?)");

  /**
   * What kind of refusal a reason says, for counting dead letters by kind: the reason with its
   * quoted values and its numbers left out, e.g. {@code feature amount is …} and {@code label '…'
   * is not one of the classes […]}.
   */
  static String kindOf(String reason) {
    String kind = QUOTED.matcher(reason).replaceAll("'…'");
    kind = NUMBER.matcher(kind).replaceAll("…");
    return kind.replaceAll("\\[[^\\]]*\\]", "[…]");
  }
}
