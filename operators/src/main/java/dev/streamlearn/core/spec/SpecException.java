package dev.streamlearn.core.spec;

/** A pipeline spec that cannot run, with the key, the value and what is allowed. */
public final class SpecException extends IllegalArgumentException {

  private final String key;

  public SpecException(String key, Object value, String allowed) {
    super("spec key '" + key + "' = " + render(value) + ": " + allowed);
    this.key = key;
  }

  private SpecException(String key, String message) {
    super(message);
    this.key = key;
  }

  public String key() {
    return key;
  }

  /** The same refusal, saying where it arose (e.g. which candidate of a grid). */
  SpecException within(String where) {
    return new SpecException(key, getMessage() + " (" + where + ")");
  }

  private static String render(Object value) {
    if (value == null) {
      return "(missing)";
    }
    if (value instanceof String text) {
      return "'" + text + "'";
    }
    return String.valueOf(value);
  }
}
