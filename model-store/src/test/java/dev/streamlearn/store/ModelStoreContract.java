package dev.streamlearn.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** What every model store does, run against each implementation (filesystem, S3). */
abstract class ModelStoreContract {

  /** A new, empty store. */
  abstract ModelStore store() throws Exception;

  /** Whether concurrent conditional overwrites are atomic where the store runs in this test. */
  boolean atomicConditionalWrites() {
    return true;
  }

  private static Manifest manifest(String name, long version) {
    return LocalModelStoreTest.manifest(name, version);
  }

  @Test
  void publishesVersionsWithChecksumsAndMovesLatest() throws Exception {
    ModelStore store = store();
    byte[] params =
        Safetensors.encode(List.of(new Tensor("w", new long[] {2}, new float[] {1, 2})), Map.of());
    Manifest written = store.publish(manifest("m", 1), Map.of(ModelStore.PARAMETERS, params));
    store.publish(manifest("m", 2), Map.of(ModelStore.PARAMETERS, params));
    store.publish(manifest("other", 1), Map.of(ModelStore.PARAMETERS, params));

    assertThat(store.models()).containsExactly("m", "other");
    assertThat(store.versions("m")).containsExactly(1L, 2L);
    assertThat(store.alias("m", "latest")).contains(2L);
    assertThat(store.manifest("m", 1)).contains(written);
    assertThat(store.manifest("m", 7)).isEmpty();
    assertThat(written.files().get(ModelStore.PARAMETERS).size()).isEqualTo(params.length);
    assertThat(written.files().get(ModelStore.PARAMETERS).sha256())
        .isEqualTo(LocalModelStore.sha256(store.readFile("m", 1, ModelStore.PARAMETERS)));
    assertThatThrownBy(() -> store.publish(manifest("m", 2), Map.of("a.bin", new byte[] {1})))
        .isInstanceOf(ModelStore.VersionExistsException.class);
    assertThat(store.readFile("m", 2, ModelStore.PARAMETERS)).isEqualTo(params);
  }

  @Test
  void stagedVersionsAreInvisibleUntilCommittedAndCommitsAreIdempotent() throws Exception {
    ModelStore store = store();
    ModelStore.Staged first = store.stage(manifest("m", 1), Map.of("a.bin", new byte[] {1}));
    assertThat(store.versions("m")).isEmpty();
    assertThat(store.alias("m", "latest")).isEmpty();

    assertThat(store.commit(first)).isTrue();
    assertThat(store.versions("m")).containsExactly(1L);
    assertThat(store.alias("m", "latest")).contains(1L);
    // Retried after a restore: nothing changes.
    assertThat(store.commit(first)).isFalse();
    // The same version staged again by a restored writer: the stored one stays.
    ModelStore.Staged again = store.stage(manifest("m", 1), Map.of("a.bin", new byte[] {2}));
    assertThat(store.commit(again)).isFalse();
    assertThat(store.readFile("m", 1, "a.bin")).containsExactly(1);
    // A staged version that is never committed is discarded and cannot be committed later.
    ModelStore.Staged abandoned = store.stage(manifest("m", 2), Map.of("a.bin", new byte[] {3}));
    store.discard(abandoned);
    assertThatThrownBy(() -> store.commit(abandoned))
        .isInstanceOf(java.nio.file.NoSuchFileException.class)
        .hasMessageContaining("staged version 2 of m is gone");
    assertThat(store.versions("m")).containsExactly(1L);
    assertThat(store.models()).containsExactly("m");
    // What a failed attempt left staged is swept once it is old enough, and only then.
    store.stage(manifest("m", 3), Map.of("a.bin", new byte[] {4}));
    assertThat(store.sweepStaged("m", java.time.Duration.ofHours(1))).isZero();
    Thread.sleep(1100);
    assertThat(store.sweepStaged("m", java.time.Duration.ofMillis(500))).isEqualTo(1);
    assertThat(store.sweepStaged("m", java.time.Duration.ZERO)).isZero();
    assertThat(store.versions("m")).containsExactly(1L);
  }

  @Test
  void aliasesMoveByCompareAndSet() throws Exception {
    ModelStore store = store();
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

    if (!atomicConditionalWrites()) {
      return;
    }
    // Writers race to create an alias: exactly one wins.
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      AtomicInteger wins = new AtomicInteger();
      List<Future<?>> futures = new ArrayList<>();
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
      for (Future<?> future : futures) {
        future.get();
      }
      assertThat(wins.get()).isEqualTo(1);
      // And to move it from the version each read: one wins each round.
      long from = store.alias("m", "race").orElseThrow();
      AtomicInteger moves = new AtomicInteger();
      futures.clear();
      for (int i = 0; i < 16; i++) {
        long target = 1 + (from + i % 2) % 3; // never the version it points at now
        futures.add(
            pool.submit(
                () -> {
                  if (store.compareAndSetAlias("m", "race", from, target)) {
                    moves.incrementAndGet();
                  }
                  return null;
                }));
      }
      for (Future<?> future : futures) {
        future.get();
      }
      assertThat(moves.get()).isEqualTo(1);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void recordsWhyACandidateWasPrunedBesideItsVersions() throws Exception {
    ModelStore store = store();
    store.publish(manifest("p.c1", 1), Map.of("a.bin", new byte[] {1}));
    assertThat(store.pruning("p.c1")).isEmpty();
    assertThat(store.pruning("p.nothing-yet")).isEmpty();

    Pruning first = new Pruning(100_000, 1, "round 1: mean logLoss 0.69 over 2 windows, 2 of 2");
    store.markPruned("p.c1", first);
    assertThat(store.pruning("p.c1")).contains(first);
    // Made again (after a restore): the record is replaced, the versions untouched.
    Pruning again = new Pruning(100_000, 1, "round 1: mean logLoss 0.70 over 2 windows, 2 of 2");
    store.markPruned("p.c1", again);
    assertThat(store.pruning("p.c1")).contains(again);
    assertThat(store.versions("p.c1")).containsExactly(1L);
    assertThat(store.aliases("p.c1")).containsOnlyKeys("latest");
    assertThat(store.models()).containsExactly("p.c1");
    assertThatThrownBy(() -> store.markPruned("../p", first))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void retentionKeepsTheNewestAndEveryAliasedVersion() throws Exception {
    ModelStore store = store();
    for (long v = 1; v <= 6; v++) {
      store.publish(manifest("m", v), Map.of("a.bin", new byte[] {(byte) v}));
    }
    store.setAlias("m", "champion", 2);
    assertThat(store.retain("m", 2)).containsExactly(1L, 3L, 4L);
    assertThat(store.versions("m")).containsExactly(2L, 5L, 6L);
    assertThat(store.readFile("m", 2, "a.bin")).containsExactly(2);
    assertThat(store.manifest("m", 3)).isEmpty();
  }
}
