package dev.streamlearn.core;

import dev.streamlearn.core.train.ModelSnapshot;
import dev.streamlearn.core.train.ModelTrainer;
import dev.streamlearn.core.train.WindowReport;
import java.util.ArrayList;
import java.util.List;

/** Collects what a trainer emits. */
final class Outputs implements ModelTrainer.Output {
  final List<ModelSnapshot> versions = new ArrayList<>();
  final List<WindowReport> windows = new ArrayList<>();

  @Override
  public void version(ModelSnapshot snapshot) {
    versions.add(snapshot);
  }

  @Override
  public void window(WindowReport report) {
    windows.add(report);
  }
}
