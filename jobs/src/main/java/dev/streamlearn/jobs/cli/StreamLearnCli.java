package dev.streamlearn.jobs.cli;

import dev.streamlearn.store.http.ModelStoreClient;
import java.io.PrintWriter;
import java.nio.file.NoSuchFileException;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code ./streamlearn}: runs pipelines locally, feeds Kafka, and shows what was published. */
@Command(
    name = "streamlearn",
    mixinStandardHelpOptions = true,
    version = "streamlearn 0.1.0",
    description = "Continual learning on Apache Flink: Kafka in, versioned models out.",
    subcommands = {
      DemoCommand.class,
      KafkaCommand.class,
      RunCommand.class,
      ProduceCommand.class,
      ScoreCommand.class,
      ScoreStreamCommand.class,
      CurvesCommand.class,
      BenchCommand.class,
      ModelsCommand.class,
      DeadLettersCommand.class
    })
public final class StreamLearnCli implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  public static int execute(String... args) {
    return execute(new PrintWriter(System.err, true), args);
  }

  /** Runs the command line; usage errors and bad input are reported on {@code err}, exit code 2. */
  public static int execute(PrintWriter err, String... args) {
    return commandLine(err).execute(args);
  }

  /** The command line with its subcommands, reporting usage errors and bad input on {@code err}. */
  static CommandLine commandLine(PrintWriter err) {
    // Wide enough for the descriptions' own lines (up to 100 characters), which picocli would
    // otherwise wrap again at 80.
    return new CommandLine(new StreamLearnCli())
        .setUsageHelpWidth(120)
        .setErr(err)
        .setExecutionExceptionHandler(
            (exception, commandLine, parseResult) -> {
              if (exception instanceof IllegalArgumentException) {
                commandLine.getErr().println("streamlearn: " + exception.getMessage());
                return 2;
              }
              if (exception instanceof ModelStoreClient.UnreachableException
                  || exception instanceof ModelStoreClient.ServerException) {
                commandLine.getErr().println("streamlearn: " + exception.getMessage());
                return 1;
              }
              if (exception instanceof NoSuchFileException) {
                // A file, or in the model store a model, version or alias, that is not there.
                commandLine.getErr().println("streamlearn: not found: " + exception.getMessage());
                return 1;
              }
              Throwable failure = jobFailure(exception);
              if (failure != null) {
                // Flink wraps what failed the job in layers of its own: say what failed.
                LoggerFactory.getLogger(StreamLearnCli.class).error("the job failed", exception);
                commandLine
                    .getErr()
                    .println(
                        "streamlearn: the job failed: "
                            + failure
                            + " (the whole trace is in the log, target/streamlearn.log)");
                return 1;
              }
              if (exception instanceof java.io.IOException ioException) {
                // Input that cannot be read as it should (a malformed file), a file that may not
                // be written: what and where, without a trace.
                LoggerFactory.getLogger(StreamLearnCli.class).error("input or output", exception);
                commandLine.getErr().println("streamlearn: " + describe(ioException));
                return 1;
              }
              throw exception;
            });
  }

  /**
   * An I/O failure in words: its message, and for a file system's refusal (which names only the
   * file) what kind it was, e.g. {@code AccessDeniedException: /data/scores.csv}.
   */
  static String describe(java.io.IOException exception) {
    if (exception instanceof java.nio.file.FileSystemException || exception.getMessage() == null) {
      return exception.getClass().getSimpleName()
          + (exception.getMessage() == null ? "" : ": " + exception.getMessage());
    }
    return exception.getMessage();
  }

  /**
   * What failed a Flink job, when {@code exception} is a job's failure: the innermost cause; else
   * null.
   */
  static Throwable jobFailure(Throwable exception) {
    boolean jobFailed = false;
    Throwable cause = exception;
    for (Throwable t = exception; t != null; t = t.getCause()) {
      jobFailed |= t instanceof org.apache.flink.runtime.client.JobExecutionException;
      cause = t;
    }
    return jobFailed ? cause : null;
  }

  public static void main(String[] args) {
    System.exit(execute(args));
  }
}
