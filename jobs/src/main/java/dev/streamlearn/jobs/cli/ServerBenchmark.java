package dev.streamlearn.jobs.cli;

import dev.streamlearn.store.LocalModelStore;
import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ModelStore;
import dev.streamlearn.store.http.ModelStoreServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code streamlearn bench server}: the model store server under concurrent downloads. */
@Command(
    name = "server",
    mixinStandardHelpOptions = true,
    description = {
      "Load test of the model store server: downloads/s, MiB/s, latency.",
      "Load test of the model store server on loopback: --clients threads download a version's",
      "model.safetensors over and over until --requests downloads are done or --seconds pass;",
      "prints downloads/s, MiB/s and latency percentiles."
    })
final class ServerBenchmark implements Callable<Integer> {

  @Option(
      names = "--clients",
      defaultValue = "50",
      converter = AtLeastOne.class,
      description = "Concurrent clients (default ${DEFAULT-VALUE}).")
  int clients;

  @Option(
      names = "--requests",
      defaultValue = "20000",
      converter = AtLeastOne.class,
      description = "Downloads in all (default ${DEFAULT-VALUE}).")
  int requests;

  @Option(
      names = "--seconds",
      defaultValue = "60",
      description = "Time limit (default ${DEFAULT-VALUE}).")
  int seconds;

  @Option(
      names = "--file-kib",
      defaultValue = "256",
      description = "Size of the downloaded file (default ${DEFAULT-VALUE} KiB).")
  int fileKib;

  @Override
  public Integer call() throws Exception {
    Path root = Files.createTempDirectory("streamlearn-server-bench-");
    LocalModelStore store = new LocalModelStore(root);
    byte[] parameters = new byte[fileKib * 1024];
    new Random(1).nextBytes(parameters);
    for (long v = 1; v <= 3; v++) {
      store.publish(
          new Manifest(
              Manifest.FORMAT_VERSION,
              "bench",
              null,
              null,
              v,
              v > 1 ? v - 1 : null,
              Instant.now().toString(),
              "binary",
              List.of("0", "1"),
              List.of("x"),
              "none",
              "none",
              "java",
              "fp32",
              Map.of("window", Map.of("accuracy", 0.5 + v / 10.0)),
              null,
              null,
              null,
              null),
          Map.of(ModelStore.PARAMETERS, parameters, ModelStore.FEATURIZER, "{}".getBytes()));
    }
    try (ModelStoreServer server =
        ModelStoreServer.start(store, new InetSocketAddress("127.0.0.1", 0), null)) {
      URI uri =
          URI.create(server.url() + "api/v1/models/bench/versions/latest/files/model.safetensors");
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      System.out.printf(
          "Model store server load test: %d clients downloading a %,d KiB file from %s (at most %,d downloads or %d s), %d cores%n",
          clients,
          fileKib,
          server.url(),
          requests,
          seconds,
          Runtime.getRuntime().availableProcessors());
      // Warm-up: a few hundred downloads before the clock starts.
      for (int i = 0; i < 200; i++) {
        http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.discarding());
      }
      AtomicLong remaining = new AtomicLong(requests);
      AtomicLong errors = new AtomicLong();
      long deadline = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
      ExecutorService pool = Executors.newFixedThreadPool(clients);
      List<Future<long[]>> futures = new ArrayList<>();
      long start = System.nanoTime();
      for (int c = 0; c < clients; c++) {
        futures.add(
            pool.submit(
                () -> {
                  long[] latencies = new long[requests];
                  int n = 0;
                  while (remaining.getAndDecrement() > 0 && System.nanoTime() < deadline) {
                    long t0 = System.nanoTime();
                    HttpResponse<byte[]> response =
                        http.send(
                            HttpRequest.newBuilder(uri).build(),
                            HttpResponse.BodyHandlers.ofByteArray());
                    latencies[n++] = System.nanoTime() - t0;
                    if (response.statusCode() != 200
                        || response.body().length != parameters.length) {
                      errors.incrementAndGet();
                    }
                  }
                  return Arrays.copyOf(latencies, n);
                }));
      }
      long[] all = new long[0];
      for (Future<long[]> future : futures) {
        long[] part = future.get();
        int at = all.length;
        all = Arrays.copyOf(all, at + part.length);
        System.arraycopy(part, 0, all, at, part.length);
      }
      double elapsed = (System.nanoTime() - start) / 1e9;
      pool.shutdown();
      Arrays.sort(all);
      System.out.printf("%-28s %,12d%n", "downloads", all.length);
      System.out.printf("%-28s %,12d%n", "errors", errors.get());
      System.out.printf("%-28s %,12.0f%n", "downloads/s", all.length / elapsed);
      System.out.printf(
          "%-28s %,12.1f%n", "MiB/s", all.length * (double) parameters.length / elapsed / 1048576);
      System.out.printf("%-28s %12.2f%n", "latency p50 (ms)", percentile(all, 0.50));
      System.out.printf("%-28s %12.2f%n", "latency p99 (ms)", percentile(all, 0.99));
      System.out.printf(
          "%-28s %12.2f%n",
          "latency max (ms)", all.length == 0 ? Double.NaN : all[all.length - 1] / 1e6);
      return errors.get() == 0 ? 0 : 1;
    } finally {
      try (var walk = Files.walk(root)) {
        walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static double percentile(long[] sorted, double q) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)] / 1e6;
  }
}
