package dev.streamlearn.core.train;

/**
 * A model version ready to publish: its manifest (without file checksums, which the store adds) and
 * the bytes of its files. Plain fields, so it crosses Flink operators as a POJO.
 */
public class ModelSnapshot {
  public String model;
  public long version;
  public String manifestJson;

  /** {@code model.safetensors}. */
  public byte[] parameters;

  /** {@code featurizer.json}. */
  public String featurizerJson;

  /**
   * {@code input-schema.avsc}: the record schema of a pipeline with {@code source.schema}; null.
   */
  public String inputSchema;

  /** The version becomes the champion: the store moves the {@code champion} alias to it. */
  public boolean champion;

  /** Kafka timestamp of the newest event this version learned from since its parent; 0 if none. */
  public long lastIngestTime;

  public ModelSnapshot() {}
}
