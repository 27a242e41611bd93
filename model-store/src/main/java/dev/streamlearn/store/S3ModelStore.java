package dev.streamlearn.store;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CommonPrefix;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * A model store in an S3 bucket (AWS SDK v2): {@code <prefix>/<model>/<version>/<file>}. A version
 * is staged under {@code <prefix>/<model>/.staging/<version>-<id>/}; the commit copies its files
 * into the version's prefix and writes the manifest last, only if no manifest is there ({@code
 * If-None-Match: *}). Readers see a version once its manifest exists. Aliases are small objects
 * under {@code <prefix>/<model>/aliases/}, moved by conditional writes ({@code If-Match} on the
 * ETag read), so compare-and-set holds across writers. A pruned candidate's {@link Pruning} is
 * {@code <prefix>/<model>/pruned.json}.
 */
public final class S3ModelStore implements ModelStore {

  private final S3Client s3;
  private final String bucket;
  private final String prefix;

  /**
   * @param prefix the key prefix of the store inside the bucket; empty for the bucket's root
   */
  public S3ModelStore(S3Client s3, String bucket, String prefix) {
    this.s3 = s3;
    this.bucket = bucket;
    String trimmed = prefix == null ? "" : prefix.replaceAll("^/+|/+$", "");
    this.prefix = trimmed.isEmpty() ? "" : trimmed + "/";
  }

  /**
   * Opens {@code s3://bucket/prefix}; query parameters {@code endpoint} (an S3-compatible service,
   * addressed path-style) and {@code region} (default {@code us-east-1}, or {@code AWS_REGION});
   * credentials from the AWS default chain (environment, profile, instance role).
   */
  public static S3ModelStore open(URI uri) {
    if (uri.getHost() == null || uri.getHost().isBlank()) {
      throw new IllegalArgumentException(
          "store.uri '" + uri + "' names no bucket; use s3://bucket/prefix");
    }
    Map<String, String> query = new LinkedHashMap<>();
    if (uri.getRawQuery() != null) {
      for (String pair : uri.getRawQuery().split("&")) {
        int equals = pair.indexOf('=');
        String key = equals < 0 ? pair : pair.substring(0, equals);
        if (!key.equals("endpoint") && !key.equals("region")) {
          throw new IllegalArgumentException(
              "store.uri '"
                  + uri
                  + "' has query parameter '"
                  + key
                  + "'; allowed: endpoint, region");
        }
        query.put(
            key,
            equals < 0
                ? ""
                : java.net.URLDecoder.decode(pair.substring(equals + 1), StandardCharsets.UTF_8));
      }
    }
    String region =
        query.getOrDefault(
            "region", Optional.ofNullable(System.getenv("AWS_REGION")).orElse("us-east-1"));
    var builder =
        S3Client.builder()
            .region(Region.of(region))
            .credentialsProvider(DefaultCredentialsProvider.builder().build())
            .httpClientBuilder(ApacheHttpClient.builder());
    if (query.containsKey("endpoint")) {
      // S3-compatible services often lack the SDK's newer default checksum trailers.
      builder
          .endpointOverride(URI.create(query.get("endpoint")))
          .forcePathStyle(true)
          .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
          .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
    }
    return new S3ModelStore(builder.build(), uri.getHost(), uri.getPath());
  }

  private String modelKey(String model) {
    return prefix + ModelNames.checkModelName(model) + "/";
  }

  private String versionKey(String model, long version) {
    return modelKey(model) + ModelNames.checkVersion(version) + "/";
  }

  private String aliasKey(String model, String alias) {
    return modelKey(model) + "aliases/" + ModelNames.checkAlias(alias);
  }

  @Override
  public Staged stage(Manifest manifest, Map<String, byte[]> files) throws IOException {
    String model = ModelNames.checkModelName(manifest.name());
    ModelNames.checkVersion(manifest.version());
    String staging =
        modelKey(model) + ".staging/" + manifest.version() + "-" + UUID.randomUUID() + "/";
    Map<String, Manifest.FileEntry> entries = new LinkedHashMap<>();
    try {
      for (Map.Entry<String, byte[]> file : files.entrySet()) {
        String name = ModelNames.checkFileName(file.getKey());
        if (name.equals(MANIFEST)) {
          throw new IllegalArgumentException("the store writes " + MANIFEST + " itself");
        }
        s3.putObject(
            PutObjectRequest.builder().bucket(bucket).key(staging + name).build(),
            RequestBody.fromBytes(file.getValue()));
        entries.put(
            name,
            new Manifest.FileEntry(
                LocalModelStore.sha256(file.getValue()), file.getValue().length));
      }
      Manifest complete = manifest.withFiles(entries);
      s3.putObject(
          PutObjectRequest.builder().bucket(bucket).key(staging + MANIFEST).build(),
          RequestBody.fromString(ManifestJson.write(complete), StandardCharsets.UTF_8));
      return new Staged(model, manifest.version(), "s3://" + bucket + "/" + staging, complete);
    } catch (SdkException e) {
      throw new IOException(
          "staging " + model + " version " + manifest.version() + ": " + e.getMessage(), e);
    }
  }

  @Override
  public boolean commit(Staged staged) throws IOException {
    String staging = stagingKey(staged);
    String target = versionKey(staged.model(), staged.version());
    try {
      boolean made;
      if (exists(target + MANIFEST)) {
        made = false;
      } else {
        if (!exists(staging + MANIFEST)) {
          throw new NoSuchFileException(
              staged.location(),
              null,
              "staged version " + staged.version() + " of " + staged.model() + " is gone");
        }
        for (String file : staged.manifest().files().keySet()) {
          s3.copyObject(
              copy ->
                  copy.sourceBucket(bucket)
                      .sourceKey(staging + file)
                      .destinationBucket(bucket)
                      .destinationKey(target + file));
        }
        made =
            putIfAbsent(
                target + MANIFEST,
                ManifestJson.write(staged.manifest()).getBytes(StandardCharsets.UTF_8));
      }
      deletePrefix(staging);
      moveForward(staged.model(), "latest", staged.version());
      return made;
    } catch (SdkException e) {
      throw new IOException(
          "committing " + staged.model() + " version " + staged.version() + ": " + e.getMessage(),
          e);
    }
  }

  @Override
  public int sweepStaged(String model, java.time.Duration age) throws IOException {
    String base = modelKey(model) + ".staging/";
    java.time.Instant before = java.time.Instant.now().minus(age);
    java.util.Set<String> stale = new java.util.HashSet<>();
    java.util.Set<String> fresh = new java.util.HashSet<>();
    List<S3Object> objects = list(base, null).contents();
    for (S3Object object : objects) {
      String rest = object.key().substring(base.length());
      String staging = rest.contains("/") ? rest.substring(0, rest.indexOf('/')) : rest;
      (object.lastModified().isBefore(before) ? stale : fresh).add(staging);
    }
    stale.removeAll(fresh);
    try {
      for (S3Object object : objects) {
        String rest = object.key().substring(base.length());
        if (stale.contains(rest.contains("/") ? rest.substring(0, rest.indexOf('/')) : rest)) {
          s3.deleteObject(delete -> delete.bucket(bucket).key(object.key()));
        }
      }
    } catch (SdkException e) {
      throw new IOException(e.getMessage(), e);
    }
    return stale.size();
  }

  @Override
  public void discard(Staged staged) throws IOException {
    try {
      deletePrefix(stagingKey(staged));
    } catch (SdkException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  private String stagingKey(Staged staged) {
    String expected = "s3://" + bucket + "/" + modelKey(staged.model()) + ".staging/";
    if (!staged.location().startsWith(expected) || staged.location().contains("..")) {
      throw new IllegalArgumentException(
          staged.location() + " is not a staging location of " + expected);
    }
    return staged.location().substring(("s3://" + bucket + "/").length());
  }

  @Override
  public List<String> models() throws IOException {
    List<String> models = new ArrayList<>();
    for (String name : childPrefixes(prefix)) {
      if (!name.startsWith(".")) {
        models.add(name);
      }
    }
    return models;
  }

  @Override
  public List<Long> versions(String model) throws IOException {
    String base = modelKey(model);
    TreeSet<Long> versions = new TreeSet<>();
    for (S3Object object : list(base, null).contents()) {
      String rest = object.key().substring(base.length());
      int slash = rest.indexOf('/');
      if (slash > 0
          && rest.substring(slash + 1).equals(MANIFEST)
          && rest.substring(0, slash).chars().allMatch(Character::isDigit)) {
        versions.add(Long.parseLong(rest.substring(0, slash)));
      }
    }
    return new ArrayList<>(versions);
  }

  @Override
  public Optional<Manifest> manifest(String model, long version) throws IOException {
    Optional<byte[]> bytes = get(versionKey(model, version) + MANIFEST);
    return bytes.isEmpty()
        ? Optional.empty()
        : Optional.of(ManifestJson.read(new String(bytes.get(), StandardCharsets.UTF_8)));
  }

  @Override
  public byte[] readFile(String model, long version, String file) throws IOException {
    String key = versionKey(model, version) + ModelNames.checkFileName(file);
    return get(key).orElseThrow(() -> new NoSuchFileException("s3://" + bucket + "/" + key));
  }

  @Override
  public Optional<Long> alias(String model, String alias) throws IOException {
    return get(aliasKey(model, alias))
        .map(bytes -> Long.parseLong(new String(bytes, StandardCharsets.UTF_8).trim()));
  }

  @Override
  public void setAlias(String model, String alias, long version) throws IOException {
    requireVersion(model, version);
    try {
      s3.putObject(
          PutObjectRequest.builder().bucket(bucket).key(aliasKey(model, alias)).build(),
          RequestBody.fromString(Long.toString(version), StandardCharsets.UTF_8));
    } catch (SdkException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  @Override
  public boolean compareAndSetAlias(String model, String alias, Long expected, long version)
      throws IOException {
    requireVersion(model, version);
    String key = aliasKey(model, alias);
    try {
      Optional<ResponseBytes<GetObjectResponse>> current = getWithEtag(key);
      Long value = current.map(bytes -> Long.parseLong(bytes.asUtf8String().trim())).orElse(null);
      if (!java.util.Objects.equals(value, expected)) {
        return false;
      }
      PutObjectRequest.Builder put = PutObjectRequest.builder().bucket(bucket).key(key);
      if (current.isPresent()) {
        put.ifMatch(current.get().response().eTag());
      } else {
        put.ifNoneMatch("*");
      }
      s3.putObject(
          put.build(), RequestBody.fromString(Long.toString(version), StandardCharsets.UTF_8));
      return true;
    } catch (S3Exception e) {
      if (e.statusCode() == 412 || e.statusCode() == 409) {
        return false;
      }
      throw new IOException(e.getMessage(), e);
    } catch (SdkException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  @Override
  public Map<String, Long> aliases(String model) throws IOException {
    String base = modelKey(model) + "aliases/";
    Map<String, Long> aliases = new TreeMap<>();
    for (S3Object object : list(base, null).contents()) {
      String name = object.key().substring(base.length());
      if (!name.isEmpty() && !name.contains("/") && !name.startsWith(".")) {
        alias(model, name).ifPresent(version -> aliases.put(name, version));
      }
    }
    return aliases;
  }

  @Override
  public void markPruned(String model, Pruning pruning) throws IOException {
    try {
      s3.putObject(
          PutObjectRequest.builder().bucket(bucket).key(modelKey(model) + Pruning.FILE).build(),
          RequestBody.fromBytes(pruning.toJson()));
    } catch (SdkException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  @Override
  public Optional<Pruning> pruning(String model) throws IOException {
    Optional<byte[]> bytes = get(modelKey(model) + Pruning.FILE);
    return bytes.isEmpty() ? Optional.empty() : Optional.of(Pruning.fromJson(bytes.get()));
  }

  @Override
  public void delete(String model, long version) throws IOException {
    String base = versionKey(model, version);
    try {
      // The manifest goes first: readers stop seeing the version before its files go.
      s3.deleteObject(delete -> delete.bucket(bucket).key(base + MANIFEST));
      deletePrefix(base);
    } catch (SdkException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  @Override
  public String location() {
    return "s3://" + bucket + "/" + prefix;
  }

  /**
   * Writes and deletes one small object under {@code <prefix>/.write-check/}: the bucket exists,
   * the endpoint answers and the credentials may write there (a hidden name, never listed as a
   * model).
   */
  @Override
  public void checkWritable() throws IOException {
    String key = prefix + ".write-check/" + UUID.randomUUID();
    try {
      s3.putObject(
          PutObjectRequest.builder().bucket(bucket).key(key).build(),
          RequestBody.fromBytes(new byte[] {'o', 'k'}));
      s3.deleteObject(delete -> delete.bucket(bucket).key(key));
    } catch (NoSuchBucketException e) {
      throw new IOException("bucket " + bucket + " does not exist", e);
    } catch (S3Exception e) {
      throw new IOException(
          "writing s3://"
              + bucket
              + "/"
              + key
              + " failed with HTTP "
              + e.statusCode()
              + (e.awsErrorDetails() == null ? "" : " " + e.awsErrorDetails().errorCode())
              + ": "
              + e.getMessage(),
          e);
    } catch (SdkException e) {
      throw new IOException("writing s3://" + bucket + "/" + key + ": " + e.getMessage(), e);
    }
  }

  // ---- S3 plumbing ----

  private void requireVersion(String model, long version) throws IOException {
    if (!exists(versionKey(model, version) + MANIFEST)) {
      throw new NoSuchFileException("model " + model + " has no version " + version);
    }
  }

  private boolean putIfAbsent(String key, byte[] bytes) {
    try {
      s3.putObject(
          PutObjectRequest.builder().bucket(bucket).key(key).ifNoneMatch("*").build(),
          RequestBody.fromBytes(bytes));
      return true;
    } catch (S3Exception e) {
      if (e.statusCode() == 412 || e.statusCode() == 409) {
        return false;
      }
      throw e;
    }
  }

  private boolean exists(String key) throws IOException {
    try {
      s3.headObject(head -> head.bucket(bucket).key(key));
      return true;
    } catch (NoSuchKeyException e) {
      return false;
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return false;
      }
      throw new IOException(e.getMessage(), e);
    } catch (SdkException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  private Optional<byte[]> get(String key) throws IOException {
    return getWithEtag(key).map(ResponseBytes::asByteArray);
  }

  private Optional<ResponseBytes<GetObjectResponse>> getWithEtag(String key) throws IOException {
    try {
      return Optional.of(s3.getObjectAsBytes(get -> get.bucket(bucket).key(key)));
    } catch (NoSuchKeyException e) {
      return Optional.empty();
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return Optional.empty();
      }
      throw new IOException(e.getMessage(), e);
    } catch (SdkException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  /** Every object under a prefix (all pages); with a delimiter, the common prefixes too. */
  private ListObjectsV2Response list(String keyPrefix, String delimiter) throws IOException {
    try {
      List<S3Object> contents = new ArrayList<>();
      List<CommonPrefix> prefixes = new ArrayList<>();
      String token = null;
      do {
        ListObjectsV2Request.Builder request =
            ListObjectsV2Request.builder()
                .bucket(bucket)
                .prefix(keyPrefix)
                .continuationToken(token);
        if (delimiter != null) {
          request.delimiter(delimiter);
        }
        ListObjectsV2Response page = s3.listObjectsV2(request.build());
        contents.addAll(page.contents());
        prefixes.addAll(page.commonPrefixes());
        token = Boolean.TRUE.equals(page.isTruncated()) ? page.nextContinuationToken() : null;
      } while (token != null);
      return ListObjectsV2Response.builder().contents(contents).commonPrefixes(prefixes).build();
    } catch (SdkException e) {
      throw new IOException("listing s3://" + bucket + "/" + keyPrefix + ": " + e.getMessage(), e);
    }
  }

  private List<String> childPrefixes(String keyPrefix) throws IOException {
    List<String> names = new ArrayList<>();
    for (CommonPrefix common : list(keyPrefix, "/").commonPrefixes()) {
      String name = common.prefix().substring(keyPrefix.length());
      names.add(name.endsWith("/") ? name.substring(0, name.length() - 1) : name);
    }
    names.sort(Comparator.naturalOrder());
    return names;
  }

  private void deletePrefix(String keyPrefix) throws IOException {
    for (S3Object object : list(keyPrefix, null).contents()) {
      s3.deleteObject(delete -> delete.bucket(bucket).key(object.key()));
    }
  }
}
