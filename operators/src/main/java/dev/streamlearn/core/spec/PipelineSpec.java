package dev.streamlearn.core.spec;

import java.io.Serializable;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Everything about one pipeline, as validated from its YAML file. Records are immutable and
 * serializable, so operators can carry them.
 *
 * @param specHash sha256 of the spec's canonical form, recorded in every manifest
 */
public record PipelineSpec(
    String name,
    Source source,
    Label label,
    List<Feature> features,
    Dedup dedup,
    Holdout holdout,
    Model model,
    Training training,
    String backend,
    Cuda cuda,
    Validation validation,
    Control control,
    Publish publish,
    Store store,
    Checkpoint checkpoint,
    Segments segments,
    List<Candidate> candidates,
    Pruning pruning,
    String specHash)
    implements Serializable {

  /**
   * One set of hyper-parameters among several trained side by side on the same events: the
   * candidate's model ({@code <name>.<candidate>}) sees every event the pipeline's one model would,
   * the same ones held out, and is validated, versioned and published on its own, so that the
   * candidates' window metrics compare like for like.
   *
   * @param name letters, digits, '_' and '-'; the last part of the candidate's model name
   * @param settings what the candidate sets, as dotted spec keys (under {@code model} and {@code
   *     training}) and their values as written, in spec order
   * @param model the spec's model with the candidate's settings
   * @param training the spec's training with the candidate's settings
   */
  public record Candidate(String name, Map<String, String> settings, Model model, Training training)
      implements Serializable {}

  /**
   * Successive halving of the candidates while the stream runs: every {@code windows} validation
   * windows that all of a model's remaining candidates have closed, the worse half of them by the
   * mean of {@code validation.metric} over those windows stops training, until {@code keep} are
   * left. Candidates of different segments are pruned apart.
   *
   * @param windows the windows each round compares; 0: no pruning
   * @param keep how many candidates pruning leaves
   */
  public record Pruning(int windows, int keep) implements Serializable {

    /** No pruning: every candidate trains on every event. */
    public static final Pruning NONE = new Pruning(0, 1);

    public boolean enabled() {
      return windows > 0;
    }
  }

  /**
   * Where a candidate is chosen (scoring), the one that ranks first on the newest held-out window;
   * not a candidate's name.
   */
  public static final String BEST_CANDIDATE = "best";

  /** True when the spec trains several hyper-parameter candidates. */
  public boolean hasCandidates() {
    return !candidates.isEmpty();
  }

  /**
   * The spec that candidate {@code index} trains by: this one with the candidate's model and
   * training, and its own hash. It still lists every candidate, so that models are named alike.
   */
  public PipelineSpec forCandidate(int index) {
    Candidate candidate = candidates.get(index);
    return SpecLoader.withHash(
        new PipelineSpec(
            name,
            source,
            label,
            features,
            dedup,
            holdout,
            candidate.model(),
            candidate.training(),
            backend,
            cuda,
            validation,
            control,
            publish,
            store,
            checkpoint,
            segments,
            candidates,
            pruning,
            null));
  }

  /**
   * One model per value of a categorical feature: the events of each segment train their own model
   * ({@code <name>.<segment>}) with its own featurizer, parameters, validation windows, versions
   * and aliases; trainers of different segments run in parallel subtasks.
   *
   * @param feature the categorical feature whose cleaned value picks the segment; null: one model
   * @param values the segments there are; empty: every value met is a segment of its own
   * @param others the segment of events whose value is missing or not in {@code values}; null: such
   *     events are refused (dead-lettered with the reason)
   */
  public record Segments(String feature, List<String> values, String others)
      implements Serializable {
    public static final Segments NONE = new Segments(null, List.of(), null);

    public boolean enabled() {
      return feature != null;
    }
  }

  /**
   * Where events come from.
   *
   * @param startingOffsets earliest, latest or committed (committed falls back to earliest)
   * @param bounded read up to the offsets at start, then finish (files, backfills)
   * @param unknownFields ignore or refuse: events carrying fields no feature reads
   * @param recordSchema the producers' own Avro record schema and where the event's parts are in
   *     it; null when the topic carries {@code LabeledEvent}s
   * @param labels where the labels of events sent without one arrive later; null: every event
   *     carries its label, and an event without one is refused
   * @param kafka settings of every Kafka client of the pipeline (its source and sinks, and the
   *     command line's): security, SASL, SSL, timeouts
   */
  public record Source(
      String bootstrapServers,
      String topic,
      String groupId,
      String startingOffsets,
      boolean bounded,
      String deadLetterTopic,
      String metricsTopic,
      Duration maxOutOfOrderness,
      Duration idleTimeout,
      int maxRecordBytes,
      String unknownFields,
      RecordSchema recordSchema,
      Labels labels,
      KafkaProperties kafka,
      String deadLetterDelivery)
      implements Serializable {

    /**
     * Whether refusals are written to the dead-letter topic in Kafka transactions committed with
     * each checkpoint ({@code source.dead-letter-delivery: exactly-once}): a restored job then
     * leaves no second copy there, and a reader of committed records sees each refusal once, a
     * checkpoint interval after it happened.
     */
    public boolean deadLettersExactlyOnce() {
      return "exactly-once".equals(deadLetterDelivery);
    }

    /** Whether events may arrive without their label, to be joined with it from a labels topic. */
    public boolean labelsFollow() {
      return labels != null;
    }

    /** Why a record value is too big to read ({@code max-record-bytes}); null when it is not. */
    public String oversized(byte[] value) {
      return value != null && value.length > maxRecordBytes
          ? "record of "
              + value.length
              + " bytes exceeds source.max-record-bytes = "
              + maxRecordBytes
          : null;
    }
  }

  /**
   * Kafka client settings ({@code source.kafka}), given to every client the pipeline makes: e.g.
   * {@code security.protocol}, {@code sasl.mechanism}, {@code sasl.jaas.config}, {@code
   * ssl.truststore.location}. Values that hold secrets (keys naming a password, secret, token, key
   * or JAAS configuration) are left out of {@link #toString}, and so out of the spec's hash: the
   * spec's text in a log, or a manifest, never shows them, and rotating them changes no hash.
   */
  public record KafkaProperties(Map<String, String> values) implements Serializable {

    public static final KafkaProperties NONE = new KafkaProperties(Map.of());

    public KafkaProperties {
      values = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(values));
    }

    /** Whether {@code key}'s value is a secret, kept out of {@link #toString}. */
    public static boolean secret(String key) {
      String lower = key.toLowerCase(java.util.Locale.ROOT);
      return lower.contains("password")
          || lower.contains("secret")
          || lower.contains("token")
          || lower.contains("jaas")
          || lower.endsWith(".key");
    }

    @Override
    public String toString() {
      java.util.StringJoiner text = new java.util.StringJoiner(", ", "{", "}");
      values.forEach((key, value) -> text.add(key + "=" + (secret(key) ? "(hidden)" : value)));
      return text.toString();
    }
  }

  /**
   * Labels that arrive after their events: an event without a label waits, in keyed state, for the
   * {@code EventLabel} of its id on {@code topic}, and is learned from when it comes.
   *
   * @param topic the topic of {@code EventLabel} records, read with the events (same consumer
   *     group, starting offsets and boundedness)
   * @param maxWait how long, in event time, an event waits for its label and a label for its event;
   *     an event still unlabeled then is dead-lettered, as is a label whose event never came
   */
  public record Labels(String topic, Duration maxWait) implements Serializable {}

  /**
   * A topic of the producers' own Avro records: each feature reads the field its name (or {@code
   * field}, {@code fields}) names, a dotted path into nested records.
   *
   * @param avroSchema the writer schema, Avro JSON (read from the spec's file when the spec is
   *     loaded, so a cluster needs no copy of the file)
   * @param framing how a record's bytes are framed: {@code single-object} (Avro's single-object
   *     encoding, the fingerprint checked), {@code confluent} (a zero byte and a 4-byte schema id
   *     before the body) or {@code raw} (the body alone)
   * @param idField the event id's field; null: the record's Kafka partition and offset
   * @param timestampField the event time's field; null: the Kafka record's timestamp
   * @param labelField the label's field
   * @param weightField the example weight's field; null: every example weighs 1
   * @param writers earlier versions of the schema that records on the topic may still be written
   *     with; they are read as {@code avroSchema} by Avro's schema resolution
   */
  public record RecordSchema(
      String avroSchema,
      String framing,
      String idField,
      String timestampField,
      String labelField,
      String weightField,
      List<WriterSchema> writers)
      implements Serializable {
    public static final List<String> FRAMINGS = List.of("single-object", "confluent", "raw");
  }

  /**
   * A schema some records were written with.
   *
   * @param avroSchema Avro JSON
   * @param confluentId the schema id such records carry in the Confluent framing; null in the
   *     single-object framing, where the fingerprint tells the schema
   */
  public record WriterSchema(String avroSchema, Integer confluentId) implements Serializable {}

  /**
   * The label and the learning task.
   *
   * @param task binary, multiclass or regression
   * @param classes class names in label order (binary: negative first; empty means numeric labels 0
   *     and 1); multiclass needs them; regression has none
   */
  public record Label(String task, List<String> classes) implements Serializable {}

  /**
   * One input feature: how its raw value is read, cleaned and turned into entries of the model's
   * input vector. Only the rules of the feature's type are set; the others are null.
   *
   * @param type numeric, categorical, datetime or cross
   * @param missing what a missing value becomes (every type)
   * @param numeric numeric: coercion, range, outlier and scaling rules
   * @param categorical categorical and cross: the encoding
   * @param dateTime datetime: where the time comes from and which parts become features
   * @param crossed cross: the raw fields whose values are crossed (hashed together)
   * @param pca pca: the numeric features projected, and how many components
   */
  public record Feature(
      String name,
      String type,
      Missing missing,
      NumericRules numeric,
      CategoricalRules categorical,
      DateTimeRules dateTime,
      List<String> crossed,
      PcaRules pca)
      implements Serializable {
    public static final String NUMERIC = "numeric";
    public static final String CATEGORICAL = "categorical";
    public static final String DATETIME = "datetime";
    public static final String CROSS = "cross";
    public static final String PCA = "pca";
    public static final List<String> TYPES = List.of(NUMERIC, CATEGORICAL, DATETIME, CROSS, PCA);

    /** True for features that read a raw value of their own (every type but pca). */
    public boolean readsRaw() {
      return !PCA.equals(type);
    }

    /** True for features whose raw value is a number (numeric, and datetime as epoch millis). */
    public boolean readsNumber() {
      return NUMERIC.equals(type) || DATETIME.equals(type);
    }

    /** The raw fields this feature reads; empty for a datetime from the event's timestamp. */
    public List<String> rawFields() {
      return switch (type) {
        case PCA -> List.of();
        case CROSS -> crossed;
        case DATETIME -> dateTime.field() == null ? List.of() : List.of(dateTime.field());
        default -> List.of(name);
      };
    }
  }

  /**
   * Streaming principal components (CCIPCA) of numeric features' entries, after their own cleaning
   * and scaling.
   *
   * @param fields numeric features listed before this one
   * @param components how many leading components become entries
   */
  public record PcaRules(List<String> fields, int components) implements Serializable {}

  /**
   * @param policy numeric: mean, median, zero, constant or drop; categorical: empty, most-frequent,
   *     constant or drop; datetime and cross: empty or drop. {@code drop} refuses the event (it
   *     goes to the dead-letter topic); {@code empty} leaves the feature's entries at zero
   * @param fill numeric constant
   * @param fillCategory categorical constant
   * @param indicator adds an entry that is 1 when the value was missing
   */
  public record Missing(String policy, double fill, String fillCategory, boolean indicator)
      implements Serializable {}

  /**
   * @param nonFinite refuse (dead-letter) or missing: what NaN and infinite values are
   * @param min values below are refused (range rule); -Infinity for none
   * @param max values above are refused; +Infinity for none
   * @param outliers none, clip (at {@code clipStd} standard deviations around the mean) or
   *     winsorize (at the streaming {@code lowerQuantile} and {@code upperQuantile})
   * @param scale standard (Welford mean and deviation), minmax, robust (median and interquartile
   *     range from the quantile sketch) or none
   */
  public record NumericRules(
      String nonFinite,
      double min,
      double max,
      String outliers,
      double clipStd,
      double lowerQuantile,
      double upperQuantile,
      String scale)
      implements Serializable {

    /** True when a rule needs the streaming quantile sketch. */
    public boolean needsQuantiles(Missing missing) {
      return outliers.equals("winsorize")
          || scale.equals("robust")
          || missing.policy().equals("median");
    }
  }

  /**
   * @param encoding one-hot: a bounded vocabulary of {@code vocabularySize} values, each entering
   *     it once seen {@code minCount} times, plus one out-of-vocabulary entry; hash: MurmurHash3
   *     into {@code hashBuckets} entries
   */
  public record CategoricalRules(
      String encoding, int vocabularySize, long minCount, int hashBuckets) implements Serializable {
    public boolean oneHot() {
      return encoding.equals("one-hot");
    }
  }

  /**
   * @param field the raw field holding the time (epoch milliseconds or ISO-8601 text); null: the
   *     event's timestamp
   * @param parts hour, day-of-week, day-of-month, month, weekend, holiday
   * @param cyclic hour, day and month as sine and cosine rather than one value in [0, 1]
   * @param holidays MM-DD (every year) or YYYY-MM-DD dates
   */
  public record DateTimeRules(
      String field, List<String> parts, boolean cyclic, String timeZone, List<String> holidays)
      implements Serializable {}

  /** Drop events whose id was seen within {@code ttl}. */
  public record Dedup(boolean enabled, Duration ttl) implements Serializable {}

  /**
   * Which events validate the model and are never learned from.
   *
   * @param policy {@code hash}: events whose id hashes below {@code fraction}; {@code windows}:
   *     every {@code every}-th validation window whole; {@code prequential}: none, every training
   *     event is scored before it is learned from
   * @param labelDelay prequential: an event is learned from only once event time has moved this far
   *     past it (its label arrives late); at most {@code maxPending} wait, the oldest go first
   */
  public record Holdout(
      String policy, double fraction, int every, Duration labelDelay, int maxPending)
      implements Serializable {}

  /**
   * The model: logistic (binary), softmax (multiclass), linear (regression) or mlp (any task).
   *
   * @param loss bce, ce, mse or huber, chosen to fit the task
   * @param warmStart where to start from instead of a fresh initialization; null for none
   */
  public record Model(
      String type,
      List<Integer> hiddenLayers,
      String activation,
      double dropout,
      String loss,
      double huberDelta,
      WarmStart warmStart)
      implements Serializable {}

  /**
   * Start from a published version: {@code version} is a number, {@code latest} or another alias.
   */
  public record WarmStart(String storeUri, String model, String version) implements Serializable {}

  /**
   * Mini-batch training.
   *
   * @param maxBatchDelay a batch closes after this long even when not full; zero waits for a full
   *     batch (and keeps batch boundaries, so results, independent of timing)
   */
  public record Training(
      int batchSize,
      Duration maxBatchDelay,
      dev.streamlearn.core.optim.LearningRateSchedule schedule,
      dev.streamlearn.core.optim.OptimizerSettings optimizer,
      long seed)
      implements Serializable {}

  /**
   * Validation windows: tumbling windows of event time. A window closes when an event of a later
   * window arrives, or at end of input; then the candidate is validated on the window's held-out
   * events (at most {@code maxWindowEvents}, the first ones) and the control and publishing
   * decisions are made.
   *
   * @param metric the metric that decides: plateau, early stopping, the publishing gate,
   *     challengers
   */
  public record Validation(Duration window, int maxWindowEvents, String metric)
      implements Serializable {}

  /**
   * Continual-learning control at each window close.
   *
   * @param plateauPatience windows without improvement before the learning rate is multiplied by
   *     {@code plateauFactor} (0: off)
   * @param earlyStoppingPatience windows without improvement before the candidate stops being
   *     published, until drift is detected (0: off)
   * @param driftDetector none, adwin or page-hinkley, on the held-out (or prequential) error
   * @param driftReaction reset-optimizer, raise-learning-rate or challenger
   */
  public record Control(
      int plateauPatience,
      double plateauFactor,
      double minDelta,
      double minLearningRate,
      int earlyStoppingPatience,
      String driftDetector,
      double driftDelta,
      double driftThreshold,
      double driftAlpha,
      long driftMinEvents,
      String driftReaction,
      double raiseFactor,
      double inputDriftThreshold,
      String inputDriftReaction)
      implements Serializable {}

  /**
   * When a window's candidate becomes a version.
   *
   * @param policy every-window, or gated: only when it beats the champion by {@code margin} on the
   *     validation metric over at least {@code minHeldOut} events
   */
  public record Publish(String policy, double margin, long minHeldOut) implements Serializable {}

  /**
   * The model store: {@code file:///dir}, a directory path, or {@code s3://bucket/prefix}.
   *
   * @param keep retention: after each publication keep the newest {@code keep} versions and every
   *     version an alias points at; 0 keeps all
   */
  public record Store(String uri, int keep) implements Serializable {}

  /** Flink checkpointing; {@code interval} zero turns it off. */
  /**
   * Checkpointing.
   *
   * @param interval between checkpoints; zero: none
   * @param stateBackend where the jobs keep their state: {@code configured} (the cluster's
   *     configuration; a local run's heap), {@code hashmap} (objects on the heap) or {@code
   *     rocksdb} (serialized, on local disk)
   */
  public record Checkpoint(Duration interval, String stateBackend) implements Serializable {

    public static final java.util.List<String> STATE_BACKENDS =
        java.util.List.of("configured", "hashmap", "rocksdb");

    /** The state backend the spec chooses; empty when the configuration decides. */
    public java.util.Optional<String> chosenStateBackend() {
      return stateBackend.equals("configured")
          ? java.util.Optional.empty()
          : java.util.Optional.of(stateBackend);
    }
  }

  /**
   * The CUDA backend's settings.
   *
   * @param device the GPU's index when the task manager offers no {@code gpu} external resource;
   *     trainer subtask {@code i} takes device {@code device + i}
   * @param precision fp32, tf32 or bf16 matrix products (fp32 weights and accumulation in all)
   * @param cpuBackend the CPU backend beside the GPU ({@code nd4j}, {@code java} or {@code
   *     reference}): it scores the held-out windows, and trains where {@code auto} finds no GPU
   */
  public record Cuda(int device, String precision, String cpuBackend) implements Serializable {}

  /**
   * The CPU backend that scores and validates: the {@code backend} itself, or {@code
   * cuda.cpu-backend} when the backend is {@code cuda} or {@code auto}.
   */
  public String cpuBackend() {
    return backend.equals("cuda") || backend.equals("auto") ? cuda.cpuBackend() : backend;
  }

  /** Raw numeric values an example carries: one per numeric or datetime feature. */
  public int numericCount() {
    return (int) features.stream().filter(Feature::readsNumber).count();
  }

  /** Raw text values an example carries: one per categorical or cross feature. */
  public int categoricalCount() {
    return (int) features.stream().filter(Feature::readsRaw).count() - numericCount();
  }
}
