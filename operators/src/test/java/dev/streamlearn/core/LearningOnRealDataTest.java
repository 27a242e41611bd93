package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.backend.Nd4jBackend;
import dev.streamlearn.core.data.CsvEvents;
import dev.streamlearn.core.data.CsvReader;
import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.core.model.ReferenceNetwork;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.train.HoldoutSplit;
import dev.streamlearn.core.train.ModelTrainer;
import dev.streamlearn.core.train.TrainerState;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Streaming training on the shared datasets reaches the accuracy the issue asks for, beside the
 * offline optimum of the same model on the same split (printed, for the record).
 */
class LearningOnRealDataTest {

  @Test
  void logisticRegressionOnePassOverWdbc() throws Exception {
    CsvEvents rows = new CsvEvents(CsvReader.read(SharedData.file("wdbc.csv")), "diagnosis");
    PipelineSpec spec =
        ModelTrainerTest.specFor(
            rows,
            "training: {batch-size: 16, learning-rate: 0.1, optimizer: {type: sgd, momentum: 0.9, nesterov: true}}\n"
                + "validation: {window: 1d}\n");
    Map<String, Double> metrics = train(spec, rows, 1);
    double offline = offlineOptimum(spec, rows);
    System.out.printf(
        "wdbc, logistic regression, one streaming pass: held-out accuracy %.4f on %.0f events; offline optimum on the same split %.4f%n",
        metrics.get("accuracy"), metrics.get("count"), offline);
    assertThat(metrics.get("accuracy")).isGreaterThanOrEqualTo(0.95);
  }

  @Test
  void linearRegressionOnePassOverWdbcFromItsFirstLabel() throws Exception {
    // mean_area from the other 29 measurements and the diagnosis: the first row's label is 1,001
    // (the column's mean
    // about 650, its deviation 350), so its scaling at the start of the stream decides whether the
    // first steps learn or throw the weights off (R^2 -101 when labels were scaled as each came).
    CsvEvents rows = new CsvEvents(CsvReader.read(SharedData.file("wdbc.csv")), "mean_area");
    PipelineSpec spec =
        ModelTrainerTest.specFor(
            rows,
            "label: {task: regression}\n"
                + "training: {batch-size: 16, learning-rate: 0.05}\n"
                + "validation: {window: 1d}\n");
    Map<String, Double> metrics = train(spec, rows, 1);
    System.out.printf(
        "wdbc, linear regression of mean_area, one streaming pass: held-out R^2 %.4f, RMSE %.1f on %.0f events%n",
        metrics.get("r2"), metrics.get("rmse"), metrics.get("count"));
    assertThat(metrics.get("r2")).isGreaterThanOrEqualTo(0.9);
  }

  @Test
  void mlpOnDigitsInAFewPasses() throws Exception {
    CsvEvents rows = ModelTrainerTest.digits();
    PipelineSpec spec =
        ModelTrainerTest.specFor(
            rows,
            ModelTrainerTest.DIGITS_MLP + "validation: {window: 1d, max-window-events: 400}\n");
    Map<String, Double> metrics = train(spec, rows, 8);
    double offline = offlineOptimum(spec, rows);
    System.out.printf(
        "digits, MLP 64-64-10, 8 streaming passes: held-out accuracy %.4f on %d events; offline optimum on the same split %.4f%n",
        metrics.get("accuracy"), heldOutCount(spec, rows), offline);
    assertThat(metrics.get("accuracy")).isGreaterThanOrEqualTo(0.95);
  }

  /**
   * Streams the rows {@code passes} times through a trainer on ND4J; held-out metrics at the end.
   */
  static Map<String, Double> train(PipelineSpec spec, CsvEvents rows, int passes) throws Exception {
    try (Nd4jBackend backend = new Nd4jBackend()) {
      PipelineSpec onNd4j = withBackend(spec, "nd4j");
      ModelTrainer trainer = new ModelTrainer(onNd4j, backend);
      TrainerState state = trainer.newState();
      ExampleExtractor extractor = new ExampleExtractor(onNd4j);
      for (int pass = 0; pass < passes; pass++) {
        for (int i = 0; i < rows.size(); i++) {
          trainer.offer(state, extractor.extract(rows.event(i, "row-", 0), 0, i), new Outputs());
        }
      }
      trainer.closeBatch(state);
      return trainer.validate(state);
    }
  }

  /**
   * The same model fit offline to convergence on the training split (full-batch gradient descent in
   * float64 on exactly standardized inputs), scored on the held-out split.
   */
  static double offlineOptimum(PipelineSpec spec, CsvEvents rows) throws Exception {
    ModelTrainer shapeSource =
        new ModelTrainer(spec, new dev.streamlearn.core.backend.ReferenceBackend());
    var featurizer = shapeSource.featurizer();
    ExampleExtractor extractor = new ExampleExtractor(spec);
    HoldoutSplit split = new HoldoutSplit(spec.holdout().fraction());
    List<Example> train = new ArrayList<>();
    List<Example> test = new ArrayList<>();
    var stats = featurizer.newState();
    for (int i = 0; i < rows.size(); i++) {
      Example example = extractor.extract(rows.event(i, "row-", 0), 0, i);
      if (split.isHeldOut(example.id)) {
        test.add(example);
      } else {
        train.add(example);
        featurizer.learn(stats, example.numeric, example.categorical);
      }
    }
    featurizer.refresh(stats);
    int dimension = featurizer.dimension();
    double[][] x = vectors(featurizer, stats, train, dimension);
    double[] y = train.stream().mapToDouble(e -> e.label).toArray();
    double[] weight = new double[y.length];
    java.util.Arrays.fill(weight, 1.0);
    var shape = ModelTrainer.shapeFor(spec, dimension);
    var network = new ReferenceNetwork(shape);
    float[] initial = shape.initialParameters(spec.training().seed());
    double[] params = new double[initial.length];
    for (int i = 0; i < params.length; i++) {
      params[i] = initial[i];
    }
    double[] m = new double[params.length];
    double[] v = new double[params.length];
    boolean[] isWeight = shape.weightMask();
    double l2 = spec.training().optimizer().l2();
    for (int step = 1; step <= 600; step++) {
      double[] gradient = new double[params.length];
      network.lossAndGradient(params, x, y, weight, null, gradient);
      for (int i = 0; i < params.length; i++) {
        double g = gradient[i] + (isWeight[i] ? l2 * params[i] : 0);
        m[i] = 0.9 * m[i] + 0.1 * g;
        v[i] = 0.999 * v[i] + 0.001 * g * g;
        params[i] -=
            0.01
                * (m[i] / (1 - Math.pow(0.9, step)))
                / (Math.sqrt(v[i] / (1 - Math.pow(0.999, step))) + 1e-8);
      }
    }
    double[][] testX = vectors(featurizer, stats, test, dimension);
    int correct = 0;
    for (int r = 0; r < testX.length; r++) {
      double[] out = network.predict(params, testX[r]);
      int predicted = 0;
      if (out.length == 1) {
        predicted = out[0] >= 0.5 ? 1 : 0;
      } else {
        for (int j = 1; j < out.length; j++) {
          if (out[j] > out[predicted]) {
            predicted = j;
          }
        }
      }
      if (predicted == (int) test.get(r).label) {
        correct++;
      }
    }
    return correct / (double) testX.length;
  }

  private static double[][] vectors(
      dev.streamlearn.core.features.Featurizer featurizer,
      dev.streamlearn.core.features.FeaturizerState stats,
      List<Example> examples,
      int dimension) {
    double[][] x = new double[examples.size()][dimension];
    float[] row = new float[dimension];
    for (int r = 0; r < examples.size(); r++) {
      featurizer.transform(
          stats, examples.get(r).numeric, examples.get(r).categorical, row, 0, false);
      for (int i = 0; i < dimension; i++) {
        x[r][i] = row[i];
      }
    }
    return x;
  }

  private static long heldOutCount(PipelineSpec spec, CsvEvents rows) {
    HoldoutSplit split = new HoldoutSplit(spec.holdout().fraction());
    long count = 0;
    for (int i = 0; i < rows.size(); i++) {
      if (split.isHeldOut("row-" + i)) {
        count++;
      }
    }
    return count;
  }

  static PipelineSpec withBackend(PipelineSpec spec, String backend) {
    return new PipelineSpec(
        spec.name(),
        spec.source(),
        spec.label(),
        spec.features(),
        spec.dedup(),
        spec.holdout(),
        spec.model(),
        spec.training(),
        backend,
        spec.cuda(),
        spec.validation(),
        spec.control(),
        spec.publish(),
        spec.store(),
        spec.checkpoint(),
        spec.segments(),
        spec.candidates(),
        spec.pruning(),
        spec.specHash());
  }
}
