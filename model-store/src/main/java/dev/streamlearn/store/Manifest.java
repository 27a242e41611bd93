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
 * @param candidate the hyper-parameter candidate this model is, among those its pipeline trains
 *     side by side on the same events; null when the pipeline trains one
 * @param metrics metric name to value, under {@code window} (the held-out window this version was
 *     validated on) and {@code sinceStart}
 * @param validationWindow the event-time window whose held-out events gave the {@code window}
 *     metrics; null in manifests written before it was recorded
 * @param files file name to checksum and size; filled in by the store when it writes the version
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record Manifest(
    int formatVersion,
    String name,
    Segment segment,
    Candidate candidate,
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
    ValidationWindow validationWindow,
    Lineage lineage,
    Long checkpointId,
    Map<String, FileEntry> files) {

  public static final int FORMAT_VERSION = 1;

  public Manifest withFiles(Map<String, FileEntry> newFiles) {
    return new Manifest(
        formatVersion,
        name,
        segment,
        candidate,
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
        validationWindow,
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

  /**
   * One of a pipeline's hyper-parameter candidates: {@code name}, the settings it changes (dotted
   * spec keys to their values as written), and {@code metric}, the validation metric candidates are
   * compared by.
   */
  public record Candidate(String name, Map<String, String> settings, String metric) {}

  /** An event-time window, epoch milliseconds: from {@code start} (inclusive) to {@code end}. */
  public record ValidationWindow(long start, long end) {}

  public record OffsetRange(int partition, long from, long to) {}

  public record FileEntry(String sha256, long size) {

    /**
     * Checks that {@code bytes} are this file: its size and its sha256.
     *
     * @param what the file, for the message ({@code model.safetensors of m version 3})
     * @throws java.io.IOException when they are not
     */
    public void check(byte[] bytes, String what) throws java.io.IOException {
      String actual = LocalModelStore.sha256(bytes);
      if (bytes.length != size || !actual.equals(sha256)) {
        throw new java.io.IOException(
            String.format(
                "%s does not match its manifest: %d bytes with sha256 %s, expected %d bytes with"
                    + " sha256 %s",
                what, bytes.length, actual, size, sha256));
      }
    }
  }
}
