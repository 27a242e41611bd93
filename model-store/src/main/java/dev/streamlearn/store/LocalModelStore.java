package dev.streamlearn.store;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
 * atomic step; aliases are small files under {@code <root>/<model>/aliases/}, replaced by rename.
 */
public final class LocalModelStore implements ModelStore {

  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

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
  public Manifest publish(Manifest manifest, Map<String, byte[]> files) throws IOException {
    String model = ModelNames.checkModelName(manifest.name());
    Path target = versionDirectory(model, manifest.version());
    if (Files.exists(target)) {
      throw new VersionExistsException(model, manifest.version());
    }
    Path modelDirectory = root.resolve(model);
    Files.createDirectories(modelDirectory);
    Path staging =
        modelDirectory.resolve(".staging-" + manifest.version() + "-" + UUID.randomUUID());
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
      try {
        Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
        throw new VersionExistsException(model, manifest.version());
      }
      setAlias(model, "latest", Math.max(manifest.version(), alias(model, "latest").orElse(0L)));
      return complete;
    } finally {
      deleteRecursively(staging);
    }
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
    if (!Files.isDirectory(versionDirectory(model, version))) {
      throw new NoSuchFileException("model " + model + " has no version " + version);
    }
    Path file = aliasFile(model, alias);
    Files.createDirectories(file.getParent());
    Path temporary = file.resolveSibling("." + alias + "-" + UUID.randomUUID());
    Files.writeString(temporary, Long.toString(version), StandardCharsets.UTF_8);
    try {
      Files.move(
          temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  @Override
  public String location() {
    return root.toString();
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
