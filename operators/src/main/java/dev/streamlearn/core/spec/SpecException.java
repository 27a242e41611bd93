package dev.streamlearn.core.spec;

/** A pipeline spec that cannot run, with the key, the value and what is allowed. */
public final class SpecException extends IllegalArgumentException {

  private final String key;

  public SpecException(String key, Object value, String allowed) {
    super("spec key '" + key + "' = " + render(value) + ": " + allowed);
    this.key = key;
  }

  public String key() {
    return key;
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
