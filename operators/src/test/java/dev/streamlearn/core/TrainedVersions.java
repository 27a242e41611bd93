package dev.streamlearn.core;

import dev.streamlearn.core.backend.ReferenceBackend;
import dev.streamlearn.core.data.CsvEvents;
import dev.streamlearn.core.data.ExampleExtractor;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.train.ModelSnapshot;
import dev.streamlearn.core.train.ModelTrainer;
import dev.streamlearn.core.train.TrainerState;
import dev.streamlearn.schemas.LabeledEvent;
import dev.streamlearn.store.ManifestJson;
import dev.streamlearn.store.ModelStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Versions trained Flink-free on a file's rows, to publish into a store for serving tests. */
public final class TrainedVersions {

  /** A trainer after one pass over the rows (events a second apart), and what it emitted. */
  public record Trained(ModelTrainer trainer, TrainerState state, List<ModelSnapshot> versions) {
    public ModelSnapshot last() {
      return versions.get(versions.size() - 1);
    }
  }

  public static Trained train(PipelineSpec spec, CsvEvents rows) throws Exception {
    List<LabeledEvent> events = new ArrayList<>();
    for (int i = 0; i < rows.size(); i++) {
      events.add(rows.event(i, "c", 0));
    }
    return train(spec, events);
  }

  /** A trainer after one pass over the events, in order, and what it emitted. */
  public static Trained train(PipelineSpec spec, List<LabeledEvent> events) throws Exception {
    ModelTrainer trainer = new ModelTrainer(spec, new ReferenceBackend());
    TrainerState state = trainer.newState();
    ExampleExtractor extractor = new ExampleExtractor(spec);
    Outputs out = new Outputs();
    for (int i = 0; i < events.size(); i++) {
      trainer.offer(state, extractor.extract(events.get(i), 0, i), out);
    }
    trainer.finish(state, out);
    return new Trained(trainer, state, out.versions);
  }

  /** Publishes a version as the pipeline's publisher would, without moving any alias. */
  public static void publish(ModelStore store, ModelSnapshot version) throws IOException {
    publish(store, version, Map.of());
  }

  /** The same with more files beside the version's own (e.g. its input schema). */
  public static void publish(ModelStore store, ModelSnapshot version, Map<String, byte[]> more)
      throws IOException {
    Map<String, byte[]> files = new java.util.HashMap<>(more);
    files.put(ModelStore.PARAMETERS, version.parameters);
    files.put(ModelStore.FEATURIZER, version.featurizerJson.getBytes(StandardCharsets.UTF_8));
    store.publish(ManifestJson.read(version.manifestJson), files);
  }

  private TrainedVersions() {}
}
