package dev.streamlearn.core.model;

/**
 * A small, fast random generator whose whole state is one long, so a trainer can keep it in Flink
 * state and resume the exact same sequence after a restore.
 */
public final class SplitMix64 {

  private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

  private long state;

  public SplitMix64(long state) {
    this.state = state;
  }

  public long state() {
    return state;
  }

  public long nextLong() {
    return mix(state += GOLDEN_GAMMA);
  }

  /** Moves past {@code draws} draws at once, as a device does after drawing them in parallel. */
  public void skip(long draws) {
    state += draws * GOLDEN_GAMMA;
  }

  /** Uniform in [0, 1). */
  public double nextDouble() {
    return unit(nextLong());
  }

  /**
   * What {@link #nextDouble} returns after {@code index} earlier draws from {@code state}, without
   * drawing them: each element of a parallel draw computes its own (the kernels' {@code
   * uniform_draw}).
   */
  public static double uniformAt(long state, long index) {
    return unit(mix(state + (index + 1) * GOLDEN_GAMMA));
  }

  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  private static double unit(long bits) {
    return (bits >>> 11) * 0x1.0p-53;
  }

  public double nextGaussian() {
    double u = Math.max(nextDouble(), 1e-300);
    double v = nextDouble();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}
