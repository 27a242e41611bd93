package dev.streamlearn.store;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * That a hyper-parameter candidate stopped training while the stream ran: the pipeline pruned it
 * (successive halving) once its mean held-out metric fell into the worse half. The store keeps it
 * beside the candidate's versions ({@link ModelStore#markPruned}), so the rankings can say why a
 * candidate publishes no more.
 *
 * @param windowEnd the end (epoch milliseconds) of the validation window that completed the round
 * @param round the round of pruning that stopped it, from 1
 * @param reason what the decision compared, for people to read
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Pruning(long windowEnd, int round, String reason) {

  /** The object, beside a model's versions, that holds it. */
  public static final String FILE = "pruned.json";

  public Pruning {
    if (round < 1) {
      throw new IllegalArgumentException("round " + round + ": rounds count from 1");
    }
    if (reason == null || reason.isBlank()) {
      throw new IllegalArgumentException("a pruning needs its reason");
    }
  }

  /** As the store writes it. */
  public byte[] toJson() {
    try {
      return LocalModelStore.JSON.writeValueAsBytes(this);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * @throws IOException when the bytes are not a pruning's JSON
   */
  public static Pruning fromJson(byte[] json) throws IOException {
    try {
      return LocalModelStore.JSON.readValue(json, Pruning.class);
    } catch (IOException | RuntimeException e) {
      throw new IOException(
          "not a pruning record: " + new String(json, StandardCharsets.UTF_8).strip(), e);
    }
  }
}
