package dev.streamlearn.jobs.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import org.junit.jupiter.api.Test;

class RunCommandTest {

  private static final RunCommand.HeldBack WINDOWS = RunCommand.HeldBack.VALIDATION_WINDOWS;

  @Test
  void saysThatReadersWithoutAPartitionHoldWindowsBackForTheIdleTimeout() {
    PipelineSpec.Source source = source("idle-timeout: 45s");
    assertThat(RunCommand.idleReaders(source, 2, 2, WINDOWS)).isNull();
    assertThat(RunCommand.idleReaders(source, 1, 3, WINDOWS)).isNull();
    assertThat(RunCommand.idleReaders(source, 3, 1, WINDOWS))
        .isEqualTo(
            "Warning: --parallelism 3 is more than the 1 partition of clicks: 2 of the job's"
                + " readers read nothing; until they have been idle for source.idle-timeout (45 s)"
                + " they hold the event-time watermark back, and no validation window closes. As"
                + " many partitions as readers avoid it: streamlearn produce --partitions N creates"
                + " a topic with N, and Kafka's kafka-topics.sh --alter --partitions N adds to one"
                + " that exists.");
  }

  @Test
  void countsTheLabelsTopicsPartitionsToo() {
    PipelineSpec.Source source = source("labels: {topic: clicks.labels}");
    assertThat(RunCommand.idleReaders(source, 5, 4, WINDOWS))
        .startsWith(
            "Warning: --parallelism 5 is more than the 4 partitions of clicks and clicks.labels: 1"
                + " of the job's readers read nothing; until they have been idle for"
                + " source.idle-timeout (30 s)");
  }

  @Test
  void refusesReadersWithoutAPartitionThatWouldNeverGoIdle() {
    assertThatThrownBy(() -> RunCommand.idleReaders(source("idle-timeout: 0s"), 2, 1, WINDOWS))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "--parallelism 2 is more than the 1 partition of clicks: 1 of the job's readers read"
                + " nothing, and with source.idle-timeout 0s they would hold the event-time"
                + " watermark back for ever: no validation window would close, and no version be"
                + " published, before the job is stopped. Set source.idle-timeout (e.g. 30s), or"
                + " --parallelism 1 or less, or give the topic more partitions (streamlearn produce"
                + " --partitions N creates a topic with N, and Kafka's kafka-topics.sh --alter"
                + " --partitions N adds to one that exists)");
    // A source that ends: readers without a partition end at once, and hold nothing back.
    assertThat(RunCommand.idleReaders(source("idle-timeout: 0s, bounded: true"), 2, 1, WINDOWS))
        .isNull();
  }

  @Test
  void saysWhatTheScoringJobHoldsBack() {
    RunCommand.HeldBack predictions = RunCommand.HeldBack.PREDICTIONS_WITHOUT_LABEL;
    assertThat(RunCommand.idleReaders(source("labels: {topic: clicks.labels}"), 3, 2, predictions))
        .endsWith(
            "they hold the event-time watermark back, and no prediction whose label does not come"
                + " is given up on. As many partitions as readers avoid it: streamlearn produce"
                + " --partitions N creates a topic with N, and Kafka's kafka-topics.sh --alter"
                + " --partitions N adds to one that exists.");
    assertThatThrownBy(
            () ->
                RunCommand.idleReaders(
                    source("idle-timeout: 0s, labels: {topic: clicks.labels}"), 3, 2, predictions))
        .hasMessageContaining(
            "for ever: every prediction whose label never comes would wait in state. Set"
                + " source.idle-timeout (e.g. 30s), or --parallelism 2 or less, or give the topic"
                + " more partitions");
  }

  private static PipelineSpec.Source source(String settings) {
    return SpecLoader.parse(
            String.join(
                "\n",
                "name: clicks",
                "source: {bootstrap-servers: 'localhost:9092', topic: clicks, " + settings + "}",
                "features: [{name: a, type: numeric}]",
                ""))
        .source();
  }
}
