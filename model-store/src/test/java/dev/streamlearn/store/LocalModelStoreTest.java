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

  static Manifest manifest(String name, long version) {
    return new Manifest(
        Manifest.FORMAT_VERSION,
        name,
        null,
        null,
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
        null,
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
}
