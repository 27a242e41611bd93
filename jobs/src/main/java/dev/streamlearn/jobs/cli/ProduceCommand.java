package dev.streamlearn.jobs.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.streamlearn.core.data.CsvEvents;
import dev.streamlearn.core.data.CsvReader;
import dev.streamlearn.core.data.RawFeatures;
import dev.streamlearn.core.data.RecordEncoder;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.jobs.KafkaEndpoint;
import dev.streamlearn.schemas.EventLabel;
import dev.streamlearn.schemas.LabeledEvent;
import dev.streamlearn.schemas.codec.AvroCodec;
import dev.streamlearn.schemas.codec.Topics;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code streamlearn produce}: rows of a CSV or JSON-lines file to a topic as Avro events. */
@Command(
    name = "produce",
    mixinStandardHelpOptions = true,
    description = {
      "Sends the rows of a CSV or JSON-lines file to the spec's topic as Avro events.",
      "They are LabeledEvents, or records of the spec's source.schema (columns and fields by",
      "dotted path, the label to the schema's label field).",
      "CSV: a header row; --label names the label column (default: the last column).",
      "JSON lines: one object per line, either {id, timestamp, label, features: {...}} or flat",
      "with --label naming the label field.",
      "--labels: the rows are labels of events sent earlier without one (columns or fields id,",
      "label or --label, and timestamp, which defaults to now), sent as EventLabels to the",
      "spec's source.labels.topic. --without-labels sends the events with their labels left out;",
      "--labels on the same file then sends those labels (a row without an id is <file>-<row> in",
      "both)."
    })
final class ProduceCommand implements Callable<Integer> {

  private static final ObjectMapper JSON = new ObjectMapper();

  @Option(
      names = "--spec",
      required = true,
      description = "The pipeline spec: its source says where to send.")
  Path specFile;

  @Option(names = "--input", required = true, description = "A .csv or .jsonl file.")
  Path input;

  @Option(names = "--label", description = "The label column or field.")
  String label;

  @Option(
      names = "--labels",
      description =
          "Send the rows as labels of events sent earlier (id, label, optional timestamp) to"
              + " source.labels.topic.")
  boolean labels;

  @Option(
      names = "--without-labels",
      description =
          "Send the events with their labels left out, to be labeled later with --labels.")
  boolean withoutLabels;

  @Option(
      names = "--partitions",
      converter = AtLeastOne.class,
      description =
          "The partitions of the topic when this command creates it (default: the broker's"
              + " default); as many as the pipeline's --parallelism, for each reader to have one.")
  Integer partitions;

  @Mixin KafkaOptions kafkaOptions;

  @Spec CommandSpec command;

  @Override
  public Integer call() throws Exception {
    Map<String, Object> tree = SpecLoader.readTree(specFile);
    kafkaOptions.override(tree);
    PipelineSpec spec = SpecLoader.fromTree(tree);
    if (labels && withoutLabels) {
      throw new IllegalArgumentException(
          "--labels sends labels and --without-labels sends events without them: one at a time");
    }
    if (labels && !spec.source().labelsFollow()) {
      throw new IllegalArgumentException(
          "--labels: the spec "
              + specFile
              + " names no source.labels; add 'labels: {topic: "
              + spec.source().topic()
              + ".labels}' under source so the pipeline reads labels that follow their events");
    }
    AvroCodec<LabeledEvent> codec = Topics.labeledEvents();
    String topic = labels ? spec.source().labels().topic() : spec.source().topic();
    CsvReader.Table csv = null;
    if (!labels && spec.source().recordSchema() == null && !isJsonLines()) {
      csv = CsvReader.read(input);
      checkColumns(spec, csv.header());
    }
    Duration timeout = kafkaOptions.timeout();
    KafkaEndpoint endpoint = KafkaEndpoint.of(spec.source());
    try (KafkaCheck kafka = new KafkaCheck(endpoint, timeout)) {
      if (kafka.createTopic(topic, partitions)) {
        System.out.printf(
            "Created topic %s at %s (%s).%n",
            topic,
            spec.source().bootstrapServers(),
            partitions == null
                ? "the broker's default partitions and replication"
                : partitions
                    + " partition"
                    + (partitions == 1 ? "" : "s")
                    + ", the broker's default replication");
      } else if (partitions != null) {
        int existing = kafka.partitions(topic);
        if (existing != partitions) {
          System.out.printf(
              "Topic %s exists with %d partitions; --partitions %d applies to a topic this command"
                  + " creates (more partitions for an existing topic: kafka-topics.sh --alter).%n",
              topic, existing, partitions);
        }
      }
    }
    SendFailures failures = new SendFailures();
    String prefix = input.getFileName().toString() + "-";
    long sent = 0;
    long start = System.nanoTime();
    try (KafkaProducer<byte[], byte[]> producer = DemoCommand.producer(endpoint)) {
      if (labels) {
        return produceLabels(spec, producer, failures);
      }
      if (spec.source().recordSchema() != null) {
        return produceRecords(spec, producer, failures);
      }
      if (isJsonLines()) {
        long startMillis;
        try (java.util.stream.Stream<String> all = Files.lines(input, StandardCharsets.UTF_8)) {
          startMillis = firstRowMillis(all.count());
        }
        long lines = 0;
        Unsent unreadable = new Unsent();
        try (BufferedReader reader = Files.newBufferedReader(input, StandardCharsets.UTF_8)) {
          String line;
          while ((line = reader.readLine()) != null) {
            long number = ++lines;
            if (line.isBlank()) {
              continue;
            }
            LabeledEvent event;
            try {
              event = fromJson(jsonObject(line), prefix, number - 1, startMillis);
              if (withoutLabels) {
                event.setLabel(null);
              }
            } catch (IOException | RuntimeException e) {
              unreadable.add("line " + number, firstLine(e));
              continue;
            }
            producer.send(
                new ProducerRecord<>(
                    topic, event.getId().getBytes(StandardCharsets.UTF_8), codec.encode(event)),
                failures);
            sent = progress(++sent, start);
          }
        }
        producer.flush();
        if (unreadable.report(
                String.format("%,d lines of %s are not events", sent + unreadable.count, input))
            > 0) {
          return Math.max(report(spec, sent, failures), 1);
        }
      } else {
        CsvReader.Table table = csv;
        String labelColumn = label != null ? label : table.header().get(table.header().size() - 1);
        CsvEvents rows = new CsvEvents(table, labelColumn);
        if (learnsFromNumbers(spec.label()) && !withoutLabels) {
          rows = rows.withNumbersForLabels();
          List<String> texts = rows.labelsThatAreNotNumbers();
          if (!texts.isEmpty()) {
            System.out.println(labelsNotNumbers(texts, labelColumn, spec.label().task()));
          }
        }
        long startMillis = firstRowMillis(rows.size());
        for (int i = 0; i < rows.size(); i++) {
          LabeledEvent event = rows.event(i, prefix, startMillis);
          if (withoutLabels) {
            event.setLabel(null);
          }
          producer.send(
              new ProducerRecord<>(
                  topic, event.getId().getBytes(StandardCharsets.UTF_8), codec.encode(event)),
              failures);
          sent = progress(++sent, start);
        }
      }
      producer.flush();
    }
    return report(spec, sent, failures);
  }

  /** The warning for labels that are not numbers where the task learns from numbers. */
  static String labelsNotNumbers(List<String> texts, String column, String task) {
    return String.format(
        "Warning: %s in column %s (the first: '%s'); sent as %s, and the pipeline dead-letters"
            + " %s (a %s label is a number)",
        texts.size() == 1
            ? "1 label is not a number"
            : String.format("%,d labels are not numbers", texts.size()),
        column,
        texts.get(0),
        texts.size() == 1 ? "it is" : "they are",
        texts.size() == 1 ? "its event" : "their events",
        task);
  }

  /** Whether the pipeline learns from labels that are numbers: regression, or binary 0 and 1. */
  private static boolean learnsFromNumbers(PipelineSpec.Label label) {
    return label.task().equals("regression")
        || (label.task().equals("binary") && label.classes().isEmpty());
  }

  /**
   * Refuses a file that has none of the columns the spec's features read (the wrong file, or the
   * wrong spec), before anything is sent; warns, naming them, when it lacks some (the pipeline
   * would see them missing in every event).
   */
  private void checkColumns(PipelineSpec spec, List<String> header) {
    AbsentColumns absent = AbsentColumns.of(new RawFeatures(spec).fieldNames(), header);
    if (absent.all()) {
      throw new IllegalArgumentException(
          String.format(
              "--input %s has none of the %d columns the features of %s read (%s); its columns:"
                  + " %s",
              input, absent.read(), specFile, absent.named(), header));
    }
    if (absent.some()) {
      System.out.printf(
          "Warning: %d of the %d columns the features of %s read are not in %s; the pipeline will"
              + " see them missing in every event: %s%n",
          absent.absent().size(), absent.read(), specFile, input, absent.named());
    }
  }

  private int report(PipelineSpec spec, long sent, SendFailures failures) {
    String topic = labels ? spec.source().labels().topic() : spec.source().topic();
    long failed = failures.count.get();
    if (failed > 0) {
      command
          .commandLine()
          .getErr()
          .printf(
              "streamlearn: %,d of %,d events were not sent to %s at %s; the first error: %s%n",
              failed, sent, topic, spec.source().bootstrapServers(), failures.first.get());
      return 1;
    }
    System.out.printf(
        "Sent %,d %s to %s at %s.%n",
        sent, labels ? "labels" : "events", topic, spec.source().bootstrapServers());
    return 0;
  }

  /**
   * The rows as {@link EventLabel}s: the label column or field is required ({@code --label}, else
   * {@code label}, else a CSV file's last column); {@code id} defaults to {@code <file>-<row>}, the
   * id the row's event got from {@code produce --without-labels}; {@code timestamp} (epoch
   * milliseconds or ISO-8601) defaults to now. Labels are sent as numbers unless the spec lists
   * class names. Rows without a label are counted and not sent (exit 1).
   */
  private int produceLabels(
      PipelineSpec spec, KafkaProducer<byte[], byte[]> producer, SendFailures failures)
      throws IOException {
    Rows rows = readRows();
    String prefix = input.getFileName().toString() + "-";
    // As for events: a CSV file's label is its last column unless told, or a column named label.
    String labelName =
        label != null
            ? label
            : rows.header() != null && !rows.header().contains("label")
                ? rows.header().get(rows.header().size() - 1)
                : "label";
    boolean classNames = !spec.label().classes().isEmpty();
    AvroCodec<EventLabel> codec = Topics.eventLabels();
    String topic = spec.source().labels().topic();
    long now = System.currentTimeMillis();
    long start = System.nanoTime();
    long sent = 0;
    Unsent unfit = new Unsent();
    for (int i = 0; i < rows.size(); i++) {
      EventLabel record;
      try {
        if (rows.unreadable().get(i) != null) {
          throw new IllegalArgumentException(rows.unreadable().get(i));
        }
        record =
            eventLabel(
                rows.values().get(i), prefix + rows.index().get(i), labelName, classNames, now);
      } catch (IllegalArgumentException e) {
        unfit.add("row " + (i + 1), e.getMessage());
        continue;
      }
      producer.send(
          new ProducerRecord<>(
              topic, record.getId().getBytes(StandardCharsets.UTF_8), codec.encode(record)),
          failures);
      sent = progress(++sent, start);
    }
    producer.flush();
    int refused = unfit.report(String.format("%,d rows are not labels", rows.size()));
    return Math.max(report(spec, sent, failures), refused);
  }

  /**
   * @param defaultId the id of a row that names none: {@code <file>-<row>}, as its event got
   */
  private static EventLabel eventLabel(
      Map<String, Object> values,
      String defaultId,
      String labelName,
      boolean classNames,
      long now) {
    Object id = isMissing(values.get("id")) ? defaultId : values.get("id");
    Object value = values.get(labelName);
    if (isMissing(value)) {
      throw new IllegalArgumentException(
          "a label needs a value in '" + labelName + "'; this one has " + values);
    }
    Object labelValue = value;
    if (classNames) {
      labelValue =
          value instanceof Double d && d == Math.rint(d)
              ? Long.toString(d.longValue())
              : value.toString();
    } else if (!(value instanceof Double)) {
      try {
        labelValue = Double.parseDouble(value.toString().trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "label '" + value + "' is not a number, and the spec lists no label.classes");
      }
    }
    Object time = values.get("timestamp");
    Instant timestamp;
    if (isMissing(time)) {
      timestamp = Instant.ofEpochMilli(now);
    } else if (time instanceof Double millis) {
      timestamp = Instant.ofEpochMilli(millis.longValue());
    } else {
      String text = time.toString().trim();
      try {
        timestamp =
            text.matches("-?\\d+")
                ? Instant.ofEpochMilli(Long.parseLong(text))
                : Instant.parse(text);
      } catch (java.time.format.DateTimeParseException e) {
        throw new IllegalArgumentException(
            "timestamp '" + text + "' is neither epoch milliseconds nor ISO-8601");
      }
    }
    String idText =
        id instanceof Double d && d == Math.rint(d) ? Long.toString(d.longValue()) : id.toString();
    return EventLabel.newBuilder()
        .setId(idText)
        .setTimestamp(timestamp)
        .setLabel(labelValue)
        .build();
  }

  /**
   * The time of a file's first row when its rows carry none: one second per row before now, so that
   * the last row is stamped with the time it is sent. Stamped forward from now instead, a file of a
   * thousand rows would move the pipeline's watermark seventeen minutes ahead of the clock, and
   * every event sent meanwhile with its real time would arrive late.
   */
  static long firstRowMillis(long rows) {
    return System.currentTimeMillis() - Math.max(0, rows - 1) * 1000L;
  }

  /**
   * The rows as the producers' own records of the spec's {@code source.schema}: CSV columns and
   * JSON fields by dotted path (nested JSON objects give the path), the label column or field
   * written to the schema's label field; without an id or time value, the row gets {@code
   * <file>-<row>} and a time one second after the previous row's, the last row's being now. Rows
   * that do not fit the schema are counted and not sent (exit 1).
   */
  private int produceRecords(
      PipelineSpec spec, KafkaProducer<byte[], byte[]> producer, SendFailures failures)
      throws IOException {
    PipelineSpec.RecordSchema mapping = spec.source().recordSchema();
    RecordEncoder encoder = new RecordEncoder(mapping);
    String topic = spec.source().topic();
    String prefix = input.getFileName().toString() + "-";
    Rows table = readRows();
    List<Map<String, Object>> rows = table.values();
    List<String> unreadable = table.unreadable();
    String labelName =
        label != null
            ? label
            : table.header() == null
                ? mapping.labelField()
                : table.header().get(table.header().size() - 1);
    long startMillis = firstRowMillis(rows.size());
    long start = System.nanoTime();
    long sent = 0;
    Unsent unfit = new Unsent();
    for (int i = 0; i < rows.size(); i++) {
      Map<String, Object> values = rows.get(i);
      values.put(mapping.labelField(), withoutLabels ? null : values.get(labelName));
      if (mapping.idField() != null && values.get(mapping.idField()) == null) {
        values.put(mapping.idField(), prefix + i);
      }
      if (mapping.timestampField() != null && values.get(mapping.timestampField()) == null) {
        values.put(
            mapping.timestampField(), Instant.ofEpochMilli(startMillis + i * 1000L).toString());
      }
      byte[] bytes;
      try {
        if (unreadable.get(i) != null) {
          throw new IllegalArgumentException(unreadable.get(i));
        }
        bytes = encoder.encode(encoder.record(values));
      } catch (IllegalArgumentException e) {
        unfit.add("row " + (i + 1), e.getMessage());
        continue;
      }
      Object id = mapping.idField() == null ? null : values.get(mapping.idField());
      producer.send(
          new ProducerRecord<>(
              topic, id == null ? null : id.toString().getBytes(StandardCharsets.UTF_8), bytes),
          failures);
      sent = progress(++sent, start);
    }
    producer.flush();
    int refused =
        unfit.report(
            String.format("%,d rows do not fit %s", rows.size(), encoder.schema().getFullName()));
    return Math.max(report(spec, sent, failures), refused);
  }

  /**
   * The input's rows as values by name: a JSON line's by dotted path, a CSV row's by column.
   *
   * @param unreadable per row, why it could not be read (a JSON line that is not an object), or
   *     null
   * @param header a CSV file's columns; null for JSON lines
   * @param index per row, its place in the file (a JSON line's number less one, blank lines
   *     counted, as events are numbered)
   */
  private record Rows(
      List<Map<String, Object>> values,
      List<String> unreadable,
      List<String> header,
      List<Integer> index) {
    int size() {
      return values.size();
    }
  }

  private Rows readRows() throws IOException {
    List<Map<String, Object>> rows = new ArrayList<>();
    List<String> unreadable = new ArrayList<>();
    List<Integer> index = new ArrayList<>();
    if (isJsonLines()) {
      int number = 0;
      for (String line : Files.readAllLines(input, StandardCharsets.UTF_8)) {
        if (!line.isBlank()) {
          index.add(number);
          Map<String, Object> values = new HashMap<>();
          String why = null;
          try {
            flatten(jsonObject(line), "", values);
          } catch (IOException | IllegalArgumentException e) {
            why = firstLine(e);
          }
          rows.add(values);
          unreadable.add(why);
        }
        number++;
      }
      return new Rows(rows, unreadable, null, index);
    }
    CsvReader.Table table = CsvReader.read(input);
    for (List<String> row : table.rows()) {
      Map<String, Object> values = new HashMap<>();
      for (int c = 0; c < row.size(); c++) {
        values.put(table.header().get(c), row.get(c));
      }
      index.add(rows.size());
      rows.add(values);
      unreadable.add(null);
    }
    return new Rows(rows, unreadable, table.header(), index);
  }

  private static boolean isMissing(Object value) {
    return value == null || value.toString().isBlank();
  }

  /** A JSON object's scalar values by dotted path. */
  private static void flatten(JsonNode node, String prefix, Map<String, Object> values) {
    Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> field = fields.next();
      if (field.getValue().isObject()) {
        flatten(field.getValue(), prefix + field.getKey() + ".", values);
      } else {
        values.put(prefix + field.getKey(), value(field.getValue()));
      }
    }
  }

  /** Rows or lines not sent because they could not be read: how many, and the first's reason. */
  private final class Unsent {
    long count;
    String first;

    void add(String where, String why) {
      count++;
      if (first == null) {
        first = where + ": " + why;
      }
    }

    /**
     * Says how many of {@code ofWhat} (e.g. "12 rows are not labels") were not sent, when any.
     *
     * @return the exit status it asks for: 1 when some were not sent, else 0
     */
    int report(String ofWhat) {
      if (count == 0) {
        return 0;
      }
      command
          .commandLine()
          .getErr()
          .printf(
              "streamlearn: %,d of %s and were not sent; the first: %s%n", count, ofWhat, first);
      return 1;
    }
  }

  /** Counts the sends the broker did not acknowledge, and keeps the first error. */
  static final class SendFailures implements Callback {
    final AtomicLong count = new AtomicLong();
    final AtomicReference<String> first = new AtomicReference<>();

    @Override
    public void onCompletion(RecordMetadata metadata, Exception exception) {
      if (exception != null) {
        count.incrementAndGet();
        first.compareAndSet(null, exception.toString());
      }
    }
  }

  /** Prints how many were sent, and how fast, every 100,000. */
  static long progress(long sent, long startNanos) {
    if (sent % 100_000 == 0) {
      System.out.printf(
          "  %,d sent (%,.0f/s)%n", sent, sent / ((System.nanoTime() - startNanos) / 1e9));
    }
    return sent;
  }

  private boolean isJsonLines() {
    return input.toString().endsWith(".jsonl") || input.toString().endsWith(".json");
  }

  /** The first line of an exception's message (a JSON parser's runs on), or its class. */
  private static String firstLine(Exception e) {
    String message = e.getMessage();
    return message == null ? e.toString() : message.lines().findFirst().orElse("");
  }

  private static JsonNode jsonObject(String line) throws IOException {
    JsonNode node = JSON.readTree(line);
    if (!node.isObject()) {
      throw new IllegalArgumentException(
          "each line must be a JSON object; got " + node.getNodeType());
    }
    return node;
  }

  /**
   * An event from the JSON object on line {@code index + 1}: without an id it gets {@code
   * <prefix><index>}, without a timestamp one second per line after {@code startMillis}, as CSV
   * rows do.
   */
  private LabeledEvent fromJson(JsonNode node, String prefix, long index, long startMillis) {
    Map<String, Object> features = new HashMap<>();
    JsonNode nested = node.get("features");
    Iterator<Map.Entry<String, JsonNode>> fields =
        (nested != null && nested.isObject() ? nested : node).fields();
    String labelField = label != null ? label : "label";
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> field = fields.next();
      String name = field.getKey();
      if (nested == null
          && (name.equals(labelField)
              || name.equals("id")
              || name.equals("timestamp")
              || name.equals("weight"))) {
        continue;
      }
      features.put(name, value(field.getValue()));
    }
    JsonNode labelNode = node.get(labelField);
    Object labelValue =
        labelNode == null || labelNode.isNull()
            ? null
            : labelNode.isNumber() ? labelNode.asDouble() : labelNode.asText();
    JsonNode time = node.get("timestamp");
    Instant timestamp;
    if (time == null || time.isNull()) {
      timestamp = Instant.ofEpochMilli(startMillis + 1000L * index);
    } else if (time.isNumber()) {
      timestamp = Instant.ofEpochMilli(time.asLong());
    } else {
      try {
        timestamp = Instant.parse(time.asText());
      } catch (java.time.format.DateTimeParseException e) {
        throw new IllegalArgumentException(
            "timestamp '" + time.asText() + "' is neither epoch milliseconds nor ISO-8601");
      }
    }
    return LabeledEvent.newBuilder()
        .setId(node.hasNonNull("id") ? node.get("id").asText() : prefix + index)
        .setTimestamp(timestamp)
        .setLabel(labelValue)
        .setWeight(node.hasNonNull("weight") ? node.get("weight").asDouble() : null)
        .setFeatures(features)
        .build();
  }

  private static Object value(JsonNode node) {
    if (node == null || node.isNull()) {
      return null;
    }
    if (node.isNumber()) {
      return node.asDouble();
    }
    if (node.isBoolean()) {
      return node.asBoolean();
    }
    return node.asText();
  }
}
