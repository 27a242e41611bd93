package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.streamlearn.core.data.CsvEvents;
import dev.streamlearn.core.data.CsvReader;
import dev.streamlearn.core.data.RawFeatures;
import dev.streamlearn.core.features.Featurizer;
import dev.streamlearn.core.features.FeaturizerState;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.datasketches.kll.KllDoublesSketch;
import org.junit.jupiter.api.Test;

/** The featurizer's streaming statistics and encodings, checked against exact computations. */
class FeaturizerTest {

  @Test
  void streamingStatisticsMatchExactBatchComputations() throws Exception {
    CsvEvents rows = new CsvEvents(CsvReader.read(SharedData.file("wdbc.csv")), "diagnosis");
    List<Object> rules = new ArrayList<>();
    for (PipelineSpec.Feature feature : rows.inferFeatures()) {
      rules.add(
          Map.of(
              "name", feature.name(),
              "type", "numeric",
              "scale", "robust",
              "outliers", "winsorize",
              "winsorize", List.of(0.05, 0.95)));
    }
    List<PipelineSpec.Feature> features = SpecLoader.parseFeatures(rules, "features");
    Featurizer featurizer = new Featurizer(features);
    RawFeatures raw = new RawFeatures(features, false);
    FeaturizerState state = featurizer.newState();
    int fields = featurizer.numericCount();
    double[][] columns = new double[fields][rows.size()];
    for (int r = 0; r < rows.size(); r++) {
      double[] numeric = new double[fields];
      raw.read(rows.event(r, "w", 0).getFeatures(), 0, numeric, new String[0]);
      featurizer.learn(state, numeric, new String[0]);
      for (int f = 0; f < fields; f++) {
        columns[f][r] = numeric[f];
      }
      if (r % 32 == 31) {
        featurizer.refresh(state);
      }
    }
    featurizer.refresh(state);

    double rankError = KllDoublesSketch.newHeapInstance(200).getNormalizedRankError(false);
    for (int f = 0; f < fields; f++) {
      double[] column = columns[f];
      double mean = Arrays.stream(column).sum() / column.length;
      double squares = Arrays.stream(column).map(v -> (v - mean) * (v - mean)).sum();
      double variance = squares / (column.length - 1);
      assertThat(state.mean[f]).isCloseTo(mean, within(1e-9 * Math.max(1, Math.abs(mean))));
      assertThat(state.m2[f] / (state.count[f] - 1)).isCloseTo(variance, within(1e-9 * variance));
      double[] sorted = column.clone();
      Arrays.sort(sorted);
      assertThat(state.min[f]).isEqualTo(sorted[0]);
      assertThat(state.max[f]).isEqualTo(sorted[sorted.length - 1]);
      double[] ranks = {0.5, 0.25, 0.75, 0.05, 0.95};
      for (int q = 0; q < ranks.length; q++) {
        double estimate = state.quantiles[f * ranks.length + q];
        // The estimate's rank in the exact data lies within the sketch's stated rank error.
        double below = Arrays.stream(sorted).filter(v -> v < estimate).count();
        double atOrBelow = Arrays.stream(sorted).filter(v -> v <= estimate).count();
        assertThat(ranks[q])
            .isBetween(
                below / sorted.length - rankError - 1e-12,
                atOrBelow / sorted.length + rankError + 1e-12);
      }
      // Robust scaling uses exactly the sketch's median and interquartile range.
      assertThat(state.center[f]).isEqualTo(state.quantiles[f * ranks.length]);
      assertThat(state.low[f]).isEqualTo(state.quantiles[f * ranks.length + 3]);
    }
  }

  @Test
  void streamingPcaFindsTheLeadingComponentsOfStandardizedData() throws Exception {
    CsvEvents rows = new CsvEvents(CsvReader.read(SharedData.file("wdbc.csv")), "diagnosis");
    List<Object> rules = new ArrayList<>();
    List<String> names = new ArrayList<>();
    for (PipelineSpec.Feature feature : rows.inferFeatures()) {
      rules.add(Map.of("name", feature.name(), "type", "numeric", "outliers", "none"));
      names.add(feature.name());
    }
    rules.add(Map.of("name", "pca", "type", "pca", "fields", names, "components", 2));
    List<PipelineSpec.Feature> features = SpecLoader.parseFeatures(rules, "features");
    Featurizer featurizer = new Featurizer(features);
    RawFeatures raw = new RawFeatures(features, false);
    int d = names.size();
    double[][] data = new double[rows.size()][d];
    for (int r = 0; r < rows.size(); r++) {
      raw.read(rows.event(r, "w", 0).getFeatures(), 0, data[r], new String[0]);
    }
    FeaturizerState state = featurizer.newState();
    for (int pass = 0; pass < 8; pass++) {
      for (double[] row : data) {
        featurizer.learn(state, row, new String[0]);
      }
    }
    // Exact principal components of the same standardized data, by power iteration.
    double[][] covariance = new double[d][d];
    for (double[] row : data) {
      for (int i = 0; i < d; i++) {
        for (int j = 0; j < d; j++) {
          covariance[i][j] +=
              (row[i] - state.center[i])
                  / state.divisor[i]
                  * (row[j] - state.center[j])
                  / state.divisor[j]
                  / data.length;
        }
      }
    }
    double[] first = leadingEigenvector(covariance);
    double lambda = 0;
    double[] mapped = multiply(covariance, first);
    for (int i = 0; i < d; i++) {
      lambda += first[i] * mapped[i];
    }
    for (int i = 0; i < d; i++) {
      for (int j = 0; j < d; j++) {
        covariance[i][j] -= lambda * first[i] * first[j];
      }
    }
    double[] second = leadingEigenvector(covariance);
    double cos1 = Math.abs(cosine(first, Arrays.copyOfRange(state.pcaVectors, 0, d)));
    double cos2 = Math.abs(cosine(second, Arrays.copyOfRange(state.pcaVectors, d, 2 * d)));
    System.out.printf(
        "wdbc, streaming PCA: |cos| to the exact components %.4f, %.4f%n", cos1, cos2);
    assertThat(cos1).isGreaterThan(0.99);
    assertThat(cos2).isGreaterThan(0.9);
    assertThat(featurizer.featureNames(state)).endsWith("pca.pc1", "pca.pc2");
  }

  private static double[] leadingEigenvector(double[][] matrix) {
    double[] v = new double[matrix.length];
    Arrays.fill(v, 1.0);
    for (int iteration = 0; iteration < 1000; iteration++) {
      v = multiply(matrix, v);
      double norm = Math.sqrt(Arrays.stream(v).map(x -> x * x).sum());
      for (int i = 0; i < v.length; i++) {
        v[i] /= norm;
      }
    }
    return v;
  }

  private static double[] multiply(double[][] matrix, double[] v) {
    double[] out = new double[v.length];
    for (int i = 0; i < v.length; i++) {
      for (int j = 0; j < v.length; j++) {
        out[i] += matrix[i][j] * v[j];
      }
    }
    return out;
  }

  private static double cosine(double[] a, double[] b) {
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int i = 0; i < a.length; i++) {
      dot += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
    return dot / Math.sqrt(na * nb);
  }

  @Test
  void oneHotVocabularyIsBoundedAndKeepsValuesSeenOftenEnough() {
    Featurizer featurizer =
        featurizer(
            "{name: c, type: categorical, vocabulary-size: 3, min-count: 2, missing-indicator: true}");
    FeaturizerState state = featurizer.newState();
    // a five times, b once, c three times, d four times, e twice: in arrival order a, c, d reach
    // two first and take the three entries; e reaches two when the vocabulary is full.
    for (String value : "a b a c a c d d c a d e d a e".split(" ")) {
      featurizer.learn(state, new double[0], new String[] {value});
    }
    featurizer.refresh(state);
    assertThat(featurizer.featureNames(state))
        .containsExactly("c=a", "c=c", "c=d", "c=(other)", "c.missing");
    assertThat(vector(featurizer, state, "d")).containsExactly(0f, 0f, 1f, 0f, 0f);
    assertThat(vector(featurizer, state, "b")).containsExactly(0f, 0f, 0f, 1f, 0f);
    assertThat(vector(featurizer, state, "never seen")).containsExactly(0f, 0f, 0f, 1f, 0f);
    assertThat(vector(featurizer, state, null)).containsExactly(0f, 0f, 0f, 0f, 1f);
    long[] counters = state.counters;
    assertThat(counters[Featurizer.COUNTERS.indexOf("oneHot")]).isEqualTo(1);
    assertThat(counters[Featurizer.COUNTERS.indexOf("outOfVocabulary")]).isEqualTo(2);
  }

  @Test
  void missingValuesAreImputedByPolicy() {
    Featurizer featurizer =
        featurizer(
            "{name: m, type: numeric, missing: median, missing-indicator: true, scale: none,"
                + " outliers: none}",
            "{name: z, type: numeric, missing: zero, scale: none, outliers: none}",
            "{name: k, type: numeric, missing: constant, fill: 7.5, scale: none, outliers: none}",
            "{name: f, type: categorical, missing: most-frequent}",
            "{name: g, type: categorical, missing: constant, fill: other}");
    FeaturizerState state = featurizer.newState();
    double[][] numbers = {{1, 5, 2}, {2, 5, 2}, {10, 5, 2}, {3, 5, 2}, {4, 5, 2}};
    String[][] texts = {{"x", "other"}, {"y", "g1"}, {"y", "g1"}, {"y", "g2"}, {"x", "g1"}};
    for (int r = 0; r < numbers.length; r++) {
      featurizer.learn(state, numbers[r], texts[r]);
    }
    featurizer.refresh(state);
    List<String> names = featurizer.featureNames(state);
    float[] out = new float[featurizer.dimension()];
    featurizer.transform(
        state,
        new double[] {Double.NaN, Double.NaN, Double.NaN},
        new String[] {null, null},
        out,
        0,
        true);
    assertThat(out[names.indexOf("m")]).isEqualTo(3f); // the median of 1, 2, 10, 3, 4
    assertThat(out[names.indexOf("m.missing")]).isEqualTo(1f);
    assertThat(out[names.indexOf("z")]).isEqualTo(0f);
    assertThat(out[names.indexOf("k")]).isEqualTo(7.5f);
    assertThat(out[names.indexOf("f=y")]).isEqualTo(1f); // y three times, x twice
    assertThat(out[names.indexOf("g=other")]).isEqualTo(1f);
    assertThat(state.counters[Featurizer.COUNTERS.indexOf("imputed")]).isEqualTo(5);
  }

  @Test
  void outliersAreWinsorizedOrClippedAndCounted() {
    Featurizer featurizer =
        featurizer(
            "{name: w, type: numeric, outliers: winsorize, winsorize: [0.1, 0.9], scale: none}",
            "{name: c, type: numeric, outliers: clip, clip-std: 2, scale: none}");
    FeaturizerState state = featurizer.newState();
    for (int i = 1; i <= 100; i++) {
      featurizer.learn(state, new double[] {i, i % 2}, new String[0]);
    }
    featurizer.refresh(state);
    float[] out = new float[2];
    featurizer.transform(state, new double[] {1000, 1000}, new String[0], out, 0, true);
    assertThat(out[0]).isCloseTo(90f, within(2f));
    double std = Math.sqrt(state.m2[1] / 99);
    assertThat(out[1]).isCloseTo((float) (0.5 + 2 * std), within(1e-5f));
    assertThat(state.counters[Featurizer.COUNTERS.indexOf("outliersCapped")]).isEqualTo(2);
  }

  @Test
  void datesBecomeCyclicPartsAndCalendarFlags() {
    Featurizer featurizer =
        featurizer(
            "{name: t, type: datetime, parts: [hour, day-of-week, month, weekend, holiday],"
                + " holidays: ['12-25', '2026-11-26'], time-zone: Europe/Berlin}",
            "{name: u, type: datetime, parts: [hour], cyclic: false}");
    FeaturizerState state = featurizer.newState();
    // Friday 25 December 2026, 23:30 UTC: already Saturday 26 December, 00:30 in Berlin.
    long millis = Instant.parse("2026-12-25T23:30:00Z").toEpochMilli();
    float[] out = new float[featurizer.dimension()];
    featurizer.transform(state, new double[] {millis, millis}, new String[0], out, 0, true);
    List<String> names = featurizer.featureNames(state);
    double hour = 2 * Math.PI * 0.5 / 24;
    assertThat(out[names.indexOf("t.hour.sin")]).isCloseTo((float) Math.sin(hour), within(1e-6f));
    assertThat(out[names.indexOf("t.hour.cos")]).isCloseTo((float) Math.cos(hour), within(1e-6f));
    double saturday = 2 * Math.PI * 5 / 7;
    assertThat(out[names.indexOf("t.day-of-week.sin")])
        .isCloseTo((float) Math.sin(saturday), within(1e-6f));
    assertThat(out[names.indexOf("t.weekend")]).isEqualTo(1f);
    assertThat(out[names.indexOf("t.holiday")]).isEqualTo(0f); // the 26th is not listed
    assertThat(out[names.indexOf("u.hour")]).isCloseTo(23.5f / 24, within(1e-6f)); // UTC
    long thanksgiving = Instant.parse("2026-11-26T12:00:00Z").toEpochMilli();
    featurizer.transform(
        state, new double[] {thanksgiving, Double.NaN}, new String[0], out, 0, true);
    assertThat(out[names.indexOf("t.holiday")]).isEqualTo(1f);
    assertThat(out[names.indexOf("t.weekend")]).isEqualTo(0f);
    assertThat(out[names.indexOf("u.hour")]).isEqualTo(0f); // missing: left empty
  }

  @Test
  void crossedFieldsHashTheirValuesTogether() throws Exception {
    List<PipelineSpec.Feature> features =
        parse("{name: ab, type: cross, fields: [a, b], hash-buckets: 1024}");
    Featurizer featurizer = new Featurizer(features);
    RawFeatures raw = new RawFeatures(features, true);
    String[] text = new String[1];
    raw.read(Map.of("a", "x", "b", 3.0), 0, new double[0], text);
    assertThat(text[0]).isEqualTo("x" + RawFeatures.CROSS_SEPARATOR + "3");
    float[] out = new float[1024];
    featurizer.transform(featurizer.newState(), new double[0], text, out, 0, true);
    assertThat(out[Featurizer.bucketOf(text[0], 1024)]).isEqualTo(1f);
    raw.read(Map.of("a", "x"), 0, new double[0], text);
    assertThat(text[0]).isNull();
  }

  @Test
  void badInputIsRefusedWithItsReason() {
    List<PipelineSpec.Feature> features =
        parse(
            "{name: n, type: numeric, range: [0, 100]}",
            "{name: d, type: numeric, missing: drop}",
            "{name: q, type: numeric, non-finite: missing}",
            "{name: c, type: categorical}",
            "{name: t, type: datetime, field: when}");
    RawFeatures raw = new RawFeatures(features, true);
    assertThat(refusal(raw, Map.of("n", 101.0, "d", 1.0)))
        .isEqualTo("feature n = 101.0 is outside its range [0.0, 100.0]");
    assertThat(refusal(raw, Map.of("n", "twelve", "d", 1.0)))
        .isEqualTo("feature n = 'twelve' is not a number");
    assertThat(refusal(raw, Map.of("n", 1.0)))
        .isEqualTo("feature d is missing and its missing policy is drop");
    assertThat(refusal(raw, Map.of("n", Double.NaN, "d", 1.0))).isEqualTo("feature n is NaN");
    assertThat(refusal(raw, Map.of("d", 1.0, "c", "x".repeat(5000))))
        .isEqualTo("feature c is 5000 characters long; at most 1024 are allowed");
    assertThat(refusal(raw, Map.of("d", 1.0, "when", "yesterday")))
        .isEqualTo(
            "feature t: field when = 'yesterday' is not a time (epoch milliseconds or ISO-8601)");
    assertThat(refusal(raw, Map.of("d", 1.0, "extra", 1.0)))
        .isEqualTo("field 'extra' is not read by any feature and source.unknown-fields is refuse");
    // Accepted: a non-finite value where the policy makes it missing, and ISO times.
    assertThat(refusal(raw, Map.of("d", 1.0, "q", Double.POSITIVE_INFINITY, "when", "2026-01-02")))
        .isNull();
    assertThat(refusal(raw, Map.of("d", 1.0, "when", "2026-01-02T03:04:05+01:00"))).isNull();
  }

  private static String refusal(RawFeatures raw, Map<String, ?> fields) {
    try {
      raw.read(
          new HashMap<>(fields),
          0,
          new double[raw.numericCount()],
          new String[raw.categoricalCount()]);
      return null;
    } catch (dev.streamlearn.core.data.ExampleExtractor.RefusedException e) {
      return e.getMessage();
    }
  }

  private static float[] vector(Featurizer featurizer, FeaturizerState state, String value) {
    float[] out = new float[featurizer.dimension()];
    featurizer.transform(state, new double[0], new String[] {value}, out, 0, true);
    return out;
  }

  private static Featurizer featurizer(String... features) {
    return new Featurizer(parse(features));
  }

  private static List<PipelineSpec.Feature> parse(String... features) {
    return SpecLoader.parse("features: [" + String.join(", ", features) + "]\n").features();
  }
}
