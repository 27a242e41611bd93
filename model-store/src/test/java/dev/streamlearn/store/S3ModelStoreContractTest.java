package dev.streamlearn.store;

import java.net.URI;
import java.util.UUID;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/** The store contract on S3: S3Proxy over an in-memory blob store, started in this JVM. */
class S3ModelStoreContractTest extends ModelStoreContract {

  private static final String ACCESS_KEY = "streamlearn";
  private static final String SECRET_KEY = "streamlearn-secret";
  private static BlobStoreContext blobs;
  private static S3Proxy proxy;
  private static S3Client s3;

  @BeforeAll
  static void startS3Proxy() throws Exception {
    blobs =
        ContextBuilder.newBuilder("transient")
            .credentials(ACCESS_KEY, SECRET_KEY)
            .build(BlobStoreContext.class);
    proxy =
        S3Proxy.builder()
            .blobStore(blobs.getBlobStore())
            .endpoint(URI.create("http://127.0.0.1:0"))
            .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
            .build();
    proxy.start();
    while (!proxy.getState().equals("STARTED")) {
      Thread.sleep(10);
    }
    s3 = client(SECRET_KEY);
  }

  /** A client of the S3Proxy started here, signing with {@code secretKey}. */
  private static S3Client client(String secretKey) {
    return S3Client.builder()
        .endpointOverride(URI.create("http://127.0.0.1:" + proxy.getPort()))
        .forcePathStyle(true)
        .region(Region.US_EAST_1)
        .credentialsProvider(
            StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY, secretKey)))
        .httpClientBuilder(ApacheHttpClient.builder())
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
        .build();
  }

  @AfterAll
  static void stopS3Proxy() throws Exception {
    s3.close();
    proxy.stop();
    blobs.close();
  }

  /**
   * S3Proxy checks If-Match and If-None-Match and then writes, without a lock, so concurrent
   * conditional writes can all pass; S3 applies them atomically. The races are left out here; the
   * sequential compare-and-set cases run, and {@link #conditionalWritesRefuseStaleWriters} checks
   * the conditions the store's compare-and-set sends.
   */
  @Override
  boolean atomicConditionalWrites() {
    return false;
  }

  @Override
  ModelStore store() {
    String bucket = "models-" + UUID.randomUUID().toString().substring(0, 8);
    s3.createBucket(create -> create.bucket(bucket));
    return new S3ModelStore(s3, bucket, "team/streamlearn");
  }

  /**
   * {@code checkWritable} writes and deletes one object, and leaves nothing behind; it names a
   * bucket that does not exist, and fails for credentials the service refuses.
   */
  @org.junit.jupiter.api.Test
  void checkWritableNamesAMissingBucketAndRefusedCredentials() throws Exception {
    ModelStore store = store();
    store.checkWritable();
    String bucket = ((S3ModelStore) store).location().replaceAll("^s3://([^/]+)/.*$", "$1");
    org.assertj.core.api.Assertions.assertThat(
            s3.listObjectsV2(list -> list.bucket(bucket)).contents())
        .isEmpty();
    org.assertj.core.api.Assertions.assertThat(store.models()).isEmpty();

    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> new S3ModelStore(s3, "no-such-bucket", "models").checkWritable())
        .isInstanceOf(java.io.IOException.class)
        .hasMessage("bucket no-such-bucket does not exist");

    try (S3Client stranger = client("not-the-secret")) {
      org.assertj.core.api.Assertions.assertThatThrownBy(
              () -> new S3ModelStore(stranger, bucket, "models").checkWritable())
          .isInstanceOf(java.io.IOException.class)
          .hasMessageStartingWith("writing s3://" + bucket + "/models/.write-check/")
          .hasMessageContaining("failed with HTTP 403");
    }
  }

  @org.junit.jupiter.api.Test
  void conditionalWritesRefuseStaleWriters() {
    String bucket = "conditions";
    s3.createBucket(create -> create.bucket(bucket));
    var first =
        s3.putObject(
            put -> put.bucket(bucket).key("alias").ifNoneMatch("*"),
            software.amazon.awssdk.core.sync.RequestBody.fromString("1"));
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                s3.putObject(
                    put -> put.bucket(bucket).key("alias").ifNoneMatch("*"),
                    software.amazon.awssdk.core.sync.RequestBody.fromString("2")))
        .isInstanceOfSatisfying(
            software.amazon.awssdk.services.s3.model.S3Exception.class,
            e -> org.assertj.core.api.Assertions.assertThat(e.statusCode()).isEqualTo(412));
    s3.putObject(
        put -> put.bucket(bucket).key("alias").ifMatch(first.eTag()),
        software.amazon.awssdk.core.sync.RequestBody.fromString("3"));
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                s3.putObject(
                    put -> put.bucket(bucket).key("alias").ifMatch(first.eTag()),
                    software.amazon.awssdk.core.sync.RequestBody.fromString("4")))
        .isInstanceOfSatisfying(
            software.amazon.awssdk.services.s3.model.S3Exception.class,
            e -> org.assertj.core.api.Assertions.assertThat(e.statusCode()).isEqualTo(412));
    org.assertj.core.api.Assertions.assertThat(
            s3.getObjectAsBytes(get -> get.bucket(bucket).key("alias")).asUtf8String())
        .isEqualTo("3");
  }
}
