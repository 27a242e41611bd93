package dev.streamlearn.operators;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.RawFeatures;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.core.train.ModelSnapshot;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ManifestJson;
import dev.streamlearn.store.Safetensors;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One suite over every kind of model, loss, optimizer, schedule and control the trainer has: the
 * same events give the same versions, and a trainer restored from a checkpoint taken anywhere in
 * the stream (into a serialized copy of the function, as Flink restores it) publishes exactly the
 * versions of one that never stopped: parameters, featurizer state, metrics and lineage. Whatever
 * state a trainer keeps outside its checkpoint (an optimizer's moments, a dropout generator, a
 * schedule's step, a drift detector, a challenger, a candidate) shows here as a difference.
 */
class TrainerConformanceTest {

  private static final int EVENTS = 1200;

  /** Where the checkpoint is taken: after the first event, mid-batch, late in the stream. */
  private static final int[] RESTORE_AT = {1, 437, 1003};

  static Stream<Arguments> trainers() {
    return Stream.of(
        trainer(
            "logistic, SGD with momentum, step schedule, L1",
            Task.BINARY,
            "model: {type: logistic}",
            "training: {learning-rate: 0.2, l1: 0.001, optimizer: {type: sgd, momentum: 0.9},"
                + " schedule: {type: step, every: 20, gamma: 0.7}}"),
        trainer(
            "logistic, Nesterov, warm-up",
            Task.BINARY,
            "model: {type: logistic}",
            "training: {learning-rate: 0.2, optimizer: {type: sgd, momentum: 0.8, nesterov: true},"
                + " schedule: {type: constant, warmup-steps: 15}}"),
        trainer(
            "softmax, Adam, cosine schedule",
            Task.MULTICLASS,
            "model: {type: softmax}",
            "training: {learning-rate: 0.05, optimizer: {type: adam},"
                + " schedule: {type: cosine, total-steps: 60, min-rate: 0.001}}"),
        trainer(
            "linear, MSE, AdaGrad",
            Task.REGRESSION,
            "model: {type: linear, loss: mse}",
            "training: {learning-rate: 0.1, optimizer: {type: adagrad}}"),
        trainer(
            "linear, Huber, RMSprop, clipped gradients",
            Task.REGRESSION,
            "model: {type: linear, loss: huber, huber-delta: 0.5}",
            "training: {learning-rate: 0.01, clip-norm: 0.5, optimizer: {type: rmsprop}}"),
        trainer(
            "MLP, ReLU, dropout, AdamW, exponential schedule",
            Task.BINARY,
            "model: {type: mlp, hidden-layers: [8, 4], activation: relu, dropout: 0.2}",
            "training: {learning-rate: 0.02, optimizer: {type: adamw},"
                + " schedule: {type: exponential, gamma: 0.99}}"),
        trainer(
            "MLP, tanh, dropout, multiclass, SGD",
            Task.MULTICLASS,
            "model: {type: mlp, hidden-layers: [6], activation: tanh, dropout: 0.1}",
            "training: {learning-rate: 0.1, optimizer: {type: sgd, momentum: 0.5}}"),
        trainer(
            "MLP, sigmoid, regression, Adam",
            Task.REGRESSION,
            "model: {type: mlp, hidden-layers: [5], activation: sigmoid}",
            "training: {learning-rate: 0.01, optimizer: {type: adam}}"),
        trainer(
            "ADWIN with a challenger, plateau, early stopping, on a concept that flips",
            Task.FLIPPING,
            "model: {type: logistic}",
            "training: {learning-rate: 0.2, optimizer: {type: adam}}",
            "control: {drift: {detector: adwin, reaction: challenger}, plateau: {patience: 1},"
                + " early-stopping: {patience: 2}}"),
        trainer(
            "Page-Hinkley resetting the optimizer, input drift raising the rate",
            Task.FLIPPING,
            "model: {type: mlp, hidden-layers: [4]}",
            "training: {learning-rate: 0.05, optimizer: {type: rmsprop}}",
            "control: {drift: {detector: page-hinkley, threshold: 5, reaction: reset-optimizer},"
                + " input-drift: {threshold: 0.1, reaction: raise-learning-rate}}"),
        trainer(
            "prequential validation with a label delay",
            Task.BINARY,
            "model: {type: logistic}",
            "holdout: {policy: prequential, label-delay: 7s}"),
        trainer(
            "held-out windows",
            Task.BINARY,
            "model: {type: logistic}",
            "holdout: {policy: windows, every: 3}",
            "label: {task: binary, classes: ['no', 'yes']}"),
        trainer(
            "hyper-parameter candidates",
            Task.BINARY,
            "model: {type: logistic}",
            "candidates: {grid: {training.optimizer.type: [sgd, adam], training.learning-rate:"
                + " [0.05, 0.3]}}"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("trainers")
  void theSameEventsGiveTheSameVersions(String name, PipelineSpec spec, List<Example> events)
      throws Exception {
    List<ModelSnapshot> first = TrainModelTest.run(new TrainModel(spec), spec, events, -1);
    List<ModelSnapshot> second = TrainModelTest.run(new TrainModel(spec), spec, events, -1);
    assertThat(first).hasSizeGreaterThanOrEqualTo(5);
    assertSameVersions(second, first);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("trainers")
  void aRestoredTrainerPublishesWhatAnUninterruptedOneDoes(
      String name, PipelineSpec spec, List<Example> events) throws Exception {
    List<ModelSnapshot> uninterrupted = TrainModelTest.run(new TrainModel(spec), spec, events, -1);
    for (int at : RESTORE_AT) {
      List<ModelSnapshot> restored = TrainModelTest.run(new TrainModel(spec), spec, events, at);
      assertSameVersions(restored, uninterrupted);
    }
  }

  /**
   * On RocksDB, which serializes state on every update, the trainer keeps each model's state as an
   * object between checkpoints and {@link TrainModelOperator} writes it at each one: a restore from
   * such a checkpoint publishes the heap backend's uninterrupted versions all the same.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("trainers")
  void onRocksDbARestoredTrainerPublishesWhatAnUninterruptedOneDoes(
      String name, PipelineSpec spec, List<Example> events) throws Exception {
    List<ModelSnapshot> uninterrupted = TrainModelTest.run(new TrainModel(spec), spec, events, -1);
    List<ModelSnapshot> restored =
        TrainModelTest.run(
            new TrainModel(spec),
            spec,
            events,
            RESTORE_AT[1],
            new org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend());
    assertSameVersions(restored, uninterrupted);
  }

  /**
   * The same versions in the same order: model, number, parameters, featurizer state, parent,
   * metrics and lineage.
   */
  static void assertSameVersions(List<ModelSnapshot> actual, List<ModelSnapshot> expected)
      throws java.io.IOException {
    assertThat(actual).hasSameSizeAs(expected);
    for (int i = 0; i < expected.size(); i++) {
      ModelSnapshot want = expected.get(i);
      ModelSnapshot got = actual.get(i);
      String which = want.model + " v" + want.version;
      assertThat(got.model).as(which).isEqualTo(want.model);
      assertThat(got.version).as(which).isEqualTo(want.version);
      assertThat(Safetensors.decode(got.parameters))
          .as(which + " parameters")
          .isEqualTo(Safetensors.decode(want.parameters));
      assertThat(got.featurizerJson).as(which + " featurizer").isEqualTo(want.featurizerJson);
      Manifest wantManifest = ManifestJson.read(want.manifestJson);
      Manifest gotManifest = ManifestJson.read(got.manifestJson);
      assertThat(gotManifest.parentVersion()).as(which).isEqualTo(wantManifest.parentVersion());
      assertThat(gotManifest.metrics()).as(which + " metrics").isEqualTo(wantManifest.metrics());
      assertThat(gotManifest.lineage()).as(which + " lineage").isEqualTo(wantManifest.lineage());
    }
  }

  /** What the events' labels are, from their fields. */
  private enum Task {
    BINARY("binary"),
    MULTICLASS("multiclass"),
    REGRESSION("regression"),
    /** Binary, the concept reversed from the 600th event on. */
    FLIPPING("binary");

    final String spec;

    Task(String spec) {
      this.spec = spec;
    }

    double label(int i, double a, double b, String c, Random random) {
      double score = a + ("c1".equals(c) ? 0.8 : 0) + (b - 50) / 100;
      return switch (this) {
        case BINARY -> score > 0.3 ? 1 : 0;
        case FLIPPING -> (score > 0.3) == (i < 600) ? 1 : 0;
        case MULTICLASS -> score < -0.4 ? 0 : score < 0.6 ? 1 : 2;
        case REGRESSION -> 3 * score + 0.1 * random.nextGaussian();
      };
    }
  }

  private static Arguments trainer(String name, Task task, String... lines) {
    List<String> yaml = new ArrayList<>();
    yaml.add("name: m");
    if (java.util.Arrays.stream(lines).noneMatch(line -> line.startsWith("label:"))) {
      yaml.add(
          task == Task.MULTICLASS
              ? "label: {task: multiclass, classes: [low, middle, high]}"
              : "label: {task: " + task.spec + "}");
    }
    yaml.add(
        "features: [{name: a, type: numeric, missing: median}, {name: b, type: numeric, scale:"
            + " robust}, {name: c, type: categorical, vocabulary-size: 4}]");
    boolean training = false;
    for (String line : lines) {
      training |= line.startsWith("training:");
      yaml.add(line);
    }
    if (!training) {
      yaml.add("training: {learning-rate: 0.2}");
    }
    yaml.add("validation: {window: 50s}");
    yaml.add("backend: java");
    String text = String.join("\n", yaml).replace("training: {", "training: {batch-size: 16, ");
    PipelineSpec spec = SpecLoader.parse(text + "\n");
    return Arguments.of(name, spec, events(spec, task));
  }

  /** {@value #EVENTS} events a second apart, some values missing, read by the spec's rules. */
  private static List<Example> events(PipelineSpec spec, Task task) {
    Random random = new Random(17);
    RawFeatures rules = new RawFeatures(spec);
    List<Example> events = new ArrayList<>();
    for (int i = 0; i < EVENTS; i++) {
      double a = random.nextGaussian();
      double b = random.nextDouble() * 100;
      String c = "c" + random.nextInt(6);
      Map<String, Object> fields = new HashMap<>();
      fields.put("a", random.nextInt(12) == 0 ? null : a);
      fields.put("b", b);
      fields.put("c", c);
      try {
        events.add(TrainModelTest.example(rules, fields, i, task.label(i, a, b, c, random)));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
    return events;
  }
}
