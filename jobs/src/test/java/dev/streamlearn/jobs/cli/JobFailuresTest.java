package dev.streamlearn.jobs.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.jobs.FlinkJob;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JobFailuresTest {

  @TempDir Path directory;

  @Test
  void takesTheInnermostCauseOfATrace() {
    String trace =
        String.join(
            "\n",
            "org.apache.flink.runtime.JobException: Recovery is suppressed",
            "\tat org.apache.flink.runtime.executiongraph.failover.Handler.handle(Handler.java:1)",
            "Caused by: java.lang.RuntimeException: wrapped",
            "\tat dev.streamlearn.Some.thing(Some.java:2)",
            "Caused by: java.io.IOException: No space left on device: /data/x",
            "\tat dev.streamlearn.Some.other(Some.java:3)",
            "\t... 12 more");
    assertThat(JobFailures.rootCause(trace))
        .isEqualTo("IOException: No space left on device: /data/x");
    assertThat(JobFailures.rootCause("java.lang.IllegalStateException"))
        .isEqualTo("IllegalStateException");
    assertThat(JobFailures.rootCause("x".repeat(300))).hasSize(203).endsWith("...");
  }

  /** A local job that fails once says why on its progress line and at its end. */
  @Test
  void saysWhyTheLocalJobFailedBeforeItRestarted() throws Exception {
    FailOnce.FAILED.set(false);
    LocalJobRun run = LocalJobRun.start(new FailingOnceJob(), 1, directory);
    try {
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      String note = "";
      while (!note.contains("last:") && System.nanoTime() < deadline) {
        Thread.sleep(200);
        note = run.failures().progressNote();
      }
      assertThat(note)
          .startsWith(
              " | the job failed and restarted 1 time (last: IllegalStateException: injected for"
                  + " the test in ")
          .endsWith(" -> fail-once -> Sink: Writer (1/1); more in target/streamlearn.log)");
      assertThat(run.failures().summaryLine())
          .startsWith(
              "Last failure before a restart: IllegalStateException: injected for the test in ");
      // A job beside it (the demo's scoring job) has restarts of its own: none.
      LocalJobRun beside = LocalJobRun.startBeside(new CountingJob(), 1, directory);
      try {
        assertThat(beside.failures().progressNote()).isEmpty();
        assertThat(beside.failures().summaryLine()).isNull();
        assertThat(ProgressPrinter.Counts.of(beside).restarts()).isZero();
        assertThat(ProgressPrinter.Counts.of(run).restarts()).isEqualTo(1);
      } finally {
        beside.stopOrCancel(Duration.ofSeconds(30));
        beside.done();
      }
    } finally {
      run.stopOrCancel(Duration.ofSeconds(30));
      run.done();
    }
  }

  /** A job that fails for good (its restarts used up) says why to whoever waits on it. */
  @Test
  void aJobThatFailsForGoodEndsWithItsReason() throws Exception {
    LocalJobRun run = LocalJobRun.start(new AlwaysFailingJob(), 1, directory);
    try {
      long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
      IllegalStateException failed = null;
      while (failed == null && System.nanoTime() < deadline) {
        try {
          assertThat(run.ended()).isFalse();
          Thread.sleep(200);
        } catch (IllegalStateException e) {
          failed = e;
        }
      }
      assertThat(failed)
          .isNotNull()
          .hasMessageStartingWith("job " + run.jobId() + " failed: ")
          .hasMessageContaining("IllegalStateException: fails every time");
    } finally {
      run.done();
    }
  }

  /** Fails at its first record, every attempt. */
  private static final class AlwaysFailingJob implements FlinkJob {
    @Override
    public void addTo(StreamExecutionEnvironment env) {
      env.fromSequence(0, Long.MAX_VALUE)
          .map(
              (MapFunction<Long, Long>)
                  value -> {
                    throw new IllegalStateException("fails every time");
                  })
          .returns(Long.class)
          .sinkTo(new DiscardingSink<>());
    }

    @Override
    public String jobName() {
      return "fails-always";
    }
  }

  /** Counts up without end. */
  private static final class CountingJob implements FlinkJob {
    @Override
    public void addTo(StreamExecutionEnvironment env) {
      env.fromSequence(0, Long.MAX_VALUE).name("count").sinkTo(new DiscardingSink<>());
    }

    @Override
    public String jobName() {
      return "counts";
    }
  }

  /** Counts up without end, failing once on the way. */
  private static final class FailingOnceJob implements FlinkJob {
    @Override
    public void addTo(StreamExecutionEnvironment env) {
      env.fromSequence(0, Long.MAX_VALUE)
          .map(new FailOnce())
          .name("fail-once")
          .sinkTo(new DiscardingSink<>());
    }

    @Override
    public String jobName() {
      return "fails-once";
    }
  }

  private static final class FailOnce implements MapFunction<Long, Long> {
    static final AtomicBoolean FAILED = new AtomicBoolean();

    @Override
    public Long map(Long value) {
      if (value == 1000 && FAILED.compareAndSet(false, true)) {
        throw new IllegalStateException("injected for the test");
      }
      return value;
    }
  }
}
