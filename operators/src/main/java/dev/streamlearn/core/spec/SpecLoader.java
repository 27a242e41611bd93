package dev.streamlearn.core.spec;

import dev.streamlearn.core.backend.Backends;
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
  private static final List<String> FEATURE_TYPES =
      List.of(PipelineSpec.Feature.NUMERIC, PipelineSpec.Feature.CATEGORICAL);

  public static PipelineSpec load(Path file) throws IOException {
    return fromTree(readTree(file));
  }

  public static PipelineSpec parse(String yaml) {
    return fromTree(readTree(yaml, "spec"));
  }

  /** The YAML file as nested maps and lists, to adjust with {@link #override} before validating. */
  public static Map<String, Object> readTree(Path file) throws IOException {
    return readTree(Files.readString(file, StandardCharsets.UTF_8), file.toString());
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
        "validation",
        "control",
        "publish",
        "store",
        "checkpoint");
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
        "metrics-topic",
        "max-out-of-orderness",
        "max-record-bytes");
    String topic = source.string("topic", "events");
    PipelineSpec.Source sourceSpec =
        new PipelineSpec.Source(
            source.string("bootstrap-servers", "localhost:9092"),
            topic,
            source.string("group-id", "streamlearn-" + name),
            source.oneOf("starting-offsets", "earliest", OFFSETS),
            source.bool("bounded", false),
            source.string("dead-letter-topic", topic + ".dead-letter"),
            source.string("metrics-topic", topic + ".metrics"),
            source.duration("max-out-of-orderness", "5s"),
            (int) source.integer("max-record-bytes", 1 << 20, 64, 64L << 20));

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

    List<PipelineSpec.Feature> features = new ArrayList<>();
    List<Node> featureNodes = spec.list("features");
    if (featureNodes.isEmpty()) {
      throw new SpecException(
          "features",
          null,
          "list at least one feature, each with a name and a type (" + FEATURE_TYPES + ")");
    }
    Set<String> seen = new HashSet<>();
    for (Node feature : featureNodes) {
      feature.allow("name", "type", "clip-std", "hash-buckets");
      String featureName = feature.requiredString("name");
      if (!seen.add(featureName)) {
        throw new SpecException(
            feature.key("name"), featureName, "each feature name may appear once");
      }
      String type = feature.oneOf("type", null, FEATURE_TYPES);
      features.add(
          new PipelineSpec.Feature(
              featureName,
              type,
              feature.number("clip-std", 5.0, 0.1, 1e6),
              (int) feature.integer("hash-buckets", 32, 1, 1 << 20)));
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
    store.allow("uri");
    Node checkpoint = spec.child("checkpoint");
    checkpoint.allow("interval");

    return new PipelineSpec(
        name,
        sourceSpec,
        new PipelineSpec.Label(task, classes),
        features,
        new PipelineSpec.Dedup(dedup.bool("enabled", true), dedup.duration("ttl", "1h")),
        new PipelineSpec.Holdout(
            holdoutPolicy,
            fraction,
            every,
            holdout.duration("label-delay", "0s"),
            (int) holdout.integer("max-pending", 100_000, 1, 10_000_000)),
        model(spec.child("model"), task, name),
        training(spec.child("training")),
        spec.oneOf("backend", "auto", Backends.NAMES),
        new PipelineSpec.Validation(
            validation.duration("window", "1m"),
            (int) validation.integer("max-window-events", 10_000, 1, 1_000_000),
            metric),
        control(spec.child("control")),
        new PipelineSpec.Publish(
            publish.oneOf("policy", "every-window", List.of("every-window", "gated")),
            publish.number("margin", 0.0, 0.0, 1e9),
            publish.integer("min-held-out", 100, 0, Long.MAX_VALUE)),
        new PipelineSpec.Store(store.string("uri", "models")),
        new PipelineSpec.Checkpoint(checkpoint.duration("interval", "10s")),
        null);
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

  private static PipelineSpec.Control control(Node control) {
    control.allow("plateau", "early-stopping", "drift");
    Node plateau = control.child("plateau");
    plateau.allow("patience", "factor", "min-delta", "min-rate");
    Node early = control.child("early-stopping");
    early.allow("patience");
    Node drift = control.child("drift");
    drift.allow(
        "detector", "delta", "threshold", "alpha", "min-events", "reaction", "raise-factor");
    return new PipelineSpec.Control(
        (int) plateau.integer("patience", 0, 0, 1_000_000),
        plateau.number("factor", 0.5, 1e-6, 1.0),
        plateau.number("min-delta", 0.0, 0.0, 1e9),
        plateau.number("min-rate", 1e-6, 0.0, 100.0),
        (int) early.integer("patience", 0, 0, 1_000_000),
        drift.oneOf("detector", "none", List.of("none", "adwin", "page-hinkley")),
        drift.number("delta", 0.002, 1e-12, 0.5),
        drift.number("threshold", 100.0, 1e-6, 1e9),
        drift.number("alpha", 0.005, 0.0, 1.0),
        drift.integer("min-events", 30, 1, Long.MAX_VALUE),
        drift.oneOf(
            "reaction",
            "challenger",
            List.of("reset-optimizer", "raise-learning-rate", "challenger")),
        drift.number("raise-factor", 5.0, 1.0, 1000.0));
  }

  private static PipelineSpec.Training training(Node training) {
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
    double rate = training.number("learning-rate", 0.1, 1e-9, 100.0);
    Node schedule = training.child("schedule");
    schedule.allow("type", "every", "gamma", "total-steps", "min-rate", "warmup-steps");
    Node optimizer = training.child("optimizer");
    optimizer.allow("type", "momentum", "nesterov", "beta1", "beta2", "epsilon");
    return new PipelineSpec.Training(
        (int) training.integer("batch-size", 64, 1, 65536),
        training.duration("max-batch-delay", "0s"),
        new LearningRateSchedule(
            schedule.oneOf("type", "constant", LearningRateSchedule.TYPES),
            rate,
            schedule.integer("every", 1000, 1, Long.MAX_VALUE),
            schedule.number("gamma", 0.5, 1e-9, 1.0),
            schedule.integer("total-steps", 10_000, 1, Long.MAX_VALUE),
            schedule.number("min-rate", 0.0, 0.0, rate),
            schedule.integer("warmup-steps", 0, 0, Long.MAX_VALUE)),
        new OptimizerSettings(
            optimizer.oneOf("type", "sgd", OptimizerSettings.TYPES),
            optimizer.number("momentum", 0.0, 0.0, 0.999),
            optimizer.bool("nesterov", false),
            optimizer.number("beta1", 0.9, 0.0, 0.9999),
            optimizer.number("beta2", 0.999, 0.0, 0.99999),
            optimizer.number("epsilon", 1e-8, 1e-12, 1.0),
            training.number("l1", 0.0, 0.0, 100.0),
            training.number("l2", 1e-4, 0.0, 100.0),
            training.number("weight-decay", 0.0, 0.0, 100.0),
            training.number("clip-norm", 0.0, 0.0, 1e9)),
        training.integer("seed", 42, Long.MIN_VALUE, Long.MAX_VALUE));
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
        s.validation(),
        s.control(),
        s.publish(),
        s.store(),
        s.checkpoint(),
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

    boolean has(String name) {
      return values.containsKey(name);
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

    Duration duration(String name, String fallback) {
      Object value = values.get(name);
      String text = value == null ? fallback : String.valueOf(value);
      return parseDuration(key(name), text);
    }
  }

  private SpecLoader() {}
}
