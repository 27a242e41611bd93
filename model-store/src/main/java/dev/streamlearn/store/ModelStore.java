package dev.streamlearn.store;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Versioned, immutable model artifacts. A version becomes visible in one step, complete with its
 * manifest, or not at all; it is never rewritten.
 */
public interface ModelStore extends VersionSource {

  String MANIFEST = "manifest.json";
  String PARAMETERS = "model.safetensors";
  String FEATURIZER = "featurizer.json";

  /** The producers' own Avro record schema the version reads, when its pipeline has one. */
  String INPUT_SCHEMA = "input-schema.avsc";

  /**
   * Writes a version: every file, then the manifest with each file's sha256 and size.
   *
   * @return the manifest as written
   * @throws VersionExistsException if that version is already there (it is left untouched)
   */
  default Manifest publish(Manifest manifest, Map<String, byte[]> files) throws IOException {
    Staged staged = stage(manifest, files);
    if (!commit(staged)) {
      throw new VersionExistsException(manifest.name(), manifest.version());
    }
    return staged.manifest();
  }

  /**
   * Writes a version's files and manifest where readers do not see them yet (the first phase of a
   * publication); {@link #commit} makes it visible.
   */
  Staged stage(Manifest manifest, Map<String, byte[]> files) throws IOException;

  /**
   * Makes a staged version visible in one step and moves {@code latest} forward to it. Idempotent:
   * committing a version that is already visible (committed before, or staged twice) changes
   * nothing.
   *
   * @return true if this call made the version visible, false if it was visible already
   * @throws IOException when the staged files are gone and the version is not in the store
   */
  boolean commit(Staged staged) throws IOException;

  /** Removes a staged version that will not be committed; nothing if it is gone. */
  void discard(Staged staged) throws IOException;

  /**
   * Removes what failed publications left staged longer ago than {@code age}: versions staged by an
   * attempt whose checkpoint never completed are never committed.
   *
   * @return how many staged versions were removed
   */
  int sweepStaged(String model, java.time.Duration age) throws IOException;

  @Override
  List<String> models() throws IOException;

  /** Version numbers, ascending. */
  List<Long> versions(String model) throws IOException;

  @Override
  Optional<Manifest> manifest(String model, long version) throws IOException;

  byte[] readFile(String model, long version, String file) throws IOException;

  @Override
  Optional<Long> alias(String model, String alias) throws IOException;

  /**
   * Reads a whole version: every file its manifest lists, each checked against its sha256 and size,
   * and the manifest itself (under {@link #MANIFEST}), as it was written.
   *
   * @throws java.nio.file.NoSuchFileException when the store has no such version
   * @throws IOException when a file does not match its manifest
   */
  @Override
  default Map<String, byte[]> readVersion(String model, long version) throws IOException {
    Manifest manifest =
        manifest(model, version)
            .orElseThrow(
                () ->
                    new java.nio.file.NoSuchFileException(
                        "model " + model + " has no version " + version + " in " + location()));
    Map<String, byte[]> files = new java.util.LinkedHashMap<>();
    for (Map.Entry<String, Manifest.FileEntry> file : manifest.files().entrySet()) {
      String name = ModelNames.checkFileName(file.getKey());
      byte[] bytes = readFile(model, version, name);
      file.getValue()
          .check(bytes, name + " of " + model + " version " + version + " in " + location());
      files.put(name, bytes);
    }
    files.put(
        MANIFEST, ManifestJson.write(manifest).getBytes(java.nio.charset.StandardCharsets.UTF_8));
    return files;
  }

  /**
   * A version number as written ({@code 7}), or the version an alias ({@code latest}) points at.
   *
   * @throws IllegalArgumentException when it is neither a valid version nor a valid alias name
   * @throws java.nio.file.NoSuchFileException when the model has no such alias
   */
  default long resolve(String model, String versionOrAlias) throws IOException {
    if (!versionOrAlias.isEmpty() && versionOrAlias.chars().allMatch(Character::isDigit)) {
      if (versionOrAlias.length() > 18) {
        throw new IllegalArgumentException("version '" + versionOrAlias + "' is too large");
      }
      return ModelNames.checkVersion(Long.parseLong(versionOrAlias));
    }
    String alias = ModelNames.checkAlias(versionOrAlias);
    return alias(model, alias)
        .orElseThrow(
            () ->
                new java.nio.file.NoSuchFileException(
                    "model " + model + " has no alias '" + alias + "'"));
  }

  /** Points an alias at a version, whatever it pointed at before. */
  void setAlias(String model, String alias, long version) throws IOException;

  /**
   * Points an alias at a version only if it still points at {@code expected} (null: only if the
   * alias does not exist yet).
   *
   * @return false, changing nothing, when the alias points elsewhere
   */
  boolean compareAndSetAlias(String model, String alias, Long expected, long version)
      throws IOException;

  /**
   * Moves an alias to {@code version} unless it points at a newer one already, by compare-and-set
   * (so two publishers never move {@code latest} backwards).
   */
  default void moveForward(String model, String alias, long version) throws IOException {
    while (true) {
      Optional<Long> current = alias(model, alias);
      if (current.isPresent() && current.get() >= version) {
        return;
      }
      if (compareAndSetAlias(model, alias, current.orElse(null), version)) {
        return;
      }
    }
  }

  /** Every alias of a model and the version it points at. */
  Map<String, Long> aliases(String model) throws IOException;

  /**
   * Records that a hyper-parameter candidate stopped training while the stream ran, replacing what
   * was recorded before (a decision made again after a restore writes the same).
   */
  void markPruned(String model, Pruning pruning) throws IOException;

  @Override
  Optional<Pruning> pruning(String model) throws IOException;

  /** Removes a version; readers see it whole or not at all. */
  void delete(String model, long version) throws IOException;

  /**
   * Keeps the newest {@code keep} versions and every version an alias points at; deletes the rest.
   *
   * @return the versions deleted
   */
  default List<Long> retain(String model, int keep) throws IOException {
    List<Long> versions = versions(model);
    java.util.Set<Long> aliased = new java.util.HashSet<>(aliases(model).values());
    List<Long> deleted = new java.util.ArrayList<>();
    for (int i = 0; i < versions.size() - keep; i++) {
      long version = versions.get(i);
      if (!aliased.contains(version)) {
        delete(model, version);
        deleted.add(version);
      }
    }
    return deleted;
  }

  /** Where it keeps its data, for people to read. */
  @Override
  String location();

  /**
   * Fails, saying why, when versions could not be published here: for a job to find out before it
   * starts, not at its first version. A store that cannot tell without writing says nothing.
   */
  default void checkWritable() throws IOException {}

  /**
   * A version written but not yet visible.
   *
   * @param location where the store keeps it until it is committed
   * @param manifest the manifest as written, with every file's sha256 and size
   */
  record Staged(String model, long version, String location, Manifest manifest) {}

  /** A version that is already in the store. */
  final class VersionExistsException extends IOException {
    public VersionExistsException(String model, long version) {
      super(
          "model "
              + model
              + " version "
              + version
              + " exists already; versions are never rewritten");
    }
  }
}
