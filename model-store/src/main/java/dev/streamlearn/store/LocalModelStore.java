package dev.streamlearn.store;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * A model store in a local directory: {@code <root>/<model>/<version>/} holds a version's files.
 * Files are written under a hidden staging directory and the directory is renamed into place in one
 * atomic step; aliases are small files under {@code <root>/<model>/aliases/}, replaced by rename,
 * and a pruned candidate's {@link Pruning} is {@code <root>/<model>/pruned.json}.
 */
public final class LocalModelStore implements ModelStore {

  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final String STAGING = ".staging-";

  private final Path root;

  public LocalModelStore(Path root) {
    this.root = root.toAbsolutePath().normalize();
  }

  public Path root() {
    return root;
  }

  public Path versionDirectory(String model, long version) {
    return root.resolve(ModelNames.checkModelName(model))
        .resolve(Long.toString(ModelNames.checkVersion(version)));
  }

  @Override
  public Staged stage(Manifest manifest, Map<String, byte[]> files) throws IOException {
    String model = ModelNames.checkModelName(manifest.name());
    ModelNames.checkVersion(manifest.version());
    Path modelDirectory = root.resolve(model);
    Files.createDirectories(modelDirectory);
    Path staging = modelDirectory.resolve(STAGING + manifest.version() + "-" + UUID.randomUUID());
    Files.createDirectory(staging);
    try {
      Map<String, Manifest.FileEntry> entries = new LinkedHashMap<>();
      for (Map.Entry<String, byte[]> file : files.entrySet()) {
        String name = ModelNames.checkFileName(file.getKey());
        if (name.equals(MANIFEST)) {
          throw new IllegalArgumentException("the store writes " + MANIFEST + " itself");
        }
        Files.write(staging.resolve(name), file.getValue());
        entries.put(name, new Manifest.FileEntry(sha256(file.getValue()), file.getValue().length));
      }
      Manifest complete = manifest.withFiles(entries);
      Files.write(staging.resolve(MANIFEST), JSON.writeValueAsBytes(complete));
      return new Staged(model, manifest.version(), staging.toString(), complete);
    } catch (IOException | RuntimeException e) {
      deleteRecursively(staging);
      throw e;
    }
  }

  @Override
  public boolean commit(Staged staged) throws IOException {
    Path target = versionDirectory(staged.model(), staged.version());
    Path staging = stagingDirectory(staged);
    boolean made;
    if (Files.exists(target)) {
      made = false;
    } else if (!Files.isDirectory(staging)) {
      throw new NoSuchFileException(
          staging.toString(),
          null,
          "staged version " + staged.version() + " of " + staged.model() + " is gone");
    } else {
      try {
        Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
        made = true;
      } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
        made = false;
      }
    }
    deleteRecursively(staging);
    moveForward(staged.model(), "latest", staged.version());
    return made;
  }

  @Override
  public int sweepStaged(String model, java.time.Duration age) throws IOException {
    Path modelDirectory = root.resolve(ModelNames.checkModelName(model));
    if (!Files.isDirectory(modelDirectory)) {
      return 0;
    }
    java.time.Instant before = java.time.Instant.now().minus(age);
    int swept = 0;
    try (Stream<Path> children = Files.list(modelDirectory)) {
      for (Path child : (Iterable<Path>) children::iterator) {
        if (child.getFileName().toString().startsWith(STAGING)
            && Files.getLastModifiedTime(child).toInstant().isBefore(before)) {
          deleteRecursively(child);
          swept++;
        }
      }
    }
    return swept;
  }

  @Override
  public void discard(Staged staged) throws IOException {
    deleteRecursively(stagingDirectory(staged));
  }

  private Path stagingDirectory(Staged staged) {
    Path staging = Path.of(staged.location()).toAbsolutePath().normalize();
    Path modelDirectory = root.resolve(ModelNames.checkModelName(staged.model()));
    if (!modelDirectory.equals(staging.getParent())
        || !staging.getFileName().toString().startsWith(STAGING)) {
      throw new IllegalArgumentException(
          staged.location() + " is not a staging directory of " + modelDirectory);
    }
    return staging;
  }

  @Override
  public List<String> models() throws IOException {
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    try (Stream<Path> children = Files.list(root)) {
      return children
          .filter(Files::isDirectory)
          .map(path -> path.getFileName().toString())
          .filter(name -> !name.startsWith("."))
          .sorted()
          .toList();
    }
  }

  @Override
  public List<Long> versions(String model) throws IOException {
    Path modelDirectory = root.resolve(ModelNames.checkModelName(model));
    if (!Files.isDirectory(modelDirectory)) {
      return List.of();
    }
    List<Long> versions = new ArrayList<>();
    try (Stream<Path> children = Files.list(modelDirectory)) {
      for (Path child : (Iterable<Path>) children::iterator) {
        String name = child.getFileName().toString();
        if (name.chars().allMatch(Character::isDigit) && Files.exists(child.resolve(MANIFEST))) {
          versions.add(Long.parseLong(name));
        }
      }
    }
    versions.sort(Comparator.naturalOrder());
    return versions;
  }

  @Override
  public Optional<Manifest> manifest(String model, long version) throws IOException {
    Path file = versionDirectory(model, version).resolve(MANIFEST);
    try {
      return Optional.of(JSON.readValue(Files.readAllBytes(file), Manifest.class));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  @Override
  public byte[] readFile(String model, long version, String file) throws IOException {
    return Files.readAllBytes(
        versionDirectory(model, version).resolve(ModelNames.checkFileName(file)));
  }

  @Override
  public Optional<Long> alias(String model, String alias) throws IOException {
    Path file = aliasFile(model, alias);
    try {
      return Optional.of(Long.parseLong(Files.readString(file, StandardCharsets.UTF_8).trim()));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  @Override
  public void setAlias(String model, String alias, long version) throws IOException {
    updateAlias(model, alias, null, version, false);
  }

  @Override
  public boolean compareAndSetAlias(String model, String alias, Long expected, long version)
      throws IOException {
    return updateAlias(model, alias, expected, version, true);
  }

  /**
   * Reads, compares and replaces the alias file under an exclusive lock on the model's alias
   * directory, so that concurrent writers, in this process or another, see each other's moves.
   */
  private boolean updateAlias(
      String model, String alias, Long expected, long version, boolean compare) throws IOException {
    if (!Files.isDirectory(versionDirectory(model, version))) {
      throw new NoSuchFileException("model " + model + " has no version " + version);
    }
    Path file = aliasFile(model, alias);
    Files.createDirectories(file.getParent());
    synchronized (LocalModelStore.class) {
      try (FileChannel lock =
              FileChannel.open(
                  file.resolveSibling(".lock"),
                  StandardOpenOption.CREATE,
                  StandardOpenOption.WRITE);
          FileLock held = lock.lock()) {
        if (compare && !java.util.Objects.equals(alias(model, alias).orElse(null), expected)) {
          return false;
        }
        replace(file, Long.toString(version).getBytes(StandardCharsets.UTF_8));
        return true;
      }
    }
  }

  @Override
  public Map<String, Long> aliases(String model) throws IOException {
    Path directory = root.resolve(ModelNames.checkModelName(model)).resolve("aliases");
    Map<String, Long> aliases = new java.util.TreeMap<>();
    if (!Files.isDirectory(directory)) {
      return aliases;
    }
    try (Stream<Path> children = Files.list(directory)) {
      for (Path child : (Iterable<Path>) children::iterator) {
        String name = child.getFileName().toString();
        if (!name.startsWith(".")) {
          alias(model, name).ifPresent(version -> aliases.put(name, version));
        }
      }
    }
    return aliases;
  }

  @Override
  public void markPruned(String model, Pruning pruning) throws IOException {
    Path file = root.resolve(ModelNames.checkModelName(model)).resolve(Pruning.FILE);
    Files.createDirectories(file.getParent());
    replace(file, pruning.toJson());
  }

  /**
   * Replaces {@code file} with {@code bytes} in one step: written beside it under a hidden name,
   * then renamed over it (atomically where the file system can).
   */
  private static void replace(Path file, byte[] bytes) throws IOException {
    Path temporary = file.resolveSibling("." + file.getFileName() + "-" + UUID.randomUUID());
    Files.write(temporary, bytes);
    try {
      Files.move(
          temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  @Override
  public Optional<Pruning> pruning(String model) throws IOException {
    Path file = root.resolve(ModelNames.checkModelName(model)).resolve(Pruning.FILE);
    try {
      return Optional.of(Pruning.fromJson(Files.readAllBytes(file)));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  @Override
  public void delete(String model, long version) throws IOException {
    Path target = versionDirectory(model, version);
    Path doomed = target.resolveSibling(".deleting-" + version + "-" + UUID.randomUUID());
    try {
      Files.move(target, doomed, StandardCopyOption.ATOMIC_MOVE);
    } catch (NoSuchFileException e) {
      return;
    }
    deleteRecursively(doomed);
  }

  @Override
  public String location() {
    return root.toString();
  }

  /** The store's directory exists (it is created here if need be) and may be written. */
  @Override
  public void checkWritable() throws IOException {
    try {
      Files.createDirectories(root);
    } catch (java.nio.file.FileAlreadyExistsException notADirectory) {
      throw new IOException(notADirectory.getFile() + " is a file, not a directory", notADirectory);
    } catch (IOException e) {
      throw new IOException(
          "cannot create "
              + root
              + " ("
              + e.getClass().getSimpleName()
              + ": "
              + e.getMessage()
              + ")",
          e);
    }
    if (!Files.isWritable(root)) {
      throw new IOException(root + " is not writable by this user");
    }
  }

  private Path aliasFile(String model, String alias) {
    return root.resolve(ModelNames.checkModelName(model))
        .resolve("aliases")
        .resolve(ModelNames.checkAlias(alias));
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void deleteRecursively(Path path) throws IOException {
    if (!Files.exists(path)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(path)) {
      walk.sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.deleteIfExists(p);
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              });
    }
  }
}
