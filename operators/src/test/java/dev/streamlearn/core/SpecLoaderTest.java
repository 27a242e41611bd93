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
    assertThat(spec.training().schedule().base()).isEqualTo(0.1);
    PipelineSpec regression =
        SpecLoader.parse(
            MINIMAL
                + "label: {task: regression}\n"
                + "candidates:\n"
                + "  - {name: a, training: {batch-size: 8}}\n"
                + "  - {name: b, training: {learning-rate: 0.2}}\n");
    assertThat(regression.training().schedule().base()).isEqualTo(0.01);
    assertThat(regression.candidates())
        .extracting(c -> c.training().schedule().base())
        .containsExactly(0.01, 0.2);
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
  void refusesSettingsTheChosenOptimizerOrScheduleWouldNotRead() {
    assertThatThrownBy(
            () ->
                SpecLoader.parse(MINIMAL + "training: {optimizer: {type: adam, momentum: 0.9}}\n"))
        .hasMessage(
            "spec key 'training.optimizer.momentum' = 0.9: not read by training.optimizer.type"
                + " 'adam', which reads [beta1, beta2, epsilon]; remove it or choose a type that"
                + " reads it");
    assertThatThrownBy(
            () -> SpecLoader.parse(MINIMAL + "holdout: {policy: windows, fraction: 0.3}\n"))
        .hasMessage(
            "spec key 'holdout.fraction' = 0.3: not read by holdout.policy 'windows', which reads"
                + " [every]; remove it or choose a policy that reads it");
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "holdout: {every: 3}\n"))
        .hasMessageStartingWith(
            "spec key 'holdout.every' = 3: not read by holdout.policy 'hash', which reads [fraction]");
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "holdout: {label-delay: 5s}\n"))
        .hasMessageStartingWith(
            "spec key 'holdout.label-delay' = '5s': not read by holdout.policy");
    assertThat(
            SpecLoader.parse(MINIMAL + "holdout: {policy: prequential, label-delay: 5s}\n")
                .holdout()
                .labelDelay())
        .isEqualTo(Duration.ofSeconds(5));
    assertThatThrownBy(
            () ->
                SpecLoader.parse(MINIMAL + "control: {drift: {detector: adwin, threshold: 50}}\n"))
        .hasMessage(
            "spec key 'control.drift.threshold' = 50: not read by control.drift.detector 'adwin',"
                + " which reads [delta, min-events, reaction, raise-factor]; remove it or choose a"
                + " detector that reads it");
    assertThatThrownBy(
            () ->
                SpecLoader.parse(
                    MINIMAL + "control: {drift: {detector: page-hinkley, delta: 0.01}}\n"))
        .hasMessageStartingWith(
            "spec key 'control.drift.delta' = 0.01: not read by control.drift.detector"
                + " 'page-hinkley', which reads [threshold, alpha, min-events, reaction,"
                + " raise-factor]");
    // Turned off, a detector keeps its settings for when it is turned on again.
    assertThat(
            SpecLoader.parse(
                    MINIMAL
                        + "control: {drift: {detector: none, delta: 0.01, reaction: challenger}}\n")
                .control()
                .driftDetector())
        .isEqualTo("none");
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "model: {dropout: 0.5}\n"))
        .hasMessage(
            "spec key 'model.dropout' = 0.5: only an mlp has hidden layers, which this acts on;"
                + " model.type is logistic");
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "model: {activation: tanh}\n"))
        .hasMessageStartingWith("spec key 'model.activation' = 'tanh': only an mlp");
    assertThatThrownBy(
            () ->
                SpecLoader.parse(MINIMAL + "label: {task: regression}\nmodel: {huber-delta: 2}\n"))
        .hasMessage(
            "spec key 'model.huber-delta' = 2: read by model.loss huber only; the loss here is mse");
    assertThat(
            SpecLoader.parse(
                    MINIMAL + "label: {task: regression}\nmodel: {loss: huber, huber-delta: 2}\n")
                .model()
                .huberDelta())
        .isEqualTo(2.0);
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "training: {optimizer: {beta1: 0.8}}\n"))
        .hasMessageStartingWith(
            "spec key 'training.optimizer.beta1' = 0.8: not read by training.optimizer.type 'sgd',"
                + " which reads [momentum, nesterov]");
    assertThatThrownBy(
            () ->
                SpecLoader.parse(MINIMAL + "training: {optimizer: {type: adagrad, beta2: 0.9}}\n"))
        .hasMessageContaining("which reads [epsilon]");
    assertThatThrownBy(
            () -> SpecLoader.parse(MINIMAL + "training: {optimizer: {nesterov: true}}\n"))
        .hasMessage(
            "spec key 'training.optimizer.nesterov' = true: Nesterov's momentum needs"
                + " training.optimizer.momentum above 0 (e.g. 0.9)");
    assertThatThrownBy(
            () -> SpecLoader.parse(MINIMAL + "training: {schedule: {total-steps: 500}}\n"))
        .hasMessageStartingWith(
            "spec key 'training.schedule.total-steps' = 500: not read by training.schedule.type"
                + " 'constant', which reads [warmup-steps]");
    assertThatThrownBy(
            () ->
                SpecLoader.parse(MINIMAL + "training: {schedule: {type: step, min-rate: 0.01}}\n"))
        .hasMessageContaining("which reads [every, gamma, warmup-steps]");
    var rmsprop =
        SpecLoader.parse(
                MINIMAL + "training: {optimizer: {type: rmsprop, beta2: 0.95, epsilon: 1e-6}}\n")
            .training()
            .optimizer();
    assertThat(rmsprop.beta2()).isEqualTo(0.95);
    assertThat(rmsprop.epsilon()).isEqualTo(1e-6);
    assertThat(
            SpecLoader.parse(
                    MINIMAL
                        + "training: {schedule: {type: cosine, total-steps: 500, warmup-steps: 10}}\n")
                .training()
                .schedule()
                .total())
        .isEqualTo(500);
  }

  @Test
  void refusesAZeroDurationWhereOnlyAPositiveOneWorks() {
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "validation: {window: 0s}\n"))
        .hasMessage("spec key 'validation.window' = '0s': a positive duration such as 30s or 1m");
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "dedup: {ttl: 0ms}\n"))
        .hasMessage(
            "spec key 'dedup.ttl' = '0ms': a positive duration such as 10m or 1h (dedup.enabled:"
                + " false turns deduplication off)");
    assertThatThrownBy(() -> SpecLoader.parse(MINIMAL + "source: {labels: {max-wait: 0m}}\n"))
        .hasMessage(
            "spec key 'source.labels.max-wait' = '0m': a positive duration such as 10m or 1h");
    PipelineSpec spec = SpecLoader.parse(MINIMAL + "validation: {window: 1ms}\ndedup: {ttl: 2d}\n");
    assertThat(spec.validation().window()).isEqualTo(Duration.ofMillis(1));
    assertThat(spec.dedup().ttl()).isEqualTo(Duration.ofDays(2));
  }

  @Test
  void aCandidateOfAnotherOptimizerLeavesTheSpecsOptimizerSettingsBehind() {
    // The spec's sgd momentum belongs to the spec's optimizer: a candidate that trains with adam
    // (by name, or in a grid) does not inherit it, and is not refused for it.
    PipelineSpec spec =
        SpecLoader.parse(
            MINIMAL
                + "training: {optimizer: {type: sgd, momentum: 0.9, nesterov: true},"
                + " schedule: {type: cosine, total-steps: 100}}\n"
                + "candidates:\n"
                + "  - {name: adam, training: {optimizer: {type: adam, beta2: 0.99}}}\n"
                + "  - {name: slow, training: {optimizer: {momentum: 0.5}, schedule: {type: step}}}\n");
    var adam = spec.candidates().get(0).training();
    assertThat(adam.optimizer().type()).isEqualTo("adam");
    assertThat(adam.optimizer().beta2()).isEqualTo(0.99);
    assertThat(adam.optimizer().momentum()).isZero();
    assertThat(adam.schedule().type()).isEqualTo("cosine");
    assertThat(adam.schedule().total()).isEqualTo(100);
    var slow = spec.candidates().get(1).training();
    assertThat(slow.optimizer().type()).isEqualTo("sgd");
    assertThat(slow.optimizer().momentum()).isEqualTo(0.5);
    assertThat(slow.optimizer().nesterov()).isTrue();
    assertThat(slow.schedule().type()).isEqualTo("step");
    assertThat(
            SpecLoader.parse(
                    MINIMAL
                        + "training: {optimizer: {momentum: 0.9}}\n"
                        + "candidates: {grid: {training.optimizer.type: [sgd, adam]}}\n")
                .candidates())
        .extracting(
            c -> c.training().optimizer().type() + " " + c.training().optimizer().momentum())
        .containsExactly("sgd 0.9", "adam 0.0");
    PipelineSpec linear =
        SpecLoader.parse(
            MINIMAL
                + "model: {type: mlp, hidden-layers: [8], activation: tanh, dropout: 0.2}\n"
                + "candidates: {grid: {model.type: [mlp, logistic]}}\n");
    assertThat(linear.candidates())
        .extracting(
            c -> c.model().type() + " " + c.model().hiddenLayers() + " " + c.model().dropout())
        .containsExactly("mlp [8] 0.2", "logistic [] 0.0");
    // What a candidate writes itself is its own, and checked.
    assertThatThrownBy(
            () ->
                SpecLoader.parse(
                    MINIMAL
                        + "candidates:\n"
                        + "  - {name: a, training: {optimizer: {type: adam, momentum: 0.9}}}\n"
                        + "  - {name: b, training: {learning-rate: 0.01}}\n"))
        .hasMessageContaining("momentum' = 0.9: not read by")
        .hasMessageContaining("'adam'");
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
