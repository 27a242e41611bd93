package dev.streamlearn.operators;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.ModelRouter;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.core.train.ModelSnapshot;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ManifestJson;
import dev.streamlearn.store.Safetensors;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

class TrainModelTest {

  private static final String SPEC_YAML =
      String.join(
          "\n",
          "name: m",
          "features: [{name: a, type: numeric}, {name: c, type: categorical, hash-buckets: 4}]",
          "training: {batch-size: 16, learning-rate: 0.3}",
          "validation: {window: 50s}",
          "backend: reference",
          "");

  private static final PipelineSpec SPEC = SpecLoader.parse(SPEC_YAML);

  /** Every cleaning and encoding rule, sketches included. */
  private static final PipelineSpec FEATURES =
      SpecLoader.parse(
          String.join(
              "\n",
              "name: m",
              "features:",
              "  - {name: a, type: numeric, missing: median, missing-indicator: true, outliers:"
                  + " winsorize}",
              "  - {name: b, type: numeric, scale: robust}",
              "  - {name: c, type: categorical, vocabulary-size: 4, min-count: 3, missing:"
                  + " most-frequent}",
              "  - {name: d, type: categorical, encoding: hash, hash-buckets: 8}",
              "  - {name: cd, type: cross, fields: [c, d], hash-buckets: 8}",
              "  - {name: t, type: datetime, parts: [hour, day-of-week, weekend]}",
              "  - {name: ab, type: pca, fields: [a, b], components: 1}",
              "training: {batch-size: 16, learning-rate: 0.3}",
              "validation: {window: 50s}",
              "backend: reference",
              ""));

  @Test
  void restoresParametersAndVersionCounterAfterFailover() throws Exception {
    assertRestoreMatchesUninterruptedRun(SPEC, examples(1000));
  }

  @Test
  void restoresFeaturizerSketchesAndVocabulariesExactly() throws Exception {
    assertRestoreMatchesUninterruptedRun(FEATURES, examples(FEATURES, 1000));
  }

  @Test
  void featurizerStateStaysBoundedOnAHighCardinalityStream() throws Exception {
    long[] sizes = new long[2];
    int[] counts = {2_000, 20_000};
    for (int i = 0; i < 2; i++) {
      try (var harness = harness(FEATURES)) {
        harness.open();
        feed(harness, examples(FEATURES, counts[i]));
        assertThat(harness.numKeyedStateEntries()).isEqualTo(1);
        sizes[i] = harness.snapshot(1, 1).getManagedKeyedState().iterator().next().getStateSize();
      }
    }
    System.out.printf(
        "trainer state after %,d events: %,d bytes; after %,d: %,d bytes%n",
        counts[0], sizes[0], counts[1], sizes[1]);
    // Ten times the events, thousands of distinct values: the sketches and vocabularies are
    // bounded, so the state grows by far less.
    assertThat(sizes[1]).isLessThan(sizes[0] * 3 / 2);
  }

  /**
   * What a checkpoint writes follows what the model holds, not the bounds on it: a prequential
   * model waiting 7 s for its labels, with room for 100,000 waiting events and 10,000 kept per
   * window, writes about what one with room for 100 and 50 does.
   */
  @Test
  void checkpointedStateFollowsWhatWaitsNotItsBounds() throws Exception {
    long[] sizes = new long[2];
    String[] bounds = {
      "holdout: {policy: prequential, label-delay: 7s, max-pending: 100000}\n"
          + "validation: {window: 50s, max-window-events: 10000}",
      "holdout: {policy: prequential, label-delay: 7s, max-pending: 100}\n"
          + "validation: {window: 50s, max-window-events: 50}"
    };
    for (int i = 0; i < 2; i++) {
      PipelineSpec spec =
          SpecLoader.parse(SPEC_YAML.replace("validation: {window: 50s}", bounds[i]));
      try (var harness = harness(spec)) {
        harness.open();
        feed(harness, examples(spec, 300));
        sizes[i] = harness.snapshot(1, 1).getManagedKeyedState().iterator().next().getStateSize();
      }
    }
    System.out.printf(
        "trainer state after 300 events, bounds 100,000 waiting and 10,000 a window: %,d bytes;"
            + " bounds 100 and 50: %,d bytes%n",
        sizes[0], sizes[1]);
    assertThat(sizes[0]).isLessThan(sizes[1] * 3 / 2);
  }

  private static void assertRestoreMatchesUninterruptedRun(PipelineSpec spec, List<Example> input)
      throws Exception {
    List<ModelSnapshot> uninterrupted;
    try (var harness = harness(spec)) {
      harness.open();
      feed(harness, input.subList(0, 1000));
      harness.processWatermark(Long.MAX_VALUE);
      uninterrupted = outputs(harness);
    }

    List<ModelSnapshot> resumed = new ArrayList<>();
    OperatorSubtaskState snapshot;
    try (var harness = harness(spec)) {
      harness.open();
      feed(harness, input.subList(0, 437));
      snapshot = harness.snapshot(1, 1);
      resumed.addAll(outputs(harness));
      // Work after the checkpoint is lost with the failure.
      feed(harness, input.subList(437, 600));
    }
    try (var harness = harness(spec)) {
      harness.initializeState(snapshot);
      harness.open();
      feed(harness, input.subList(437, 1000));
      harness.processWatermark(Long.MAX_VALUE);
      resumed.addAll(outputs(harness));
    }

    assertThat(resumed).hasSameSizeAs(uninterrupted).hasSizeGreaterThan(5);
    for (int i = 0; i < uninterrupted.size(); i++) {
      ModelSnapshot expected = uninterrupted.get(i);
      ModelSnapshot actual = resumed.get(i);
      assertThat(actual.version).isEqualTo(i + 1).isEqualTo(expected.version);
      assertThat(Safetensors.decode(actual.parameters))
          .isEqualTo(Safetensors.decode(expected.parameters));
      assertThat(actual.featurizerJson).isEqualTo(expected.featurizerJson);
      Manifest expectedManifest = ManifestJson.read(expected.manifestJson);
      Manifest actualManifest = ManifestJson.read(actual.manifestJson);
      assertThat(actualManifest.lineage()).isEqualTo(expectedManifest.lineage());
      assertThat(actualManifest.metrics()).isEqualTo(expectedManifest.metrics());
    }
  }

  @Test
  void closesABatchThatIsNotFullAfterItsMaximumDelay() throws Exception {
    PipelineSpec spec =
        SpecLoader.parse(
            String.join(
                "\n",
                "name: m",
                "features: [{name: a, type: numeric}, {name: c, type: categorical, hash-buckets: 4}]",
                "holdout: {fraction: 0.0}",
                "training: {batch-size: 64, max-batch-delay: 100ms}",
                "validation: {window: 1d}",
                "backend: reference",
                ""));
    List<Example> input = examples(6);
    try (var harness = harness(spec)) {
      harness.open();
      harness.setProcessingTime(1_000);
      feed(harness, input.subList(0, 3));
      assertThat(harness.numProcessingTimeTimers()).isEqualTo(1);
      harness.setProcessingTime(1_099);
      harness.setProcessingTime(1_100);
      // The first three were trained as a batch of their own when the delay passed.
      feed(harness, input.subList(3, 6));
      harness.processWatermark(Long.MAX_VALUE);
      List<ModelSnapshot> versions = outputs(harness);
      assertThat(versions).hasSize(1);
      Manifest manifest = ManifestJson.read(versions.get(0).manifestJson);
      assertThat(manifest.metrics().get("training").get("steps")).isEqualTo(2.0);
      assertThat(manifest.lineage().eventsTrained()).isEqualTo(6);
    }
  }

  @Test
  void eachCandidateClosesItsBatchAfterItsOwnDelay() throws Exception {
    PipelineSpec spec =
        SpecLoader.parse(
            String.join(
                "\n",
                "name: m",
                "features: [{name: a, type: numeric}, {name: c, type: categorical, hash-buckets: 4}]",
                "holdout: {fraction: 0.0}",
                "training: {batch-size: 64}",
                "validation: {window: 1d}",
                "backend: reference",
                "candidates:",
                "  - {name: eager, training: {max-batch-delay: 100ms}}",
                "  - {name: patient, training: {max-batch-delay: 0s}}",
                ""));
    List<Example> copies = new ArrayList<>();
    for (Example example : examples(6)) {
      copies.add(example);
      copies.add(ModelRouter.copyFor(example, 1, false));
    }
    try (var harness = harness(new TrainModel(spec), new ModelRouter(spec))) {
      harness.open();
      harness.setProcessingTime(1_000);
      feed(harness, copies.subList(0, 6));
      // Only the eager candidate waits for a deadline.
      assertThat(harness.numProcessingTimeTimers()).isEqualTo(1);
      harness.setProcessingTime(1_100);
      feed(harness, copies.subList(6, 12));
      harness.processWatermark(Long.MAX_VALUE);
      java.util.Map<String, Double> steps = new java.util.HashMap<>();
      for (ModelSnapshot version : outputs(harness)) {
        steps.put(
            version.model,
            ManifestJson.read(version.manifestJson).metrics().get("training").get("steps"));
      }
      assertThat(steps).containsEntry("m.eager", 2.0).containsEntry("m.patient", 1.0);
    }
  }

  @Test
  void theWatermarkClosesTheWindowOfAModelWhoseEventsStopped() throws Exception {
    try (var harness = harness()) {
      harness.open();
      // Forty events of the window [0 s, 50 s), then none.
      feed(harness, examples(40));
      harness.processWatermark(49_998);
      assertThat(outputs(harness)).isEmpty();
      harness.processWatermark(49_999);
      List<ModelSnapshot> versions = outputs(harness);
      assertThat(versions).hasSize(1);
      Manifest manifest = ManifestJson.read(versions.get(0).manifestJson);
      assertThat(manifest.validationWindow()).isEqualTo(new Manifest.ValidationWindow(0, 50_000));
      assertThat(manifest.metrics().get("window").get("count"))
          .isEqualTo((double) heldOutOf(examples(40), 0));
      assertThat(manifest.lineage().eventsTrainedTotal() + manifest.lineage().eventsHeldOutTotal())
          .isEqualTo(40);
      // Nothing came after it: the end of input has nothing more to publish.
      harness.processWatermark(Long.MAX_VALUE);
      assertThat(outputs(harness)).isEmpty();
    }
  }

  @Test
  void withOnlyTheWatermarkClosingWindowsEventsFromASlowInputStillCountInTheirWindow()
      throws Exception {
    // Window 1's events arrive first (another input ran ahead), then window 0's, far later than
    // the five seconds of out-of-orderness allowed.
    List<Example> input = examples(150);
    List<Example> arrival = new ArrayList<>(input.subList(50, 100));
    arrival.addAll(input.subList(0, 50));
    arrival.addAll(input.subList(100, 150));

    List<Manifest> onWatermark = new ArrayList<>();
    try (var harness = harness(new TrainModel(SPEC).closeWindowsOnWatermarkOnly(true))) {
      harness.open();
      feed(harness, arrival);
      assertThat(outputs(harness)).as("no window closes on events").isEmpty();
      harness.processWatermark(99_999);
      harness.processWatermark(Long.MAX_VALUE);
      for (ModelSnapshot version : outputs(harness)) {
        onWatermark.add(ManifestJson.read(version.manifestJson));
      }
    }
    assertThat(onWatermark).hasSize(3);
    for (int w = 0; w < 3; w++) {
      assertThat(onWatermark.get(w).validationWindow().start()).isEqualTo(w * 50_000L);
      assertThat(onWatermark.get(w).metrics().get("window").get("count"))
          .as("window %d", w)
          .isEqualTo((double) heldOutOf(input, w));
    }

    // Closed by events as well, window 0's events came too late: they count in window 1.
    List<Manifest> onEvents = new ArrayList<>();
    try (var harness = harness()) {
      harness.open();
      feed(harness, arrival);
      harness.processWatermark(Long.MAX_VALUE);
      for (ModelSnapshot version : outputs(harness)) {
        onEvents.add(ManifestJson.read(version.manifestJson));
      }
    }
    assertThat(onEvents).hasSize(2);
    assertThat(onEvents.get(0).validationWindow().start()).isEqualTo(50_000L);
    assertThat(onEvents.get(0).metrics().get("window").get("count"))
        .isEqualTo((double) (heldOutOf(input, 0) + heldOutOf(input, 1)));
  }

  /**
   * The versions a trainer under {@code spec}, restored from {@code snapshot}, emits for {@code
   * input} and the end of input after it.
   */
  private static List<ModelSnapshot> resumeToTheEnd(
      PipelineSpec spec, OperatorSubtaskState snapshot, List<Example> input) throws Exception {
    try (var harness = harness(spec)) {
      harness.initializeState(snapshot);
      harness.open();
      feed(harness, input);
      harness.processWatermark(Long.MAX_VALUE);
      return outputs(harness);
    }
  }

  private static Manifest lastOf(List<ModelSnapshot> versions) throws Exception {
    return ManifestJson.read(versions.get(versions.size() - 1).manifestJson);
  }

  /** How many of the events of the 50 s window {@code window} the spec's split holds out. */
  private static long heldOutOf(List<Example> events, int window) {
    var split = new dev.streamlearn.core.train.HoldoutSplit(SPEC.holdout().fraction());
    return events.stream()
        .filter(e -> e.timestamp / 50_000 == window && split.isHeldOut(e.id))
        .count();
  }

  @Test
  void aRestoredModelTakesNewTrainingSettingsButNotAnotherNetworkOrOtherFeatures()
      throws Exception {
    List<Example> input = examples(600);
    OperatorSubtaskState snapshot;
    try (var harness = harness()) {
      harness.open();
      feed(harness, input.subList(0, 305));
      snapshot = harness.snapshot(1, 1);
    }

    // Another optimizer (its moments start from zero) and a smaller batch: the open batch's rows
    // move into batches of the new size.
    PipelineSpec retuned =
        SpecLoader.parse(
            SPEC_YAML.replace(
                "training: {batch-size: 16, learning-rate: 0.3}",
                "training: {batch-size: 3, learning-rate: 0.05, optimizer: {type: adam}}"));
    Manifest last = lastOf(resumeToTheEnd(retuned, snapshot, input.subList(305, 600)));
    assertThat(last.lineage().eventsTrainedTotal() + last.lineage().eventsHeldOutTotal())
        .isEqualTo(600);
    assertThat(last.metrics().get("training").get("lastBatchLoss")).isFinite();

    PipelineSpec mlp = SpecLoader.parse(SPEC_YAML + "model: {type: mlp, hidden-layers: [4]}\n");
    try (var harness = harness(mlp)) {
      harness.initializeState(snapshot);
      harness.open();
      assertThatThrownBy(() -> feed(harness, input.subList(305, 306)))
          .hasMessageContaining("model m was restored from a checkpoint with 6 parameters")
          .hasMessageContaining(
              "the spec's network has 29 (model.type mlp, hidden-layers [4], 5 inputs)");
    }

    // The same number of inputs, scaled another way.
    PipelineSpec rescaled =
        SpecLoader.parse(
            SPEC_YAML.replace(
                "{name: a, type: numeric}", "{name: a, type: numeric, scale: minmax}"));
    try (var harness = harness(rescaled)) {
      harness.initializeState(snapshot);
      harness.open();
      assertThatThrownBy(() -> harness.processWatermark(Long.MAX_VALUE))
          .hasMessageContaining("model m was restored from a checkpoint of a spec whose features");
    }
  }

  @Test
  void aModelDrainedToASavepointPublishesAgainAtTheNextEndOfInput() throws Exception {
    List<Example> input = examples(400);
    OperatorSubtaskState drained;
    long versionsFirst;
    try (var harness = harness()) {
      harness.open();
      feed(harness, input.subList(0, 200));
      // Stop with drain: the final watermark, then the savepoint.
      harness.processWatermark(Long.MAX_VALUE);
      versionsFirst = outputs(harness).size();
      drained = harness.snapshot(1, 1);
    }
    List<ModelSnapshot> versions = resumeToTheEnd(SPEC, drained, input.subList(200, 400));
    Manifest last = lastOf(versions);
    assertThat(versions.get(0).version).isEqualTo(versionsFirst + 1);
    // The window the second end of input closed: events 350..399.
    assertThat(last.validationWindow()).isEqualTo(new Manifest.ValidationWindow(350_000, 400_000));
    assertThat(last.lineage().eventsTrainedTotal() + last.lineage().eventsHeldOutTotal())
        .isEqualTo(400);
  }

  @Test
  void keepsOneStateEntryPerModel() throws Exception {
    try (var harness = harness()) {
      harness.open();
      feed(harness, examples(50));
      assertThat(harness.numKeyedStateEntries()).isEqualTo(1);
      // End of input, and the end of the one open validation window.
      assertThat(harness.numEventTimeTimers()).isEqualTo(2);
    }
  }

  private static KeyedOneInputStreamOperatorTestHarness<String, Example, ModelSnapshot> harness()
      throws Exception {
    return harness(SPEC);
  }

  private static KeyedOneInputStreamOperatorTestHarness<String, Example, ModelSnapshot> harness(
      PipelineSpec spec) throws Exception {
    return harness(new TrainModel(spec));
  }

  /** A harness around {@code trainer}, every example under one key. */
  static KeyedOneInputStreamOperatorTestHarness<String, Example, ModelSnapshot> harness(
      TrainModel trainer) throws Exception {
    return new KeyedOneInputStreamOperatorTestHarness<>(
        new TrainModelOperator(trainer), example -> "m", Types.STRING);
  }

  /**
   * Examples read through the spec's own cleaning rules, from fields with a long tail of values.
   */
  private static List<Example> examples(PipelineSpec spec, int count) throws Exception {
    Random random = new Random(9);
    dev.streamlearn.core.data.RawFeatures rules = new dev.streamlearn.core.data.RawFeatures(spec);
    List<Example> examples = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      java.util.Map<String, Object> fields = new java.util.HashMap<>();
      double a = random.nextGaussian();
      fields.put("a", random.nextInt(10) == 0 ? null : a * (random.nextInt(50) == 0 ? 40 : 1));
      fields.put("b", random.nextDouble() * 100);
      fields.put("c", random.nextInt(8) == 0 ? null : "c" + random.nextInt(6));
      fields.put("d", "d" + (int) Math.exp(random.nextDouble() * 10));
      examples.add(example(rules, fields, i, a > 0.3 ? 1 : 0));
    }
    return examples;
  }

  /**
   * Event {@code i} of a test stream: id {@code e<i>}, one second after the one before, its raw
   * {@code fields} read by the spec's rules, alternating between two partitions.
   */
  static Example example(
      dev.streamlearn.core.data.RawFeatures rules,
      java.util.Map<String, Object> fields,
      int i,
      double label)
      throws Exception {
    Example example = new Example();
    example.id = "e" + i;
    example.timestamp = 1_700_000_000_000L + 1000L * i;
    example.numeric = new double[rules.numericCount()];
    example.categorical = new String[rules.categoricalCount()];
    rules.read(fields, example.timestamp, example.numeric, example.categorical);
    example.label = label;
    example.partition = i % 2;
    example.offset = i / 2;
    return example;
  }

  static void feed(
      KeyedOneInputStreamOperatorTestHarness<String, Example, ModelSnapshot> harness,
      List<Example> examples)
      throws Exception {
    for (Example example : examples) {
      harness.processElement(new StreamRecord<>(example, example.timestamp));
    }
  }

  /**
   * The versions the trainer emits for {@code input}, keyed as the job keys it; with a snapshot
   * after {@code restoreAt} examples, restored into a new operator that goes on from there: a copy
   * of {@code trainer} serialized before it first opened, as Flink ships a function to the task
   * that restores it, so that nothing the first operator held outside its state reaches the second.
   */
  static List<ModelSnapshot> run(
      TrainModel trainer, PipelineSpec spec, List<Example> input, int restoreAt) throws Exception {
    return run(trainer, spec, input, restoreAt, null);
  }

  /** The same on {@code backend} (Flink's default, the heap, when null). */
  static List<ModelSnapshot> run(
      TrainModel trainer,
      PipelineSpec spec,
      List<Example> input,
      int restoreAt,
      org.apache.flink.runtime.state.StateBackend backend)
      throws Exception {
    ModelRouter router = new ModelRouter(spec);
    List<ModelSnapshot> versions = new ArrayList<>();
    TrainModel restored =
        restoreAt < 0
            ? null
            : org.apache.flink.util.InstantiationUtil.clone(
                trainer, TrainModelTest.class.getClassLoader());
    if (restoreAt < 0) {
      try (var harness = harness(trainer, router)) {
        if (backend != null) {
          harness.setStateBackend(backend);
        }
        harness.open();
        feed(harness, input);
        harness.processWatermark(Long.MAX_VALUE);
        versions.addAll(outputs(harness));
      }
      return versions;
    }
    OperatorSubtaskState snapshot;
    try (var harness = harness(trainer, router)) {
      if (backend != null) {
        harness.setStateBackend(backend);
      }
      harness.open();
      feed(harness, input.subList(0, restoreAt));
      snapshot = harness.snapshot(1, 1);
      versions.addAll(outputs(harness));
    }
    try (var harness = harness(restored, router)) {
      if (backend != null) {
        harness.setStateBackend(backend);
      }
      harness.initializeState(snapshot);
      harness.open();
      feed(harness, input.subList(restoreAt, input.size()));
      harness.processWatermark(Long.MAX_VALUE);
      versions.addAll(outputs(harness));
    }
    return versions;
  }

  /** A harness around {@code trainer}, each example under its model's key. */
  static KeyedOneInputStreamOperatorTestHarness<String, Example, ModelSnapshot> harness(
      TrainModel trainer, ModelRouter router) throws Exception {
    return new KeyedOneInputStreamOperatorTestHarness<>(
        new TrainModelOperator(trainer), router::modelOf, Types.STRING);
  }

  static List<ModelSnapshot> outputs(
      KeyedOneInputStreamOperatorTestHarness<String, Example, ModelSnapshot> harness) {
    List<ModelSnapshot> snapshots = new ArrayList<>(harness.extractOutputValues());
    harness.getOutput().clear();
    return snapshots;
  }

  private static List<Example> examples(int count) {
    Random random = new Random(5);
    List<Example> examples = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Example example = new Example();
      example.id = "e" + i;
      example.timestamp = 1000L * i;
      double a = random.nextGaussian();
      example.numeric = new double[] {a};
      example.categorical = new String[] {random.nextBoolean() ? "u" : null};
      example.label = a > 0.3 ? 1 : 0;
      example.partition = i % 2;
      example.offset = i / 2;
      examples.add(example);
    }
    return examples;
  }
}
