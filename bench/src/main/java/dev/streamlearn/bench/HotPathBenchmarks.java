package dev.streamlearn.bench;

import dev.streamlearn.core.backend.Backend;
import dev.streamlearn.core.backend.Backends;
import dev.streamlearn.core.data.DirectEventDecoder;
import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.RecordEncoder;
import dev.streamlearn.core.data.RecordEventDecoder;
import dev.streamlearn.core.features.Featurizer;
import dev.streamlearn.core.features.FeaturizerState;
import dev.streamlearn.core.model.Network;
import dev.streamlearn.core.model.NetworkShape;
import dev.streamlearn.core.optim.Optimizer;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.core.train.ModelTrainer;
import dev.streamlearn.schemas.LabeledEvent;
import dev.streamlearn.schemas.codec.AvroCodec;
import dev.streamlearn.schemas.codec.Topics;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The pipeline's hot paths, one event or one batch per call, on the benchmark's default spec (32
 * numeric and 8 categorical features): decoding with the pipeline's decoder and with Avro's generic
 * reader, featurizing, and a logistic-regression training step of batch 512.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Dorg.apache.avro.SERIALIZABLE_PACKAGES=dev.streamlearn.schemas"})
public class HotPathBenchmarks {

  @Param({"nd4j", "java"})
  public String backend;

  private static final int EVENTS = 1024;
  private byte[][] encoded;
  private AvroCodec<LabeledEvent> codec;
  private DirectEventDecoder decoder;
  private byte[][] ownRecords;
  private RecordEventDecoder recordDecoder;
  private Featurizer featurizer;
  private FeaturizerState stats;
  private Example[] examples;
  private float[] vector;
  private Network network;
  private Optimizer optimizer;
  private Backend tensors;
  private float[] params;
  private float[] gradient;
  private float[] batchX;
  private float[] batchY;
  private float[] weight;
  private int next;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    StringBuilder yaml = new StringBuilder("features:\n");
    for (int i = 0; i < 32; i++) {
      yaml.append("  - {name: n").append(i).append(", type: numeric}\n");
    }
    for (int i = 0; i < 8; i++) {
      yaml.append("  - {name: c").append(i).append(", type: categorical, hash-buckets: 16}\n");
    }
    yaml.append("training: {batch-size: 512}\n");
    PipelineSpec spec = SpecLoader.parse(yaml.toString());
    codec = Topics.labeledEvents();
    decoder = new DirectEventDecoder(spec);
    Random random = new Random(1);
    encoded = new byte[EVENTS][];
    examples = new Example[EVENTS];
    for (int e = 0; e < EVENTS; e++) {
      Map<String, Object> features = new HashMap<>();
      for (PipelineSpec.Feature feature : spec.features()) {
        features.put(
            feature.name(),
            feature.readsNumber() ? (Object) random.nextGaussian() : "v" + random.nextInt(20));
      }
      encoded[e] =
          codec.encode(
              LabeledEvent.newBuilder()
                  .setId("e" + e)
                  .setTimestamp(Instant.ofEpochMilli(e))
                  .setLabel(random.nextBoolean() ? 1.0 : 0.0)
                  .setFeatures(features)
                  .build());
      examples[e] = decoder.decode(encoded[e], 0, e);
    }
    ownRecords(yaml.toString(), random);
    featurizer = new Featurizer(spec.features());
    stats = featurizer.newState();
    vector = new float[featurizer.dimension()];
    for (Example example : examples) {
      featurizer.learn(stats, example.numeric, example.categorical);
    }
    featurizer.refresh(stats);
    int batch = spec.training().batchSize();
    NetworkShape shape = ModelTrainer.shapeFor(spec, featurizer.dimension());
    tensors = Backends.create(backend);
    network = new Network(shape, tensors, batch);
    optimizer = new Optimizer(spec.training().optimizer(), shape.weightMask());
    params = shape.initialParameters(1);
    gradient = new float[params.length];
    batchX = new float[batch * featurizer.dimension()];
    batchY = new float[batch];
    weight = new float[batch];
    Arrays.fill(weight, 1f);
    for (int r = 0; r < batch; r++) {
      Example example = examples[r % EVENTS];
      featurizer.transform(
          stats, example.numeric, example.categorical, batchX, r * featurizer.dimension(), false);
      batchY[r] = (float) example.label;
    }
  }

  /**
   * The same features as the producers' own flat record (doubles and strings, an id, a
   * timestamp-millis and a boolean label) in the Confluent framing.
   */
  private void ownRecords(String yaml, Random random) {
    SchemaBuilder.FieldAssembler<Schema> fields =
        SchemaBuilder.record("Reading")
            .namespace("com.example")
            .fields()
            .requiredString("id")
            .name("at")
            .type(LogicalTypes.timestampMillis().addToSchema(Schema.create(Schema.Type.LONG)))
            .noDefault()
            .requiredBoolean("label");
    for (int i = 0; i < 32; i++) {
      fields = fields.requiredDouble("n" + i);
    }
    for (int i = 0; i < 8; i++) {
      fields = fields.requiredString("c" + i);
    }
    Map<String, Object> tree = SpecLoader.readTree(yaml, "benchmark");
    SpecLoader.override(tree, "source.schema.avro", fields.endRecord().toString());
    SpecLoader.override(tree, "source.schema.framing", "confluent");
    SpecLoader.override(tree, "source.schema.id", "id");
    SpecLoader.override(tree, "source.schema.timestamp", "at");
    PipelineSpec spec = SpecLoader.fromTree(tree);
    RecordEncoder encoder = new RecordEncoder(spec.source().recordSchema());
    recordDecoder = new RecordEventDecoder(spec);
    ownRecords = new byte[EVENTS][];
    for (int e = 0; e < EVENTS; e++) {
      Map<String, Object> values = new HashMap<>();
      values.put("id", "e" + e);
      values.put("at", (double) e);
      values.put("label", random.nextBoolean());
      for (int i = 0; i < 32; i++) {
        values.put("n" + i, random.nextGaussian());
      }
      for (int i = 0; i < 8; i++) {
        values.put("c" + i, "v" + random.nextInt(20));
      }
      ownRecords[e] = encoder.encode(encoder.record(values));
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    tensors.close();
  }

  /** Events/s through the pipeline's decoder (fingerprint check, values straight into arrays). */
  @Benchmark
  public Example decodeDirect() throws Exception {
    int e = next++ & (EVENTS - 1);
    return decoder.decode(encoded[e], 0, e);
  }

  /** Records/s of the producers' own schema (source.schema) into examples. */
  @Benchmark
  public Example decodeOwnRecord() throws Exception {
    int e = next++ & (EVENTS - 1);
    return recordDecoder.decode(ownRecords[e], 0, e, 0L);
  }

  /** Events/s through Avro's generic single-object reader into LabeledEvent objects. */
  @Benchmark
  public LabeledEvent decodeWithAvroReader() throws Exception {
    return codec.decode(encoded[next++ & (EVENTS - 1)]);
  }

  /** Vectors/s: hashing, standardizing, clipping and one-hot encoding one example. */
  @Benchmark
  public void featurize(Blackhole hole) {
    Example example = examples[next++ & (EVENTS - 1)];
    featurizer.transform(stats, example.numeric, example.categorical, vector, 0, true);
    hole.consume(vector);
  }

  /**
   * Steps/s of forward, backward and SGD update on a batch of 512 (multiply by 512 for examples/s).
   */
  @Benchmark
  public double trainingStep() {
    double loss =
        network.lossAndGradient(params, batchX, batchY, weight, batchY.length, null, gradient);
    optimizer.apply(params, gradient, new float[0][], ++next, 0.01);
    return loss;
  }
}
