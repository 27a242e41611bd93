package dev.streamlearn.core.serve;

import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.store.ModelNames;
import dev.streamlearn.store.VersionSource;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.Map;
import org.apache.avro.generic.GenericRecord;

/**
 * The version of a model that serving scores with: a fixed version, or the version an alias ({@code
 * latest}, {@code champion}) points at, followed as it moves. Flink-free; whoever holds it says
 * when to look again ({@link #refresh}).
 */
public final class ServedModel implements Served {

  private final VersionSource source;
  private final String model;
  private final String versionOrAlias;
  private final boolean followsAlias;
  private ModelScorer scorer;

  /**
   * Loads the version {@code versionOrAlias} names now.
   *
   * @throws java.nio.file.NoSuchFileException when the model has no such version or alias (yet)
   * @throws IOException when the version cannot be read, or a file does not match its manifest
   */
  public ServedModel(VersionSource source, String model, String versionOrAlias) throws IOException {
    this.source = source;
    this.model = model;
    this.versionOrAlias = versionOrAlias;
    this.followsAlias =
        versionOrAlias.isEmpty() || !versionOrAlias.chars().allMatch(Character::isDigit);
    long version;
    if (followsAlias) {
      ModelNames.checkAlias(versionOrAlias);
      version =
          source
              .alias(model, versionOrAlias)
              .orElseThrow(
                  () ->
                      new NoSuchFileException(
                          "model " + model + " has no alias '" + versionOrAlias + "'"));
    } else if (versionOrAlias.length() > 18) {
      throw new IllegalArgumentException("version '" + versionOrAlias + "' is too large");
    } else {
      version = ModelNames.checkVersion(Long.parseLong(versionOrAlias));
    }
    scorer = ModelScorer.load(source, model, version);
  }

  /** The version scored with now. */
  public ModelScorer scorer() {
    return scorer;
  }

  @Override
  public ModelScorer anyModel() {
    return scorer;
  }

  /** The model scored with. */
  public String model() {
    return model;
  }

  public long version() {
    return scorer.manifest().version();
  }

  @Override
  public SegmentedScorer.Scored score(Map<String, ?> fields, long timestamp)
      throws ExampleExtractor.RefusedException {
    return new SegmentedScorer.Scored(scorer, scorer.score(fields, timestamp));
  }

  @Override
  public SegmentedScorer.Scored score(GenericRecord record, long timestamp)
      throws ExampleExtractor.RefusedException {
    return new SegmentedScorer.Scored(scorer, scorer.score(record, timestamp));
  }

  /**
   * Loads the version the alias points at, if it moved; the current version stays until the new one
   * is read whole (a store that cannot be read for a moment, or an alias that is gone, leaves it in
   * place).
   *
   * @return true when the version scored with changed
   * @throws IOException when the new version cannot be read, or its files do not match their
   *     manifest (the current version stays)
   */
  @Override
  public boolean refresh() throws IOException {
    if (!followsAlias) {
      return false;
    }
    java.util.Optional<Long> now = source.alias(model, versionOrAlias);
    if (now.isEmpty() || now.get() == version()) {
      return false;
    }
    // Each version reads events by its own features section: a new one may read other fields.
    scorer = ModelScorer.load(source, model, now.get());
    return true;
  }

  /** {@code model version N (alias)}, for logs. */
  @Override
  public String toString() {
    return model + " version " + version() + (followsAlias ? " (" + versionOrAlias + ")" : "");
  }
}
