package dev.streamlearn.jobs.cli;

import dev.streamlearn.core.data.RawFeatures;
import dev.streamlearn.core.features.Featurizer;
import dev.streamlearn.core.features.FeaturizerState;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code streamlearn bench featurizer}: vectors/s of the featurizer on one thread, for 20 numeric
 * and 10 categorical fields, with the default rules and with the sketch-based ones.
 */
@Command(
    name = "featurizer",
    mixinStandardHelpOptions = true,
    description = {
      "Vectors/s of the featurizer: cleaning, training and serving.",
      "Vectors/s of the featurizer on one thread for 20 numeric and 10 categorical fields (5%% of",
      "values missing, 1%% outliers, 10,000 distinct values per categorical field), with the default",
      "rules (standard scaling, clipping, one-hot) and with the sketch-based rules (median",
      "imputation, winsorizing, robust scaling, most-frequent imputation, one-hot with min-count,",
      "hashing). Measures cleaning (field map to raw values), training (vector plus statistics, a",
      "refresh every 512 events) and serving (vector only)."
    })
final class FeaturizerBenchmark implements Callable<Integer> {

  private static final int EVENTS = 1 << 14;

  @Option(
      names = "--seconds",
      defaultValue = "2.0",
      description = "Measuring time per cell (default ${DEFAULT-VALUE}).")
  double seconds;

  @Override
  public Integer call() throws Exception {
    System.out.printf(
        "Featurizer throughput, vectors/s on 1 thread (of %d cores), 20 numeric + 10 categorical fields, %s s per cell%n",
        Runtime.getRuntime().availableProcessors(), seconds);
    System.out.printf(
        "%-14s %6s %16s %16s %16s %16s%n",
        "rules", "width", "clean fields", "train vector", "serve vector", "clean + train");
    for (String rules : List.of("default", "sketches")) {
      List<PipelineSpec.Feature> features = features(rules);
      Featurizer featurizer = new Featurizer(features);
      RawFeatures raw = new RawFeatures(features, false);
      List<Map<String, Object>> events = events();
      double[][] numeric = new double[EVENTS][raw.numericCount()];
      String[][] text = new String[EVENTS][raw.categoricalCount()];
      for (int e = 0; e < EVENTS; e++) {
        raw.read(events.get(e), 0, numeric[e], text[e]);
      }
      float[] out = new float[featurizer.dimension()];
      FeaturizerState state = featurizer.newState();
      double clean =
          rate(
              i -> {
                int e = (int) (i & (EVENTS - 1));
                try {
                  raw.read(events.get(e), 0, numeric[e], text[e]);
                } catch (Exception ex) {
                  throw new IllegalStateException(ex);
                }
              });
      double train =
          rate(
              i -> {
                int e = (int) (i & (EVENTS - 1));
                featurizer.transform(state, numeric[e], text[e], out, 0, true);
                featurizer.learn(state, numeric[e], text[e]);
                if ((i & 511) == 511) {
                  featurizer.refresh(state);
                }
              });
      double serve =
          rate(
              i -> {
                int e = (int) (i & (EVENTS - 1));
                featurizer.transform(state, numeric[e], text[e], out, 0, false);
              });
      System.out.printf(
          "%-14s %6d %,16.0f %,16.0f %,16.0f %,16.0f%n",
          rules, featurizer.dimension(), clean, train, serve, 1 / (1 / clean + 1 / train));
    }
    return 0;
  }

  private static List<PipelineSpec.Feature> features(String rules) {
    List<Object> list = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      Map<String, Object> feature = new HashMap<>(Map.of("name", "x" + i, "type", "numeric"));
      if (rules.equals("sketches")) {
        feature.put("missing", i % 2 == 0 ? "median" : "mean");
        feature.put("missing-indicator", i % 4 == 0);
        feature.put("outliers", "winsorize");
        feature.put("scale", i % 2 == 0 ? "robust" : "standard");
      }
      list.add(feature);
    }
    for (int i = 0; i < 10; i++) {
      Map<String, Object> feature = new HashMap<>(Map.of("name", "c" + i, "type", "categorical"));
      if (rules.equals("sketches")) {
        if (i < 5) {
          feature.put("vocabulary-size", 64);
          feature.put("min-count", 5);
          feature.put("missing", "most-frequent");
        } else {
          feature.put("encoding", "hash");
          feature.put("hash-buckets", 64);
        }
      }
      list.add(feature);
    }
    return SpecLoader.parseFeatures(list, "features");
  }

  private static List<Map<String, Object>> events() {
    Random random = new Random(11);
    List<Map<String, Object>> events = new ArrayList<>(EVENTS);
    for (int e = 0; e < EVENTS; e++) {
      Map<String, Object> fields = new HashMap<>();
      for (int i = 0; i < 20; i++) {
        double value = random.nextGaussian() * (random.nextInt(100) == 0 ? 50 : 1);
        fields.put("x" + i, random.nextInt(20) == 0 ? null : value);
      }
      for (int i = 0; i < 10; i++) {
        String value = "v" + (int) Math.exp(random.nextDouble() * Math.log(10_000));
        fields.put("c" + i, random.nextInt(20) == 0 ? null : value);
      }
      events.add(fields);
    }
    return events;
  }

  /** Calls {@code work} with 0, 1, 2, ... after a warm-up; calls per second. */
  private double rate(java.util.function.LongConsumer work) {
    long i = 0;
    long warmupEnd = System.nanoTime() + (long) (seconds * 0.3e9);
    while (System.nanoTime() < warmupEnd) {
      for (int k = 0; k < 1024; k++) {
        work.accept(i++);
      }
    }
    long start = System.nanoTime();
    long end = start + (long) (seconds * 1e9);
    long measured = 0;
    long now;
    do {
      for (int k = 0; k < 1024; k++) {
        work.accept(i++);
      }
      measured += 1024;
      now = System.nanoTime();
    } while (now < end);
    return measured / ((now - start) / 1e9);
  }
}
