package dev.streamlearn.jobs.cli;

import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.jobs.KafkaEndpoint;
import dev.streamlearn.jobs.cli.DeadLetterTopic.Refused;
import dev.streamlearn.jobs.cli.DeadLetterTopic.Source;
import dev.streamlearn.operators.JoinLabels;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code streamlearn dead-letters}: what a pipeline refused, counted by kind, listed, and sent back
 * to its topic once the spec or the producer is fixed.
 */
@Command(
    name = "dead-letters",
    mixinStandardHelpOptions = true,
    description = {
      "What the pipeline refused: summary, show, replay.",
      "Reads the spec's dead-letter topic (source.dead-letter-topic, or --dead-letter-topic) from",
      "its start to its current end. summary counts the dead letters by stage, topic and kind of",
      "reason; show lists them; replay sends the refused records back to the topic they were read",
      "from (or --to-topic), each once, read back from that topic where the dead letter does not",
      "carry them (events whose label never came). --stage, --reason, --from-topic and --since",
      "choose which."
    },
    subcommands = {
      DeadLettersCommand.Summary.class,
      DeadLettersCommand.Show.class,
      DeadLettersCommand.Replay.class
    })
final class DeadLettersCommand implements Runnable {

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(
        new picocli.CommandLine(this), "name a subcommand: summary, show, replay");
  }

  /** Which dead-letter topic, and which of its dead letters: the options of every subcommand. */
  static final class Selection {

    @Option(
        names = "--spec",
        required = true,
        description = "The pipeline spec: its source names the topics and the broker.")
    Path specFile;

    @Mixin KafkaOptions kafkaOptions;

    @Option(
        names = "--dead-letter-topic",
        description =
            "Read this topic instead of the spec's source.dead-letter-topic (e.g. a scoring job's"
                + " <predictions topic>.dead-letter).")
    String deadLetterTopic;

    @Option(
        names = "--stage",
        split = ",",
        description = "Only dead letters of these stages: decode, clean, join-labels, ...")
    List<String> stages;

    @Option(
        names = "--reason",
        description = "Only dead letters whose reason contains this text (any case).")
    String reason;

    @Option(
        names = "--from-topic",
        description = "Only records refused from this topic (the events' or the labels' topic).")
    String fromTopic;

    @Option(
        names = "--since",
        description =
            "Only dead letters written since then: an instant (2026-11-24T03:00:00Z) or a duration"
                + " back from now (30m, 2h).")
    String since;

    PipelineSpec spec;
    KafkaEndpoint kafka;
    String topic;

    /** Loads the spec and checks the options; before anything is read. */
    void load() throws java.io.IOException {
      Map<String, Object> tree = SpecLoader.readTree(specFile);
      kafkaOptions.override(tree);
      spec = SpecLoader.fromTree(tree);
      kafka = KafkaEndpoint.of(spec.source());
      topic = deadLetterTopic != null ? deadLetterTopic : spec.source().deadLetterTopic();
      sinceInstant();
    }

    /** Checks that a broker answers, then reads the whole dead-letter topic. */
    DeadLetterTopic.Contents read() {
      try (KafkaCheck check = new KafkaCheck(kafka, kafkaOptions.timeout())) {
        if (!check.topicExists(topic)) {
          throw new IllegalArgumentException(
              "dead-letter topic '"
                  + topic
                  + "' does not exist at "
                  + spec.source().bootstrapServers()
                  + (deadLetterTopic != null
                      ? " (--dead-letter-topic)"
                      : " (source.dead-letter-topic): the pipeline has not refused anything yet,"
                          + " or --dead-letter-topic names the topic it writes to"));
        }
      }
      return DeadLetterTopic.read(kafka, topic);
    }

    /**
     * Loads the spec, reads the dead-letter topic, prints the line that says what it holds and
     * which were chosen, and answers those.
     */
    List<Refused> readChosen() throws java.io.IOException {
      load();
      DeadLetterTopic.Contents contents = read();
      List<Refused> chosen = chosen(contents.refused());
      System.out.println(header(contents, chosen, this));
      return chosen;
    }

    List<Refused> chosen(List<Refused> all) {
      Instant after = sinceInstant();
      String text = reason == null ? null : reason.toLowerCase(Locale.ROOT);
      return all.stream()
          .filter(r -> stages == null || stages.contains(r.letter().getStage()))
          .filter(r -> fromTopic == null || fromTopic.equals(r.letter().getTopic()))
          .filter(
              r -> text == null || r.letter().getReason().toLowerCase(Locale.ROOT).contains(text))
          .filter(r -> after == null || !r.refusedAt().isBefore(after))
          .toList();
    }

    /** What {@code --since} chose, in words, or "" when every dead letter is chosen. */
    String choice() {
      List<String> parts = new ArrayList<>();
      if (stages != null) {
        parts.add("stage " + String.join(" or ", stages));
      }
      if (fromTopic != null) {
        parts.add("from " + fromTopic);
      }
      if (reason != null) {
        parts.add("reason containing '" + reason + "'");
      }
      if (since != null) {
        parts.add("since " + sinceInstant());
      }
      return String.join(", ", parts);
    }

    private Instant sinceInstant() {
      if (since == null) {
        return null;
      }
      try {
        return Instant.parse(since);
      } catch (DateTimeParseException notAnInstant) {
        try {
          return Instant.now().minus(SpecLoader.parseDuration("--since", since));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(
              "--since '"
                  + since
                  + "': an instant such as 2026-11-24T03:00:00Z or a duration such as 30m or 2h");
        }
      }
    }
  }

  @Command(
      name = "summary",
      mixinStandardHelpOptions = true,
      description = "Counts the dead letters by stage, topic and kind of reason, most first.")
  static final class Summary implements Callable<Integer> {

    @Mixin Selection selection;

    @Option(
        names = "--kinds",
        defaultValue = "20",
        description = "How many kinds of reason to list (default ${DEFAULT-VALUE}).")
    int kinds;

    @Override
    public Integer call() throws Exception {
      List<Refused> chosen = selection.readChosen();
      if (chosen.isEmpty()) {
        return 0;
      }
      long distinct = chosen.stream().map(Refused::source).distinct().count();
      if (distinct < chosen.size()) {
        System.out.printf(
            "  %,d of them are second copies of a refusal (dead letters are written at least once:"
                + " a restarted job refuses again what it had refused since its last checkpoint);"
                + " replay sends each record once.%n",
            chosen.size() - distinct);
      }
      long withoutPayload = chosen.stream().filter(r -> !r.hasPayload()).count();
      if (withoutPayload > 0) {
        System.out.printf(
            "  %,d carry no payload (refused after decoding: an event whose label never came, a"
                + " label without its event); replay reads them back from their topic.%n",
            withoutPayload);
      }
      printKinds(chosen, kinds, true, System.out);
      return 0;
    }
  }

  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description = "Lists the dead letters, oldest first, one a line.")
  static final class Show implements Callable<Integer> {

    @Mixin Selection selection;

    @Option(
        names = "--limit",
        defaultValue = "20",
        description = "How many to list at most (default ${DEFAULT-VALUE}; 0: all).")
    int limit;

    @Override
    public Integer call() throws Exception {
      List<Refused> chosen = selection.readChosen();
      int shown = limit <= 0 ? chosen.size() : Math.min(limit, chosen.size());
      for (Refused refused : chosen.subList(0, shown)) {
        var letter = refused.letter();
        System.out.printf(
            "  %s-%d@%d  %s  %s  %s  id %s  %,d bytes  %s%n",
            selection.topic,
            refused.partition(),
            refused.offset(),
            refused.refusedAt(),
            letter.getStage(),
            refused.source(),
            letter.getEventId() == null ? "-" : letter.getEventId(),
            letter.getPayload().remaining(),
            letter.getReason());
      }
      if (shown < chosen.size()) {
        System.out.printf("  and %,d more (--limit 0 lists all)%n", chosen.size() - shown);
      }
      return 0;
    }
  }

  @Command(
      name = "replay",
      mixinStandardHelpOptions = true,
      description = {
        "Sends the chosen refused records back to the topic each was read from, or to --to-topic.",
        "Once each, the bytes as they were read, keyed by event id. A running pipeline reads them"
            + " again, under its spec of the moment. Exits 1 when some could not be sent or were no"
            + " longer in their topic."
      })
  static final class Replay implements Callable<Integer> {

    @Mixin Selection selection;

    @Option(names = "--to-topic", description = "Send them all to this topic instead.")
    String toTopic;

    @Option(names = "--dry-run", description = "Say what would be sent, and send nothing.")
    boolean dryRun;

    @Override
    public Integer call() throws Exception {
      List<Refused> chosen = selection.readChosen();
      KafkaEndpoint servers = selection.kafka;
      Map<Source, Refused> once = new LinkedHashMap<>();
      for (Refused refused : chosen) {
        once.putIfAbsent(refused.source(), refused);
      }
      List<Source> toFetch =
          once.values().stream().filter(r -> !r.hasPayload()).map(Refused::source).toList();
      Map<Source, ConsumerRecord<byte[], byte[]>> fetched =
          toFetch.isEmpty() ? Map.of() : DeadLetterTopic.fetch(servers, toFetch);
      List<Source> gone = toFetch.stream().filter(s -> !fetched.containsKey(s)).toList();

      Map<String, Long> perTopic = new LinkedHashMap<>();
      List<Refused> replayed = new ArrayList<>();
      ProduceCommand.SendFailures failures = new ProduceCommand.SendFailures();
      long sent = 0;
      long start = System.nanoTime();
      try (KafkaProducer<byte[], byte[]> producer = dryRun ? null : DemoCommand.producer(servers)) {
        if (producer != null && toTopic != null) {
          try (KafkaCheck kafka = new KafkaCheck(servers, selection.kafkaOptions.timeout())) {
            if (kafka.createTopic(toTopic)) {
              System.out.printf(
                  "Created topic %s at %s (the broker's default partitions and replication).%n",
                  toTopic, servers);
            }
          }
        }
        for (Refused refused : once.values()) {
          byte[] value;
          byte[] key;
          if (refused.hasPayload()) {
            value = refused.payload();
            String id = refused.letter().getEventId();
            key = id == null ? null : id.getBytes(StandardCharsets.UTF_8);
          } else {
            ConsumerRecord<byte[], byte[]> original = fetched.get(refused.source());
            if (original == null) {
              continue;
            }
            value = original.value();
            key = original.key();
          }
          String target = toTopic != null ? toTopic : refused.letter().getTopic();
          perTopic.merge(target, 1L, Long::sum);
          replayed.add(refused);
          if (producer != null) {
            producer.send(new ProducerRecord<>(target, key, value), failures);
            sent = ProduceCommand.progress(++sent, start);
          }
        }
        if (producer != null) {
          producer.flush();
        }
      }
      long copies = chosen.size() - once.size();
      String topics =
          perTopic.isEmpty()
              ? "nothing"
              : String.join(
                  ", ",
                  perTopic.entrySet().stream()
                      .map(e -> String.format("%,d to %s", e.getValue(), e.getKey()))
                      .toList());
      System.out.printf(
          "%s %s%s%s.%n",
          dryRun ? "Would replay" : "Replayed",
          topics,
          copies > 0 ? String.format(" (%,d second copies of a refusal left out)", copies) : "",
          toFetch.isEmpty()
              ? ""
              : String.format(
                  "; %,d read back from their topic, the dead letter carrying no payload",
                  toFetch.size() - gone.size()));
      warnOfDeduplication(replayed);
      int exit = 0;
      if (!gone.isEmpty()) {
        System.err.printf(
            "streamlearn: %,d refused records are no longer in their topic (past its retention,"
                + " or compacted away) and were not replayed; the first: %s%n",
            gone.size(), gone.get(0));
        exit = 1;
      }
      if (failures.count.get() > 0) {
        System.err.printf(
            "streamlearn: %,d of %,d records were not sent; the first error: %s%n",
            failures.count.get(), sent, failures.first.get());
        exit = 1;
      }
      return exit;
    }

    /**
     * An event refused after deduplication (its label never came) left its id with deduplication
     * for {@code dedup.ttl}: sent back sooner, a running job drops it as a repeat.
     */
    private void warnOfDeduplication(List<Refused> replayed) {
      PipelineSpec.Dedup dedup = selection.spec.dedup();
      if (!dedup.enabled()) {
        return;
      }
      String eventsTopic = selection.spec.source().topic();
      String target = toTopic != null ? toTopic : eventsTopic;
      if (!target.equals(eventsTopic)) {
        return;
      }
      Instant now = Instant.now();
      List<Refused> remembered =
          replayed.stream()
              .filter(r -> JoinLabels.STAGE.equals(r.letter().getStage()))
              .filter(r -> eventsTopic.equals(r.letter().getTopic()))
              .filter(r -> r.refusedAt().plus(dedup.ttl()).isAfter(now))
              .toList();
      if (remembered.isEmpty()) {
        return;
      }
      Instant until = remembered.stream().map(Refused::refusedAt).max(Instant::compareTo).get();
      System.out.printf(
          "Note: %,d of these events passed deduplication before they were given up on, less than"
              + " dedup.ttl (%s) ago: the job that refused them counts them as repeats until %s at the"
              + " latest"
              + " (a job started afresh learns from them).%n",
          remembered.size(), dedup.ttl(), until.plus(dedup.ttl()));
    }
  }

  /**
   * Prints how many of {@code refused} there are of each kind (stage, topic, {@link
   * DeadLetterTopic#kindOf kind of reason}), most first, with the first reason of each kind.
   *
   * @param listsAll say how {@code summary --kinds} lists every kind
   */
  static void printKinds(List<Refused> refused, int kinds, boolean listsAll, PrintStream out) {
    Map<List<String>, List<Refused>> byKind = new LinkedHashMap<>();
    for (Refused one : refused) {
      var letter = one.letter();
      byKind
          .computeIfAbsent(
              List.of(
                  letter.getStage(), letter.getTopic(), DeadLetterTopic.kindOf(letter.getReason())),
              k -> new ArrayList<>())
          .add(one);
    }
    List<Map.Entry<List<String>, List<Refused>>> ranked =
        byKind.entrySet().stream()
            .sorted(
                Comparator.comparingInt(
                        (Map.Entry<List<String>, List<Refused>> e) -> e.getValue().size())
                    .reversed())
            .toList();
    int stageWidth =
        Math.max(5, ranked.stream().mapToInt(e -> e.getKey().get(0).length()).max().orElse(0));
    int topicWidth =
        Math.max(5, ranked.stream().mapToInt(e -> e.getKey().get(1).length()).max().orElse(0));
    String row = "  %,9d  %-" + stageWidth + "s  %-" + topicWidth + "s  %s%n";
    out.printf(
        "  %9s  %-" + stageWidth + "s  %-" + topicWidth + "s  %s%n",
        "records",
        "stage",
        "topic",
        "reason (the first of its kind)");
    for (var entry : ranked.subList(0, Math.min(kinds, ranked.size()))) {
      Refused first = entry.getValue().get(0);
      out.printf(
          row,
          entry.getValue().size(),
          entry.getKey().get(0),
          entry.getKey().get(1),
          first.letter().getReason());
    }
    if (ranked.size() > kinds) {
      long rest =
          ranked.subList(kinds, ranked.size()).stream().mapToLong(e -> e.getValue().size()).sum();
      out.printf(
          "  and %,d more kinds of %,d records%s%n",
          ranked.size() - kinds,
          rest,
          listsAll ? String.format(" (--kinds %d lists them)", ranked.size()) : "");
    }
  }

  /** The first line of every subcommand: the topic, how many, which. */
  static String header(
      DeadLetterTopic.Contents contents, List<Refused> chosen, Selection selection) {
    StringBuilder text =
        new StringBuilder(
            String.format(
                "Dead-letter topic %s at %s: %,d dead letters",
                contents.topic(),
                selection.spec.source().bootstrapServers(),
                contents.refused().size()));
    if (!contents.unreadable().isEmpty()) {
      text.append(
          String.format(
              " (and %,d records that are not dead letters, the first at %s)",
              contents.unreadable().size(), contents.unreadable().get(0)));
    }
    String choice = selection.choice();
    if (!choice.isEmpty()) {
      text.append(String.format("; %,d chosen (%s)", chosen.size(), choice));
    }
    if (!chosen.isEmpty()) {
      Instant first = chosen.stream().map(Refused::refusedAt).min(Instant::compareTo).get();
      Instant last = chosen.stream().map(Refused::refusedAt).max(Instant::compareTo).get();
      text.append(String.format(", refused %s to %s", first, last));
    }
    return text.toString();
  }
}
