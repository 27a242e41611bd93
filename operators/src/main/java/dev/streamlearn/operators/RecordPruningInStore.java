package dev.streamlearn.operators;

import dev.streamlearn.core.train.CandidatePruning.Pruned;
import dev.streamlearn.store.ModelStore;
import java.io.IOException;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;

/**
 * Records each pruning decision in the model store beside the pruned candidate's versions ({@link
 * ModelStore#markPruned}), so that the rankings (the command line, the store server and its web
 * page) say why the candidate publishes no more. A decision made again after a restore writes the
 * same record again; a store that cannot be written fails the job, which then decides again from
 * the reports it reads back.
 */
public final class RecordPruningInStore implements Sink<Pruned> {

  private final PublishModel.StoreOpener opener;

  public RecordPruningInStore(PublishModel.StoreOpener opener) {
    this.opener = opener;
  }

  @Override
  public SinkWriter<Pruned> createWriter(WriterInitContext context) throws IOException {
    ModelStore store = opener.open();
    return new SinkWriter<>() {
      @Override
      public void write(Pruned decision, Context context) throws IOException {
        store.markPruned(decision.model(), decision.pruning());
      }

      @Override
      public void flush(boolean endOfInput) {}

      @Override
      public void close() {}
    };
  }
}
