package dev.streamlearn.operators;

import dev.streamlearn.core.train.ModelSnapshot;
import dev.streamlearn.store.ManifestJson;
import dev.streamlearn.store.ModelStore;
import dev.streamlearn.store.ModelStores;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.api.connector.sink2.CommitterInitContext;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.SupportsCommitter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes each {@link ModelSnapshot} to the model store exactly once, in two phases. The writer
 * stages the versions cut since the last checkpoint when the checkpoint barrier passes ({@link
 * CommittingSinkWriter#prepareCommit}); the committer makes them visible when Flink reports the
 * checkpoint complete. Commits are idempotent, so a commit retried after a restore changes nothing;
 * versions staged after the last completed checkpoint are never committed, and the restored trainer
 * cuts them again from its checkpointed state under the same numbers.
 *
 * <p>Without checkpointing there are no barriers: the writer then stages and commits each version
 * as it comes (at least once; a version that is already there is kept and counted).
 */
public final class PublishModel
    implements Sink<ModelSnapshot>, SupportsCommitter<PublishModel.StagedVersion> {

  private static final Logger LOG = LoggerFactory.getLogger(PublishModel.class);

  /**
   * Staged versions older than this were left by attempts whose checkpoint never completed (a
   * checkpoint commits within its interval and timeout); the committer removes them, at most
   * hourly.
   */
  static final java.time.Duration SWEEP_AFTER = java.time.Duration.ofDays(1);

  private static final java.time.Duration SWEEP_EVERY = java.time.Duration.ofHours(1);

  /** Opens the model store inside a task. */
  @FunctionalInterface
  public interface StoreOpener extends Serializable {
    ModelStore open() throws IOException;
  }

  /** A staged version on its way to the committer, with what the commit does besides. */
  public record StagedVersion(ModelStore.Staged staged, boolean champion, long lastIngestTime) {}

  private final StoreOpener opener;
  private final boolean checkpointed;
  private int keep;

  /**
   * @param checkpointed whether the job checkpoints (two-phase publication) or not (direct)
   */
  public PublishModel(String storeUri, boolean checkpointed) {
    this(() -> ModelStores.open(storeUri), checkpointed);
  }

  public PublishModel(StoreOpener opener, boolean checkpointed) {
    this.opener = opener;
    this.checkpointed = checkpointed;
  }

  @Override
  public SinkWriter<ModelSnapshot> createWriter(WriterInitContext context) throws IOException {
    return new Writer(
        opener.open(), checkpointed ? null : new Publisher(context.metricGroup(), keep));
  }

  /** Retention after each publication: the newest {@code versions} and every aliased one. */
  public PublishModel keepNewest(int versions) {
    this.keep = versions;
    return this;
  }

  @Override
  public Committer<StagedVersion> createCommitter(CommitterInitContext context) throws IOException {
    return new VersionCommitter(opener.open(), new Publisher(context.metricGroup(), keep));
  }

  @Override
  public SimpleVersionedSerializer<StagedVersion> getCommittableSerializer() {
    return new StagedVersionSerializer();
  }

  /** Keeps the versions cut since the last barrier and stages them when the next one passes. */
  private static final class Writer implements CommittingSinkWriter<ModelSnapshot, StagedVersion> {
    private final ModelStore store;
    private final Publisher direct;
    private final List<ModelSnapshot> pending = new ArrayList<>();

    Writer(ModelStore store, Publisher direct) {
      this.store = store;
      this.direct = direct;
    }

    @Override
    public void write(ModelSnapshot snapshot, Context context) throws IOException {
      if (direct != null) {
        direct.commit(store, stage(store, snapshot));
      } else {
        pending.add(snapshot);
      }
    }

    @Override
    public Collection<StagedVersion> prepareCommit() throws IOException {
      List<StagedVersion> staged = new ArrayList<>();
      for (ModelSnapshot snapshot : pending) {
        staged.add(stage(store, snapshot));
      }
      pending.clear();
      return staged;
    }

    private static StagedVersion stage(ModelStore store, ModelSnapshot snapshot)
        throws IOException {
      Map<String, byte[]> files = new LinkedHashMap<>();
      files.put(ModelStore.PARAMETERS, snapshot.parameters);
      files.put(ModelStore.FEATURIZER, snapshot.featurizerJson.getBytes(StandardCharsets.UTF_8));
      if (snapshot.inputSchema != null) {
        files.put(ModelStore.INPUT_SCHEMA, snapshot.inputSchema.getBytes(StandardCharsets.UTF_8));
      }
      ModelStore.Staged staged = store.stage(ManifestJson.read(snapshot.manifestJson), files);
      return new StagedVersion(staged, snapshot.champion, snapshot.lastIngestTime);
    }

    @Override
    public void flush(boolean endOfInput) {}

    @Override
    public void close() {}
  }

  /** Commits staged versions once their checkpoint is complete. */
  private static final class VersionCommitter implements Committer<StagedVersion> {
    private final ModelStore store;
    private final Publisher publisher;

    VersionCommitter(ModelStore store, Publisher publisher) {
      this.store = store;
      this.publisher = publisher;
    }

    @Override
    public void commit(Collection<CommitRequest<StagedVersion>> requests) throws IOException {
      for (CommitRequest<StagedVersion> request : requests) {
        // A failure here fails the job; the restored committer retries the same commit.
        if (!publisher.commit(store, request.getCommittable())) {
          request.signalAlreadyCommitted();
        }
      }
    }

    @Override
    public void close() {}
  }

  /** The commit itself, with its counters and the latency histogram. */
  private static final class Publisher {
    private final Counter published;
    private final Counter alreadyPublished;
    private final Histogram latency;
    private final int keep;
    private long lastSweepMillis;

    Publisher(MetricGroup metrics, int keep) {
      this.keep = keep;
      published = PipelineCounters.counter(metrics, PipelineCounters.VERSIONS_PUBLISHED);
      alreadyPublished =
          PipelineCounters.counter(metrics, PipelineCounters.VERSIONS_ALREADY_PUBLISHED);
      latency =
          metrics
              .addGroup(PipelineCounters.GROUP)
              .histogram(
                  PipelineCounters.VERSION_LATENCY, new DescriptiveStatisticsHistogram(10_000));
    }

    /** True if this call made the version visible. */
    boolean commit(ModelStore store, StagedVersion version) throws IOException {
      ModelStore.Staged staged = version.staged();
      boolean made = store.commit(staged);
      if (version.champion()) {
        store.setAlias(staged.model(), "champion", staged.version());
      }
      long now = System.currentTimeMillis();
      if (now - lastSweepMillis > SWEEP_EVERY.toMillis()) {
        lastSweepMillis = now;
        int swept = store.sweepStaged(staged.model(), SWEEP_AFTER);
        if (swept > 0) {
          LOG.info(
              "removed {} staged versions of {} left by failed attempts", swept, staged.model());
        }
      }
      if (keep > 0) {
        List<Long> deleted = store.retain(staged.model(), keep);
        if (!deleted.isEmpty()) {
          LOG.info("retention removed {} versions {}", staged.model(), deleted);
        }
      }
      if (made) {
        published.inc();
        if (version.lastIngestTime() > 0) {
          latency.update(System.currentTimeMillis() - version.lastIngestTime());
        }
        LOG.info(
            "published {} version {} to {}", staged.model(), staged.version(), store.location());
      } else {
        alreadyPublished.inc();
        LOG.warn(
            "{} version {} was published already; keeping the stored one",
            staged.model(),
            staged.version());
      }
      return made;
    }
  }

  /** Writes a staged version as its store location and manifest. */
  static final class StagedVersionSerializer implements SimpleVersionedSerializer<StagedVersion> {
    @Override
    public int getVersion() {
      return 1;
    }

    @Override
    public byte[] serialize(StagedVersion version) throws IOException {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      try (DataOutputStream out = new DataOutputStream(bytes)) {
        ModelStore.Staged staged = version.staged();
        out.writeUTF(staged.model());
        out.writeLong(staged.version());
        out.writeUTF(staged.location());
        byte[] manifest = ManifestJson.write(staged.manifest()).getBytes(StandardCharsets.UTF_8);
        out.writeInt(manifest.length);
        out.write(manifest);
        out.writeBoolean(version.champion());
        out.writeLong(version.lastIngestTime());
      }
      return bytes.toByteArray();
    }

    @Override
    public StagedVersion deserialize(int formatVersion, byte[] serialized) throws IOException {
      if (formatVersion != 1) {
        throw new IOException("unknown staged-version format " + formatVersion);
      }
      try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(serialized))) {
        String model = in.readUTF();
        long version = in.readLong();
        String location = in.readUTF();
        byte[] manifest = new byte[in.readInt()];
        in.readFully(manifest);
        ModelStore.Staged staged =
            new ModelStore.Staged(
                model,
                version,
                location,
                ManifestJson.read(new String(manifest, StandardCharsets.UTF_8)));
        return new StagedVersion(staged, in.readBoolean(), in.readLong());
      }
    }
  }
}
