package dev.streamlearn.operators;

import dev.streamlearn.core.data.Example;

/** A record the pipeline will not learn from, on its way to the dead-letter topic. */
public class Refusal {
  public byte[] payload;
  public String topic;
  public int partition;
  public long offset;
  public String stage;
  public String reason;
  public String eventId;
  public long refusedAt;

  public Refusal() {}

  public static Refusal of(SourceRecord record, String stage, String reason, String eventId) {
    Refusal refusal = new Refusal();
    refusal.payload = record.value == null ? new byte[0] : record.value;
    refusal.topic = record.topic;
    refusal.partition = record.partition;
    refusal.offset = record.offset;
    refusal.stage = stage;
    refusal.reason = reason;
    refusal.eventId = eventId;
    refusal.refusedAt = System.currentTimeMillis();
    return refusal;
  }

  /**
   * An example refused after decoding (no label in time, a label without its event): its bytes are
   * no longer at hand, so the payload is empty and {@code topic}, {@code partition} and {@code
   * offset} say where the record is.
   */
  public static Refusal of(Example example, String topic, String stage, String reason) {
    Refusal refusal = new Refusal();
    refusal.payload = new byte[0];
    refusal.topic = topic;
    refusal.partition = example.partition;
    refusal.offset = example.offset;
    refusal.stage = stage;
    refusal.reason = reason;
    refusal.eventId = example.id;
    refusal.refusedAt = System.currentTimeMillis();
    return refusal;
  }

  @Override
  public String toString() {
    return stage + " refused " + topic + "-" + partition + "@" + offset + ": " + reason;
  }
}
