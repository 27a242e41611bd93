package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.ExampleExtractor.RefusedException;
import dev.streamlearn.core.data.ModelRouter;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecException;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ModelNames;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ModelRouterTest {

  private static final String FEATURES =
      String.join(
          "\n",
          "name: fraud",
          "features:",
          "  - {name: amount, type: numeric}",
          "  - {name: merchant, type: categorical, encoding: hash, hash-buckets: 64}",
          "  - {name: country, type: categorical}",
          "");

  @Test
  void withoutSegmentsEveryExampleTrainsThePipelinesModel() throws Exception {
    ModelRouter router = new ModelRouter(SpecLoader.parse(FEATURES));
    Example example = example(null);
    router.check(example);
    assertThat(router.segmented()).isFalse();
    assertThat(router.modelOf(example)).isEqualTo("fraud");
    assertThat(router.describe(example)).isNull();
  }

  @Test
  void everyValueIsASegmentWhenNoneAreListed() throws Exception {
    ModelRouter router = new ModelRouter(SpecLoader.parse(FEATURES + "segments: {by: country}\n"));
    assertThat(router.modelOf(example("DE"))).isEqualTo("fraud.DE");
    assertThat(router.modelOf(example("FR"))).isEqualTo("fraud.FR");
    assertThat(router.describe(example("DE")))
        .isEqualTo(new Manifest.Segment("country", "DE", false));
    for (String missing : new String[] {null, " "}) {
      assertThatThrownBy(() -> router.check(example(missing)))
          .isInstanceOf(RefusedException.class)
          .hasMessage("segment feature country is missing and segments.others is not set");
    }
  }

  @Test
  void unlistedAndMissingValuesGoToTheOthersSegmentOrAreRefused() throws Exception {
    ModelRouter others =
        new ModelRouter(
            SpecLoader.parse(
                FEATURES + "segments: {by: country, values: [DE, FR], others: rest}\n"));
    others.check(example("IT"));
    others.check(example(null));
    assertThat(others.modelOf(example("FR"))).isEqualTo("fraud.FR");
    assertThat(others.modelOf(example("IT"))).isEqualTo("fraud.rest");
    assertThat(others.modelOf(example(null))).isEqualTo("fraud.rest");
    assertThat(others.describe(example("IT")))
        .isEqualTo(new Manifest.Segment("country", "rest", true));
    // A value spelt like the others segment is one of its events, listed values or not.
    assertThat(others.describe(example("rest")))
        .isEqualTo(new Manifest.Segment("country", "rest", true));
    ModelRouter open =
        new ModelRouter(SpecLoader.parse(FEATURES + "segments: {by: country, others: rest}\n"));
    assertThat(open.describe(example("rest")))
        .isEqualTo(open.describe(example(null)))
        .isEqualTo(new Manifest.Segment("country", "rest", true));
    assertThat(open.describe(example("DE")))
        .isEqualTo(new Manifest.Segment("country", "DE", false));

    ModelRouter listed =
        new ModelRouter(SpecLoader.parse(FEATURES + "segments: {by: country, values: [DE, FR]}\n"));
    assertThatThrownBy(() -> listed.check(example("IT")))
        .isInstanceOf(RefusedException.class)
        .hasMessage(
            "segment feature country = 'IT' is not one of segments.values [DE, FR] and"
                + " segments.others is not set");
    assertThatThrownBy(() -> listed.modelOf(example("IT")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("belongs to no segment");
  }

  @Test
  void segmentModelNamesAreValidDistinctAndReadableWherePossible() {
    String base = "m".repeat(ModelRouter.MAX_BASE_LENGTH);
    List<String> segments =
        List.of(
            "north",
            "Zürich",
            "Zurich",
            "a b",
            "a_b",
            "a/b",
            "../..",
            ".",
            "x".repeat(31),
            "x".repeat(32),
            "x".repeat(1000),
            "x".repeat(999) + "y",
            "日本");
    Set<String> names = new HashSet<>();
    for (String segment : segments) {
      String name = ModelRouter.modelName(base, segment);
      assertThat(ModelNames.checkModelName(name)).as(segment).isEqualTo(name);
      assertThat(name).startsWith(base + ".");
      names.add(name);
    }
    assertThat(names).hasSameSizeAs(segments);
    assertThat(ModelRouter.modelName("fraud", "north")).isEqualTo("fraud.north");
    assertThat(ModelRouter.modelName("fraud", "x".repeat(31))).isEqualTo("fraud." + "x".repeat(31));
    assertThat(ModelRouter.modelName("fraud", "a b")).matches("fraud\\.a_b\\.[0-9a-f]{12}");
    assertThat(ModelRouter.modelName("fraud", "a b"))
        .isEqualTo(ModelRouter.modelName("fraud", "a b"));
  }

  @Test
  void refusesSegmentsThatCannotWork() {
    assertRefused(
        FEATURES + "segments: {values: [DE]}\n", "spec key 'segments.by' = (missing): required");
    assertRefused(
        FEATURES + "segments: {by: amount}\n",
        "spec key 'segments.by' = 'amount': the name of a categorical feature: one of [merchant,"
            + " country]");
    assertRefused(
        FEATURES + "segments: {by: country, values: [DE, FR, DE]}\n",
        "spec key 'segments.values[2]' = 'DE': each value once");
    assertRefused(
        FEATURES + "segments: {by: country, values: [DE, FR], others: FR}\n",
        "spec key 'segments.others' = 'FR': a segment name that is not one of segments.values, for"
            + " the events of none of them");
    assertRefused(
        FEATURES + "segments: {by: country, value: [DE]}\n",
        "spec key 'segments.value' = [DE]: unknown key; allowed here: [by, others, values]");
    assertRefused(
        FEATURES.replace("name: fraud", "name: " + "f".repeat(97)) + "segments: {by: country}\n",
        "spec key 'name' = '"
            + "f".repeat(97)
            + "': at most 96 characters with segments, so that every segment's model name fits");
  }

  @Test
  void candidatesLayTheirSettingsOverTheSpecsAndEachEventIsCopiedToEach() throws Exception {
    PipelineSpec spec =
        SpecLoader.parse(
            FEATURES
                + String.join(
                    "\n",
                    "training: {batch-size: 32, learning-rate: 0.1, optimizer: {momentum: 0.9}}",
                    "candidates:",
                    "  - training: {optimizer: {nesterov: true}}",
                    "  - name: wide-mlp",
                    "    model: {type: mlp, hidden-layers: [64, 32]}",
                    "    training: {learning-rate: 0.01, l2: 0}",
                    ""));
    PipelineSpec.Candidate first = spec.candidates().get(0);
    PipelineSpec.Candidate second = spec.candidates().get(1);
    assertThat(first.name()).isEqualTo("c1");
    assertThat(first.settings()).containsExactly(Map.entry("training.optimizer.nesterov", "true"));
    // Mappings merge key by key: the spec's momentum stays beside the candidate's nesterov.
    assertThat(first.training().optimizer().momentum()).isEqualTo(0.9);
    assertThat(first.training().optimizer().nesterov()).isTrue();
    assertThat(first.training().batchSize()).isEqualTo(32);
    assertThat(first.model()).isEqualTo(spec.model());
    assertThat(second.settings())
        .containsExactly(
            Map.entry("model.type", "mlp"),
            Map.entry("model.hidden-layers", "[64, 32]"),
            Map.entry("training.learning-rate", "0.01"),
            Map.entry("training.l2", "0"));
    assertThat(second.model().hiddenLayers()).containsExactly(64, 32);
    assertThat(second.training().schedule().base()).isEqualTo(0.01);
    assertThat(second.training().optimizer().momentum()).isEqualTo(0.9);
    assertThat(second.training().optimizer().l2()).isZero();

    PipelineSpec wide = spec.forCandidate(1);
    assertThat(wide.model()).isEqualTo(second.model());
    assertThat(wide.training()).isEqualTo(second.training());
    assertThat(wide.candidates()).isEqualTo(spec.candidates());
    assertThat(wide.specHash())
        .isNotEqualTo(spec.specHash())
        .isEqualTo(spec.forCandidate(1).specHash());
    assertThat(spec.forCandidate(0).specHash()).isNotEqualTo(wide.specHash());

    ModelRouter router = new ModelRouter(spec);
    assertThat(router.copiesPerEvent()).isEqualTo(2);
    Example event = example("DE");
    Example copy = ModelRouter.copyFor(event, 1, false);
    assertThat(ModelRouter.copyFor(event, 0, true)).isSameAs(event);
    assertThat(copy.candidate).isEqualTo(1);
    assertThat(event.candidate).isZero();
    assertThat(copy.id).isEqualTo(event.id);
    assertThat(copy.categorical).isSameAs(event.categorical);
    assertThat(router.modelOf(event)).isEqualTo("fraud.c1");
    assertThat(router.modelOf(copy)).isEqualTo("fraud.wide-mlp");
    assertThat(ModelRouter.countsEvent(event)).isTrue();
    assertThat(ModelRouter.countsEvent(copy)).isFalse();
    assertThat(router.competitionOf(copy)).isEqualTo("fraud");
    assertThat(router.candidateNames()).containsExactly("c1", "wide-mlp");
    // With the first candidate pruned, the second one's copy counts the event.
    assertThat(ModelRouter.countsEvent(ModelRouter.copyFor(event, 1, true))).isTrue();
    assertThat(router.candidateOf(copy))
        .isEqualTo(new Manifest.Candidate("wide-mlp", second.settings(), "logLoss"));
    assertThat(router.describe(copy)).isNull();
    assertThat(new ModelRouter(SpecLoader.parse(FEATURES)).copiesPerEvent()).isEqualTo(1);
  }

  @Test
  void aWarmStartWithoutAModelStartsEachCandidateFromItsOwnModel() {
    PipelineSpec spec =
        SpecLoader.parse(
            FEATURES
                + "model: {warm-start: {version: champion}}\n"
                + "candidates:\n  - {name: a, model: {type: mlp, hidden-layers: [8]}}\n"
                + "  - {name: b, training: {learning-rate: 0.5}}\n");
    assertThat(spec.candidates())
        .extracting(c -> c.model().warmStart())
        .containsExactly(
            new PipelineSpec.WarmStart(null, "fraud.a", "champion"),
            new PipelineSpec.WarmStart(null, "fraud.b", "champion"));
    PipelineSpec fromOne =
        SpecLoader.parse(
            FEATURES
                + "model: {warm-start: {model: fraud, version: 4}}\n"
                + "candidates:\n  - {name: a, training: {learning-rate: 0.05}}\n"
                + "  - {name: b, training: {learning-rate: 0.5}}\n");
    assertThat(fromOne.candidates())
        .extracting(c -> c.model().warmStart())
        .containsOnly(new PipelineSpec.WarmStart(null, "fraud", "4"));
  }

  @Test
  void everySegmentTrainsEveryCandidate() throws Exception {
    ModelRouter router =
        new ModelRouter(
            SpecLoader.parse(
                FEATURES
                    + "segments: {by: country, others: rest}\n"
                    + "candidates:\n  - {name: a, training: {learning-rate: 0.5}}\n"
                    + "  - {name: b, training: {learning-rate: 0.05}}\n"));
    assertThat(router.copiesPerEvent()).isEqualTo(2);
    Example german = example("DE");
    assertThat(router.modelOf(german)).isEqualTo("fraud.DE.a");
    assertThat(router.modelOf(ModelRouter.copyFor(german, 1, false))).isEqualTo("fraud.DE.b");
    assertThat(router.modelOf(ModelRouter.copyFor(example("a b"), 1, false)))
        .isEqualTo(ModelRouter.modelName("fraud", "a b") + ".b")
        .isEqualTo("fraud.a_b.c8687a08aa5d.b");
    assertThat(router.modelOf(example(null))).isEqualTo("fraud.rest.a");
    assertThat(router.competitionOf(ModelRouter.copyFor(example("a b"), 1, false)))
        .isEqualTo("fraud.a_b.c8687a08aa5d");
    assertThat(router.competitionOf(example(null))).isEqualTo("fraud.rest");
    Example copy = ModelRouter.copyFor(german, 1, false);
    assertThat(router.describe(copy)).isEqualTo(new Manifest.Segment("country", "DE", false));
    assertThat(router.candidateOf(copy).name()).isEqualTo("b");
    // The longest name both allow is one the store accepts.
    String longest = "f".repeat(64) + "." + "s".repeat(31) + "." + "c".repeat(31);
    assertThat(ModelNames.checkModelName(longest)).isEqualTo(longest);
  }

  @Test
  void aGridMakesACandidateOfEveryCombination() {
    PipelineSpec spec =
        SpecLoader.parse(
            FEATURES
                + "candidates:\n  grid:\n"
                + "    training.learning-rate: [0.01, 0.1, 0.5]\n"
                + "    training.optimizer.type: [sgd, adam]\n"
                + "    model.hidden-layers: [[8]]\n"
                + "model: {type: mlp, hidden-layers: [4]}\n");
    assertThat(spec.candidates()).hasSize(6);
    assertThat(spec.candidates())
        .extracting(PipelineSpec.Candidate::name)
        .containsExactly("c1", "c2", "c3", "c4", "c5", "c6");
    assertThat(spec.candidates().get(3).settings())
        .containsExactly(
            Map.entry("model.hidden-layers", "[8]"),
            Map.entry("training.learning-rate", "0.1"),
            Map.entry("training.optimizer.type", "adam"));
    assertThat(spec.candidates())
        .extracting(c -> c.training().schedule().base() + " " + c.training().optimizer().type())
        .containsExactly("0.01 sgd", "0.01 adam", "0.1 sgd", "0.1 adam", "0.5 sgd", "0.5 adam");
    assertThat(spec.candidates()).allMatch(c -> c.model().hiddenLayers().equals(List.of(8)));

    assertRefused(
        FEATURES + "candidates: {grid: {dedup.ttl: [1h, 2h]}}\n",
        "spec key 'candidates.grid.dedup.ttl' = [1h, 2h]: a key under model. or training., e.g."
            + " training.learning-rate");
    assertRefused(
        FEATURES + "candidates: {grid: {training.learning-rate: 0.1}}\n",
        "spec key 'candidates.grid.training.learning-rate' = 0.1: a list of the values to try");
    assertRefused(
        FEATURES
            + "candidates: {grid: {training.learning-rate: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],"
            + " training.l2: [0, 0.1, 0.2, 0.3, 0.4, 0.5]}}\n",
        "spec key 'candidates.grid' = [training.learning-rate, training.l2]: at most 32"
            + " combinations of values; these make more");
    assertRefused(
        FEATURES + "candidates: {grid: {training.learning-rate: [0.1, 500]}}\n",
        "spec key 'candidates[1].training.learning-rate' = 500: a number in [1.0E-9, 100.0]"
            + " (candidate c2 of candidates.grid: {training.learning-rate=500})");
    assertRefused(
        FEATURES + "candidates: {search: {}}\n",
        "spec key 'candidates.search' = {}: unknown key; allowed here: [grid]");
  }

  @Test
  void refusesCandidatesThatCannotWork() {
    String two = "  - training: {learning-rate: 0.5}\n  - training: {learning-rate: 0.05}\n";
    assertRefused(
        FEATURES + "candidates:\n  - training: {learning-rate: 0.5}\n",
        "spec key 'candidates' = '1 candidate': from 2 to 32 candidates: each a name and the model"
            + " and training settings it changes");
    assertRefused(
        FEATURES
            + "candidates:\n  - {name: a, training: {learning-rate: 0.5}}\n"
            + "  - {name: a, training: {learning-rate: 0.05}}\n",
        "spec key 'candidates[1].name' = 'a': each candidate's name once");
    assertRefused(
        FEATURES + "candidates:\n  - {name: 'a.b', training: {learning-rate: 0.5}}\n" + two,
        "spec key 'candidates[0].name' = 'a.b': 1 to 31 letters, digits, '_' or '-'");
    assertRefused(
        FEATURES + "candidates:\n  - {name: a}\n" + two,
        "spec key 'candidates[0].name' = 'a': a candidate that sets something under model or"
            + " training");
    assertRefused(
        FEATURES + "candidates:\n  - {features: []}\n" + two,
        "spec key 'candidates[0].features' = []: unknown key; allowed here: [model, name,"
            + " training]");
    assertRefused(
        FEATURES + "candidates:\n  - training: {learning-rate: 500}\n" + two,
        "spec key 'candidates[0].training.learning-rate' = 500: a number in [1.0E-9, 100.0]");
    assertRefused(
        FEATURES + "candidates:\n  - model: {type: softmax}\n" + two,
        "spec key 'candidates[0].model.type' = 'softmax': a binary task takes logistic or mlp");
    assertRefused(
        FEATURES.replace("name: fraud", "name: " + "f".repeat(65))
            + "segments: {by: country}\ncandidates:\n"
            + two,
        "spec key 'name' = '"
            + "f".repeat(65)
            + "': at most 64 characters with segments and candidates, so that every segment's"
            + " candidate's model name fits");
    assertRefused(
        FEATURES + "candidates:\n  - model: {warm-start: {version: 3}}\n" + two,
        "spec key 'candidates[0].model.warm-start' = {version=3}: not per candidate:"
            + " model.warm-start applies to every candidate");
    assertRefused(
        FEATURES
            + "model: {warm-start: {model: fraud-v1, version: latest}}\n"
            + "candidates:\n  - model: {type: mlp, hidden-layers: [8]}\n"
            + two,
        "spec key 'candidates[0].model.hidden-layers' = [8]: the network of"
            + " model.warm-start.model fraud-v1, whose version fills every candidate's"
            + " parameters");
  }

  private static void assertRefused(String yaml, String message) {
    assertThatThrownBy(() -> SpecLoader.parse(yaml))
        .isInstanceOf(SpecException.class)
        .hasMessage(message);
  }

  /** An example of the spec above: amount, then the two categorical features. */
  private static Example example(String country) {
    Example example = new Example();
    example.id = "e";
    example.numeric = new double[] {1.0};
    example.categorical = new String[] {"shop", country};
    return example;
  }
}
