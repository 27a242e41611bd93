package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.backend.ReferenceBackend;
import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import dev.streamlearn.core.train.HoldoutSplit;
import dev.streamlearn.core.train.ModelTrainer;
import dev.streamlearn.core.train.TrainerState;
import dev.streamlearn.core.train.WindowReport;
import dev.streamlearn.store.ManifestJson;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Which validation window an event counts in when events arrive out of event-time order: its own
 * while it is at most {@code source.max-out-of-orderness} late, else the oldest open one (and it is
 * counted as late).
 */
class ValidationWindowTest {

  private static final String FEATURES =
      "features: [{name: a, type: numeric}, {name: b, type: numeric}]\nbackend: reference\n";

  private static final long WINDOW = 100_000;

  @Test
  void eventsOutOfOrderWithinTheAllowanceCountInTheirOwnWindow() throws Exception {
    PipelineSpec spec =
        SpecLoader.parse(
            FEATURES + "source: {max-out-of-orderness: 30s}\nvalidation: {window: 100s}\n");
    List<Example> inOrder = ValidationPolicyTest.stream(3000, 1, 0);
    // Each event arrives up to 25 s after events that happened after it.
    List<Example> shuffled = arrivingUpTo(25_000, ValidationPolicyTest.stream(3000, 1, 0));
    assertThat(shuffled.stream().map(e -> e.id))
        .isNotEqualTo(inOrder.stream().map(e -> e.id).toList());

    Outputs out = new Outputs();
    TrainerState state = ValidationPolicyTest.run(spec, shuffled, out);

    HoldoutSplit split = new HoldoutSplit(spec.holdout().fraction());
    assertThat(out.windows).hasSize(30);
    for (int w = 0; w < 30; w++) {
      WindowReport report = out.windows.get(w);
      assertThat(report.windowStart).isEqualTo(w * WINDOW);
      int window = w;
      long heldOut =
          inOrder.stream()
              .filter(e -> e.timestamp / WINDOW == window && split.isHeldOut(e.id))
              .count();
      assertThat(report.heldOut).as("window %d held out", w).isEqualTo(heldOut);
      assertThat(report.trained).as("window %d trained", w).isEqualTo(100 - heldOut);
      if (report.publishedVersion > 0) {
        var manifest =
            ManifestJson.read(out.versions.get((int) report.publishedVersion - 1).manifestJson);
        assertThat(manifest.validationWindow().start()).isEqualTo(w * WINDOW);
        assertThat(manifest.metrics().get("window").get("count")).isEqualTo((double) heldOut);
      }
    }
    assertThat(state.lateEvents).isZero();
    assertThat(state.trainedTotal + state.heldOutTotal).isEqualTo(3000);
  }

  @Test
  void eventsLaterThanTheAllowanceCountInTheOldestOpenWindow() {
    PipelineSpec spec =
        SpecLoader.parse(
            FEATURES + "source: {max-out-of-orderness: 10s}\nvalidation: {window: 100s}\n");
    List<Example> stream = ValidationPolicyTest.stream(300, 1, 0);
    // Events 50..54 (window 0) arrive after the event at 150 s: 50 s after window 0 ended.
    List<Example> arrival = new ArrayList<>(stream);
    List<Example> late = new ArrayList<>(arrival.subList(50, 55));
    arrival.removeAll(late);
    arrival.addAll(arrival.indexOf(stream.get(150)) + 1, late);

    Outputs out = new Outputs();
    TrainerState state = ValidationPolicyTest.run(spec, arrival, out);

    assertThat(state.lateEvents).isEqualTo(5);
    assertThat(out.windows).hasSize(3);
    assertThat(out.windows.get(0).trained + out.windows.get(0).heldOut).isEqualTo(95);
    assertThat(out.windows.get(1).trained + out.windows.get(1).heldOut).isEqualTo(105);
    assertThat(out.windows.get(2).trained + out.windows.get(2).heldOut).isEqualTo(100);
    assertThat(out.windows).extracting(r -> r.late).containsExactly(0L, 5L, 0L);
    assertThat(state.trainedTotal + state.heldOutTotal).isEqualTo(300);
  }

  @Test
  void eachOpenWindowKeepsItsOwnShareOfHeldOutEvents() {
    // Windows close 100 s after they end: every event of window w + 1 arrives while w is open.
    String allowance = "source: {max-out-of-orderness: 100s}\n";
    PipelineSpec held =
        SpecLoader.parse(
            FEATURES + allowance + "validation: {window: 100s, max-window-events: 5}\n");
    Outputs out = new Outputs();
    ValidationPolicyTest.run(held, ValidationPolicyTest.stream(1000, 1, 0), out);
    assertThat(out.windows).hasSize(10);
    assertThat(out.windows).allSatisfy(report -> assertThat(report.heldOut).isEqualTo(5));

    PipelineSpec prequential =
        SpecLoader.parse(
            FEATURES
                + allowance
                + "holdout: {policy: prequential}\n"
                + "validation: {window: 100s, max-window-events: 30}\n");
    out = new Outputs();
    ValidationPolicyTest.run(prequential, ValidationPolicyTest.stream(1000, 1, 0), out);
    assertThat(out.windows).hasSize(10);
    assertThat(out.windows).allSatisfy(report -> assertThat(report.heldOut).isEqualTo(30));
  }

  @Test
  void aWatermarkClosesEveryWindowItCompletes() {
    PipelineSpec spec =
        SpecLoader.parse(
            FEATURES + "source: {max-out-of-orderness: 0s}\nvalidation: {window: 100s}\n");
    ModelTrainer trainer = new ModelTrainer(spec, new ReferenceBackend());
    TrainerState state = trainer.newState();
    Outputs out = new Outputs();
    for (Example example : ValidationPolicyTest.stream(250, 1, 0)) {
      trainer.accept(state, example, out);
    }
    // Nothing closes on events alone.
    assertThat(out.windows).isEmpty();
    assertThat(state.openWindows).containsExactly(0, 1, 2);
    trainer.closeWindowsThrough(state, trainer.lastMillisOf(1) - 1, out);
    assertThat(out.windows).hasSize(1);
    trainer.closeWindowsThrough(state, trainer.lastMillisOf(1), out);
    assertThat(out.windows).extracting(r -> r.windowStart).containsExactly(0L, WINDOW);
    trainer.finish(state, out);
    assertThat(out.windows).extracting(r -> r.windowStart).containsExactly(0L, WINDOW, 2 * WINDOW);
    assertThat(out.windows.stream().mapToLong(r -> r.trained + r.heldOut).sum()).isEqualTo(250);
  }

  @Test
  void atMostSoManyWindowsAreOpenAtOnce() {
    // Windows wait a day for their events, and every event opens a window of its own.
    PipelineSpec spec =
        SpecLoader.parse(
            FEATURES + "source: {max-out-of-orderness: 1d}\nvalidation: {window: 1s}\n");
    ModelTrainer trainer = new ModelTrainer(spec, new ReferenceBackend());
    TrainerState state = trainer.newState();
    Outputs out = new Outputs();
    List<Example> stream = ValidationPolicyTest.stream(200, 1, 0);
    for (Example example : stream) {
      trainer.offer(state, example, out);
      assertThat(state.openWindows.length).isLessThanOrEqualTo(ModelTrainer.MAX_OPEN_WINDOWS);
    }
    assertThat(out.windows).hasSize(200 - ModelTrainer.MAX_OPEN_WINDOWS);
    assertThat(out.windows.get(0).windowStart).isZero();
    trainer.finish(state, out);
    assertThat(out.windows).hasSize(200);
    assertThat(state.lateEvents).isZero();
  }

  @Test
  void everyEventCountsInOneWindowWhateverTheOrderAndThePolicy() {
    for (int seed = 0; seed < 12; seed++) {
      Random random = new Random(seed);
      String policy = List.of("hash", "windows", "prequential").get(seed % 3);
      long window = 1000L * (5 + random.nextInt(200));
      long allowance = 1000L * random.nextInt(60);
      PipelineSpec spec =
          SpecLoader.parse(
              FEATURES
                  + "source: {max-out-of-orderness: "
                  + allowance / 1000
                  + "s}\nholdout: {policy: "
                  + policy
                  + (policy.equals("windows") ? ", every: 2" : "")
                  + "}\nvalidation: {window: "
                  + window / 1000
                  + "s, max-window-events: 100000}\n");
      // Even seeds: delays within the allowance; odd ones: up to twice it, so some events are late.
      boolean within = seed % 2 == 0;
      List<Example> events =
          arrivingUpTo(
              within ? allowance : 2 * allowance + 1, ValidationPolicyTest.stream(2000, seed, 0));
      ModelTrainer trainer = new ModelTrainer(spec, new ReferenceBackend());
      TrainerState state = trainer.newState();
      Outputs out = new Outputs();
      for (Example example : events) {
        trainer.offer(state, example, out);
        assertThat(state.openWindows).isSorted();
      }
      long lateBefore = state.lateEvents;
      trainer.finish(state, out);
      String what = policy + ", window " + window + " ms, allowance " + allowance + " ms";
      assertThat(state.openWindows).as(what).isEmpty();
      assertThat(state.lateEvents).isEqualTo(lateBefore);
      // Each window reported once, in order; its events (trained or held out) add up to all.
      assertThat(out.windows)
          .extracting(r -> r.windowStart)
          .as(what)
          .isSorted()
          .doesNotHaveDuplicates();
      long counted = 0;
      for (WindowReport report : out.windows) {
        long inWindow = report.trained + (policy.equals("prequential") ? 0 : report.heldOut);
        counted += inWindow;
        if (within) {
          // Nothing late: a window holds exactly the events of its time.
          assertThat(inWindow)
              .as(what + ", window at " + report.windowStart)
              .isEqualTo(
                  events.stream()
                      .filter(
                          e -> Math.floorDiv(e.timestamp, window) * window == report.windowStart)
                      .count());
        }
      }
      assertThat(counted).as(what).isEqualTo(2000);
      assertThat(state.trainedTotal + state.heldOutTotal).as(what).isEqualTo(2000);
      assertThat(out.windows.stream().mapToLong(r -> r.late).sum())
          .as(what)
          .isEqualTo(state.lateEvents);
      if (within) {
        assertThat(state.lateEvents).as(what).isZero();
      }
    }
  }

  /** {@code events} in the order they arrive when each is delayed by up to {@code maxDelay} ms. */
  private static List<Example> arrivingUpTo(long maxDelay, List<Example> events) {
    Random random = new Random(5);
    List<long[]> arrival = new ArrayList<>();
    for (int i = 0; i < events.size(); i++) {
      arrival.add(
          new long[] {events.get(i).timestamp + (long) (random.nextDouble() * maxDelay), i});
    }
    arrival.sort(Comparator.comparingLong((long[] a) -> a[0]).thenComparingLong(a -> a[1]));
    List<Example> ordered = new ArrayList<>();
    for (long[] a : arrival) {
      ordered.add(events.get((int) a[1]));
    }
    return ordered;
  }
}
