package dev.streamlearn.operators;

/** A record's value bytes and where it was read; decoding happens in {@link DecodeEvents}. */
public class SourceRecord {
  public byte[] value;
  public String topic;
  public int partition;
  public long offset;

  /** The record's Kafka timestamp, epoch milliseconds. */
  public long timestamp;

  public SourceRecord() {}

  public SourceRecord(byte[] value, String topic, int partition, long offset, long timestamp) {
    this.value = value;
    this.topic = topic;
    this.partition = partition;
    this.offset = offset;
    this.timestamp = timestamp;
  }
}
