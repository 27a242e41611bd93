package dev.streamlearn.store;

import java.util.regex.Pattern;

/** Which model, alias and file names the store accepts: no path tricks, bounded length. */
public final class ModelNames {

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

  public static String checkModelName(String name) {
    return check("model name", name);
  }

  public static String checkAlias(String alias) {
    String checked = check("alias", alias);
    if (checked.chars().allMatch(Character::isDigit)) {
      throw new IllegalArgumentException(
          "alias '" + alias + "' is all digits; aliases must not look like version numbers");
    }
    return checked;
  }

  public static String checkFileName(String file) {
    return check("file name", file);
  }

  public static long checkVersion(long version) {
    if (version < 1) {
      throw new IllegalArgumentException(
          "version " + version + " is not allowed: versions start at 1");
    }
    return version;
  }

  private static String check(String what, String value) {
    if (value == null || !NAME.matcher(value).matches() || value.contains("..")) {
      throw new IllegalArgumentException(
          what
              + " '"
              + value
              + "' is not allowed: use 1 to 128 letters, digits, '.', '_' or '-', starting with a"
              + " letter or digit, without '..'");
    }
    return value;
  }

  private ModelNames() {}
}
