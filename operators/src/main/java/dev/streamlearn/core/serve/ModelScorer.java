package dev.streamlearn.core.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.streamlearn.core.backend.JavaBackend;
import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.core.data.RawFeatures;
import dev.streamlearn.core.data.RecordEncoder;
import dev.streamlearn.core.data.RecordField;
import dev.streamlearn.core.features.Featurizer;
import dev.streamlearn.core.features.FeaturizerState;
import dev.streamlearn.core.model.Activation;
import dev.streamlearn.core.model.Loss;
import dev.streamlearn.core.model.Network;
import dev.streamlearn.core.model.NetworkShape;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ManifestJson;
import dev.streamlearn.store.ModelStore;
import dev.streamlearn.store.Safetensors;
import dev.streamlearn.store.Tensor;
import dev.streamlearn.store.VersionSource;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericRecord;

/**
 * Scores raw events with a downloaded model version, Flink-free: the featurizer rebuilt from {@code
 * featurizer.json}, the network from {@code model.safetensors}, so that a row becomes exactly the
 * vector training used.
 */
public final class ModelScorer {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Manifest manifest;
  private final Featurizer featurizer;
  private final FeaturizerState statistics;
  private final RawFeatures rules;
  private final Network network;
  private final float[] params;
  private final float[] vector;
  private final float[] output;

  /** The producers' record schema the model reads (a pipeline with source.schema); else null. */
  private final Schema inputSchema;

  /** The fields the features read, resolved in the schema of the record scored last. */
  private Schema resolvedSchema;

  private RecordField[] recordFields;

  private ModelScorer(Map<String, byte[]> files, String where) throws IOException {
    manifest = ManifestJson.read(text(files, ModelStore.MANIFEST, where));
    Featurizer.Loaded loaded;
    try {
      loaded = Featurizer.fromJson(text(files, ModelStore.FEATURIZER, where));
    } catch (IllegalArgumentException e) {
      throw new IOException(where + "/" + ModelStore.FEATURIZER + ": " + e.getMessage(), e);
    }
    featurizer = loaded.featurizer();
    statistics = loaded.state();
    if (!featurizer.featureNames(statistics).equals(manifest.featureNames())) {
      throw new IOException(
          "featurizer.json and manifest.json of " + where + " describe different features");
    }
    // Serving reads whole rows (labels, ids and all): fields no feature reads are ignored.
    rules = new RawFeatures(featurizer.features(), false);

    byte[] bytes = bytes(files, ModelStore.PARAMETERS, where);
    Map<String, Tensor> tensors = Safetensors.decode(bytes);
    Map<String, String> metadata = Safetensors.metadata(bytes);
    List<Integer> widths = new ArrayList<>();
    for (int layer = 0; tensors.containsKey("layers." + layer + ".weight"); layer++) {
      long[] shape = tensors.get("layers." + layer + ".weight").shape();
      if (layer == 0) {
        widths.add((int) shape[0]);
      }
      widths.add((int) shape[1]);
    }
    if (widths.isEmpty()) {
      throw new IOException(where + "/" + ModelStore.PARAMETERS + " holds no layers.0.weight");
    }
    int[] hidden =
        widths.subList(1, widths.size() - 1).stream().mapToInt(Integer::intValue).toArray();
    Loss loss =
        switch (metadata.getOrDefault("loss", "bce")) {
          case "ce" -> Loss.CROSS_ENTROPY;
          case "mse" -> Loss.MSE;
          case "huber" -> Loss.HUBER;
          default -> Loss.BINARY_CROSS_ENTROPY;
        };
    NetworkShape shape =
        new NetworkShape(
            widths.get(0),
            hidden,
            Activation.valueOf(metadata.getOrDefault("activation", "relu").toUpperCase()),
            0,
            widths.get(widths.size() - 1),
            loss,
            1.0);
    params = new float[shape.parameterCount()];
    for (NetworkShape.TensorSlot slot : shape.tensors()) {
      System.arraycopy(tensors.get(slot.name()).data(), 0, params, slot.offset(), slot.size());
    }
    network = new Network(shape, new JavaBackend(), 1);
    inputSchema =
        files.containsKey(ModelStore.INPUT_SCHEMA)
            ? new Schema.Parser().parse(text(files, ModelStore.INPUT_SCHEMA, where))
            : null;
    vector = new float[featurizer.dimension()];
    output = new float[shape.outputs()];
  }

  /** Loads a version from its directory (as the store writes it, or as downloaded). */
  public static ModelScorer load(Path directory) throws IOException {
    Map<String, byte[]> files = new HashMap<>();
    for (String name :
        List.of(
            ModelStore.MANIFEST,
            ModelStore.FEATURIZER,
            ModelStore.PARAMETERS,
            ModelStore.INPUT_SCHEMA)) {
      Path file = directory.resolve(name);
      if (Files.exists(file)) {
        files.put(name, Files.readAllBytes(file));
      }
    }
    return new ModelScorer(files, directory.toString());
  }

  /**
   * Loads a version straight from a store or a store server, every file checked against the
   * manifest's checksums ({@link VersionSource#readVersion}).
   */
  public static ModelScorer load(VersionSource source, String model, long version)
      throws IOException {
    return new ModelScorer(
        source.readVersion(model, version), source.location() + "/" + model + "/" + version);
  }

  private static byte[] bytes(Map<String, byte[]> files, String name, String where)
      throws IOException {
    byte[] bytes = files.get(name);
    if (bytes == null) {
      throw new java.nio.file.NoSuchFileException(where + "/" + name);
    }
    return bytes;
  }

  private static String text(Map<String, byte[]> files, String name, String where)
      throws IOException {
    return new String(bytes(files, name, where), StandardCharsets.UTF_8);
  }

  public Manifest manifest() {
    return manifest;
  }

  /**
   * The event fields the model's features read (dotted paths in a record schema); an event that
   * lacks one is scored with it missing, as training's rules fill a missing value.
   */
  public List<String> inputFields() {
    return rules.fieldNames();
  }

  /** The record schema of a model trained on the producers' own Avro records. */
  public Optional<Schema> inputSchema() {
    return Optional.ofNullable(inputSchema);
  }

  /**
   * The model's output for one event's raw fields: the probability of class 1 (binary), one
   * probability per class (multiclass), or the value (regression). Fields follow the training
   * rules: numbers, numeric strings or booleans for numeric fields; missing ones are imputed.
   *
   * @throws ExampleExtractor.RefusedException when a value would have been refused in training
   */
  public float[] score(Map<String, ?> fields) throws ExampleExtractor.RefusedException {
    return score(fields, System.currentTimeMillis());
  }

  /**
   * @param fields by name; for a model of the producers' own records ({@link #inputSchema()}), by
   *     dotted field path, and each value is first converted to its field's type, as the producer's
   *     record would have it (so {@code "yes"} for a boolean field is {@code true}); a value that
   *     does not fit its field is refused
   * @param timestamp the event time, for datetime features that read the event's timestamp
   */
  public float[] score(Map<String, ?> fields, long timestamp)
      throws ExampleExtractor.RefusedException {
    return score(clean(fields, timestamp));
  }

  /** An event's values read by the training rules, as the featurizer takes them. */
  record Cleaned(double[] numeric, String[] text) {}

  /** Reads an event's fields by the training rules (see {@link #score(Map, long)}). */
  Cleaned clean(Map<String, ?> fields, long timestamp) throws ExampleExtractor.RefusedException {
    double[] numeric = new double[rules.numericCount()];
    String[] text = new String[rules.categoricalCount()];
    clean(fields, timestamp, numeric, text);
    return new Cleaned(numeric, text);
  }

  /**
   * Reads one of the producers' own records by the training rules (see {@link #score(GenericRecord,
   * long)}).
   */
  Cleaned clean(GenericRecord record, long timestamp) throws ExampleExtractor.RefusedException {
    double[] numeric = new double[rules.numericCount()];
    String[] text = new String[rules.categoricalCount()];
    clean(record, timestamp, numeric, text);
    return new Cleaned(numeric, text);
  }

  /**
   * The model's output for an event already read by rules like this model's ({@link #readsLike}).
   */
  float[] score(Cleaned cleaned) {
    return score(cleaned.numeric(), cleaned.text());
  }

  /** Where a categorical feature's cleaned value is in {@link Cleaned#text}; -1 if not one. */
  int categoricalSlot(String feature) {
    return rules.categoricalSlot(feature);
  }

  /**
   * True when {@code other} reads events exactly as this model does: same features, same schema.
   */
  boolean readsLike(ModelScorer other) {
    return featurizer.features().equals(other.featurizer.features())
        && java.util.Objects.equals(inputSchema, other.inputSchema);
  }

  /**
   * Reads an event's fields by the training rules (through the record schema where there is one).
   */
  private void clean(Map<String, ?> fields, long timestamp, double[] numeric, String[] text)
      throws ExampleExtractor.RefusedException {
    if (inputSchema == null) {
      rules.read(fields, timestamp, numeric, text);
      return;
    }
    GenericRecord record;
    try {
      record = RecordEncoder.recordToRead(inputSchema, fields);
    } catch (IllegalArgumentException e) {
      throw new ExampleExtractor.RefusedException(e.getMessage());
    }
    clean(record, timestamp, numeric, text);
  }

  private void clean(GenericRecord record, long timestamp, double[] numeric, String[] text)
      throws ExampleExtractor.RefusedException {
    if (record.getSchema() != resolvedSchema) {
      recordFields = RecordField.resolveAll(record.getSchema(), rules.fieldNames());
      resolvedSchema = record.getSchema();
    }
    Object[] raw = new Object[recordFields.length];
    RecordField.readAll(recordFields, record, raw);
    rules.fill(raw, timestamp, numeric, text);
  }

  /** The model's output for an event's cleaned values; a regression value in the label's units. */
  private float[] score(double[] numeric, String[] text) {
    featurizer.transform(statistics, numeric, text, vector, 0, false);
    network.predict(params, vector, 1, output);
    float[] result = output.clone();
    if ("regression".equals(manifest.task())) {
      result[0] = (float) Featurizer.unscaleTarget(statistics, result[0]);
    }
    return result;
  }

  /**
   * The model's output for one of the producers' own Avro records (a pipeline with {@code
   * source.schema}): each feature reads the field at its dotted path, as training did.
   *
   * @param timestamp the event time, for datetime features that read the event's timestamp
   * @throws IllegalArgumentException when a field a feature reads is not in the record's schema
   */
  public float[] score(GenericRecord record, long timestamp)
      throws ExampleExtractor.RefusedException {
    double[] numeric = new double[rules.numericCount()];
    String[] text = new String[rules.categoricalCount()];
    clean(record, timestamp, numeric, text);
    return score(numeric, text);
  }

  /**
   * The input vector of one event, as training computed it with this version's featurizer; the
   * fields are read as {@link #score(Map, long)} reads them (through the record schema where there
   * is one).
   */
  public void vectorOf(Map<String, ?> fields, long timestamp, float[] out)
      throws ExampleExtractor.RefusedException {
    Cleaned cleaned = clean(fields, timestamp);
    featurizer.transform(statistics, cleaned.numeric(), cleaned.text(), out, 0, false);
  }

  public int dimension() {
    return featurizer.dimension();
  }
}
