package dev.streamlearn.operators;

import dev.streamlearn.core.data.Example;
import dev.streamlearn.core.data.RawFeatures;
import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.core.spec.SpecLoader;
import java.util.*;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.junit.jupiter.api.Test;

class ZzRocksTest {
  @Test
  void rates() throws Exception {
    StringBuilder f = new StringBuilder("features: [");
    for (int i = 0; i < 32; i++) f.append("{name: n").append(i).append(", type: numeric}, ");
    for (int i = 0; i < 8; i++)
      f.append("{name: c")
          .append(i)
          .append(", type: categorical, hash-buckets: 16}")
          .append(i < 7 ? ", " : "]");
    PipelineSpec spec =
        SpecLoader.parse(
            String.join(
                "\n",
                "name: m",
                f.toString(),
                "training: {batch-size: 512}",
                "validation: {window: 100s}",
                "backend: java",
                ""));
    RawFeatures rules = new RawFeatures(spec);
    Random random = new Random(1);
    List<Example> ex = new ArrayList<>();
    for (int i = 0; i < 40000; i++) {
      Map<String, Object> m = new HashMap<>();
      for (int j = 0; j < 32; j++) m.put("n" + j, random.nextGaussian());
      for (int j = 0; j < 8; j++) m.put("c" + j, "v" + random.nextInt(30));
      Example e = TrainModelTest.example(rules, m, i, random.nextInt(2));
      e.timestamp = 1_700_000_000_000L + i;
      ex.add(e);
    }
    for (int round = 0; round < 2; round++) {
      for (String how :
          new String[] {"heap", "rocksdb, written behind", "rocksdb, written on update"}) {
        var op =
            how.endsWith("update")
                ? new org.apache.flink.streaming.api.operators.KeyedProcessOperator<
                    String, Example, dev.streamlearn.core.train.ModelSnapshot>(new TrainModel(spec))
                : new TrainModelOperator(new TrainModel(spec));
        try (var h =
            new org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness<>(
                op, (Example e) -> "m", org.apache.flink.api.common.typeinfo.Types.STRING)) {
          if (how.startsWith("rocks")) h.setStateBackend(new EmbeddedRocksDBStateBackend());
          h.open();
          List<Example> input = how.endsWith("update") ? ex.subList(0, 2000) : ex;
          long t = System.nanoTime();
          TrainModelTest.feed(h, input);
          long s0 = System.nanoTime();
          var snap = h.snapshot(1, 1);
          double snapMs = (System.nanoTime() - s0) / 1e6;
          double s = (s0 - t) / 1e9;
          System.out.printf(
              "%s: %,.0f events/s over %,d events; snapshot %.0f ms%n",
              how, input.size() / s, input.size(), snapMs);
        }
      }
    }
  }
}
