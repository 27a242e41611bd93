package dev.streamlearn.core.features;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamlearn.core.spec.PipelineSpec;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.codec.digest.MurmurHash3;

/**
 * Turns an example's raw values into the model's input vector. Numeric fields are standardized with
 * running statistics (a missing value becomes the mean, that is 0) and clipped at a number of
 * deviations; categorical fields are one-hot encoded into MurmurHash3 buckets. The statistics come
 * from training examples only and travel with each model in {@code featurizer.json}.
 */
public final class Featurizer implements Serializable {

  public static final int HASH_SEED = 0x5EED;
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final String[] numericNames;
  private final double[] clipStd;
  private final String[] categoricalNames;
  private final int[] buckets;
  private final int[] categoricalOffset;
  private final int dimension;

  public Featurizer(List<PipelineSpec.Feature> features) {
    List<PipelineSpec.Feature> numeric =
        features.stream().filter(PipelineSpec.Feature::isNumeric).toList();
    List<PipelineSpec.Feature> categorical =
        features.stream().filter(feature -> !feature.isNumeric()).toList();
    numericNames = numeric.stream().map(PipelineSpec.Feature::name).toArray(String[]::new);
    clipStd = numeric.stream().mapToDouble(PipelineSpec.Feature::clipStd).toArray();
    categoricalNames = categorical.stream().map(PipelineSpec.Feature::name).toArray(String[]::new);
    buckets = categorical.stream().mapToInt(PipelineSpec.Feature::hashBuckets).toArray();
    categoricalOffset = new int[buckets.length];
    int offset = numericNames.length;
    for (int i = 0; i < buckets.length; i++) {
      categoricalOffset[i] = offset;
      offset += buckets[i];
    }
    dimension = offset;
  }

  public int dimension() {
    return dimension;
  }

  public int numericCount() {
    return numericNames.length;
  }

  public int categoricalCount() {
    return categoricalNames.length;
  }

  public FeaturizerState newState() {
    return FeaturizerState.empty(numericNames.length);
  }

  /** Names of the vector's entries: numeric fields, then {@code field#bucket}. */
  public List<String> featureNames() {
    List<String> names = new ArrayList<>(List.of(numericNames));
    for (int i = 0; i < categoricalNames.length; i++) {
      for (int b = 0; b < buckets[i]; b++) {
        names.add(categoricalNames[i] + "#" + b);
      }
    }
    return names;
  }

  /** The hash bucket of each categorical value; -1 where it is missing. */
  public void bucketsOf(String[] categorical, int[] out) {
    for (int i = 0; i < categoricalNames.length; i++) {
      String value = categorical[i];
      out[i] = value == null ? -1 : bucketOf(value, buckets[i]);
    }
  }

  public static int bucketOf(String value, int bucketCount) {
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    return Math.floorMod(MurmurHash3.hash32x86(bytes, 0, bytes.length, HASH_SEED), bucketCount);
  }

  /** Updates the running statistics with one training example. */
  public void learn(FeaturizerState state, double[] numeric) {
    for (int i = 0; i < numeric.length; i++) {
      double value = numeric[i];
      if (Double.isNaN(value)) {
        continue;
      }
      long count = ++state.count[i];
      double delta = value - state.mean[i];
      state.mean[i] += delta / count;
      state.m2[i] += delta * (value - state.mean[i]);
    }
  }

  /** Writes the input vector into {@code out[offset .. offset + dimension())}. */
  public void transform(
      FeaturizerState state, double[] numeric, int[] bucket, float[] out, int offset) {
    for (int i = 0; i < numeric.length; i++) {
      double value = numeric[i];
      double z;
      if (Double.isNaN(value)) {
        z = 0.0;
      } else {
        double std = standardDeviation(state, i);
        z = (value - state.mean[i]) / std;
        z = Math.max(-clipStd[i], Math.min(clipStd[i], z));
      }
      out[offset + i] = (float) z;
    }
    for (int i = numericNames.length; i < dimension; i++) {
      out[offset + i] = 0f;
    }
    for (int i = 0; i < bucket.length; i++) {
      if (bucket[i] >= 0) {
        out[offset + categoricalOffset[i] + bucket[i]] = 1f;
      }
    }
  }

  /** Regression: the label in the units the network learns (standardized by running statistics). */
  public static double scaleTarget(FeaturizerState state, double label) {
    return (label - state.targetMean) / targetDeviation(state);
  }

  /** Regression: a network output back in the label's units. */
  public static double unscaleTarget(FeaturizerState state, double output) {
    return output * targetDeviation(state) + state.targetMean;
  }

  public static void learnTarget(FeaturizerState state, double label) {
    long count = ++state.targetCount;
    double delta = label - state.targetMean;
    state.targetMean += delta / count;
    state.targetM2 += delta * (label - state.targetMean);
  }

  private static double targetDeviation(FeaturizerState state) {
    if (state.targetCount < 2) {
      return 1.0;
    }
    double std = Math.sqrt(state.targetM2 / (state.targetCount - 1));
    return std > 1e-12 ? std : 1.0;
  }

  /** Sample standard deviation; 1 until two values are seen or when all values were equal. */
  public static double standardDeviation(FeaturizerState state, int field) {
    long count = state.count[field];
    if (count < 2) {
      return 1.0;
    }
    double std = Math.sqrt(state.m2[field] / (count - 1));
    return std > 1e-12 ? std : 1.0;
  }

  /**
   * The statistics written by {@link #toJson}, for a trainer that starts from a published version.
   *
   * @throws IllegalArgumentException when the file's numeric fields differ from this featurizer's
   */
  public FeaturizerState stateFromJson(String json) {
    try {
      var root = JSON.readTree(json);
      var numeric = root.path("numeric");
      if (numeric.size() != numericNames.length) {
        throw new IllegalArgumentException(
            "featurizer.json has "
                + numeric.size()
                + " numeric fields; this spec has "
                + numericNames.length);
      }
      FeaturizerState state = newState();
      for (int i = 0; i < numericNames.length; i++) {
        var field = numeric.get(i);
        if (!numericNames[i].equals(field.path("name").asText())) {
          throw new IllegalArgumentException(
              "featurizer.json numeric field "
                  + i
                  + " is '"
                  + field.path("name").asText()
                  + "'; this spec has '"
                  + numericNames[i]
                  + "'");
        }
        state.count[i] = field.path("count").asLong();
        state.mean[i] = field.path("mean").asDouble();
        state.m2[i] = field.path("m2").asDouble();
      }
      if (root.has("target")) {
        state.targetCount = root.path("target").path("count").asLong();
        state.targetMean = root.path("target").path("mean").asDouble();
        state.targetM2 = root.path("target").path("m2").asDouble();
      }
      return state;
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException(
          "featurizer.json is not valid JSON: " + e.getOriginalMessage());
    }
  }

  /** Everything serving code needs to compute the same vector, as {@code featurizer.json}. */
  public String toJson(FeaturizerState state) {
    ObjectNode root = JSON.createObjectNode();
    root.put("formatVersion", 1);
    root.put("dimension", dimension);
    ArrayNode numeric = root.putArray("numeric");
    for (int i = 0; i < numericNames.length; i++) {
      ObjectNode field = numeric.addObject();
      field.put("name", numericNames[i]);
      field.put("index", i);
      field.put("count", state.count[i]);
      field.put("mean", state.mean[i]);
      field.put("m2", state.m2[i]);
      field.put("std", standardDeviation(state, i));
      field.put("clipStd", clipStd[i]);
      field.put("missing", "mean");
    }
    ArrayNode categorical = root.putArray("categorical");
    for (int i = 0; i < categoricalNames.length; i++) {
      ObjectNode field = categorical.addObject();
      field.put("name", categoricalNames[i]);
      field.put("offset", categoricalOffset[i]);
      field.put("buckets", buckets[i]);
      field.put("hash", "murmur3_x86_32(utf8(value), seed) mod buckets");
      field.put("seed", HASH_SEED);
      field.put("missing", "all zeros");
    }
    if (state.targetCount > 0) {
      ObjectNode target = root.putObject("target");
      target.put("count", state.targetCount);
      target.put("mean", state.targetMean);
      target.put("m2", state.targetM2);
      target.put("std", targetDeviation(state));
      target.put("meaning", "the network predicts (label - mean) / std");
    }
    try {
      return JSON.writeValueAsString(root);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
