package dev.streamlearn.core.features;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.MonthDay;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.commons.codec.digest.MurmurHash3;
import org.apache.datasketches.frequencies.ItemsSketch;

/**
 * Turns an example's raw values into the model's input vector, feature by feature in spec order:
 *
 * <ul>
 *   <li>numeric: a missing value is imputed (mean, median, zero or a constant), outliers are
 *       clipped at k deviations or winsorized at streaming quantiles, the value is scaled
 *       (standard, min-max, robust or none); optionally a was-missing entry follows;
 *   <li>categorical: one-hot over a bounded vocabulary plus an out-of-vocabulary entry, or
 *       MurmurHash3 buckets; a missing value is left empty, imputed with the most frequent value or
 *       a constant; optionally a was-missing entry;
 *   <li>datetime: hour, day of week, day of month and month (as sine and cosine, or scaled to [0,
 *       1]), weekend and holiday flags;
 *   <li>cross: the crossed fields' values hashed together into buckets.
 * </ul>
 *
 * <p>Statistics come from training examples only. Welford statistics and the parameters built on
 * them move with every example (the trainer has an example {@link #learn learned} before it {@link
 * #transform transforms} it, so its own value counts in its scaling); sketches, quantiles,
 * vocabularies and the most frequent values move at {@link #refresh}, which the trainer calls at
 * every mini-batch step. Everything lives in a {@link FeaturizerState} and travels with each model
 * in {@code featurizer.json}, from which {@link #fromJson} rebuilds exactly the same featurizer for
 * serving.
 */
public final class Featurizer implements Serializable {

  public static final int HASH_SEED = 0x5EED;
  public static final int FORMAT_VERSION = 2;

  /** The quantiles read from each KLL sketch at a refresh. */
  static final double[] QUANTILES = {0.5, 0.25, 0.75, Double.NaN, Double.NaN};

  private static final int MEDIAN = 0;
  private static final int Q25 = 1;
  private static final int Q75 = 2;
  private static final int LOW_Q = 3;
  private static final int HIGH_Q = 4;

  /** What the counters count, in {@link FeaturizerState#counters} order. */
  public static final List<String> COUNTERS =
      List.of(
          "imputed",
          "outliersCapped",
          "scaled",
          "oneHot",
          "outOfVocabulary",
          "hashed",
          "crossed",
          "dates");

  private static final int IMPUTED = 0;
  private static final int CAPPED = 1;
  private static final int SCALED = 2;
  private static final int ONE_HOT = 3;
  private static final int OUT_OF_VOCABULARY = 4;
  private static final int HASHED = 5;
  private static final int CROSSED = 6;
  private static final int DATES = 7;

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final List<PipelineSpec.Feature> features;
  private final PipelineSpec.Feature[] feature;
  private final int[] slot;
  private final int[] offset;
  private final int[] width;
  private final int[] vocabularyOffset;
  private final int vocabularyTotal;
  private final int numericSlots;
  private final int textSlots;
  private final int dimension;
  private final int[] quantileFeatures;
  private final int[] frequencyFeatures;
  private final ZoneId[] zones;
  private final Set<MonthDay>[] yearlyHolidays;
  private final Set<LocalDate>[] holidays;

  // The rules as small codes, for the per-event paths (no string switches there).
  private static final int NUMERIC = 0;
  private static final int CATEGORICAL = 1;
  private static final int DATETIME = 2;
  private static final int CROSS = 3;
  private static final int PCA = 4;
  // Codes are positions in PipelineSpec.Feature.TYPES.
  private static final List<String> MISSING =
      List.of("mean", "median", "zero", "constant", "most-frequent", "empty", "drop");
  private static final int MISSING_MEDIAN = 1;
  private static final int MISSING_ZERO = 2;
  private static final int MISSING_CONSTANT = 3;
  private static final int MISSING_MOST_FREQUENT = 4;
  private static final List<String> OUTLIERS = List.of("none", "clip", "winsorize");
  private static final int CLIP = 1;
  private static final int WINSORIZE = 2;
  private static final List<String> SCALES = List.of("standard", "minmax", "robust", "none");
  private static final int MINMAX = 1;
  private static final int ROBUST = 2;
  private static final int NO_SCALE = 3;

  private final int[] kind;
  private final int[] missingPolicy;
  private final int[] outliers;
  private final int[] scale;
  private final boolean[] oneHot;
  private final boolean[] indicator;
  private final int[] entries;
  private final int[] numericFeatures;

  /** PCA features: their input features, and where their state starts in the flat arrays. */
  private final int[][] pcaInputs;

  private final int[] pcaMeanAt;
  private final int[] pcaVectorAt;
  private final int pcaMeanTotal;
  private final int pcaVectorTotal;
  private final int[] pcaFeatures;

  @SuppressWarnings("unchecked")
  public Featurizer(List<PipelineSpec.Feature> features) {
    this.features = List.copyOf(features);
    int n = features.size();
    feature = features.toArray(PipelineSpec.Feature[]::new);
    slot = new int[n];
    offset = new int[n];
    width = new int[n];
    vocabularyOffset = new int[n];
    zones = new ZoneId[n];
    yearlyHolidays = new Set[n];
    holidays = new Set[n];
    kind = new int[n];
    missingPolicy = new int[n];
    outliers = new int[n];
    scale = new int[n];
    oneHot = new boolean[n];
    indicator = new boolean[n];
    entries = new int[n];
    List<Integer> quantile = new ArrayList<>();
    List<Integer> frequency = new ArrayList<>();
    List<Integer> numericList = new ArrayList<>();
    int numeric = 0;
    int text = 0;
    int at = 0;
    int vocabulary = 0;
    for (int f = 0; f < n; f++) {
      PipelineSpec.Feature spec = feature[f];
      slot[f] = !spec.readsRaw() ? -1 : spec.readsNumber() ? numeric++ : text++;
      offset[f] = at;
      kind[f] = PipelineSpec.Feature.TYPES.indexOf(spec.type());
      missingPolicy[f] = MISSING.indexOf(spec.missing().policy());
      indicator[f] = spec.missing().indicator();
      if (kind[f] == NUMERIC) {
        numericList.add(f);
        outliers[f] = OUTLIERS.indexOf(spec.numeric().outliers());
        scale[f] = SCALES.indexOf(spec.numeric().scale());
      }
      if (spec.categorical() != null) {
        oneHot[f] = spec.categorical().oneHot();
        entries[f] =
            oneHot[f] ? spec.categorical().vocabularySize() : spec.categorical().hashBuckets();
      }
      int count =
          switch (spec.type()) {
            case PipelineSpec.Feature.NUMERIC -> 1;
            case PipelineSpec.Feature.CATEGORICAL ->
                spec.categorical().oneHot()
                    ? spec.categorical().vocabularySize() + 1
                    : spec.categorical().hashBuckets();
            case PipelineSpec.Feature.DATETIME -> dateWidth(spec.dateTime());
            case PipelineSpec.Feature.PCA -> spec.pca().components();
            default -> spec.categorical().hashBuckets();
          };
      width[f] = count + (spec.missing().indicator() ? 1 : 0);
      at += width[f];
      if (spec.type().equals(PipelineSpec.Feature.NUMERIC)
          && spec.numeric().needsQuantiles(spec.missing())) {
        quantile.add(f);
      }
      if (spec.type().equals(PipelineSpec.Feature.CATEGORICAL)) {
        vocabularyOffset[f] = vocabulary;
        if (spec.categorical().oneHot()) {
          vocabulary += spec.categorical().vocabularySize();
        }
        if (spec.categorical().oneHot() || spec.missing().policy().equals("most-frequent")) {
          frequency.add(f);
        }
      }
      if (spec.type().equals(PipelineSpec.Feature.DATETIME)) {
        zones[f] = ZoneId.of(spec.dateTime().timeZone());
        yearlyHolidays[f] = new HashSet<>();
        holidays[f] = new HashSet<>();
        for (String day : spec.dateTime().holidays()) {
          if (day.length() == 5) {
            yearlyHolidays[f].add(MonthDay.parse("--" + day));
          } else {
            holidays[f].add(LocalDate.parse(day));
          }
        }
      }
    }
    numericSlots = numeric;
    textSlots = text;
    dimension = at;
    vocabularyTotal = vocabulary;
    quantileFeatures = quantile.stream().mapToInt(Integer::intValue).toArray();
    frequencyFeatures = frequency.stream().mapToInt(Integer::intValue).toArray();
    numericFeatures = numericList.stream().mapToInt(Integer::intValue).toArray();
    pcaInputs = new int[n][];
    pcaMeanAt = new int[n];
    pcaVectorAt = new int[n];
    List<Integer> pcaList = new ArrayList<>();
    int means = 0;
    int vectors = 0;
    for (int f = 0; f < n; f++) {
      if (kind[f] == PCA) {
        List<String> fields = feature[f].pca().fields();
        pcaInputs[f] = new int[fields.size()];
        for (int i = 0; i < fields.size(); i++) {
          for (int g = 0; g < f; g++) {
            if (feature[g].name().equals(fields.get(i))) {
              pcaInputs[f][i] = g;
            }
          }
        }
        pcaMeanAt[f] = means;
        pcaVectorAt[f] = vectors;
        means += fields.size();
        vectors += fields.size() * feature[f].pca().components();
        pcaList.add(f);
      }
    }
    pcaMeanTotal = means;
    pcaVectorTotal = vectors;
    pcaFeatures = pcaList.stream().mapToInt(Integer::intValue).toArray();
  }

  private static int dateWidth(PipelineSpec.DateTimeRules rules) {
    int entries = 0;
    for (String part : rules.parts()) {
      entries += (part.equals("weekend") || part.equals("holiday") || !rules.cyclic()) ? 1 : 2;
    }
    return entries;
  }

  public List<PipelineSpec.Feature> features() {
    return features;
  }

  public int dimension() {
    return dimension;
  }

  /** Raw numeric values an example carries (numeric and datetime features). */
  public int numericCount() {
    return numericSlots;
  }

  /** Raw text values an example carries (categorical and cross features). */
  public int categoricalCount() {
    return textSlots;
  }

  public FeaturizerState newState() {
    FeaturizerState state = new FeaturizerState();
    state.count = new long[numericSlots];
    state.mean = new double[numericSlots];
    state.m2 = new double[numericSlots];
    state.min = filled(numericSlots, Double.POSITIVE_INFINITY);
    state.max = filled(numericSlots, Double.NEGATIVE_INFINITY);
    state.quantiles = filled(numericSlots * QUANTILES.length, Double.NaN);
    state.fill = new double[numericSlots];
    state.low = new double[numericSlots];
    state.high = new double[numericSlots];
    state.center = new double[numericSlots];
    state.divisor = new double[numericSlots];
    state.quantileSketches = new byte[numericSlots][0];
    for (int f : quantileFeatures) {
      state.quantileSketches[slot[f]] = Sketches.emptyQuantiles();
    }
    state.vocabulary = new String[vocabularyTotal];
    state.vocabularyUsed = new int[textSlots];
    state.frequencySketches = new byte[textSlots][0];
    for (int f : frequencyFeatures) {
      PipelineSpec.CategoricalRules rules = feature[f].categorical();
      state.frequencySketches[slot[f]] =
          Sketches.emptyFrequencies(rules.oneHot() ? rules.vocabularySize() : 1);
    }
    state.mostFrequent = new String[textSlots];
    state.pendingNumeric = new double[0];
    state.pendingText = new String[0];
    state.counters = new long[COUNTERS.size()];
    state.pcaCount = new long[feature.length];
    state.pcaMean = new double[pcaMeanTotal];
    state.pcaVectors = new double[pcaVectorTotal];
    for (int f = 0; f < feature.length; f++) {
      if (feature[f].type().equals(PipelineSpec.Feature.NUMERIC)) {
        derive(state, f);
      }
    }
    return state;
  }

  private static double[] filled(int length, double value) {
    double[] array = new double[length];
    Arrays.fill(array, value);
    return array;
  }

  /** Names of the vector's entries; one-hot entries name the value they stand for. */
  public List<String> featureNames(FeaturizerState state) {
    List<String> names = new ArrayList<>(dimension);
    for (int f = 0; f < feature.length; f++) {
      PipelineSpec.Feature spec = feature[f];
      String name = spec.name();
      switch (spec.type()) {
        case PipelineSpec.Feature.NUMERIC -> names.add(name);
        case PipelineSpec.Feature.CATEGORICAL -> {
          if (spec.categorical().oneHot()) {
            for (int i = 0; i < spec.categorical().vocabularySize(); i++) {
              String value = state.vocabulary[vocabularyOffset[f] + i];
              names.add(name + "=" + (value == null ? "#" + i : value));
            }
            names.add(name + "=(other)");
          } else {
            for (int b = 0; b < spec.categorical().hashBuckets(); b++) {
              names.add(name + "#" + b);
            }
          }
        }
        case PipelineSpec.Feature.PCA -> {
          for (int c = 0; c < spec.pca().components(); c++) {
            names.add(name + ".pc" + (c + 1));
          }
        }
        case PipelineSpec.Feature.DATETIME -> {
          for (String part : spec.dateTime().parts()) {
            if (part.equals("weekend") || part.equals("holiday") || !spec.dateTime().cyclic()) {
              names.add(name + "." + part);
            } else {
              names.add(name + "." + part + ".sin");
              names.add(name + "." + part + ".cos");
            }
          }
        }
        default -> {
          for (int b = 0; b < spec.categorical().hashBuckets(); b++) {
            names.add(name + "#" + b);
          }
        }
      }
      if (spec.missing().indicator()) {
        names.add(name + ".missing");
      }
    }
    return names;
  }

  public static int bucketOf(String value, int bucketCount) {
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    return Math.floorMod(MurmurHash3.hash32x86(bytes, 0, bytes.length, HASH_SEED), bucketCount);
  }

  /**
   * Learns from one training example: Welford statistics and the parameters built on them now; the
   * raw values wait for the sketches and vocabularies until the next {@link #refresh}.
   */
  public void learn(FeaturizerState state, double[] numeric, String[] text) {
    for (int f : numericFeatures) {
      int s = slot[f];
      double value = numeric[s];
      if (Double.isNaN(value)) {
        continue;
      }
      long count = ++state.count[s];
      double delta = value - state.mean[s];
      state.mean[s] += delta / count;
      state.m2[s] += delta * (value - state.mean[s]);
      state.min[s] = Math.min(state.min[s], value);
      state.max[s] = Math.max(state.max[s], value);
      derive(state, f);
    }
    for (int f : pcaFeatures) {
      learnComponents(state, f, numeric);
    }
    if (quantileFeatures.length == 0 && frequencyFeatures.length == 0) {
      return;
    }
    int row = state.pendingRows++;
    if ((row + 1) * numericSlots > state.pendingNumeric.length
        || (row + 1) * textSlots > state.pendingText.length) {
      int rows = Math.max(16, 2 * (row + 1));
      state.pendingNumeric = Arrays.copyOf(state.pendingNumeric, rows * numericSlots);
      state.pendingText = Arrays.copyOf(state.pendingText, rows * textSlots);
    }
    System.arraycopy(numeric, 0, state.pendingNumeric, row * numericSlots, numericSlots);
    System.arraycopy(text, 0, state.pendingText, row * textSlots, textSlots);
  }

  /**
   * Folds the examples learned since the last refresh into the sketches and vocabularies, and
   * re-reads the quantiles and most frequent values the vector uses.
   */
  public void refresh(FeaturizerState state) {
    int rows = state.pendingRows;
    if (rows == 0) {
      return;
    }
    for (int f : quantileFeatures) {
      int s = slot[f];
      int[] positions = new int[rows];
      for (int r = 0; r < rows; r++) {
        positions[r] = r * numericSlots + s;
      }
      double[] ranks = QUANTILES.clone();
      ranks[LOW_Q] = feature[f].numeric().lowerQuantile();
      ranks[HIGH_Q] = feature[f].numeric().upperQuantile();
      state.quantileSketches[s] =
          Sketches.addQuantiles(
              state.quantileSketches[s],
              state.pendingNumeric,
              positions,
              ranks,
              state.quantiles,
              s * QUANTILES.length);
      derive(state, f);
    }
    for (int f : frequencyFeatures) {
      int s = slot[f];
      PipelineSpec.CategoricalRules rules = feature[f].categorical();
      ItemsSketch<String> counts = Sketches.frequencies(state.frequencySketches[s]);
      HashMap<String, Integer> index = rules.oneHot() ? vocabularyIndex(state, f) : null;
      for (int r = 0; r < rows; r++) {
        String value = state.pendingText[r * textSlots + s];
        state.pendingText[r * textSlots + s] = null;
        if (value == null) {
          continue;
        }
        counts.update(value);
        if (index != null
            && state.vocabularyUsed[s] < rules.vocabularySize()
            && !index.containsKey(value)
            && counts.getEstimate(value) >= rules.minCount()) {
          int entry = state.vocabularyUsed[s]++;
          state.vocabulary[vocabularyOffset[f] + entry] = value;
          index.put(value, entry);
        }
      }
      state.mostFrequent[s] = Sketches.mostFrequent(counts);
      state.frequencySketches[s] = Sketches.bytes(counts);
    }
    state.pendingRows = 0;
  }

  @SuppressWarnings("unchecked")
  private HashMap<String, Integer> vocabularyIndex(FeaturizerState state, int f) {
    if (state.vocabularyIndex == null) {
      state.vocabularyIndex = new HashMap[textSlots];
    }
    int s = slot[f];
    HashMap<String, Integer> index = state.vocabularyIndex[s];
    if (index == null) {
      index = new HashMap<>();
      for (int i = 0; i < state.vocabularyUsed[s]; i++) {
        index.put(state.vocabulary[vocabularyOffset[f] + i], i);
      }
      state.vocabularyIndex[s] = index;
    }
    return index;
  }

  /** A numeric feature's entry: imputed, capped and scaled as in {@link #transform}. */
  private double scaled(FeaturizerState state, int f, double value) {
    int s = slot[f];
    if (Double.isNaN(value)) {
      value = state.fill[s];
    } else if (value < state.low[s]) {
      value = state.low[s];
    } else if (value > state.high[s]) {
      value = state.high[s];
    }
    return (value - state.center[s]) / state.divisor[s];
  }

  /**
   * One step of candid covariance-free incremental PCA (Weng, Zhang and Hwang, 2003): each
   * component estimate moves toward the centered input weighted by its projection, then the input
   * loses that component before the next one learns.
   */
  private void learnComponents(FeaturizerState state, int f, double[] numeric) {
    int[] inputs = pcaInputs[f];
    int d = inputs.length;
    int k = feature[f].pca().components();
    long n = ++state.pcaCount[f];
    double[] u = new double[d];
    for (int i = 0; i < d; i++) {
      double x = scaled(state, inputs[i], numeric[slot[inputs[i]]]);
      int m = pcaMeanAt[f] + i;
      state.pcaMean[m] += (x - state.pcaMean[m]) / n;
      u[i] = x - state.pcaMean[m];
    }
    for (int c = 0; c < k && c < n; c++) {
      int at = pcaVectorAt[f] + c * d;
      if (c == n - 1) {
        System.arraycopy(u, 0, state.pcaVectors, at, d);
        return;
      }
      double norm = norm(state.pcaVectors, at, d);
      if (norm < 1e-12) {
        System.arraycopy(u, 0, state.pcaVectors, at, d);
        continue;
      }
      double projection = 0;
      for (int i = 0; i < d; i++) {
        projection += u[i] * state.pcaVectors[at + i];
      }
      projection /= norm;
      for (int i = 0; i < d; i++) {
        state.pcaVectors[at + i] =
            (n - 1.0) / n * state.pcaVectors[at + i] + 1.0 / n * projection * u[i];
      }
      double updatedNorm = norm(state.pcaVectors, at, d);
      if (updatedNorm > 1e-12) {
        double along = 0;
        for (int i = 0; i < d; i++) {
          along += u[i] * state.pcaVectors[at + i];
        }
        along /= updatedNorm * updatedNorm;
        for (int i = 0; i < d; i++) {
          u[i] -= along * state.pcaVectors[at + i];
        }
      }
    }
  }

  private static double norm(double[] values, int at, int length) {
    double sum = 0;
    for (int i = 0; i < length; i++) {
      sum += values[at + i] * values[at + i];
    }
    return Math.sqrt(sum);
  }

  /** Recomputes the parameters a numeric feature's entry is computed with. */
  private void derive(FeaturizerState state, int f) {
    int s = slot[f];
    long count = state.count[s];
    double mean = count > 0 ? state.mean[s] : 0.0;
    double std = count >= 2 ? Math.sqrt(state.m2[s] / (count - 1)) : 1.0;
    if (!(std > 1e-12)) {
      std = 1.0;
    }
    int q = s * QUANTILES.length;
    double median = Double.isNaN(state.quantiles[q + MEDIAN]) ? mean : state.quantiles[q + MEDIAN];
    state.fill[s] =
        switch (missingPolicy[f]) {
          case MISSING_MEDIAN -> median;
          case MISSING_ZERO -> 0.0;
          case MISSING_CONSTANT -> feature[f].missing().fill();
          default -> mean;
        };
    double low = Double.NEGATIVE_INFINITY;
    double high = Double.POSITIVE_INFINITY;
    if (outliers[f] == CLIP) {
      // Before two values the deviation is 1: early values are held near the first ones.
      double k = feature[f].numeric().clipStd();
      low = mean - k * std;
      high = mean + k * std;
    } else if (outliers[f] == WINSORIZE && !Double.isNaN(state.quantiles[q + LOW_Q])) {
      low = state.quantiles[q + LOW_Q];
      high = state.quantiles[q + HIGH_Q];
    }
    state.low[s] = low;
    state.high[s] = high;
    double center;
    double divisor;
    switch (scale[f]) {
      case MINMAX -> {
        // Over the values that remain after outliers are capped.
        double lowest = Math.max(state.min[s], low);
        double highest = Math.min(state.max[s], high);
        center = count > 0 ? lowest : 0.0;
        double range = count > 0 ? highest - lowest : 1.0;
        divisor = range > 1e-12 ? range : 1.0;
      }
      case ROBUST -> {
        if (Double.isNaN(state.quantiles[q + Q25])) {
          center = mean;
          divisor = std;
        } else {
          center = median;
          double iqr = state.quantiles[q + Q75] - state.quantiles[q + Q25];
          divisor = iqr > 1e-12 ? iqr : std;
        }
      }
      case NO_SCALE -> {
        center = 0.0;
        divisor = 1.0;
      }
      default -> {
        center = mean;
        divisor = std;
      }
    }
    state.center[s] = center;
    state.divisor[s] = divisor;
  }

  /**
   * Writes the input vector into {@code out[at .. at + dimension())}.
   *
   * @param count whether the rules that act count in {@link FeaturizerState#counters} (once per
   *     event: not when a held-out event is featurized again at its window's close)
   */
  public void transform(
      FeaturizerState state, double[] numeric, String[] text, float[] out, int at, boolean count) {
    Arrays.fill(out, at, at + dimension, 0f);
    long[] counters = count ? state.counters : new long[COUNTERS.size()];
    for (int f = 0; f < feature.length; f++) {
      int o = at + offset[f];
      int s = slot[f];
      boolean missing;
      switch (kind[f]) {
        case NUMERIC -> {
          double value = numeric[s];
          missing = Double.isNaN(value);
          if (missing) {
            value = state.fill[s];
            counters[IMPUTED]++;
          } else if (value < state.low[s]) {
            value = state.low[s];
            counters[CAPPED]++;
          } else if (value > state.high[s]) {
            value = state.high[s];
            counters[CAPPED]++;
          }
          out[o] = (float) ((value - state.center[s]) / state.divisor[s]);
          counters[SCALED]++;
        }
        case CATEGORICAL -> {
          String value = text[s];
          missing = value == null;
          if (missing) {
            value =
                switch (missingPolicy[f]) {
                  case MISSING_MOST_FREQUENT -> state.mostFrequent[s];
                  case MISSING_CONSTANT -> feature[f].missing().fillCategory();
                  default -> null;
                };
            if (value != null) {
              counters[IMPUTED]++;
            }
          }
          if (value != null) {
            if (oneHot[f]) {
              Integer entry = vocabularyIndex(state, f).get(value);
              if (entry == null) {
                out[o + entries[f]] = 1f;
                counters[OUT_OF_VOCABULARY]++;
              } else {
                out[o + entry] = 1f;
                counters[ONE_HOT]++;
              }
            } else {
              out[o + bucketOf(value, entries[f])] = 1f;
              counters[HASHED]++;
            }
          }
        }
        case DATETIME -> {
          double millis = numeric[s];
          missing = Double.isNaN(millis);
          if (!missing) {
            writeDate(f, (long) millis, out, o);
            counters[DATES]++;
          }
        }
        case PCA -> {
          missing = false;
          project(state, f, out, at, o);
        }
        default -> {
          String value = text[s];
          missing = value == null;
          if (!missing) {
            out[o + bucketOf(value, entries[f])] = 1f;
            counters[CROSSED]++;
          }
        }
      }
      if (missing && indicator[f]) {
        out[o + width[f] - 1] = 1f;
      }
    }
  }

  /** The inputs' entries (written already, earlier in the vector) on each unit component. */
  private void project(FeaturizerState state, int f, float[] out, int at, int o) {
    int[] inputs = pcaInputs[f];
    int d = inputs.length;
    for (int c = 0; c < feature[f].pca().components(); c++) {
      int v = pcaVectorAt[f] + c * d;
      double norm = norm(state.pcaVectors, v, d);
      if (norm < 1e-12) {
        continue;
      }
      double sum = 0;
      for (int i = 0; i < d; i++) {
        double centered = out[at + offset[inputs[i]]] - state.pcaMean[pcaMeanAt[f] + i];
        sum += centered * state.pcaVectors[v + i];
      }
      out[o + c] = (float) (sum / norm);
    }
  }

  private void writeDate(int f, long millis, float[] out, int o) {
    PipelineSpec.DateTimeRules rules = feature[f].dateTime();
    ZonedDateTime time = Instant.ofEpochMilli(millis).atZone(zones[f]);
    int at = o;
    for (String part : rules.parts()) {
      switch (part) {
        case "weekend" -> {
          DayOfWeek day = time.getDayOfWeek();
          out[at++] = day == DayOfWeek.SATURDAY || day == DayOfWeek.SUNDAY ? 1f : 0f;
        }
        case "holiday" -> {
          LocalDate date = time.toLocalDate();
          out[at++] =
              holidays[f].contains(date) || yearlyHolidays[f].contains(MonthDay.from(date))
                  ? 1f
                  : 0f;
        }
        default -> {
          double value;
          double period;
          switch (part) {
            case "hour" -> {
              value = time.getHour() + time.getMinute() / 60.0;
              period = 24;
            }
            case "day-of-week" -> {
              value = time.getDayOfWeek().getValue() - 1;
              period = 7;
            }
            case "day-of-month" -> {
              value = time.getDayOfMonth() - 1;
              period = time.toLocalDate().lengthOfMonth();
            }
            default -> {
              value = time.getMonthValue() - 1;
              period = 12;
            }
          }
          if (rules.cyclic()) {
            double angle = 2 * Math.PI * value / period;
            out[at++] = (float) Math.sin(angle);
            out[at++] = (float) Math.cos(angle);
          } else {
            out[at++] = (float) (value / period);
          }
        }
      }
    }
  }

  /** Regression: the label in the units the network learns (standardized by running statistics). */
  public static double scaleTarget(FeaturizerState state, double label) {
    return scaleTarget(label, state.targetMean, targetDeviation(state));
  }

  /** {@link #scaleTarget} by a scaling taken earlier: the mean and deviation of that moment. */
  public static double scaleTarget(double label, double mean, double deviation) {
    return (label - mean) / deviation;
  }

  /** Regression: a network output back in the label's units. */
  public static double unscaleTarget(FeaturizerState state, double output) {
    return unscaleTarget(output, state.targetMean, targetDeviation(state));
  }

  /** {@link #unscaleTarget} by a scaling taken earlier: the mean and deviation of that moment. */
  public static double unscaleTarget(double output, double mean, double deviation) {
    return output * deviation + mean;
  }

  public static void learnTarget(FeaturizerState state, double label) {
    long count = ++state.targetCount;
    double delta = label - state.targetMean;
    state.targetMean += delta / count;
    state.targetM2 += delta * (label - state.targetMean);
  }

  /** Regression: the label's running standard deviation (1 until it is known), its unit. */
  public static double targetDeviation(FeaturizerState state) {
    if (state.targetCount < 2) {
      return 1.0;
    }
    double std = Math.sqrt(state.targetM2 / (state.targetCount - 1));
    return std > 1e-12 ? std : 1.0;
  }

  /** Everything serving code needs to compute the same vector, as {@code featurizer.json}. */
  public String toJson(FeaturizerState state) {
    ObjectNode root = JSON.createObjectNode();
    root.put("formatVersion", FORMAT_VERSION);
    root.put("dimension", dimension);
    List<String> names = featureNames(state);
    ArrayNode list = root.putArray("features");
    for (int f = 0; f < feature.length; f++) {
      ObjectNode node = list.addObject();
      node.set("rules", JSON.valueToTree(SpecLoader.featureTree(feature[f])));
      node.put("offset", offset[f]);
      node.put("width", width[f]);
      node.put("firstEntry", names.get(offset[f]));
      int s = slot[f];
      ObjectNode learned = node.putObject("state");
      switch (feature[f].type()) {
        case PipelineSpec.Feature.NUMERIC -> {
          learned.put("count", state.count[s]);
          learned.put("mean", state.mean[s]);
          learned.put("m2", state.m2[s]);
          learned.put("min", state.min[s]);
          learned.put("max", state.max[s]);
          ArrayNode quantiles = learned.putArray("quantiles");
          for (int i = 0; i < QUANTILES.length; i++) {
            quantiles.add(state.quantiles[s * QUANTILES.length + i]);
          }
          learned.put("fill", state.fill[s]);
          learned.put("low", state.low[s]);
          learned.put("high", state.high[s]);
          learned.put("center", state.center[s]);
          learned.put("divisor", state.divisor[s]);
          learned.put("kllSketch", Base64.getEncoder().encodeToString(state.quantileSketches[s]));
        }
        case PipelineSpec.Feature.PCA -> {
          learned.put("count", state.pcaCount[f]);
          ArrayNode mean = learned.putArray("mean");
          for (int i = 0; i < pcaInputs[f].length; i++) {
            mean.add(state.pcaMean[pcaMeanAt[f] + i]);
          }
          ArrayNode components = learned.putArray("components");
          int size = pcaInputs[f].length * feature[f].pca().components();
          for (int i = 0; i < size; i++) {
            components.add(state.pcaVectors[pcaVectorAt[f] + i]);
          }
          learned.put(
              "meaning",
              "entry c = (x - mean) . v_c / |v_c|, x the inputs' entries, v_c the c-th row of"
                  + " components");
        }
        case PipelineSpec.Feature.CATEGORICAL -> {
          ArrayNode vocabulary = learned.putArray("vocabulary");
          for (int i = 0; i < state.vocabularyUsed[s]; i++) {
            vocabulary.add(state.vocabulary[vocabularyOffset[f] + i]);
          }
          learned.put("mostFrequent", state.mostFrequent[s]);
          learned.put(
              "frequencySketch", Base64.getEncoder().encodeToString(state.frequencySketches[s]));
        }
        default -> {}
      }
    }
    root.put(
        "hash", "murmur3_x86_32(utf8(value), seed) mod buckets; crosses join values with U+001F");
    root.put("seed", HASH_SEED);
    ObjectNode counters = root.putObject("counters");
    for (int i = 0; i < COUNTERS.size(); i++) {
      counters.put(COUNTERS.get(i), state.counters[i]);
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

  /** A featurizer and its state, as read from {@code featurizer.json}. */
  public record Loaded(Featurizer featurizer, FeaturizerState state) {}

  /**
   * Rebuilds the featurizer a model was trained with, rules and learned state, from its {@code
   * featurizer.json}.
   *
   * @throws IllegalArgumentException when the file is not a featurizer of this format
   */
  public static Loaded fromJson(String json) {
    JsonNode root = readJson(json);
    if (root.path("formatVersion").asInt() != FORMAT_VERSION) {
      throw new IllegalArgumentException(
          "featurizer.json has formatVersion "
              + root.path("formatVersion")
              + "; this build reads "
              + FORMAT_VERSION);
    }
    List<Object> rules = new ArrayList<>();
    for (JsonNode node : root.path("features")) {
      rules.add(JSON.convertValue(node.path("rules"), Object.class));
    }
    Featurizer featurizer =
        new Featurizer(SpecLoader.parseFeatures(rules, "featurizer.json features"));
    return new Loaded(featurizer, featurizer.readState(root));
  }

  /**
   * The learned state written by {@link #toJson}, for a trainer that starts from a published
   * version.
   *
   * @throws IllegalArgumentException when the file's features differ from this featurizer's
   */
  public FeaturizerState stateFromJson(String json) {
    Loaded loaded = fromJson(json);
    if (!loaded.featurizer().features.equals(features)) {
      throw new IllegalArgumentException(
          "featurizer.json describes features "
              + loaded.featurizer().features.stream().map(PipelineSpec.Feature::name).toList()
              + " with other rules than this spec's "
              + features.stream().map(PipelineSpec.Feature::name).toList());
    }
    return loaded.state();
  }

  private static JsonNode readJson(String json) {
    try {
      return JSON.readTree(json);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException(
          "featurizer.json is not valid JSON: " + e.getOriginalMessage());
    }
  }

  private FeaturizerState readState(JsonNode root) {
    FeaturizerState state = newState();
    JsonNode list = root.path("features");
    for (int f = 0; f < feature.length; f++) {
      JsonNode learned = list.get(f).path("state");
      int s = slot[f];
      switch (feature[f].type()) {
        case PipelineSpec.Feature.NUMERIC -> {
          state.count[s] = learned.path("count").asLong();
          state.mean[s] = learned.path("mean").asDouble();
          state.m2[s] = learned.path("m2").asDouble();
          state.min[s] = number(learned.path("min"));
          state.max[s] = number(learned.path("max"));
          for (int i = 0; i < QUANTILES.length; i++) {
            state.quantiles[s * QUANTILES.length + i] = number(learned.path("quantiles").get(i));
          }
          state.fill[s] = number(learned.path("fill"));
          state.low[s] = number(learned.path("low"));
          state.high[s] = number(learned.path("high"));
          state.center[s] = number(learned.path("center"));
          state.divisor[s] = number(learned.path("divisor"));
          state.quantileSketches[s] =
              Base64.getDecoder().decode(learned.path("kllSketch").asText());
        }
        case PipelineSpec.Feature.PCA -> {
          state.pcaCount[f] = learned.path("count").asLong();
          for (int i = 0; i < pcaInputs[f].length; i++) {
            state.pcaMean[pcaMeanAt[f] + i] = learned.path("mean").get(i).asDouble();
          }
          int size = pcaInputs[f].length * feature[f].pca().components();
          for (int i = 0; i < size; i++) {
            state.pcaVectors[pcaVectorAt[f] + i] = learned.path("components").get(i).asDouble();
          }
        }
        case PipelineSpec.Feature.CATEGORICAL -> {
          JsonNode vocabulary = learned.path("vocabulary");
          for (int i = 0; i < vocabulary.size(); i++) {
            state.vocabulary[vocabularyOffset[f] + i] = vocabulary.get(i).asText();
          }
          state.vocabularyUsed[s] = vocabulary.size();
          state.mostFrequent[s] =
              learned.path("mostFrequent").isTextual()
                  ? learned.path("mostFrequent").asText()
                  : null;
          state.frequencySketches[s] =
              Base64.getDecoder().decode(learned.path("frequencySketch").asText());
        }
        default -> {}
      }
    }
    JsonNode counters = root.path("counters");
    for (int i = 0; i < COUNTERS.size(); i++) {
      state.counters[i] = counters.path(COUNTERS.get(i)).asLong();
    }
    if (root.has("target")) {
      state.targetCount = root.path("target").path("count").asLong();
      state.targetMean = root.path("target").path("mean").asDouble();
      state.targetM2 = root.path("target").path("m2").asDouble();
    }
    return state;
  }

  /** JSON has no infinities or NaN: Jackson writes them as strings, read back here. */
  private static double number(JsonNode node) {
    if (node == null || node.isNull() || node.isMissingNode()) {
      return Double.NaN;
    }
    return node.isNumber() ? node.asDouble() : Double.parseDouble(node.asText());
  }
}
