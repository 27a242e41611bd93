package dev.streamlearn.core.train;

import dev.streamlearn.core.features.Featurizer;
import dev.streamlearn.core.model.NetworkShape;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.store.ModelStore;
import dev.streamlearn.store.ModelStores;
import dev.streamlearn.store.Safetensors;
import dev.streamlearn.store.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;

/**
 * Starts a trainer from a published version (fine-tuning): its parameters, its featurizer
 * statistics, and its version number, so the next version is its child. The version must have been
 * trained with the same features and network shape.
 */
final class WarmStart {

  /**
   * @param pipelineStore the store the pipeline publishes to, which the warm start reads unless it
   *     names a store of its own
   */
  static void apply(
      PipelineSpec spec,
      NetworkShape shape,
      Featurizer featurizer,
      TrainerState state,
      ModelStore pipelineStore) {
    PipelineSpec.WarmStart from = spec.model().warmStart();
    String uri = from.storeUri() != null ? from.storeUri() : spec.store().uri();
    ModelStore store = from.storeUri() != null ? ModelStores.open(uri) : pipelineStore;
    try {
      long version;
      try {
        version = store.resolve(from.model(), from.version());
      } catch (java.nio.file.NoSuchFileException e) {
        throw new IllegalStateException(
            "warm start: " + e.getFile() + " in " + store.location(), e);
      }
      if (store.manifest(from.model(), version).isEmpty()) {
        throw new IllegalStateException(
            "warm start: model " + from.model() + " has no version " + version);
      }
      try {
        state.featurizer =
            featurizer.stateFromJson(
                new String(
                    store.readFile(from.model(), version, ModelStore.FEATURIZER),
                    StandardCharsets.UTF_8));
      } catch (IllegalArgumentException e) {
        throw new IllegalStateException(
            "warm start: version "
                + version
                + " of "
                + from.model()
                + " was trained on other features than this spec lists: "
                + e.getMessage(),
            e);
      }
      Map<String, Tensor> tensors =
          Safetensors.decode(store.readFile(from.model(), version, ModelStore.PARAMETERS));
      for (NetworkShape.TensorSlot slot : shape.tensors()) {
        Tensor tensor = tensors.get(slot.name());
        if (tensor == null || !Arrays.equals(tensor.shape(), slot.shape())) {
          throw new IllegalStateException(
              "warm start: version "
                  + version
                  + " of "
                  + from.model()
                  + " has "
                  + (tensor == null
                      ? "no tensor " + slot.name()
                      : slot.name() + " of shape " + Arrays.toString(tensor.shape()))
                  + "; this spec needs "
                  + Arrays.toString(slot.shape()));
        }
        System.arraycopy(tensor.data(), 0, state.params, slot.offset(), slot.size());
      }
      if (from.model().equals(state.model)) {
        state.version = version;
      }
    } catch (IOException e) {
      throw new UncheckedIOException("warm start from " + uri + ": " + e.getMessage(), e);
    }
  }

  private WarmStart() {}
}
