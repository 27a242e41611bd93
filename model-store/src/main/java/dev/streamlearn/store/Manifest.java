package dev.streamlearn.store;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Map;

/**
 * What a model version is: where it came from, how it did on held-out data, and the checksum of
 * every file beside it. Written last, so a version without one is not a version. Readers ignore
 * fields they do not know, so that a manifest written by a newer build still reads.
 *
 * @param segment the segment of the pipeline's events this model learns from; null when one model
 *     learns from all of them
 * @param metrics metric name to value, under {@code window} (the held-out window this version was
 *     validated on) and {@code sinceStart}
 * @param files file name to checksum and size; filled in by the store when it writes the version
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record Manifest(
    int formatVersion,
    String name,
    Segment segment,
    long version,
    Long parentVersion,
    String created,
    String task,
    List<String> classes,
    List<String> featureNames,
    String specHash,
    String inputSchemaFingerprint,
    String backend,
    String precision,
    Map<String, Map<String, Double>> metrics,
    Lineage lineage,
    Long checkpointId,
    Map<String, FileEntry> files) {

  public static final int FORMAT_VERSION = 1;

  public Manifest withFiles(Map<String, FileEntry> newFiles) {
    return new Manifest(
        formatVersion,
        name,
        segment,
        version,
        parentVersion,
        created,
        task,
        classes,
        featureNames,
        specHash,
        inputSchemaFingerprint,
        backend,
        precision,
        metrics,
        lineage,
        checkpointId,
        newFiles);
  }

  /**
   * The input a version learned from since its parent version, and in total.
   *
   * @param offsets per partition, the first and last offset of the events this version trained on
   *     since its parent (inclusive)
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Lineage(
      String topic,
      List<OffsetRange> offsets,
      Long eventTimeFrom,
      Long eventTimeTo,
      long eventsTrained,
      long eventsHeldOut,
      long eventsTrainedTotal,
      long eventsHeldOutTotal) {}

  /**
   * Which events a segment's model learns from: those whose cleaned value of the categorical
   * feature {@code feature} is {@code value}; or, when {@code others} is true, those whose value is
   * missing or belongs to no other segment, under the segment name {@code value}.
   */
  @JsonInclude(JsonInclude.Include.NON_DEFAULT)
  public record Segment(String feature, String value, boolean others) {}

  public record OffsetRange(int partition, long from, long to) {}

  public record FileEntry(String sha256, long size) {}
}
