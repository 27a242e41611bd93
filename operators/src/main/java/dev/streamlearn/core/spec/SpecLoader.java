package dev.streamlearn.core.spec;

import dev.streamlearn.core.backend.Backends;
import dev.streamlearn.core.data.ModelRouter;
import dev.streamlearn.core.data.RecordEventDecoder;
import dev.streamlearn.core.data.RecordField;
import dev.streamlearn.core.optim.LearningRateSchedule;
import dev.streamlearn.core.optim.OptimizerSettings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.SchemaParseException;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * Reads a pipeline spec from YAML and validates all of it before anything starts. Every problem is
 * a {@link SpecException} naming the dotted key, the value and what is allowed; unknown keys are
 * refused too, since a misspelt key silently falling back to its default is worse than an error.
 */
public final class SpecLoader {

  private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  private static final List<String> TASKS = List.of("binary", "multiclass", "regression");
  private static final List<String> MODELS = List.of("logistic", "softmax", "linear", "mlp");
  private static final List<String> ACTIVATIONS = List.of("relu", "tanh", "sigmoid");
  private static final List<String> HOLDOUT_POLICIES = List.of("hash", "windows", "prequential");
  private static final List<String> LOSSES = List.of("auto", "bce", "ce", "mse", "huber");
  private static final List<String> OFFSETS = List.of("earliest", "latest", "committed");
  private static final List<String> FEATURE_TYPES = PipelineSpec.Feature.TYPES;
  private static final List<String> DATE_PARTS =
      List.of("hour", "day-of-week", "day-of-month", "month", "weekend", "holiday");

  /** Hyper-parameter candidates: at most this many. */
  private static final int MAX_CANDIDATES = 32;

  private static final Pattern HOLIDAY = Pattern.compile("(\\d{4}-)?\\d{2}-\\d{2}");

  public static PipelineSpec load(Path file) throws IOException {
    return fromTree(readTree(file));
  }

  public static PipelineSpec parse(String yaml) {
    return fromTree(readTree(yaml, "spec"));
  }

  /** The YAML file as nested maps and lists, to adjust with {@link #override} before validating. */
  public static Map<String, Object> readTree(Path file) throws IOException {
    Map<String, Object> tree =
        readTree(Files.readString(file, StandardCharsets.UTF_8), file.toString());
    resolveSchemaFile(tree, file.toAbsolutePath().getParent());
    return tree;
  }

  /** A relative {@code source.schema.file} (and writer's) is relative to the spec file's folder. */
  private static void resolveSchemaFile(Map<String, Object> tree, Path folder) {
    if (tree.get("source") instanceof Map<?, ?> source
        && source.get("schema") instanceof Map<?, ?> schema) {
      resolveFile(schema, folder);
      if (schema.get("writers") instanceof List<?> writers) {
        for (Object writer : writers) {
          if (writer instanceof Map<?, ?> map) {
            resolveFile(map, folder);
          }
        }
      }
    }
  }

  @SuppressWarnings("unchecked")
  private static void resolveFile(Map<?, ?> node, Path folder) {
    if (node.get("file") instanceof String file && !Path.of(file).isAbsolute()) {
      ((Map<String, Object>) node).put("file", folder.resolve(file).normalize().toString());
    }
  }

  public static Map<String, Object> readTree(String yaml, String origin) {
    Object root;
    try {
      root = new Yaml(new SafeConstructor(new LoaderOptions())).load(yaml);
    } catch (YAMLException e) {
      throw new SpecException("(file)", origin, "not valid YAML: " + e.getMessage());
    }
    return new LinkedHashMap<>(Node.asMap("(top level)", root));
  }

  /** Validates a spec tree. */
  public static PipelineSpec fromTree(Map<String, Object> tree) {
    return withHash(read(Node.root(tree)));
  }

  /** Sets a dotted key such as {@code source.bootstrap-servers}, creating mappings on the way. */
  @SuppressWarnings("unchecked")
  public static void override(Map<String, Object> tree, String dottedKey, Object value) {
    String[] parts = dottedKey.split("\\.");
    Map<String, Object> current = tree;
    for (int i = 0; i < parts.length - 1; i++) {
      Object child = current.get(parts[i]);
      if (!(child instanceof Map)) {
        child = new LinkedHashMap<String, Object>();
        current.put(parts[i], child);
      } else if (!(child instanceof LinkedHashMap)) {
        child = new LinkedHashMap<>((Map<String, Object>) child);
        current.put(parts[i], child);
      }
      current = (Map<String, Object>) child;
    }
    current.put(parts[parts.length - 1], value);
  }

  private static PipelineSpec read(Node spec) {
    spec.allow(
        "name",
        "source",
        "label",
        "features",
        "dedup",
        "holdout",
        "model",
        "training",
        "backend",
        "cuda",
        "validation",
        "control",
        "publish",
        "store",
        "checkpoint",
        "segments",
        "candidates",
        "pruning");
    String name = spec.string("name", "model");
    if (!NAME.matcher(name).matches()) {
      throw new SpecException(
          "name",
          name,
          "use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit");
    }

    Node source = spec.child("source");
    source.allow(
        "bootstrap-servers",
        "topic",
        "group-id",
        "starting-offsets",
        "bounded",
        "dead-letter-topic",
        "dead-letter-delivery",
        "metrics-topic",
        "max-out-of-orderness",
        "idle-timeout",
        "max-record-bytes",
        "unknown-fields",
        "schema",
        "labels",
        "kafka");
    String topic = source.string("topic", "events");
    String unknownFields = source.oneOf("unknown-fields", "ignore", List.of("ignore", "refuse"));
    PipelineSpec.RecordSchema recordSchema =
        source.has("schema") ? recordSchema(source.child("schema")) : null;
    if (recordSchema != null && unknownFields.equals("refuse")) {
      throw new SpecException(
          source.key("unknown-fields"),
          unknownFields,
          "ignore: with source.schema the fields are those of the record schema");
    }
    PipelineSpec.Source sourceSpec =
        new PipelineSpec.Source(
            source.string("bootstrap-servers", "localhost:9092"),
            topic,
            source.string("group-id", "streamlearn-" + name),
            startingOffsets(source),
            source.bool("bounded", false),
            source.string("dead-letter-topic", topic + ".dead-letter"),
            source.string("metrics-topic", topic + ".metrics"),
            source.duration("max-out-of-orderness", "5s"),
            source.duration("idle-timeout", "30s"),
            (int) source.integer("max-record-bytes", 1 << 20, 64, 64L << 20),
            unknownFields,
            recordSchema,
            source.has("labels") ? labels(source.child("labels"), topic, recordSchema) : null,
            kafkaProperties(source),
            source.oneOf(
                "dead-letter-delivery", "at-least-once", List.of("at-least-once", "exactly-once")));
    if (sourceSpec.labelsFollow()) {
      String labelsTopic = sourceSpec.labels().topic();
      if (labelsTopic.equals(sourceSpec.deadLetterTopic())
          || labelsTopic.equals(sourceSpec.metricsTopic())) {
        throw new SpecException(
            "source.labels.topic",
            labelsTopic,
            "a topic other than source.dead-letter-topic and source.metrics-topic");
      }
    }

    Node label = spec.child("label");
    label.allow("task", "classes");
    String task = label.oneOf("task", "binary", TASKS);
    List<String> classes = label.stringList("classes");
    switch (task) {
      case "binary" -> {
        if (!classes.isEmpty() && (classes.size() != 2 || classes.get(0).equals(classes.get(1)))) {
          throw new SpecException(
              label.key("classes"),
              classes,
              "a binary task needs exactly two different class names, negative first (or none, for labels 0 and 1)");
        }
      }
      case "multiclass" -> {
        if (classes.size() < 2 || new HashSet<>(classes).size() != classes.size()) {
          throw new SpecException(
              label.key("classes"),
              classes.isEmpty() ? null : classes,
              "a multiclass task needs its class names, at least two, each once");
        }
      }
      default -> {
        if (!classes.isEmpty()) {
          throw new SpecException(
              label.key("classes"), classes, "a regression task has no classes; remove the key");
        }
      }
    }

    List<PipelineSpec.Feature> features = features(spec, "features");
    if (recordSchema != null) {
      checkRecordFields(recordSchema, spec.list("features"), features);
    }

    Node dedup = spec.child("dedup");
    dedup.allow("enabled", "ttl");
    Node holdout = spec.child("holdout");
    holdout.allow("policy", "fraction", "every", "label-delay", "max-pending");
    String holdoutPolicy = holdout.oneOf("policy", "hash", HOLDOUT_POLICIES);
    double fraction = holdout.number("fraction", 0.2, 0.0, 1.0);
    if (fraction >= 1.0) {
      throw new SpecException(
          holdout.key("fraction"),
          fraction,
          "a number in [0, 1): some events must be left to train on");
    }
    int every = (int) holdout.integer("every", 5, 2, 1_000_000);
    holdout.refuseUnread(
        "policy",
        holdoutPolicy,
        switch (holdoutPolicy) {
          case "hash" -> List.of("fraction");
          case "windows" -> List.of("every");
          default -> List.of("label-delay", "max-pending");
        });
    Node validation = spec.child("validation");
    validation.allow("window", "max-window-events", "metric");
    String fittingMetric = task.equals("regression") ? "mse" : "logLoss";
    String metric = validation.string("metric", fittingMetric);
    List<String> metrics =
        task.equals("regression")
            ? List.of("mse", "rmse", "mae", "r2")
            : task.equals("binary")
                ? List.of("logLoss", "accuracy", "auc", "prAuc", "f1", "precision", "recall")
                : List.of("logLoss", "accuracy", "macroF1", "weightedF1");
    if (!metrics.contains(metric)) {
      throw new SpecException(
          validation.key("metric"), metric, "for a " + task + " task one of " + metrics);
    }
    Node publish = spec.child("publish");
    publish.allow("policy", "margin", "min-held-out");
    Node store = spec.child("store");
    store.allow("uri", "keep");
    Node checkpoint = spec.child("checkpoint");
    checkpoint.allow("interval", "state-backend");
    if (sourceSpec.deadLettersExactlyOnce() && checkpoint.duration("interval", "10s").isZero()) {
      throw new SpecException(
          "source.dead-letter-delivery",
          "exactly-once",
          "at-least-once when checkpoint.interval is 0s: exactly-once commits each checkpoint's"
              + " refusals, and without checkpoints none would be committed");
    }
    List<PipelineSpec.Candidate> candidates = candidates(spec, name, task);

    return new PipelineSpec(
        name,
        sourceSpec,
        new PipelineSpec.Label(task, classes),
        features,
        new PipelineSpec.Dedup(
            dedup.bool("enabled", true),
            dedup.positiveDuration(
                "ttl",
                "1h",
                "a positive duration such as 10m or 1h (dedup.enabled: false turns deduplication"
                    + " off)")),
        new PipelineSpec.Holdout(
            holdoutPolicy,
            fraction,
            every,
            holdout.duration("label-delay", "0s"),
            (int) holdout.integer("max-pending", 100_000, 1, 10_000_000)),
        model(spec.child("model"), task, name),
        training(spec.child("training"), task),
        spec.oneOf("backend", "auto", Backends.NAMES),
        cuda(spec.child("cuda")),
        new PipelineSpec.Validation(
            validation.positiveDuration("window", "1m", "a positive duration such as 30s or 1m"),
            (int) validation.integer("max-window-events", 10_000, 1, 1_000_000),
            metric),
        control(spec.child("control")),
        new PipelineSpec.Publish(
            publish.oneOf("policy", "every-window", List.of("every-window", "gated")),
            publish.number("margin", 0.0, 0.0, 1e9),
            publish.integer("min-held-out", 100, 0, Long.MAX_VALUE)),
        new PipelineSpec.Store(
            store.string("uri", "models"), (int) store.integer("keep", 0, 0, 1_000_000)),
        new PipelineSpec.Checkpoint(
            checkpoint.duration("interval", "10s"),
            checkpoint.oneOf(
                "state-backend", "configured", PipelineSpec.Checkpoint.STATE_BACKENDS)),
        segments(spec, name, features),
        candidates,
        pruning(spec, candidates, sourceSpec),
        null);
  }

  /**
   * {@code pruning}: successive halving of the candidates, which needs candidates to prune and an
   * unbounded source (the window reports that decide come back on the metrics topic while the job
   * runs).
   */
  private static PipelineSpec.Pruning pruning(
      Node spec, List<PipelineSpec.Candidate> candidates, PipelineSpec.Source source) {
    if (!spec.has("pruning")) {
      return PipelineSpec.Pruning.NONE;
    }
    Node pruning = spec.child("pruning");
    pruning.allow("windows", "keep");
    int windows = (int) pruning.integer("windows", 3, 1, 1_000);
    if (candidates.size() < 2) {
      throw new SpecException(
          "pruning",
          "windows: " + windows,
          "pruning needs at least 2 candidates to choose between; list them under candidates");
    }
    int keep = (int) pruning.integer("keep", 1, 1, candidates.size() - 1);
    if (source.bounded()) {
      throw new SpecException(
          "source.bounded",
          true,
          "pruning needs an unbounded source (source.bounded: false): the window reports that"
              + " decide it come back on the metrics topic while the job runs");
    }
    return new PipelineSpec.Pruning(windows, keep);
  }

  /**
   * {@code candidates}: hyper-parameter sets trained side by side. Each one's {@code model} and
   * {@code training} mappings are laid over the spec's own, key by key, and validated as the spec's
   * are, under the candidate's key.
   */
  private static List<PipelineSpec.Candidate> candidates(Node spec, String name, String task) {
    if (!spec.has("candidates")) {
      return List.of();
    }
    boolean fromGrid = spec.values.get("candidates") instanceof Map<?, ?>;
    List<Node> items =
        fromGrid
            ? new Node(
                    "",
                    Map.of(
                        "candidates",
                        grid(Node.asMap("candidates", spec.values.get("candidates")))))
                .list("candidates")
            : spec.list("candidates");
    if (items.size() < 2 || items.size() > MAX_CANDIDATES) {
      throw new SpecException(
          "candidates",
          items.size() + " candidate" + (items.size() == 1 ? "" : "s"),
          "from 2 to "
              + MAX_CANDIDATES
              + " candidates: each a name and the model and training"
              + " settings it changes");
    }
    if (spec.has("segments")) {
      checkNameLeavesRoom(
          name, ModelRouter.MAX_BASE_LENGTH_BOTH, "segments and candidates", "segment's candidate");
    } else {
      checkNameLeavesRoom(name, ModelRouter.MAX_BASE_LENGTH, "candidates", "candidate");
    }
    Base base = new Base(name, task, spec.child("model"), spec.child("training").values);
    Set<String> names = new HashSet<>();
    List<PipelineSpec.Candidate> candidates = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      Node item = items.get(i);
      try {
        PipelineSpec.Candidate candidate = candidate(item, "c" + (i + 1), base);
        if (!names.add(candidate.name())) {
          throw new SpecException(item.key("name"), candidate.name(), "each candidate's name once");
        }
        candidates.add(candidate);
      } catch (SpecException e) {
        if (!fromGrid) {
          throw e;
        }
        Map<String, String> combination = new LinkedHashMap<>();
        flatten("model.", item.child("model").values, combination);
        flatten("training.", item.child("training").values, combination);
        throw e.within("candidate c" + (i + 1) + " of candidates.grid: " + combination);
      }
    }
    return List.copyOf(candidates);
  }

  /**
   * What candidates are laid over: the pipeline's name and task, and the spec's own {@code model}
   * and {@code training} mappings.
   */
  private record Base(String name, String task, Node model, Map<String, Object> training) {

    /** The spec's own model, where a warm start of every candidate comes from. */
    PipelineSpec.Model ownModel() {
      return SpecLoader.model(model, task, name);
    }

    /**
     * A warm start that names a model starts every candidate from it; one that names none starts
     * each candidate from its own model's version.
     */
    boolean warmFromOneModel() {
      return model.has("warm-start") && model.child("warm-start").has("model");
    }
  }

  /** One item of {@code candidates}: its settings laid over the spec's and validated. */
  private static PipelineSpec.Candidate candidate(Node item, String defaultName, Base base) {
    item.allow("name", "model", "training");
    String candidate = item.string("name", defaultName);
    if (!ModelRouter.isPlainName(candidate)) {
      throw new SpecException(item.key("name"), candidate, "1 to 31 letters, digits, '_' or '-'");
    }
    if (candidate.equals(PipelineSpec.BEST_CANDIDATE)) {
      throw new SpecException(
          item.key("name"),
          candidate,
          "another name: '"
              + PipelineSpec.BEST_CANDIDATE
              + "' means whichever candidate ranks first, where a candidate is chosen");
    }
    Node modelNode = item.child("model");
    if (modelNode.has("warm-start")) {
      throw new SpecException(
          modelNode.key("warm-start"),
          modelNode.values.get("warm-start"),
          "not per candidate: model.warm-start applies to every candidate");
    }
    Node trainingNode = item.child("training");
    Map<String, String> settings = new LinkedHashMap<>();
    flatten("model.", modelNode.values, settings);
    flatten("training.", trainingNode.values, settings);
    if (settings.isEmpty()) {
      throw new SpecException(
          item.key("name"), candidate, "a candidate that sets something under model or training");
    }
    PipelineSpec.Model model =
        model(
            new Node(modelNode.path, modelOf(base.model().values, modelNode.values)),
            base.task(),
            base.name());
    PipelineSpec.Training training =
        training(
            new Node(trainingNode.path, trainingOf(base.training(), trainingNode.values)),
            base.task());
    if (model.warmStart() != null && !base.warmFromOneModel()) {
      // Each candidate goes on from its own model's version.
      PipelineSpec.WarmStart own = model.warmStart();
      model =
          new PipelineSpec.Model(
              model.type(),
              model.hiddenLayers(),
              model.activation(),
              model.dropout(),
              model.loss(),
              model.huberDelta(),
              new PipelineSpec.WarmStart(
                  own.storeUri(), ModelRouter.modelName(base.name(), candidate), own.version()));
    } else if (model.warmStart() != null) {
      PipelineSpec.Model from = base.ownModel();
      if (!model.type().equals(from.type()) || !model.hiddenLayers().equals(from.hiddenLayers())) {
        throw new SpecException(
            modelNode.key(modelNode.has("hidden-layers") ? "hidden-layers" : "type"),
            modelNode.values.getOrDefault("hidden-layers", model.type()),
            "the network of model.warm-start.model "
                + from.warmStart().model()
                + ", whose version fills every candidate's parameters");
      }
    }
    return new PipelineSpec.Candidate(
        candidate, java.util.Collections.unmodifiableMap(settings), model, training);
  }

  /**
   * {@code candidates: {grid: {training.learning-rate: [0.01, 0.1], model.dropout: [0, 0.2]}}}: one
   * candidate for every combination of the listed values (the last key's values vary fastest),
   * named {@code c1}, {@code c2}, ...
   */
  private static List<Object> grid(Map<String, Object> candidates) {
    Node node = new Node("candidates", candidates);
    node.allow("grid");
    Map<String, Object> axes = node.child("grid").values;
    if (axes.isEmpty()) {
      throw new SpecException(
          "candidates.grid",
          null,
          "settings and their values, e.g. {training.learning-rate: [0.01, 0.1]}");
    }
    long combinations = 1;
    for (Map.Entry<String, Object> axis : axes.entrySet()) {
      String key = "candidates.grid." + axis.getKey();
      if (!axis.getKey().startsWith("model.") && !axis.getKey().startsWith("training.")) {
        throw new SpecException(
            key, axis.getValue(), "a key under model. or training., e.g. training.learning-rate");
      }
      if (!(axis.getValue() instanceof List<?> values) || values.isEmpty()) {
        throw new SpecException(key, axis.getValue(), "a list of the values to try");
      }
      combinations *= values.size();
      if (combinations > MAX_CANDIDATES) {
        throw new SpecException(
            "candidates.grid",
            axes.keySet(),
            "at most " + MAX_CANDIDATES + " combinations of values; these make more");
      }
    }
    List<Object> items = new ArrayList<>();
    List<String> keys = new ArrayList<>(axes.keySet());
    for (int n = 0; n < combinations; n++) {
      Map<String, Object> item = new LinkedHashMap<>();
      item.put("name", "c" + (n + 1));
      int[] index = new int[keys.size()];
      long rest = n;
      for (int k = keys.size() - 1; k >= 0; k--) {
        int size = ((List<?>) axes.get(keys.get(k))).size();
        index[k] = (int) (rest % size);
        rest /= size;
      }
      for (int k = 0; k < keys.size(); k++) {
        override(item, keys.get(k), ((List<?>) axes.get(keys.get(k))).get(index[k]));
      }
      items.add(item);
    }
    return items;
  }

  /** With segments or candidates, the pipeline's name leaves room for theirs in model names. */
  private static void checkNameLeavesRoom(String name, int most, String with, String each) {
    if (name.length() > most) {
      throw new SpecException(
          "name",
          name,
          "at most "
              + most
              + " characters with "
              + with
              + ", so that every "
              + each
              + "'s model name fits");
    }
  }

  /** The optimizer settings each optimizer reads (and sgd's {@code nesterov}). */
  private static final Map<String, List<String>> OPTIMIZER_SETTINGS =
      Map.of(
          "sgd", List.of("momentum", "nesterov"),
          "adam", List.of("beta1", "beta2", "epsilon"),
          "adamw", List.of("beta1", "beta2", "epsilon"),
          "rmsprop", List.of("beta2", "epsilon"),
          "adagrad", List.of("epsilon"));

  /** The schedule settings each schedule reads; every one reads {@code warmup-steps}. */
  private static final Map<String, List<String>> SCHEDULE_SETTINGS =
      Map.of(
          "constant", List.of("warmup-steps"),
          "step", List.of("every", "gamma", "warmup-steps"),
          "exponential", List.of("gamma", "warmup-steps"),
          "cosine", List.of("total-steps", "min-rate", "warmup-steps"));

  /**
   * A candidate's training settings over the spec's. Where the candidate changes the optimizer or
   * the schedule, the spec's settings of the one it replaces (sgd's momentum under a candidate's
   * adam) are left behind: they belong to the spec's, and the candidate's type would not read them.
   */
  private static Map<String, Object> trainingOf(
      Map<String, Object> base, Map<String, Object> candidate) {
    Map<String, Object> merged = layOver(base, candidate);
    for (var part :
        Map.of("optimizer", OPTIMIZER_SETTINGS, "schedule", SCHEDULE_SETTINGS).entrySet()) {
      if (merged.get(part.getKey()) instanceof Map<?, ?> settings
          && candidate.get(part.getKey()) instanceof Map<?, ?> own
          && own.get("type") != null) {
        List<String> read =
            part.getValue().getOrDefault(String.valueOf(own.get("type")), List.of());
        Map<String, Object> kept = Node.asMap(part.getKey(), settings);
        kept.keySet()
            .removeIf(key -> !key.equals("type") && !read.contains(key) && !own.containsKey(key));
        merged.put(part.getKey(), kept);
      }
    }
    return merged;
  }

  /**
   * A candidate's model settings over the spec's: a candidate of another type than mlp leaves the
   * spec's hidden layers, activation and dropout behind, one of another loss than huber its
   * huber-delta.
   */
  private static Map<String, Object> modelOf(
      Map<String, Object> base, Map<String, Object> candidate) {
    Map<String, Object> merged = layOver(base, candidate);
    List<String> leftBehind = new ArrayList<>();
    if (candidate.get("type") != null && !"mlp".equals(String.valueOf(candidate.get("type")))) {
      leftBehind.addAll(List.of("hidden-layers", "activation", "dropout"));
    }
    if (candidate.get("loss") != null && !"huber".equals(String.valueOf(candidate.get("loss")))) {
      leftBehind.add("huber-delta");
    }
    leftBehind.removeIf(candidate::containsKey);
    merged.keySet().removeAll(leftBehind);
    return merged;
  }

  /** {@code over} laid over {@code base}: mappings merge key by key, anything else replaces. */
  @SuppressWarnings("unchecked")
  private static Map<String, Object> layOver(Map<String, Object> base, Map<String, Object> over) {
    Map<String, Object> merged = new LinkedHashMap<>(base);
    over.forEach(
        (key, value) -> {
          if (value instanceof Map<?, ?> overMap && merged.get(key) instanceof Map<?, ?> baseMap) {
            merged.put(key, layOver(Node.asMap(key, baseMap), Node.asMap(key, overMap)));
          } else {
            merged.put(key, value);
          }
        });
    return merged;
  }

  /** Dotted keys (under {@code prefix}) and their values as written. */
  private static void flatten(String prefix, Map<String, Object> values, Map<String, String> into) {
    values.forEach(
        (key, value) -> {
          String dotted = prefix + key;
          if (value instanceof Map<?, ?> map) {
            flatten(dotted + ".", Node.asMap(dotted, map), into);
          } else {
            into.put(dotted, String.valueOf(value));
          }
        });
  }

  /** {@code segments}: one model per value of a categorical feature. */
  private static PipelineSpec.Segments segments(
      Node spec, String name, List<PipelineSpec.Feature> features) {
    if (!spec.has("segments")) {
      return PipelineSpec.Segments.NONE;
    }
    Node segments = spec.child("segments");
    segments.allow("by", "values", "others");
    String by = segments.requiredString("by");
    List<String> categorical =
        features.stream()
            .filter(f -> f.type().equals(PipelineSpec.Feature.CATEGORICAL))
            .map(PipelineSpec.Feature::name)
            .toList();
    if (!categorical.contains(by)) {
      throw new SpecException(
          segments.key("by"),
          by,
          categorical.isEmpty()
              ? "the name of a categorical feature, and the spec has none"
              : "the name of a categorical feature: one of " + categorical);
    }
    checkNameLeavesRoom(name, ModelRouter.MAX_BASE_LENGTH, "segments", "segment");
    List<String> values = segments.stringList("values");
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < values.size(); i++) {
      String value = values.get(i);
      if (value.isBlank() || !seen.add(value)) {
        throw new SpecException(
            segments.key("values") + "[" + i + "]",
            value,
            value.isBlank() ? "a non-empty value" : "each value once");
      }
    }
    String others = segments.string("others", null);
    if (others != null && seen.contains(others)) {
      throw new SpecException(
          segments.key("others"),
          others,
          "a segment name that is not one of segments.values, for the events of none of them");
    }
    return new PipelineSpec.Segments(by, values, others);
  }

  /** {@code source.labels}: the topic where labels of events sent without one arrive later. */
  private static PipelineSpec.Labels labels(
      Node node, String eventsTopic, PipelineSpec.RecordSchema recordSchema) {
    node.allow("topic", "max-wait");
    String topic = node.string("topic", eventsTopic + ".labels");
    if (topic.equals(eventsTopic)) {
      throw new SpecException(
          node.key("topic"),
          topic,
          "a topic other than source.topic: labels are EventLabel records on a topic of their own");
    }
    Duration maxWait =
        node.positiveDuration("max-wait", "1h", "a positive duration such as 10m or 1h");
    if (recordSchema != null && recordSchema.idField() == null) {
      throw new SpecException(
          node.key("topic"),
          topic,
          "source.schema.id set too: a label finds its event by the event's id, and without"
              + " source.schema.id an event's id is its Kafka partition and offset, which a label"
              + " cannot name");
    }
    return new PipelineSpec.Labels(topic, maxWait);
  }

  /**
   * {@code source.schema}: the producers' own Avro record schema and where an event's parts are.
   */
  private static PipelineSpec.RecordSchema recordSchema(Node node) {
    node.allow("file", "avro", "framing", "id", "timestamp", "label", "weight", "writers");
    Schema schema = avroSchema(node);
    if (schema.getType() != Schema.Type.RECORD) {
      throw new SpecException(
          schemaKey(node),
          schemaValue(node),
          "an Avro record schema; this one is a " + schema.getType().getName());
    }
    String framing = node.oneOf("framing", "single-object", PipelineSpec.RecordSchema.FRAMINGS);
    String[] paths = new String[4];
    String[] keys = {"id", "timestamp", "label", "weight"};
    for (int i = 0; i < keys.length; i++) {
      paths[i] = node.string(keys[i], keys[i].equals("label") ? "label" : null);
      if (paths[i] != null) {
        checkRecordField(schema, node.key(keys[i]), paths[i]);
      }
    }
    return new PipelineSpec.RecordSchema(
        schema.toString(),
        framing,
        paths[0],
        paths[1],
        paths[2],
        paths[3],
        writers(node, schema, framing));
  }

  /**
   * {@code source.schema.writers}: earlier schemas still on the topic, each readable as the schema,
   * told apart by fingerprint (single-object) or by their Confluent schema id.
   */
  private static List<PipelineSpec.WriterSchema> writers(Node node, Schema reader, String framing) {
    List<Node> nodes = node.list("writers");
    if (!nodes.isEmpty() && framing.equals("raw")) {
      throw new SpecException(
          node.key("writers"),
          nodes.size() + " schemas",
          "none with raw framing, where nothing tells the schemas apart; use single-object or"
              + " confluent");
    }
    List<PipelineSpec.WriterSchema> writers = new ArrayList<>();
    Set<Object> seen = new HashSet<>();
    seen.add(SchemaNormalization.parsingFingerprint64(reader));
    for (Node writer : nodes) {
      writer.allow("file", "avro", "id");
      Schema schema = avroSchema(writer);
      SchemaCompatibility.SchemaPairCompatibility compatibility =
          SchemaCompatibility.checkReaderWriterCompatibility(reader, schema);
      if (compatibility.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
        throw new SpecException(
            schemaKey(writer),
            schemaValue(writer),
            "a schema whose records can be read as "
                + reader.getFullName()
                + "; they cannot: "
                + String.join(
                    "; ",
                    compatibility.getResult().getIncompatibilities().stream()
                        .map(i -> i.getMessage() + " (at " + i.getLocation() + ")")
                        .toList()));
      }
      Integer id = null;
      if (framing.equals("confluent")) {
        id = (int) writer.integer("id", -1, 0, Integer.MAX_VALUE);
        if (id < 0) {
          throw new SpecException(
              writer.key("id"), null, "the Confluent schema id its records carry");
        }
        if (!seen.add(id)) {
          throw new SpecException(writer.key("id"), id, "each writer's id once");
        }
      } else if (writer.has("id")) {
        throw new SpecException(
            writer.key("id"),
            writer.string("id", null),
            "no id with single-object framing: the fingerprint tells the schema");
      } else if (!seen.add(SchemaNormalization.parsingFingerprint64(schema))) {
        throw new SpecException(
            schemaKey(writer),
            schemaValue(writer),
            "a schema listed once and other than source.schema's own");
      }
      writers.add(new PipelineSpec.WriterSchema(schema.toString(), id));
    }
    return List.copyOf(writers);
  }

  /** The key a schema is given by: {@code file} or {@code avro}. */
  private static String schemaKey(Node node) {
    return node.key(node.has("file") ? "file" : "avro");
  }

  private static String schemaValue(Node node) {
    return node.string(node.has("file") ? "file" : "avro", null);
  }

  /** An Avro schema from {@code file} (an .avsc) or {@code avro} (its JSON), exactly one. */
  private static Schema avroSchema(Node node) {
    String file = node.string("file", null);
    String inline = node.string("avro", null);
    if ((file == null) == (inline == null)) {
      throw new SpecException(
          node.key(file == null ? "file" : "avro"),
          file == null ? null : inline,
          "either file (an Avro schema file, .avsc) or avro (the schema's JSON), one of them");
    }
    String json = inline;
    if (file != null) {
      try {
        json = Files.readString(Path.of(file), StandardCharsets.UTF_8);
      } catch (IOException | RuntimeException e) {
        throw new SpecException(
            schemaKey(node), file, "a readable Avro schema file (.avsc); reading it failed: " + e);
      }
    }
    try {
      return new Schema.Parser().parse(json);
    } catch (SchemaParseException | NullPointerException e) {
      throw new SpecException(
          schemaKey(node), schemaValue(node), "an Avro schema (JSON): " + e.getMessage());
    }
  }

  /** Every field a feature reads is in the record schema and holds something it can read. */
  private static void checkRecordFields(
      PipelineSpec.RecordSchema recordSchema,
      List<Node> nodes,
      List<PipelineSpec.Feature> features) {
    Schema schema = RecordEventDecoder.parse(recordSchema);
    for (int i = 0; i < features.size(); i++) {
      PipelineSpec.Feature feature = features.get(i);
      String key =
          nodes
              .get(i)
              .key(
                  switch (feature.type()) {
                    case PipelineSpec.Feature.DATETIME -> "field";
                    case PipelineSpec.Feature.CROSS -> "fields";
                    default -> "name";
                  });
      for (String field : feature.rawFields()) {
        checkRecordField(schema, key, field);
      }
    }
  }

  private static void checkRecordField(Schema schema, String key, String path) {
    try {
      RecordField.resolve(schema, path);
    } catch (IllegalArgumentException e) {
      throw new SpecException(key, path, e.getMessage());
    }
  }

  private static PipelineSpec.Model model(Node model, String task, String name) {
    model.allow(
        "type", "hidden-layers", "activation", "dropout", "loss", "huber-delta", "warm-start");
    String fitting =
        switch (task) {
          case "binary" -> "logistic";
          case "multiclass" -> "softmax";
          default -> "linear";
        };
    String type = model.oneOf("type", fitting, MODELS);
    if (!type.equals("mlp") && !type.equals(fitting)) {
      throw new SpecException(
          model.key("type"), type, "a " + task + " task takes " + fitting + " or mlp");
    }
    List<Integer> hidden = new ArrayList<>();
    for (String width : model.stringList("hidden-layers")) {
      int units;
      try {
        units = Integer.parseInt(width);
      } catch (NumberFormatException e) {
        units = -1;
      }
      if (units < 1 || units > 65536) {
        throw new SpecException(
            model.key("hidden-layers"), width, "layer widths are whole numbers in [1, 65536]");
      }
      hidden.add(units);
    }
    if (!type.equals("mlp") && !hidden.isEmpty()) {
      throw new SpecException(model.key("hidden-layers"), hidden, "only an mlp has hidden layers");
    }
    for (String mlpOnly : List.of("activation", "dropout")) {
      if (!type.equals("mlp") && model.has(mlpOnly)) {
        throw new SpecException(
            model.key(mlpOnly),
            model.values.get(mlpOnly),
            "only an mlp has hidden layers, which this acts on; model.type is " + type);
      }
    }
    if (type.equals("mlp") && hidden.isEmpty()) {
      throw new SpecException(
          model.key("hidden-layers"),
          null,
          "an mlp needs at least one hidden layer, e.g. [64, 32]");
    }
    String fittingLoss =
        switch (task) {
          case "binary" -> "bce";
          case "multiclass" -> "ce";
          default -> "mse";
        };
    String loss = model.oneOf("loss", "auto", LOSSES);
    if (loss.equals("auto")) {
      loss = fittingLoss;
    }
    boolean fits = loss.equals(fittingLoss) || task.equals("regression") && loss.equals("huber");
    if (!fits) {
      throw new SpecException(
          model.key("loss"),
          loss,
          "a "
              + task
              + " task takes "
              + (task.equals("regression") ? "mse or huber" : fittingLoss));
    }
    if (!loss.equals("huber") && model.has("huber-delta")) {
      throw new SpecException(
          model.key("huber-delta"),
          model.values.get("huber-delta"),
          "read by model.loss huber only; the loss here is " + loss);
    }
    PipelineSpec.WarmStart warmStart = null;
    if (model.has("warm-start")) {
      Node warm = model.child("warm-start");
      warm.allow("store", "model", "version");
      warmStart =
          new PipelineSpec.WarmStart(
              warm.string("store", null),
              warm.string("model", name),
              warm.string("version", "latest"));
    }
    return new PipelineSpec.Model(
        type,
        hidden,
        model.oneOf("activation", "relu", ACTIVATIONS),
        model.number("dropout", 0.0, 0.0, 0.9),
        loss,
        model.number("huber-delta", 1.0, 1e-9, 1e9),
        warmStart);
  }

  /** Kafka client settings the pipeline sets itself, each with the key that sets it instead. */
  private static final Map<String, String> KAFKA_SET_ELSEWHERE =
      Map.of(
          "bootstrap.servers", "source.bootstrap-servers",
          "group.id", "source.group-id",
          "key.serializer", "the pipeline's own serializers",
          "value.serializer", "the pipeline's own serializers",
          "key.deserializer", "the pipeline's own deserializers",
          "value.deserializer", "the pipeline's own deserializers",
          "transactional.id", "score-stream --delivery exactly-once");

  private static final Pattern ENVIRONMENT_VARIABLE =
      Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)}");

  /**
   * {@code source.kafka}: Kafka client settings, each a scalar; {@code ${NAME}} in a value is the
   * environment variable NAME of the process that loads the spec (so that secrets stay out of the
   * file).
   */
  private static PipelineSpec.KafkaProperties kafkaProperties(Node source) {
    if (!source.has("kafka")) {
      return PipelineSpec.KafkaProperties.NONE;
    }
    Node kafka = source.child("kafka");
    Map<String, String> values = new java.util.TreeMap<>();
    for (String key : kafka.keys()) {
      if (KAFKA_SET_ELSEWHERE.containsKey(key)) {
        throw new SpecException(
            kafka.key(key), kafka.raw(key), "set by " + KAFKA_SET_ELSEWHERE.get(key) + " instead");
      }
      Object raw = kafka.raw(key);
      if (raw == null || raw instanceof Map || raw instanceof List) {
        throw new SpecException(
            kafka.key(key), raw, "a Kafka client setting's value (text or a number)");
      }
      Matcher variables = ENVIRONMENT_VARIABLE.matcher(String.valueOf(raw));
      StringBuilder value = new StringBuilder();
      while (variables.find()) {
        String set = System.getenv(variables.group(1));
        if (set == null) {
          throw new SpecException(
              kafka.key(key), raw, "environment variable " + variables.group(1) + " is not set");
        }
        variables.appendReplacement(value, Matcher.quoteReplacement(set));
      }
      variables.appendTail(value);
      values.put(key, value.toString());
    }
    return new PipelineSpec.KafkaProperties(values);
  }

  /**
   * {@code source.starting-offsets}: earliest, latest, committed, or a time (ISO-8601, quoted or
   * not), returned as the instant's ISO-8601 text.
   */
  private static String startingOffsets(Node source) {
    Object raw = source.values.get("starting-offsets");
    if (raw instanceof java.util.Date date) {
      // YAML reads an unquoted time as a timestamp.
      return date.toInstant().toString();
    }
    String value = source.string("starting-offsets", "earliest");
    if (OFFSETS.contains(value)) {
      return value;
    }
    try {
      return java.time.Instant.parse(value).toString();
    } catch (java.time.format.DateTimeParseException e) {
      throw new SpecException(
          source.key("starting-offsets"),
          value,
          "one of "
              + OFFSETS
              + ", or a time in ISO-8601 such as 2026-11-01T00:00:00Z (each partition from its"
              + " first record at or after it)");
    }
  }

  private static PipelineSpec.Control control(Node control) {
    control.allow("plateau", "early-stopping", "drift", "input-drift");
    Node plateau = control.child("plateau");
    plateau.allow("patience", "factor", "min-delta", "min-rate");
    Node early = control.child("early-stopping");
    early.allow("patience");
    Node drift = control.child("drift");
    drift.allow(
        "detector", "delta", "threshold", "alpha", "min-events", "reaction", "raise-factor");
    String detector = drift.oneOf("detector", "none", List.of("none", "adwin", "page-hinkley"));
    // raise-factor serves an input-drift reaction too. A detector turned off (none) keeps the
    // settings it had, to be turned on again.
    if (!detector.equals("none")) {
      drift.refuseUnread(
          "detector",
          detector,
          detector.equals("adwin")
              ? List.of("delta", "min-events", "reaction", "raise-factor")
              : List.of("threshold", "alpha", "min-events", "reaction", "raise-factor"));
    }
    Node inputDrift = control.child("input-drift");
    inputDrift.allow("threshold", "reaction");
    return new PipelineSpec.Control(
        (int) plateau.integer("patience", 0, 0, 1_000_000),
        plateau.number("factor", 0.5, 1e-6, 1.0),
        plateau.number("min-delta", 0.0, 0.0, 1e9),
        plateau.number("min-rate", 1e-6, 0.0, 100.0),
        (int) early.integer("patience", 0, 0, 1_000_000),
        detector,
        drift.number("delta", 0.002, 1e-12, 0.5),
        drift.number("threshold", 100.0, 1e-6, 1e9),
        drift.number("alpha", 0.005, 0.0, 1.0),
        drift.integer("min-events", 30, 1, Long.MAX_VALUE),
        drift.oneOf("reaction", "challenger", REACTIONS),
        drift.number("raise-factor", 5.0, 1.0, 1000.0),
        inputDrift.number("threshold", 0.0, 0.0, 1000.0),
        inputDrift.oneOf("reaction", "challenger", REACTIONS));
  }

  private static final List<String> REACTIONS =
      List.of("reset-optimizer", "raise-learning-rate", "challenger");

  private static PipelineSpec.Cuda cuda(Node cuda) {
    cuda.allow("device", "precision", "cpu-backend");
    return new PipelineSpec.Cuda(
        (int) cuda.integer("device", 0, 0, 1023),
        cuda.oneOf("precision", "fp32", dev.streamlearn.core.device.Precision.NAMES),
        cuda.oneOf("cpu-backend", "nd4j", Backends.CPU_NAMES));
  }

  /**
   * The learning rate where the spec gives none: 0.1, and 0.01 for regression, whose squared error
   * on correlated inputs diverges at 0.1 ({@code demo --input wdbc.csv --label mean_area} with a
   * spec of {@code label: {task: regression}} and {@code candidates: {grid:
   * {training.learning-rate: [0.01, 0.1], training.optimizer.type: [sgd, adam]}}}: sgd's held-out
   * RMSE 2,601 at 0.1, 100 at 0.01).
   */
  static double defaultLearningRate(String task) {
    return task.equals("regression") ? 0.01 : 0.1;
  }

  private static PipelineSpec.Training training(Node training, String task) {
    training.allow(
        "batch-size",
        "max-batch-delay",
        "learning-rate",
        "schedule",
        "optimizer",
        "l1",
        "l2",
        "weight-decay",
        "clip-norm",
        "seed");
    double rate = training.number("learning-rate", defaultLearningRate(task), 1e-9, 100.0);
    Node schedule = training.child("schedule");
    schedule.allow("type", "every", "gamma", "total-steps", "min-rate", "warmup-steps");
    Node optimizer = training.child("optimizer");
    optimizer.allow("type", "momentum", "nesterov", "beta1", "beta2", "epsilon");
    String optimizerType = optimizer.oneOf("type", "sgd", OptimizerSettings.TYPES);
    optimizer.refuseUnread("type", optimizerType, OPTIMIZER_SETTINGS.get(optimizerType));
    String scheduleType = schedule.oneOf("type", "constant", LearningRateSchedule.TYPES);
    schedule.refuseUnread("type", scheduleType, SCHEDULE_SETTINGS.get(scheduleType));
    double momentum = optimizer.number("momentum", 0.0, 0.0, 0.999);
    boolean nesterov = optimizer.bool("nesterov", false);
    if (nesterov && momentum == 0) {
      throw new SpecException(
          optimizer.key("nesterov"),
          true,
          "Nesterov's momentum needs training.optimizer.momentum above 0 (e.g. 0.9)");
    }
    return new PipelineSpec.Training(
        (int) training.integer("batch-size", 64, 1, 65536),
        training.duration("max-batch-delay", "0s"),
        new LearningRateSchedule(
            scheduleType,
            rate,
            schedule.integer("every", 1000, 1, Long.MAX_VALUE),
            schedule.number("gamma", 0.5, 1e-9, 1.0),
            schedule.integer("total-steps", 10_000, 1, Long.MAX_VALUE),
            schedule.number("min-rate", 0.0, 0.0, rate),
            schedule.integer("warmup-steps", 0, 0, Long.MAX_VALUE)),
        new OptimizerSettings(
            optimizerType,
            momentum,
            nesterov,
            optimizer.number("beta1", 0.9, 0.0, 0.9999),
            optimizer.number("beta2", 0.999, 0.0, 0.99999),
            optimizer.number("epsilon", 1e-8, 1e-12, 1.0),
            training.number("l1", 0.0, 0.0, 100.0),
            training.number("l2", 1e-4, 0.0, 100.0),
            training.number("weight-decay", 0.0, 0.0, 100.0),
            training.number("clip-norm", 0.0, 0.0, 1e9)),
        training.integer("seed", 42, Long.MIN_VALUE, Long.MAX_VALUE));
  }

  /**
   * Features as written in a spec, or in the {@code rules} of a {@code featurizer.json} (which
   * serving code reads back with the same checks).
   */
  public static List<PipelineSpec.Feature> parseFeatures(Object list, String key) {
    Map<String, Object> holder = new LinkedHashMap<>();
    holder.put(key, list);
    return features(new Node("", holder), key);
  }

  /** A feature written back with every key explicit; {@link #parseFeatures} reads it back equal. */
  public static Map<String, Object> featureTree(PipelineSpec.Feature feature) {
    Map<String, Object> tree = new LinkedHashMap<>();
    tree.put("name", feature.name());
    tree.put("type", feature.type());
    PipelineSpec.Missing missing = feature.missing();
    if (!feature.type().equals(PipelineSpec.Feature.PCA)) {
      tree.put("missing", missing.policy());
    }
    if (missing.policy().equals("constant")) {
      tree.put("fill", feature.readsNumber() ? missing.fill() : missing.fillCategory());
    }
    if (!feature.type().equals(PipelineSpec.Feature.CROSS)
        && !feature.type().equals(PipelineSpec.Feature.PCA)) {
      tree.put("missing-indicator", missing.indicator());
    }
    switch (feature.type()) {
      case PipelineSpec.Feature.NUMERIC -> {
        PipelineSpec.NumericRules rules = feature.numeric();
        tree.put("non-finite", rules.nonFinite());
        if (rules.min() != Double.NEGATIVE_INFINITY || rules.max() != Double.POSITIVE_INFINITY) {
          tree.put("range", List.of(rules.min(), rules.max()));
        }
        tree.put("outliers", rules.outliers());
        if (rules.outliers().equals("clip")) {
          tree.put("clip-std", rules.clipStd());
        } else if (rules.outliers().equals("winsorize")) {
          tree.put("winsorize", List.of(rules.lowerQuantile(), rules.upperQuantile()));
        }
        tree.put("scale", rules.scale());
      }
      case PipelineSpec.Feature.CATEGORICAL -> {
        PipelineSpec.CategoricalRules rules = feature.categorical();
        tree.put("encoding", rules.encoding());
        if (rules.oneHot()) {
          tree.put("vocabulary-size", rules.vocabularySize());
          tree.put("min-count", rules.minCount());
        } else {
          tree.put("hash-buckets", rules.hashBuckets());
        }
      }
      case PipelineSpec.Feature.DATETIME -> {
        PipelineSpec.DateTimeRules rules = feature.dateTime();
        if (rules.field() != null) {
          tree.put("field", rules.field());
        }
        tree.put("parts", rules.parts());
        tree.put("cyclic", rules.cyclic());
        tree.put("time-zone", rules.timeZone());
        tree.put("holidays", rules.holidays());
      }
      case PipelineSpec.Feature.PCA -> {
        tree.put("fields", feature.pca().fields());
        tree.put("components", feature.pca().components());
      }
      default -> {
        tree.put("fields", feature.crossed());
        tree.put("hash-buckets", feature.categorical().hashBuckets());
      }
    }
    return tree;
  }

  private static List<PipelineSpec.Feature> features(Node spec, String key) {
    List<Node> nodes = spec.list(key);
    if (nodes.isEmpty()) {
      throw new SpecException(
          key,
          null,
          "list at least one feature, each with a name and a type (" + FEATURE_TYPES + ")");
    }
    List<PipelineSpec.Feature> features = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (Node feature : nodes) {
      String featureName = feature.requiredString("name");
      if (!seen.add(featureName)) {
        throw new SpecException(
            feature.key("name"), featureName, "each feature name may appear once");
      }
      PipelineSpec.Feature parsed = feature(feature, featureName);
      if (parsed.pca() != null) {
        for (String field : parsed.pca().fields()) {
          boolean numericBefore =
              features.stream()
                  .anyMatch(
                      earlier ->
                          earlier.name().equals(field)
                              && earlier.type().equals(PipelineSpec.Feature.NUMERIC));
          if (!numericBefore) {
            throw new SpecException(
                feature.key("fields"), field, "each a numeric feature listed before this one");
          }
        }
      }
      features.add(parsed);
    }
    return List.copyOf(features);
  }

  private static PipelineSpec.Feature feature(Node f, String name) {
    String type = f.oneOf("type", null, FEATURE_TYPES);
    switch (type) {
      case PipelineSpec.Feature.NUMERIC -> {
        f.allow(
            "name",
            "type",
            "missing",
            "fill",
            "missing-indicator",
            "non-finite",
            "range",
            "outliers",
            "clip-std",
            "winsorize",
            "scale");
        String policy =
            f.oneOf("missing", "mean", List.of("mean", "median", "zero", "constant", "drop"));
        double fill = Double.NaN;
        if (policy.equals("constant")) {
          if (!f.has("fill")) {
            throw new SpecException(f.key("fill"), null, "required with missing: constant");
          }
          fill = f.number("fill", 0, -Double.MAX_VALUE, Double.MAX_VALUE);
        } else if (f.has("fill")) {
          throw new SpecException(
              f.key("fill"), f.values.get("fill"), "only with missing: constant");
        }
        double[] range =
            f.numberPair("range", Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, false);
        double[] winsorize = f.numberPair("winsorize", 0.01, 0.99, true);
        String outliers = f.oneOf("outliers", "clip", List.of("none", "clip", "winsorize"));
        if (f.has("winsorize") && !outliers.equals("winsorize")) {
          throw new SpecException(
              f.key("winsorize"), f.values.get("winsorize"), "only with outliers: winsorize");
        }
        if (f.has("clip-std") && !outliers.equals("clip")) {
          throw new SpecException(
              f.key("clip-std"), f.values.get("clip-std"), "only with outliers: clip");
        }
        return new PipelineSpec.Feature(
            name,
            type,
            new PipelineSpec.Missing(policy, fill, null, f.bool("missing-indicator", false)),
            new PipelineSpec.NumericRules(
                f.oneOf("non-finite", "refuse", List.of("refuse", "missing")),
                range[0],
                range[1],
                outliers,
                f.number("clip-std", 5.0, 0.1, 1e6),
                winsorize[0],
                winsorize[1],
                f.oneOf("scale", "standard", List.of("standard", "minmax", "robust", "none"))),
            null,
            null,
            null,
            null);
      }
      case PipelineSpec.Feature.CATEGORICAL -> {
        f.allow(
            "name",
            "type",
            "encoding",
            "vocabulary-size",
            "min-count",
            "hash-buckets",
            "missing",
            "fill",
            "missing-indicator");
        String encoding =
            f.oneOf(
                "encoding", f.has("hash-buckets") ? "hash" : "one-hot", List.of("one-hot", "hash"));
        if (encoding.equals("one-hot") && f.has("hash-buckets")) {
          throw new SpecException(
              f.key("hash-buckets"), f.values.get("hash-buckets"), "only with encoding: hash");
        }
        if (encoding.equals("hash") && (f.has("vocabulary-size") || f.has("min-count"))) {
          throw new SpecException(
              f.key(f.has("min-count") ? "min-count" : "vocabulary-size"),
              f.values.get(f.has("min-count") ? "min-count" : "vocabulary-size"),
              "only with encoding: one-hot");
        }
        String policy =
            f.oneOf("missing", "empty", List.of("empty", "most-frequent", "constant", "drop"));
        String fill = null;
        if (policy.equals("constant")) {
          fill = f.requiredString("fill");
        } else if (f.has("fill")) {
          throw new SpecException(
              f.key("fill"), f.values.get("fill"), "only with missing: constant");
        }
        return new PipelineSpec.Feature(
            name,
            type,
            new PipelineSpec.Missing(policy, Double.NaN, fill, f.bool("missing-indicator", false)),
            null,
            new PipelineSpec.CategoricalRules(
                encoding,
                (int) f.integer("vocabulary-size", 32, 1, 65_536),
                f.integer("min-count", 1, 1, Long.MAX_VALUE),
                (int) f.integer("hash-buckets", 32, 1, 1 << 20)),
            null,
            null,
            null);
      }
      case PipelineSpec.Feature.DATETIME -> {
        f.allow(
            "name",
            "type",
            "field",
            "parts",
            "cyclic",
            "time-zone",
            "holidays",
            "missing",
            "missing-indicator");
        List<String> parts =
            f.has("parts")
                ? f.stringList("parts")
                : List.of("hour", "day-of-week", "month", "weekend");
        if (parts.isEmpty()) {
          throw new SpecException(f.key("parts"), parts, "at least one of " + DATE_PARTS);
        }
        for (String part : parts) {
          if (!DATE_PARTS.contains(part)) {
            throw new SpecException(f.key("parts"), part, "each one of " + DATE_PARTS);
          }
        }
        List<String> holidays = f.stringList("holidays");
        for (String day : holidays) {
          if (!HOLIDAY.matcher(day).matches() || !validDay(day)) {
            throw new SpecException(
                f.key("holidays"), day, "dates written MM-DD (every year) or YYYY-MM-DD");
          }
        }
        if (parts.contains("holiday") && holidays.isEmpty()) {
          throw new SpecException(
              f.key("holidays"), null, "the holiday part needs a calendar: list the holidays");
        }
        String zone = f.string("time-zone", "UTC");
        try {
          java.time.ZoneId.of(zone);
        } catch (java.time.DateTimeException e) {
          throw new SpecException(
              f.key("time-zone"), zone, "a time-zone id such as UTC or Europe/Berlin");
        }
        return new PipelineSpec.Feature(
            name,
            type,
            new PipelineSpec.Missing(
                f.oneOf("missing", "empty", List.of("empty", "drop")),
                Double.NaN,
                null,
                f.bool("missing-indicator", false)),
            null,
            null,
            new PipelineSpec.DateTimeRules(
                f.string("field", null),
                List.copyOf(parts),
                f.bool("cyclic", true),
                zone,
                List.copyOf(holidays)),
            null,
            null);
      }
      case PipelineSpec.Feature.PCA -> {
        f.allow("name", "type", "fields", "components");
        List<String> fields = f.stringList("fields");
        if (fields.size() < 2 || new HashSet<>(fields).size() != fields.size()) {
          throw new SpecException(
              f.key("fields"), fields, "two or more different numeric features listed before");
        }
        return new PipelineSpec.Feature(
            name,
            type,
            new PipelineSpec.Missing("empty", Double.NaN, null, false),
            null,
            null,
            null,
            null,
            new PipelineSpec.PcaRules(
                List.copyOf(fields), (int) f.integer("components", 2, 1, fields.size())));
      }
      default -> {
        f.allow("name", "type", "fields", "hash-buckets", "missing");
        List<String> fields = f.stringList("fields");
        if (fields.size() < 2 || new HashSet<>(fields).size() != fields.size()) {
          throw new SpecException(f.key("fields"), fields, "two or more different field names");
        }
        return new PipelineSpec.Feature(
            name,
            type,
            new PipelineSpec.Missing(
                f.oneOf("missing", "empty", List.of("empty", "drop")), Double.NaN, null, false),
            null,
            new PipelineSpec.CategoricalRules(
                "hash", 0, 1, (int) f.integer("hash-buckets", 64, 1, 1 << 20)),
            null,
            List.copyOf(fields),
            null);
      }
    }
  }

  private static boolean validDay(String day) {
    try {
      if (day.length() == 5) {
        java.time.MonthDay.parse("--" + day);
      } else {
        java.time.LocalDate.parse(day);
      }
      return true;
    } catch (java.time.DateTimeException e) {
      return false;
    }
  }

  /** The same spec with its hash: sha256 over its canonical rendering. */
  static PipelineSpec withHash(PipelineSpec s) {
    String hash = sha256(s.toString());
    return new PipelineSpec(
        s.name(),
        s.source(),
        s.label(),
        s.features(),
        s.dedup(),
        s.holdout(),
        s.model(),
        s.training(),
        s.backend(),
        s.cuda(),
        s.validation(),
        s.control(),
        s.publish(),
        s.store(),
        s.checkpoint(),
        s.segments(),
        s.candidates(),
        s.pruning(),
        hash);
  }

  /** Parses {@code 500ms}, {@code 10s}, {@code 5m}, {@code 1h}, {@code 2d}. */
  public static Duration parseDuration(String key, String text) {
    Matcher matcher = DURATION.matcher(text.trim());
    if (!matcher.matches()) {
      throw new SpecException(key, text, "a duration such as 500ms, 10s, 5m, 1h or 2d");
    }
    long amount = Long.parseLong(matcher.group(1));
    return switch (matcher.group(2)) {
      case "ms" -> Duration.ofMillis(amount);
      case "s" -> Duration.ofSeconds(amount);
      case "m" -> Duration.ofMinutes(amount);
      case "h" -> Duration.ofHours(amount);
      default -> Duration.ofDays(amount);
    };
  }

  private static String sha256(String text) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A YAML mapping with its dotted path, reading typed values with their checks. */
  private static final class Node {
    private final String path;
    private final Map<String, Object> values;

    private Node(String path, Map<String, Object> values) {
      this.path = path;
      this.values = values;
    }

    static Node root(Object value) {
      return new Node("", asMap("(top level)", value));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(String key, Object value) {
      if (value == null) {
        return Map.of();
      }
      if (!(value instanceof Map<?, ?> map)) {
        throw new SpecException(key, value, "a mapping of keys to values");
      }
      Map<String, Object> copy = new LinkedHashMap<>();
      map.forEach((k, v) -> copy.put(String.valueOf(k), v));
      return copy;
    }

    String key(String name) {
      return path.isEmpty() ? name : path + "." + name;
    }

    void allow(String... names) {
      Set<String> allowed = new TreeSet<>(List.of(names));
      for (String present : values.keySet()) {
        if (!allowed.contains(present)) {
          throw new SpecException(
              key(present), values.get(present), "unknown key; allowed here: " + allowed);
        }
      }
    }

    /**
     * Refuses a setting that {@code choice}, this mapping's value of {@code choosing}, does not
     * read, which would otherwise be taken and ignored.
     */
    void refuseUnread(String choosing, String choice, List<String> read) {
      for (String present : values.keySet()) {
        if (!present.equals(choosing) && !read.contains(present)) {
          throw new SpecException(
              key(present),
              values.get(present),
              "not read by "
                  + key(choosing)
                  + " '"
                  + choice
                  + "'"
                  + (read.isEmpty() ? ", which takes no settings" : ", which reads " + read)
                  + "; remove it or choose a "
                  + choosing
                  + " that reads it");
        }
      }
    }

    boolean has(String name) {
      return values.containsKey(name);
    }

    /** The keys present here, in the file's order. */
    List<String> keys() {
      return List.copyOf(values.keySet());
    }

    /** A value as the file has it. */
    Object raw(String name) {
      return values.get(name);
    }

    Node child(String name) {
      return new Node(key(name), asMap(key(name), values.get(name)));
    }

    List<Node> list(String name) {
      Object value = values.get(name);
      if (value == null) {
        return List.of();
      }
      if (!(value instanceof List<?> items)) {
        throw new SpecException(key(name), value, "a list");
      }
      List<Node> nodes = new ArrayList<>();
      for (int i = 0; i < items.size(); i++) {
        String itemKey = key(name) + "[" + i + "]";
        nodes.add(new Node(itemKey, asMap(itemKey, items.get(i))));
      }
      return nodes;
    }

    String string(String name, String fallback) {
      Object value = values.get(name);
      if (value == null) {
        return fallback;
      }
      if (value instanceof Map || value instanceof List) {
        throw new SpecException(key(name), value, "a single value");
      }
      String text = String.valueOf(value).trim();
      if (text.isEmpty()) {
        throw new SpecException(key(name), text, "a non-empty value");
      }
      return text;
    }

    String requiredString(String name) {
      String value = string(name, null);
      if (value == null) {
        throw new SpecException(key(name), null, "required");
      }
      return value;
    }

    String oneOf(String name, String fallback, List<String> allowed) {
      String value = string(name, fallback);
      if (value == null || !allowed.contains(value)) {
        throw new SpecException(key(name), value, "one of " + allowed);
      }
      return value;
    }

    List<String> stringList(String name) {
      Object value = values.get(name);
      if (value == null) {
        return List.of();
      }
      if (!(value instanceof List<?> items)) {
        throw new SpecException(key(name), value, "a list of names");
      }
      for (int i = 0; i < items.size(); i++) {
        if (items.get(i) instanceof Boolean || items.get(i) == null) {
          throw new SpecException(
              key(name) + "[" + i + "]",
              items.get(i),
              "a name; YAML reads unquoted yes, no, true, false, on and off as booleans, so quote"
                  + " such names ('yes')");
        }
      }
      return items.stream().map(String::valueOf).toList();
    }

    boolean bool(String name, boolean fallback) {
      Object value = values.get(name);
      if (value == null) {
        return fallback;
      }
      if (!(value instanceof Boolean b)) {
        throw new SpecException(key(name), value, "true or false");
      }
      return b;
    }

    double number(String name, double fallback, double min, double max) {
      Object value = values.get(name);
      if (value == null) {
        return fallback;
      }
      if (!(value instanceof Number number) || !Double.isFinite(number.doubleValue())) {
        throw new SpecException(key(name), value, "a number in [" + min + ", " + max + "]");
      }
      double d = number.doubleValue();
      if (d < min || d > max) {
        throw new SpecException(key(name), value, "a number in [" + min + ", " + max + "]");
      }
      return d;
    }

    long integer(String name, long fallback, long min, long max) {
      Object value = values.get(name);
      if (value == null) {
        return fallback;
      }
      if (!(value instanceof Integer
          || value instanceof Long
          || value instanceof java.math.BigInteger)) {
        throw new SpecException(key(name), value, "a whole number in [" + min + ", " + max + "]");
      }
      long n = ((Number) value).longValue();
      if (n < min || n > max) {
        throw new SpecException(key(name), value, "a whole number in [" + min + ", " + max + "]");
      }
      return n;
    }

    /** Two ascending numbers, {@code [low, high]}; within [0, 1] when {@code fraction}. */
    double[] numberPair(String name, double low, double high, boolean fraction) {
      Object value = values.get(name);
      if (value == null) {
        return new double[] {low, high};
      }
      String allowed =
          fraction
              ? "two quantiles [low, high] with 0 <= low < high <= 1"
              : "two numbers [min, max] with min < max";
      if (!(value instanceof List<?> items)
          || items.size() != 2
          || !(items.get(0) instanceof Number a)
          || !(items.get(1) instanceof Number b)
          || !(a.doubleValue() < b.doubleValue())
          || (fraction && (a.doubleValue() < 0 || b.doubleValue() > 1))) {
        throw new SpecException(key(name), value, allowed);
      }
      return new double[] {a.doubleValue(), b.doubleValue()};
    }

    Duration duration(String name, String fallback) {
      Object value = values.get(name);
      String text = value == null ? fallback : String.valueOf(value);
      return parseDuration(key(name), text);
    }

    /** A duration above zero; {@code allowed} says what is taken. */
    Duration positiveDuration(String name, String fallback, String allowed) {
      Duration duration = duration(name, fallback);
      if (duration.isZero()) {
        throw new SpecException(key(name), String.valueOf(values.get(name)), allowed);
      }
      return duration;
    }
  }

  private SpecLoader() {}
}
