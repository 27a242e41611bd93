package dev.streamlearn.core.backend;

import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Chooses a backend by the spec's name for it. */
public final class Backends {

  public static final List<String> NAMES = List.of("auto", "cpu", "nd4j", "java", "reference");
  private static final Logger LOG = LoggerFactory.getLogger(Backends.class);

  public static Backend create(String name) {
    switch (name) {
      case "auto":
        LOG.info("backend auto: using nd4j on the CPU; this build has no CUDA backend yet");
        return new Nd4jBackend();
      case "cpu":
      case "nd4j":
        return new Nd4jBackend();
      case "java":
        return new JavaBackend();
      case "reference":
        return new ReferenceBackend();
      default:
        throw new IllegalArgumentException("backend '" + name + "' is not one of " + NAMES);
    }
  }

  private Backends() {}
}
