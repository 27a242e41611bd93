package dev.streamlearn.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.spec.SpecLoader;
import java.util.List;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.junit.jupiter.api.Test;

class StreamLearnJobTest {

  /**
   * At least once, the decoder's refusals and the label join's each have a sink, chained to its
   * operator; exactly once, one sink takes both, so that no two write in transactions of one name.
   */
  @Test
  void writesExactlyOnceDeadLettersThroughOneSink() {
    assertThat(deadLetterSinks("at-least-once"))
        .containsExactly("dead-letters", "join-dead-letters");
    assertThat(deadLetterSinks("exactly-once")).containsExactly("dead-letters");
  }

  private static List<String> deadLetterSinks(String delivery) {
    var spec =
        SpecLoader.parse(
            String.join(
                "\n",
                "name: clicks",
                "source: {bootstrap-servers: 'localhost:9092', topic: clicks,",
                "         labels: {topic: clicks.labels}, dead-letter-delivery: " + delivery + "}",
                "features: [{name: a, type: numeric}]",
                "checkpoint: {interval: 1s}",
                ""));
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(1);
    StreamLearnJob.fromSpec(spec).addTo(env);
    return env.getStreamGraph().getStreamNodes().stream()
        .map(StreamNode::getOperatorName)
        .filter(name -> name.contains("dead-letters") && name.endsWith("Writer"))
        .map(name -> name.substring(0, name.indexOf(':')))
        .sorted()
        .toList();
  }
}
