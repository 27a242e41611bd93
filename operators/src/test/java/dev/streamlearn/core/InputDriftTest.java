package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.metrics.InputDrift;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ManifestJson;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The population stability index of each input between consecutive validation windows. */
class InputDriftTest {

  @Test
  void aStableInputScoresLowAndAShiftedOneHigh() {
    Random random = new Random(3);
    int n = 2000;
    // Two windows of rows: numeric inputs (same, shifted by one deviation, missing more often),
    // then categorical ones (same, shares moved).
    double[] numeric = new double[2 * n * 3];
    String[] text = new String[2 * n * 2];
    for (int r = 0; r < 2 * n; r++) {
      boolean later = r >= n;
      numeric[r * 3] = random.nextGaussian();
      numeric[r * 3 + 1] = random.nextGaussian() + (later ? 1 : 0);
      numeric[r * 3 + 2] =
          random.nextDouble() < (later ? 0.3 : 0.05) ? Double.NaN : random.nextInt(5);
      text[r * 2] = "v" + random.nextInt(30);
      text[r * 2 + 1] = random.nextDouble() < (later ? 0.7 : 0.3) ? "yes" : "no";
    }
    int[] first = IntStream.range(0, n).toArray();
    int[] second = IntStream.range(n, 2 * n).toArray();
    InputDrift.Profile reference = InputDrift.profile(numeric, 3, text, 2, first);
    double[] index = InputDrift.against(reference, numeric, 3, text, 2, second);
    System.out.printf(
        "PSI: same %.3f, shifted %.3f, missing more %.3f, same values %.3f, shares moved %.3f%n",
        index[0], index[1], index[2], index[3], index[4]);
    assertThat(index[0]).isLessThan(0.05);
    assertThat(index[1]).isGreaterThan(0.25);
    assertThat(index[2]).isGreaterThan(0.25);
    assertThat(index[3]).isLessThan(0.1);
    assertThat(index[4]).isGreaterThan(0.25);
    // A window against itself: nothing moved.
    assertThat(
            java.util.Arrays.stream(InputDrift.against(reference, numeric, 3, text, 2, first))
                .max()
                .getAsDouble())
        .isLessThan(1e-9);
  }

  private static final String SPEC =
      String.join(
          "\n",
          "features:",
          "  - {name: a, type: numeric}",
          "  - {name: b, type: numeric}",
          "  - {name: c, type: categorical}",
          "  - {name: t, type: datetime}",
          "validation: {window: 2000s}",
          "backend: reference",
          "");

  @Test
  void eachVersionSaysHowFarEachInputMovedSinceTheWindowBefore() throws Exception {
    Outputs out = new Outputs();
    ValidationPolicyTest.run(SpecLoader.parse(SPEC), shiftingInWindowFive(), out);

    assertThat(out.versions).hasSize(8);
    Manifest first = ManifestJson.read(out.versions.get(0).manifestJson);
    assertThat(first.metrics()).doesNotContainKey("inputDrift");
    for (int v = 1; v < 8; v++) {
      Map<String, Double> drift =
          ManifestJson.read(out.versions.get(v).manifestJson).metrics().get("inputDrift");
      // The datetime input always moves: it is left out.
      assertThat(drift).as("version %d", v + 1).containsOnlyKeys("a", "b", "c");
      assertThat(drift.get("b")).as("version %d", v + 1).isLessThan(0.15);
      assertThat(drift.get("c")).as("version %d", v + 1).isLessThan(0.1);
      if (v == 5) {
        assertThat(drift.get("a")).as("version 6, the first shifted window").isGreaterThan(1.0);
      } else {
        assertThat(drift.get("a")).as("version %d", v + 1).isLessThan(0.15);
      }
    }
    assertThat(out.windows.get(5).inputDriftJson).contains("\"a\":");
    assertThat(out.windows).allSatisfy(report -> assertThat(report.driftDetections).isZero());
  }

  @Test
  void prequentialWindowsAreComparedOnTheirFirstEvents() throws Exception {
    Outputs out = new Outputs();
    ValidationPolicyTest.run(
        SpecLoader.parse(SPEC + "holdout: {policy: prequential}\n"), shiftingInWindowFive(), out);
    assertThat(out.versions).hasSize(8);
    for (int v = 1; v < 8; v++) {
      Map<String, Double> drift =
          ManifestJson.read(out.versions.get(v).manifestJson).metrics().get("inputDrift");
      if (v == 5) {
        assertThat(drift.get("a")).isGreaterThan(1.0);
      } else {
        assertThat(drift.get("a")).as("version %d", v + 1).isLessThan(0.05);
      }
      assertThat(drift.get("b")).as("version %d", v + 1).isLessThan(0.05);
    }
    // Every event of a window is scored on arrival and counts in its validation.
    assertThat(out.windows).allSatisfy(report -> assertThat(report.heldOut).isEqualTo(2000));
  }

  @Test
  void aShiftedInputCanStartAChallengerBeforeTheErrorShowsIt() throws Exception {
    PipelineSpec spec =
        SpecLoader.parse(SPEC + "control: {input-drift: {threshold: 0.5, reaction: challenger}}\n");
    Outputs out = new Outputs();
    ValidationPolicyTest.run(spec, shiftingInWindowFive(), out);
    for (int v = 0; v < 8; v++) {
      Map<String, Double> control =
          ManifestJson.read(out.versions.get(v).manifestJson).metrics().get("control");
      // Version 6 is the shifted window's: its close started the challenger.
      assertThat(control.get("driftDetections"))
          .as("version %d", v + 1)
          .isEqualTo(v >= 5 ? 1.0 : 0.0);
    }
    assertThat(
            ManifestJson.read(out.versions.get(5).manifestJson)
                .metrics()
                .get("control")
                .get("challengerActive"))
        .isEqualTo(1.0);
  }

  /**
   * Eight windows of 2,000 events (about 400 held out in each, so identical distributions score
   * near 10 x 2 / 400 = 0.05); from window 5 on, input a is shifted (the label follows it).
   */
  private static List<Example> shiftingInWindowFive() {
    Random random = new Random(7);
    List<Example> stream = new ArrayList<>();
    for (int i = 0; i < 16000; i++) {
      Example example = new Example();
      example.id = "e-" + i;
      example.timestamp = 1000L * i;
      double a = random.nextGaussian() + (i >= 10000 ? 2 : 0);
      double b = random.nextGaussian();
      example.numeric = new double[] {a, b, example.timestamp};
      example.categorical = new String[] {random.nextBoolean() ? "x" : "y"};
      example.label = a + b > 1 ? 1 : 0;
      stream.add(example);
    }
    return stream;
  }
}
