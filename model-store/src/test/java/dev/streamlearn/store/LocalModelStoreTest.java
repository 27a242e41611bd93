package dev.streamlearn.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalModelStoreTest {

  @TempDir Path root;

  private static Manifest manifest(String name, long version) {
    return new Manifest(
        Manifest.FORMAT_VERSION,
        name,
        version,
        version > 1 ? version - 1 : null,
        "2026-01-01T00:00:00Z",
        "binary",
        List.of("B", "M"),
        List.of("x"),
        "abc",
        "fp",
        "nd4j",
        "fp32",
        Map.of("window", Map.of("accuracy", 0.9)),
        new Manifest.Lineage(
            "events", List.of(new Manifest.OffsetRange(0, 0, 9)), 1L, 2L, 8, 2, 8, 2),
        null,
        null);
  }

  @Test
  void publishesVersionWithChecksumsAndMovesLatest() throws Exception {
    LocalModelStore store = new LocalModelStore(root);
    byte[] params =
        Safetensors.encode(List.of(new Tensor("w", new long[] {2}, new float[] {1, 2})), Map.of());
    Manifest written = store.publish(manifest("m", 1), Map.of(ModelStore.PARAMETERS, params));

    assertThat(store.models()).containsExactly("m");
    assertThat(store.versions("m")).containsExactly(1L);
    assertThat(store.alias("m", "latest")).contains(1L);
    Manifest read = store.manifest("m", 1).orElseThrow();
    assertThat(read).isEqualTo(written);
    assertThat(read.files().get(ModelStore.PARAMETERS).size()).isEqualTo(params.length);
    assertThat(read.files().get(ModelStore.PARAMETERS).sha256())
        .isEqualTo(
            LocalModelStore.sha256(Files.readAllBytes(root.resolve("m/1/model.safetensors"))));
    try (var leftovers = Files.list(root.resolve("m"))) {
      assertThat(leftovers.map(p -> p.getFileName().toString()))
          .containsExactlyInAnyOrder("1", "aliases");
    }
  }

  @Test
  void neverRewritesVersion() throws Exception {
    LocalModelStore store = new LocalModelStore(root);
    store.publish(
        manifest("m", 1), Map.of("featurizer.json", "{}".getBytes(StandardCharsets.UTF_8)));
    assertThatThrownBy(
            () ->
                store.publish(
                    manifest("m", 1),
                    Map.of("featurizer.json", "{\"x\":1}".getBytes(StandardCharsets.UTF_8))))
        .isInstanceOf(ModelStore.VersionExistsException.class)
        .hasMessageContaining("never rewritten");
    assertThat(store.readFile("m", 1, "featurizer.json"))
        .isEqualTo("{}".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void ignoresDirectoriesWithoutManifest() throws Exception {
    Files.createDirectories(root.resolve("m/7"));
    assertThat(new LocalModelStore(root).versions("m")).isEmpty();
  }

  @Test
  void refusesPathTraversal() {
    LocalModelStore store = new LocalModelStore(root);
    assertThatThrownBy(() -> store.versions("../etc"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("model name '../etc' is not allowed");
    assertThatThrownBy(() -> store.readFile("m", 1, "../../secret"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> store.alias("m", "12")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void safetensorsRoundTripAndLayout() throws Exception {
    Tensor weight =
        new Tensor("weight", new long[] {2, 3}, new float[] {1, -2, 3.5f, 0, 1e-8f, -7});
    Tensor bias = new Tensor("bias", new long[] {2}, new float[] {0.25f, -0.5f});
    byte[] bytes = Safetensors.encode(List.of(weight, bias), Map.of("model", "logistic"));

    long headerLength = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
    assertThat(headerLength % 8).isZero();
    assertThat(bytes.length).isEqualTo(8 + headerLength + 4 * 8);
    String header = new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8);
    assertThat(header)
        .contains("\"dtype\":\"F32\"")
        .contains("\"data_offsets\":[0,24]")
        .contains("\"data_offsets\":[24,32]");
    assertThat(
            ByteBuffer.wrap(bytes, 8 + (int) headerLength + 8, 4)
                .order(ByteOrder.LITTLE_ENDIAN)
                .getFloat())
        .isEqualTo(3.5f);

    Map<String, Tensor> read = Safetensors.decode(bytes);
    assertThat(read).containsOnlyKeys("weight", "bias");
    assertThat(read.get("weight")).isEqualTo(weight);
    assertThat(read.get("bias")).isEqualTo(bias);
  }

  @Test
  void stagedVersionsAreInvisibleUntilCommittedAndCommitsAreIdempotent() throws Exception {
    LocalModelStore store = new LocalModelStore(root);
    ModelStore.Staged first = store.stage(manifest("m", 1), Map.of("a.bin", new byte[] {1}));
    assertThat(store.versions("m")).isEmpty();
    assertThat(store.alias("m", "latest")).isEmpty();

    assertThat(store.commit(first)).isTrue();
    assertThat(store.versions("m")).containsExactly(1L);
    assertThat(store.alias("m", "latest")).contains(1L);
    // Retried after a restore: nothing changes.
    assertThat(store.commit(first)).isFalse();
    // The same version staged again by a restored writer: the stored one stays, the copy goes.
    ModelStore.Staged again = store.stage(manifest("m", 1), Map.of("a.bin", new byte[] {2}));
    assertThat(store.commit(again)).isFalse();
    assertThat(store.readFile("m", 1, "a.bin")).containsExactly(1);
    // A staged version that is never committed is discarded and leaves nothing behind.
    ModelStore.Staged abandoned = store.stage(manifest("m", 2), Map.of("a.bin", new byte[] {3}));
    store.discard(abandoned);
    assertThatThrownBy(() -> store.commit(abandoned))
        .isInstanceOf(java.nio.file.NoSuchFileException.class)
        .hasMessageContaining("staged version 2 of m is gone");
    try (var leftovers = Files.list(root.resolve("m"))) {
      assertThat(leftovers.map(p -> p.getFileName().toString()))
          .containsExactlyInAnyOrder("1", "aliases");
    }
  }

  @Test
  void aliasesMoveByCompareAndSet() throws Exception {
    LocalModelStore store = new LocalModelStore(root);
    for (long v = 1; v <= 3; v++) {
      store.publish(manifest("m", v), Map.of("a.bin", new byte[] {(byte) v}));
    }
    assertThat(store.compareAndSetAlias("m", "prod", null, 1)).isTrue();
    assertThat(store.compareAndSetAlias("m", "prod", null, 2)).isFalse();
    assertThat(store.compareAndSetAlias("m", "prod", 2L, 3)).isFalse();
    assertThat(store.alias("m", "prod")).contains(1L);
    assertThat(store.compareAndSetAlias("m", "prod", 1L, 3)).isTrue();
    assertThat(store.aliases("m")).containsExactly(Map.entry("latest", 3L), Map.entry("prod", 3L));
    assertThatThrownBy(() -> store.compareAndSetAlias("m", "prod", 3L, 9))
        .hasMessageContaining("model m has no version 9");

    // Sixteen writers race to move the alias from the version each read: exactly one wins a round.
    var pool = java.util.concurrent.Executors.newFixedThreadPool(8);
    try {
      var wins = new java.util.concurrent.atomic.AtomicInteger();
      List<java.util.concurrent.Future<?>> futures = new java.util.ArrayList<>();
      for (int i = 0; i < 16; i++) {
        long target = 1 + i % 3;
        futures.add(
            pool.submit(
                () -> {
                  if (store.compareAndSetAlias("m", "race", null, target)) {
                    wins.incrementAndGet();
                  }
                  return null;
                }));
      }
      for (var future : futures) {
        future.get();
      }
      assertThat(wins.get()).isEqualTo(1);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void retentionKeepsTheNewestAndEveryAliasedVersion() throws Exception {
    LocalModelStore store = new LocalModelStore(root);
    for (long v = 1; v <= 6; v++) {
      store.publish(manifest("m", v), Map.of("a.bin", new byte[] {(byte) v}));
    }
    store.setAlias("m", "champion", 2);
    assertThat(store.retain("m", 2)).containsExactly(1L, 3L, 4L);
    assertThat(store.versions("m")).containsExactly(2L, 5L, 6L);
    assertThat(store.readFile("m", 2, "a.bin")).containsExactly(2);
  }
}
