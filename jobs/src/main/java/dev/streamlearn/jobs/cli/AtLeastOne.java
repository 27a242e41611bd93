package dev.streamlearn.jobs.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Reads a count that must be 1 or more (a parallelism, a rate, a number of events or clients), so
 * that 0 or a negative number is refused with the option's name before anything starts.
 */
final class AtLeastOne implements ITypeConverter<Integer> {

  @Override
  public Integer convert(String value) {
    int number;
    try {
      number = Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      throw new TypeConversionException("'" + value + "' is not a whole number");
    }
    if (number < 1) {
      throw new TypeConversionException("'" + value + "' is not 1 or more");
    }
    return number;
  }
}
