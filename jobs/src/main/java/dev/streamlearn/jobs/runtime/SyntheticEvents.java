package dev.streamlearn.jobs.runtime;

import dev.streamlearn.schemas.DeadLetter;
import dev.streamlearn.schemas.EventLabel;
import dev.streamlearn.schemas.LabeledEvent;
import dev.streamlearn.schemas.codec.AvroCodec;
import dev.streamlearn.schemas.codec.Topics;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/**
 * The demo's stream: a binary problem over six numeric and two categorical features whose concept
 * drifts every {@code driftEvery} events (the weights of the numeric features change sign and
 * size). Like real data it has missing values, outliers, repeated ids, and a small share of records
 * that must be refused: random bytes, another schema, a label of the wrong type, NaN and infinite
 * values.
 */
public final class SyntheticEvents {

  public static final String[] NUMERIC = {"x1", "x2", "x3", "x4", "x5", "x6"};
  public static final String[] COLORS = {"red", "green", "blue", "black", "white"};
  public static final String[] CHANNELS = {"web", "app", "store"};

  /** What the next record is; the demo counts them to check the pipeline's accounting. */
  public enum Kind {
    GOOD,
    DUPLICATE,
    MALFORMED
  }

  /**
   * One record value and what it is; with labels apart ({@link #labelsApart}), a good event is sent
   * without its label and {@code label} holds it, to be sent later.
   */
  public record Next(byte[] value, Kind kind, String id, EventLabel label) {}

  private final Random random;

  /** Draws the fields that do not enter the label, apart, so they leave the rest unchanged. */
  private final Random context;

  private final long driftEvery;
  private final long startMillis;
  private final AvroCodec<LabeledEvent> events = Topics.labeledEvents();
  private final AvroCodec<DeadLetter> otherSchema = Topics.deadLetters();
  private boolean labelsApart;
  private long sequence;
  private byte[] lastGood;
  private String lastGoodId;

  public SyntheticEvents(long seed, long driftEvery, long startMillis) {
    this.random = new Random(seed);
    this.context = new Random(seed + 1);
    this.driftEvery = driftEvery;
    this.startMillis = startMillis;
  }

  /** Good events go without their label, which {@link Next#label} holds. */
  public SyntheticEvents labelsApart() {
    this.labelsApart = true;
    return this;
  }

  /** The concept in force for the event with this sequence number. */
  public int concept(long sequenceNumber) {
    return (int) ((sequenceNumber / driftEvery) % 2);
  }

  public Next next() {
    double roll = random.nextDouble();
    if (roll < 0.02 && lastGood != null) {
      return new Next(lastGood, Kind.DUPLICATE, lastGoodId, null);
    }
    long n = sequence++;
    String id = "evt-" + n;
    if (roll < 0.025) {
      return new Next(malformed(n, id), Kind.MALFORMED, id, null);
    }
    LabeledEvent event = event(n, id);
    EventLabel label = null;
    if (labelsApart) {
      label =
          EventLabel.newBuilder()
              .setId(id)
              .setTimestamp(event.getTimestamp())
              .setLabel(event.getLabel())
              .build();
      event.setLabel(null);
    }
    byte[] value = events.encode(event);
    lastGood = value;
    lastGoodId = id;
    return new Next(value, Kind.GOOD, id, label);
  }

  private LabeledEvent event(long n, String id) {
    double[] x = new double[NUMERIC.length];
    Map<String, Object> features = new HashMap<>();
    for (int i = 0; i < x.length; i++) {
      x[i] = random.nextGaussian();
      double sent = random.nextDouble() < 0.01 ? x[i] * 50 : x[i];
      features.put(NUMERIC[i], random.nextDouble() < 0.05 ? null : sent);
    }
    int color = random.nextInt(COLORS.length);
    features.put("color", random.nextDouble() < 0.03 ? null : COLORS[color]);
    int region = random.nextInt(20);
    features.put("region", "region-" + region);
    // A long tail of merchants (hashed), a channel (one-hot), both crossed with the region.
    features.put("merchant", "m-" + (int) Math.floor(Math.exp(context.nextDouble() * 9)));
    features.put("channel", CHANNELS[context.nextInt(CHANNELS.length)]);
    double logit =
        concept(n) == 0
            ? 2.0 * x[0] - 1.5 * x[1] + 1.0 * x[2] + (color == 0 ? 1.0 : 0.0) - 0.2
            : -2.0 * x[0] + 1.0 * x[3] + 1.5 * x[4] - (color == 0 ? 1.0 : 0.0) + 0.2;
    double probability = 1 / (1 + Math.exp(-logit));
    double label = random.nextDouble() < probability ? 1.0 : 0.0;
    return LabeledEvent.newBuilder()
        .setId(id)
        .setTimestamp(Instant.ofEpochMilli(startMillis + n * 10))
        .setEntity("user-" + random.nextInt(1000))
        .setLabel(label)
        .setFeatures(features)
        .build();
  }

  private byte[] malformed(long n, String id) {
    switch ((int) (n % 4)) {
      case 0 -> {
        byte[] garbage = new byte[8 + random.nextInt(40)];
        random.nextBytes(garbage);
        return garbage;
      }
      case 1 -> {
        return otherSchema.encode(
            DeadLetter.newBuilder()
                .setPayload(ByteBuffer.wrap(new byte[] {1}))
                .setTopic("elsewhere")
                .setPartition(0)
                .setOffset(n)
                .setStage("elsewhere")
                .setReason("a record of another schema")
                .setRefusedAt(Instant.ofEpochMilli(startMillis))
                .build());
      }
      case 2 -> {
        LabeledEvent event = event(n, id);
        event.setLabel("yes");
        return events.encode(event);
      }
      default -> {
        LabeledEvent event = event(n, id);
        event
            .getFeatures()
            .put(
                NUMERIC[random.nextInt(NUMERIC.length)],
                random.nextBoolean() ? Double.NaN : Double.POSITIVE_INFINITY);
        return events.encode(event);
      }
    }
  }
}
