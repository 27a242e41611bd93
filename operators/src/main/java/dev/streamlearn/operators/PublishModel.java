package dev.streamlearn.operators;

import dev.streamlearn.core.train.ModelSnapshot;
import dev.streamlearn.store.ManifestJson;
import dev.streamlearn.store.ModelStore;
import dev.streamlearn.store.ModelStores;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes each {@link ModelSnapshot} to the model store as a version. A version already in the store
 * (the trainer re-cut it after restoring from a checkpoint) is left as it is and counted.
 */
public final class PublishModel implements Sink<ModelSnapshot> {

  private static final Logger LOG = LoggerFactory.getLogger(PublishModel.class);
  private final String storeUri;

  public PublishModel(String storeUri) {
    this.storeUri = storeUri;
  }

  @Override
  public SinkWriter<ModelSnapshot> createWriter(WriterInitContext context) {
    var metrics = context.metricGroup();
    return new Writer(
        ModelStores.open(storeUri),
        PipelineCounters.counter(metrics, PipelineCounters.VERSIONS_PUBLISHED),
        PipelineCounters.counter(metrics, PipelineCounters.VERSIONS_ALREADY_PUBLISHED),
        metrics
            .addGroup(PipelineCounters.GROUP)
            .histogram(
                PipelineCounters.VERSION_LATENCY, new DescriptiveStatisticsHistogram(10_000)));
  }

  private static final class Writer implements SinkWriter<ModelSnapshot> {
    private final ModelStore store;
    private final Counter published;
    private final Counter alreadyPublished;
    private final Histogram latency;

    Writer(ModelStore store, Counter published, Counter alreadyPublished, Histogram latency) {
      this.store = store;
      this.published = published;
      this.alreadyPublished = alreadyPublished;
      this.latency = latency;
    }

    @Override
    public void write(ModelSnapshot snapshot, Context context) throws IOException {
      Map<String, byte[]> files = new LinkedHashMap<>();
      files.put(ModelStore.PARAMETERS, snapshot.parameters);
      files.put(ModelStore.FEATURIZER, snapshot.featurizerJson.getBytes(StandardCharsets.UTF_8));
      try {
        store.publish(ManifestJson.read(snapshot.manifestJson), files);
        if (snapshot.champion) {
          store.setAlias(snapshot.model, "champion", snapshot.version);
        }
        published.inc();
        if (snapshot.lastIngestTime > 0) {
          latency.update(System.currentTimeMillis() - snapshot.lastIngestTime);
        }
        LOG.info(
            "published {} version {} to {}", snapshot.model, snapshot.version, store.location());
      } catch (ModelStore.VersionExistsException e) {
        alreadyPublished.inc();
        LOG.warn("{}; keeping the stored one", e.getMessage());
      }
    }

    @Override
    public void flush(boolean endOfInput) {}

    @Override
    public void close() {}
  }
}
