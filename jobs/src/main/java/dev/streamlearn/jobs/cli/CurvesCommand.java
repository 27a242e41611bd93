package dev.streamlearn.jobs.cli;

import dev.streamlearn.store.Manifest;
import dev.streamlearn.store.ModelStore;
import dev.streamlearn.store.ModelStores;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import javax.imageio.ImageIO;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code streamlearn curves}: held-out metrics over a model's versions as a PNG, one panel per
 * metric, with drift alarms and champion moves marked.
 */
@Command(
    name = "curves",
    mixinStandardHelpOptions = true,
    description =
        "Draws a model's held-out metrics over its versions (from their manifests) as a PNG.")
final class CurvesCommand implements Callable<Integer> {

  @Option(
      names = "--store",
      defaultValue = "models",
      description = "Model store (default ${DEFAULT-VALUE}).")
  String store;

  @Option(names = "--model", required = true, description = "The model's name.")
  String model;

  @Option(
      names = "--metrics",
      split = ",",
      description = {
        "Window metrics to draw. Default by the model's task: accuracy,auc,logLoss (binary),",
        "accuracy,macroF1,logLoss (multiclass), rmse,mae,r2 (regression)."
      })
  List<String> metrics;

  @Option(names = "--output", required = true, description = "The PNG file to write.")
  Path output;

  private static final int WIDTH = 900;
  private static final int PANEL = 220;
  private static final int LEFT = 70;
  private static final int RIGHT = 20;
  private static final int TOP = 40;

  @Override
  public Integer call() throws Exception {
    if (!output.toString().endsWith(".png")) {
      throw new IllegalArgumentException("--output " + output + ": write a .png file");
    }
    ModelStore models = ModelStores.open(store);
    List<Long> versions = models.versions(model);
    if (versions.isEmpty()) {
      throw new IllegalArgumentException(
          "model '" + model + "' has no versions in " + models.location());
    }
    List<Manifest> manifests = new ArrayList<>();
    for (long version : versions) {
      manifests.add(models.manifest(model, version).orElseThrow());
    }
    metrics = metricsToDraw(metrics, manifests);
    int height = TOP + metrics.size() * (PANEL + 40) + 30;
    BufferedImage image = new BufferedImage(WIDTH, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, WIDTH, height);
    g.setColor(Color.BLACK);
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
    g.drawString("Model " + model + ": held-out metrics per version (validation window)", LEFT, 24);
    for (int m = 0; m < metrics.size(); m++) {
      drawPanel(g, manifests, metrics.get(m), TOP + m * (PANEL + 40));
    }
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    g.setColor(new Color(200, 40, 40));
    g.drawString("red dashes: drift detected", LEFT, height - 10);
    g.setColor(new Color(30, 130, 60));
    g.drawString("green dots: champion moved", LEFT + 200, height - 10);
    g.dispose();
    ImageIO.write(image, "png", output.toFile());
    System.out.printf(
        "Wrote %s: %d versions of %s, metrics %s%n", output, versions.size(), model, metrics);
    return 0;
  }

  /**
   * The metrics asked for, each of which some version measured; or, when none were asked for, the
   * usual three of the model's task.
   */
  static List<String> metricsToDraw(List<String> asked, List<Manifest> manifests) {
    java.util.Set<String> measured = new java.util.TreeSet<>();
    for (Manifest manifest : manifests) {
      Map<String, Double> window =
          manifest.metrics() == null ? null : manifest.metrics().get("window");
      if (window != null) {
        window.keySet().stream().filter(name -> !name.contains(".")).forEach(measured::add);
      }
    }
    if (asked == null) {
      String task = manifests.get(manifests.size() - 1).task();
      return switch (task == null ? "" : task) {
        case "regression" -> List.of("rmse", "mae", "r2");
        case "multiclass" -> List.of("accuracy", "macroF1", "logLoss");
        default -> List.of("accuracy", "auc", "logLoss");
      };
    }
    for (String metric : asked) {
      if (!measured.contains(metric)) {
        throw new IllegalArgumentException(
            "--metrics "
                + metric
                + ": no version's validation window measured it; they measured "
                + measured);
      }
    }
    return asked;
  }

  private static void drawPanel(Graphics2D g, List<Manifest> manifests, String metric, int top) {
    int bottom = top + PANEL;
    int right = WIDTH - RIGHT;
    double[] values = new double[manifests.size()];
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < values.length; i++) {
      Map<String, Double> window = manifests.get(i).metrics().get("window");
      values[i] = window == null ? Double.NaN : window.getOrDefault(metric, Double.NaN);
      if (!Double.isNaN(values[i])) {
        min = Math.min(min, values[i]);
        max = Math.max(max, values[i]);
      }
    }
    if (min == Double.POSITIVE_INFINITY) {
      min = 0;
      max = 1;
    }
    if (max - min < 1e-9) {
      max = min + 1;
    }
    double pad = (max - min) * 0.1;
    min -= pad;
    max += pad;
    g.setColor(Color.BLACK);
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
    g.drawString(metric, LEFT, top - 6);
    g.drawRect(LEFT, top, right - LEFT, PANEL);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
    for (int t = 0; t <= 4; t++) {
      double value = min + (max - min) * t / 4;
      int y = bottom - (int) ((value - min) / (max - min) * PANEL);
      g.setColor(new Color(230, 230, 230));
      g.drawLine(LEFT + 1, y, right - 1, y);
      g.setColor(Color.DARK_GRAY);
      g.drawString(String.format("%.3f", value), 8, y + 4);
    }
    int n = values.length;
    double previousDrift = 0;
    for (int i = 0; i < n; i++) {
      int x = x(i, n, right);
      Map<String, Double> control = manifests.get(i).metrics().get("control");
      if (control != null) {
        double drift = control.getOrDefault("driftDetections", 0.0);
        if (drift > previousDrift) {
          g.setColor(new Color(200, 40, 40));
          g.setStroke(
              new BasicStroke(
                  1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10, new float[] {5, 4}, 0));
          g.drawLine(x, top + 1, x, bottom - 1);
          g.setStroke(new BasicStroke(1));
        }
        previousDrift = drift;
      }
      if (i % Math.max(1, n / 10) == 0 || i == n - 1) {
        g.setColor(Color.DARK_GRAY);
        g.drawString("v" + manifests.get(i).version(), x - 8, bottom + 14);
      }
    }
    g.setColor(new Color(40, 90, 200));
    g.setStroke(new BasicStroke(2));
    for (int i = 1; i < n; i++) {
      if (!Double.isNaN(values[i - 1]) && !Double.isNaN(values[i])) {
        g.drawLine(
            x(i - 1, n, right),
            y(values[i - 1], min, max, bottom),
            x(i, n, right),
            y(values[i], min, max, bottom));
      }
    }
    g.setStroke(new BasicStroke(1));
    for (int i = 0; i < n; i++) {
      if (Double.isNaN(values[i])) {
        continue;
      }
      Map<String, Double> control = manifests.get(i).metrics().get("control");
      boolean champion =
          control != null
              && control.getOrDefault("championVersion", 0.0) == manifests.get(i).version();
      g.setColor(champion ? new Color(30, 130, 60) : new Color(40, 90, 200));
      int size = champion ? 9 : 5;
      g.fillOval(x(i, n, right) - size / 2, y(values[i], min, max, bottom) - size / 2, size, size);
    }
  }

  private static int x(int i, int n, int right) {
    return n == 1
        ? (LEFT + right) / 2
        : LEFT + 10 + (int) ((right - LEFT - 20) * i / (double) (n - 1));
  }

  private static int y(double value, double min, double max, int bottom) {
    return bottom - (int) ((value - min) / (max - min) * PANEL);
  }
}
