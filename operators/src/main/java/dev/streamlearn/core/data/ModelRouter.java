package dev.streamlearn.core.data;

import dev.streamlearn.core.data.ExampleExtractor.RefusedException;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.store.Manifest;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Picks the model an example trains: the pipeline's one model; with {@code segments}, the model of
 * the example's segment, named {@code <name>.<segment>} ({@link #modelName}); with {@code
 * candidates}, the model of the candidate the example's copy is for ({@link #copyFor}), named
 * {@code <name>.<candidate>}, or {@code <name>.<segment>.<candidate>} with both. The job keys its
 * trainers by {@link #modelOf}; decoding refuses the events that belong to no segment ({@link
 * #check}), so that every key is a model.
 */
public final class ModelRouter implements Serializable {

  /**
   * The longest pipeline name that segments and candidates allow: a segment's or candidate's part
   * takes at most 32 more.
   */
  public static final int MAX_BASE_LENGTH = 96;

  /** The longest pipeline name with both segments and candidates: each part takes 32. */
  public static final int MAX_BASE_LENGTH_BOTH = 64;

  /** A segment that names its model as it is: letters, digits, '_' and '-', not too long. */
  private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_-]{1,31}");

  /** Model names are remembered for this many segments before the memory starts over. */
  private static final int NAME_CACHE = 10_000;

  private final String name;
  private final String feature;
  private final int slot;
  private final Set<String> values;
  private final String others;
  private final List<String> candidateModels;
  private final List<PipelineSpec.Candidate> candidates;
  private final String metric;

  /** Model names by segment: the segment's model, or its candidates' models in order. */
  private transient Map<String, String[]> names;

  public ModelRouter(PipelineSpec spec) {
    PipelineSpec.Segments segments = spec.segments();
    this.name = spec.name();
    this.feature = segments.feature();
    this.slot = feature == null ? -1 : new RawFeatures(spec).categoricalSlot(feature);
    this.values = new LinkedHashSet<>(segments.values());
    this.others = segments.others();
    this.candidateModels = spec.candidates().stream().map(c -> modelName(name, c.name())).toList();
    this.candidates = spec.candidates();
    this.metric = spec.validation().metric();
  }

  /** How many candidates each event trains: 1 without {@code candidates}. */
  public int copiesPerEvent() {
    return Math.max(1, candidates.size());
  }

  /**
   * The copy of {@code example} for candidate {@code index}, counting the event or not ({@link
   * #countsEvent}): the example itself for its own candidate, a new example sharing its values
   * (which nothing changes) for the others.
   */
  public static Example copyFor(Example example, int index, boolean counts) {
    Example copy = example;
    if (index != example.candidate) {
      copy = new Example();
      copy.id = example.id;
      copy.timestamp = example.timestamp;
      copy.label = example.label;
      copy.weight = example.weight;
      copy.numeric = example.numeric;
      copy.categorical = example.categorical;
      copy.partition = example.partition;
      copy.offset = example.offset;
      copy.ingestTime = example.ingestTime;
      copy.candidate = index;
    }
    copy.countsEvent = counts;
    return copy;
  }

  /**
   * True for the one copy of an event that counts it (as trained or held out): every candidate
   * still training sees the same events, and the first of them counts each event once.
   */
  public static boolean countsEvent(Example example) {
    return example.countsEvent;
  }

  /**
   * The model whose candidates compete, for pruning: the pipeline's name, or the segment's model;
   * its candidates' models are {@code <competition>.<candidate>}. Null without candidates.
   */
  public String competitionOf(Example example) {
    if (candidates.isEmpty()) {
      return null;
    }
    String first = modelOf(example, 0);
    return first.substring(0, first.length() - candidates.get(0).name().length() - 1);
  }

  /** The candidates' names, in spec order. */
  public List<String> candidateNames() {
    return candidates.stream().map(PipelineSpec.Candidate::name).toList();
  }

  /** True when the spec trains one model per segment. */
  public boolean segmented() {
    return feature != null;
  }

  /**
   * The segment of an example: its value of the segment feature, or the {@code others} segment when
   * that value is missing or not listed; null when it belongs to none (and is refused).
   */
  public String segmentOf(Example example) {
    if (feature == null) {
      return null;
    }
    String value = example.categorical[slot];
    if (value != null && !value.isBlank() && (values.isEmpty() || values.contains(value))) {
      return value;
    }
    return others;
  }

  /** Refuses an example that belongs to no segment. */
  public void check(Example example) throws RefusedException {
    if (feature == null || segmentOf(example) != null) {
      return;
    }
    String value = example.categorical[slot];
    throw new RefusedException(
        value == null || value.isBlank()
            ? "segment feature " + feature + " is missing and segments.others is not set"
            : "segment feature "
                + feature
                + " = '"
                + RawFeatures.abbreviate(value)
                + "' is not one of segments.values "
                + List.copyOf(values)
                + " and segments.others is not set");
  }

  /** The model an example trains: the pipeline's name, or its segment's or candidate's model. */
  public String modelOf(Example example) {
    return modelOf(example, example.candidate);
  }

  /** The model of {@code example}'s copy for candidate {@code candidate}. */
  private String modelOf(Example example, int candidate) {
    if (feature == null) {
      return candidateModels.isEmpty() ? name : candidateModels.get(candidate);
    }
    String segment = segmentOf(example);
    if (segment == null) {
      throw new IllegalStateException(
          "event " + example.id + " belongs to no segment; decoding should have refused it");
    }
    if (names == null || names.size() >= NAME_CACHE) {
      names = new HashMap<>();
    }
    return names.computeIfAbsent(segment, this::segmentModels)[candidate];
  }

  /** A segment's model, or its candidates' models, {@code <name>.<segment>.<candidate>}. */
  private String[] segmentModels(String segment) {
    String model = modelName(name, segment);
    if (candidates.isEmpty()) {
      return new String[] {model};
    }
    return candidates.stream().map(c -> modelName(model, c.name())).toArray(String[]::new);
  }

  /** What the manifest of an example's model says of its segment; null without segments. */
  public Manifest.Segment describe(Example example) {
    if (feature == null) {
      return null;
    }
    // A value spelt like the others segment trains the others model, and is one of its events.
    String segment = segmentOf(example);
    return new Manifest.Segment(feature, segment, segment.equals(others));
  }

  /** What the manifest of an example's model says of its candidate; null without candidates. */
  public Manifest.Candidate candidateOf(Example example) {
    return candidates.isEmpty() ? null : describe(candidates.get(example.candidate));
  }

  /** What the manifests of candidate {@code name}'s model say of it. */
  public Manifest.Candidate candidate(String name) {
    return candidates.stream()
        .filter(c -> c.name().equals(name))
        .findFirst()
        .map(this::describe)
        .orElseThrow(() -> new IllegalStateException("no candidate " + name + " in the spec"));
  }

  private Manifest.Candidate describe(PipelineSpec.Candidate candidate) {
    return new Manifest.Candidate(candidate.name(), candidate.settings(), metric);
  }

  /** True for a segment or candidate name that becomes a model name as it is. */
  public static boolean isPlainName(String name) {
    return PLAIN.matcher(name).matches();
  }

  /**
   * The segment or candidate models of pipeline {@code pipeline} among {@code models}, in name
   * order.
   */
  public static List<String> pipelineModels(String pipeline, java.util.Collection<String> models) {
    return models.stream().filter(model -> model.startsWith(pipeline + ".")).sorted().toList();
  }

  /**
   * The model name of a segment: {@code <base>.<segment>} when the segment is plain (letters,
   * digits, '_' and '-', at most 31 of them); otherwise its characters outside those become '_', it
   * is cut to 18, and a '.' and 12 hex digits of its SHA-256 follow, so that different segments
   * never share a name and every name is one the store accepts.
   */
  public static String modelName(String base, String segment) {
    if (isPlainName(segment)) {
      return base + "." + segment;
    }
    String cleaned = segment.replaceAll("[^A-Za-z0-9_-]", "_");
    if (cleaned.length() > 18) {
      cleaned = cleaned.substring(0, 18);
    }
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256").digest(segment.getBytes(StandardCharsets.UTF_8));
      return base + "." + cleaned + "." + HexFormat.of().formatHex(digest, 0, 6);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
