package dev.streamlearn.jobs.cli;

import picocli.CommandLine.Option;

/**
 * {@code -h, --help} alone, for commands that have a {@code --version} option of their own (a
 * model's version), which picocli's standard help options would claim for the program's version.
 */
final class HelpOption {
  @Option(
      names = {"-h", "--help"},
      usageHelp = true,
      description = "Show this help message and exit.")
  boolean help;
}
