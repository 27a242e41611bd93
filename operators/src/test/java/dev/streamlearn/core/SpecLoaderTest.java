package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecException;
import dev.streamlearn.core.spec.SpecLoader;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class SpecLoaderTest {

  private static final String MINIMAL = "features:\n  - {name: x, type: numeric}\n";

  @Test
  void readsHowDeadLettersAreDelivered() {
    assertThat(SpecLoader.parse(MINIMAL).source().deadLettersExactlyOnce()).isFalse();
    assertThat(
            SpecLoader.parse(MINIMAL + "source: {dead-letter-delivery: exactly-once}\n")
                .source()
                .deadLettersExactlyOnce())
        .isTrue();
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "source: {dead-letter-delivery: twice}\n"))
        .hasMessageContaining("source.dead-letter-delivery")
        .hasMessageContaining("at-least-once")
        .hasMessageContaining("exactly-once");
    assertThatThrownBy(
            () ->
                SpecLoader.parse(
                    MINIMAL
                        + "source: {dead-letter-delivery: exactly-once}\n"
                        + "checkpoint: {interval: 0s}\n"))
        .hasMessage(
            "spec key 'source.dead-letter-delivery' = 'exactly-once': at-least-once when"
                + " checkpoint.interval is 0s: exactly-once commits each checkpoint's refusals,"
                + " and without checkpoints none would be committed");
  }

  @Test
  void fillsDefaults() {
    PipelineSpec spec = SpecLoader.parse(MINIMAL);
    assertThat(spec.name()).isEqualTo("model");
    assertThat(spec.source().topic()).isEqualTo("events");
    assertThat(spec.source().deadLetterTopic()).isEqualTo("events.dead-letter");
    assertThat(spec.holdout().fraction()).isEqualTo(0.2);
    assertThat(spec.checkpoint().interval()).isEqualTo(Duration.ofSeconds(10));
    assertThat(spec.dedup().ttl()).isEqualTo(Duration.ofHours(1));
    assertThat(spec.source().maxOutOfOrderness()).isEqualTo(Duration.ofSeconds(5));
    assertThat(spec.source().idleTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(spec.specHash()).hasSize(64);
  }

  @Test
  void startsFromATimeQuotedOrNot() {
    for (String time : java.util.List.of("2026-11-01T08:30:00Z", "'2026-11-01T08:30:00Z'")) {
      assertThat(
              SpecLoader.parse(MINIMAL + "source: {starting-offsets: " + time + "}\n")
                  .source()
                  .startingOffsets())
          .isEqualTo("2026-11-01T08:30:00Z");
    }
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "source: {starting-offsets: yesterday}\n"))
        .isInstanceOf(SpecException.class)
        .hasMessageStartingWith(
            "spec key 'source.starting-offsets' = 'yesterday': one of [earliest, latest,"
                + " committed], or a time in ISO-8601");
  }

  @Test
  void readsTheLabelsTopicAndRefusesWhatCannotJoin() {
    assertThat(SpecLoader.parse(MINIMAL).source().labelsFollow()).isFalse();
    PipelineSpec.Labels labels =
        SpecLoader.parse(MINIMAL + "source: {labels: {}}\n").source().labels();
    assertThat(labels).isEqualTo(new PipelineSpec.Labels("events.labels", Duration.ofHours(1)));
    assertThat(
            SpecLoader.parse(
                    MINIMAL
                        + "source: {topic: clicks, labels: {topic: conversions, max-wait: 2d}}\n")
                .source()
                .labels())
        .isEqualTo(new PipelineSpec.Labels("conversions", Duration.ofDays(2)));
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "source: {labels: {topic: events}}\n"))
        .hasMessage(
            "spec key 'source.labels.topic' = 'events': a topic other than source.topic: labels are"
                + " EventLabel records on a topic of their own");
    assertThatThrownBy(
            () -> SpecLoader.parse(MINIMAL + "source: {labels: {topic: events.dead-letter}}\n"))
        .hasMessageStartingWith("spec key 'source.labels.topic' = 'events.dead-letter': a topic");
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "source: {labels: {max-wait: 0s}}\n"))
        .hasMessage(
            "spec key 'source.labels.max-wait' = '0s': a positive duration such as 10m or 1h");
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "source: {labels: {wait: 1h}}\n"))
        .hasMessageStartingWith("spec key 'source.labels.wait' = '1h': unknown key");
    assertThatThrownBy(
            () ->
                SpecLoader.parse(
                    MINIMAL
                        + "source: {labels: {}, schema: {avro: '{\"type\": \"record\", \"name\":"
                        + " \"R\", \"fields\": [{\"name\": \"x\", \"type\": \"double\"},"
                        + " {\"name\": \"label\", \"type\": \"double\"}]}'}}\n"))
        .hasMessageStartingWith(
            "spec key 'source.labels.topic' = 'events.labels': source.schema.id set too");
  }

  /**
   * {@code source.kafka}: client settings taken as text, {@code ${NAME}} from the environment; keys
   * the pipeline sets itself refused, naming where they are set; secrets out of the spec's text and
   * hash.
   */
  @Test
  void readsKafkaClientSettingsAndKeepsSecretsOutOfItsTextAndHash() {
    String login = "sasl.jaas.config: 'PlainLoginModule required password=\"%s\";'";
    PipelineSpec spec =
        SpecLoader.parse(
            MINIMAL
                + "source: {kafka: {security.protocol: SASL_SSL, request.timeout.ms: 40000,"
                + " ssl.truststore.location: '${HOME}/truststore.jks', "
                + String.format(login, "first")
                + "}}\n");
    assertThat(spec.source().kafka().values())
        .containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("request.timeout.ms", "40000")
        .containsEntry("ssl.truststore.location", System.getenv("HOME") + "/truststore.jks")
        .containsEntry("sasl.jaas.config", "PlainLoginModule required password=\"first\";");
    assertThat(spec.toString()).contains("sasl.jaas.config=(hidden)").doesNotContain("first");
    PipelineSpec rotated =
        SpecLoader.parse(
            MINIMAL
                + "source: {kafka: {security.protocol: SASL_SSL, request.timeout.ms: 40000,"
                + " ssl.truststore.location: '${HOME}/truststore.jks', "
                + String.format(login, "second")
                + "}}\n");
    assertThat(rotated.specHash()).isEqualTo(spec.specHash());
    assertThat(SpecLoader.parse(MINIMAL).source().kafka().values()).isEmpty();

    assertThatThrownBy(
            () -> SpecLoader.parse(MINIMAL + "source: {kafka: {bootstrap.servers: 'a:9092'}}\n"))
        .isInstanceOf(SpecException.class)
        .hasMessage(
            "spec key 'source.kafka.bootstrap.servers' = 'a:9092': set by"
                + " source.bootstrap-servers instead");
    assertThatThrownBy(
            () ->
                SpecLoader.parse(
                    MINIMAL
                        + "source: {kafka: {sasl.jaas.config: '${STREAMLEARN_NO_SUCH_VAR}'}}\n"))
        .isInstanceOf(SpecException.class)
        .hasMessageEndingWith("environment variable STREAMLEARN_NO_SUCH_VAR is not set");
  }

  @Test
  void readsTheIdleTimeoutAndRefusesOneThatIsNoDuration() {
    assertThat(SpecLoader.parse(MINIMAL + "source: {idle-timeout: 0s}\n").source().idleTimeout())
        .isZero();
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "source: {idle-timeout: soon}\n"))
        .isInstanceOf(SpecException.class)
        .hasMessage(
            "spec key 'source.idle-timeout' = 'soon': a duration such as 500ms, 10s, 5m, 1h or 2d");
  }

  @Test
  void theCpuBackendBesideTheGpuIsNd4jUnlessTheSpecSaysOtherwise() {
    assertThat(SpecLoader.parse(MINIMAL).cpuBackend()).isEqualTo("nd4j");
    PipelineSpec spec =
        SpecLoader.parse(MINIMAL + "backend: cuda\ncuda: {precision: bf16, cpu-backend: java}\n");
    assertThat(spec.cuda().precision()).isEqualTo("bf16");
    assertThat(spec.cpuBackend()).isEqualTo("java");
    assertThat(SpecLoader.parse(MINIMAL + "backend: reference\n").cpuBackend())
        .isEqualTo("reference");
  }

  @Test
  void hashChangesWithContent() {
    assertThat(SpecLoader.parse(MINIMAL).specHash())
        .isEqualTo(SpecLoader.parse(MINIMAL).specHash())
        .isNotEqualTo(SpecLoader.parse(MINIMAL + "holdout: {fraction: 0.3}\n").specHash());
  }

  @Test
  void refusesOutOfRangeWithKeyValueAndAllowed() {
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "holdout: {fraction: 1.5}\n"))
        .isInstanceOf(SpecException.class)
        .hasMessage("spec key 'holdout.fraction' = 1.5: a number in [0.0, 1.0]");
  }

  @Test
  void refusesClassNamesThatYamlReadsAsBooleans() {
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "label: {classes: [no, yes]}\n"))
        .hasMessageStartingWith(
            "spec key 'label.classes[0]' = false: a name; YAML reads unquoted yes");
    assertThat(SpecLoader.parse(MINIMAL + "label: {classes: ['no', 'yes']}\n").label().classes())
        .containsExactly("no", "yes");
  }

  @Test
  void refusesUnknownKeys() {
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "training: {batchsize: 10}\n"))
        .hasMessage(
            "spec key 'training.batchsize' = 10: unknown key; allowed here: [batch-size, clip-norm, l1,"
                + " l2, learning-rate, max-batch-delay, optimizer, schedule, seed, weight-decay]");
  }

  @Test
  void refusesBadEnumsAndTypes() {
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "backend: gpu\n"))
        .hasMessage("spec key 'backend' = 'gpu': one of [auto, cpu, cuda, nd4j, java, reference]");
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "checkpoint: {state-backend: memory}\n"))
        .hasMessage(
            "spec key 'checkpoint.state-backend' = 'memory': one of [configured, hashmap, rocksdb]");
    assertThat(SpecLoader.parse(MINIMAL).checkpoint().chosenStateBackend()).isEmpty();
    assertThat(
            SpecLoader.parse(MINIMAL + "checkpoint: {state-backend: rocksdb}\n")
                .checkpoint()
                .chosenStateBackend())
        .contains("rocksdb");
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "cuda: {precision: fp16}\n"))
        .hasMessage("spec key 'cuda.precision' = 'fp16': one of [fp32, tf32, bf16]");
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "cuda: {devices: 2}\n"))
        .hasMessageContaining("cuda.devices");
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "cuda: {cpu-backend: cuda}\n"))
        .hasMessage("spec key 'cuda.cpu-backend' = 'cuda': one of [nd4j, java, reference]");
    assertThatThrownBy(() -> SpecLoader.parse("features:\n  - {name: x, type: text}\n"))
        .hasMessage(
            "spec key 'features[0].type' = 'text': one of [numeric, categorical, datetime, cross, pca]");
    assertThatThrownBy(
            () ->
                SpecLoader.parse(
                    "features:\n  - {name: c, type: categorical}\n  - {name: x, type: numeric}\n"
                        + "  - {name: p, type: pca, fields: [x, c]}\n"))
        .hasMessage(
            "spec key 'features[2].fields' = 'c': each a numeric feature listed before this one");
    assertThatThrownBy(
            () ->
                SpecLoader.parse(
                    "features:\n  - {name: x, type: numeric}\n  - {name: y, type: numeric}\n"
                        + "  - {name: p, type: pca, fields: [x, y], components: 3}\n"))
        .hasMessage("spec key 'features[2].components' = 3: a whole number in [1, 2]");
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "training: {batch-size: many}\n"))
        .hasMessage("spec key 'training.batch-size' = 'many': a whole number in [1, 65536]");
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "dedup: {ttl: soon}\n"))
        .hasMessage("spec key 'dedup.ttl' = 'soon': a duration such as 500ms, 10s, 5m, 1h or 2d");
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "label: {task: multiclass}\n"))
        .hasMessage(
            "spec key 'label.classes' = (missing): a multiclass task needs its class names, at least two, each once");
    assertThatThrownBy(
            () ->
                SpecLoader.parse(MINIMAL + "label: {task: regression}\nmodel: {type: logistic}\n"))
        .hasMessage("spec key 'model.type' = 'logistic': a regression task takes linear or mlp");
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "model: {type: mlp}\n"))
        .hasMessageStartingWith(
            "spec key 'model.hidden-layers' = (missing): an mlp needs at least one hidden layer");
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "model: {loss: mse}\n"))
        .hasMessage("spec key 'model.loss' = 'mse': a binary task takes bce");
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "training: {optimizer: {type: lbfgs}}\n"))
        .hasMessage(
            "spec key 'training.optimizer.type' = 'lbfgs': one of [sgd, adam, adamw, rmsprop, adagrad]");
    assertThatThrownBy(() -> SpecLoader.parse("name: x\n"))
        .hasMessageStartingWith("spec key 'features' = (missing): list at least one feature");
    assertThatThrownBy(
            () ->
                SpecLoader.parse(
                    MINIMAL + "features: [{name: x, type: numeric}, {name: x, type: numeric}]\n"))
        .isInstanceOf(SpecException.class);
  }
}
