package dev.streamlearn.core.train;

import dev.streamlearn.core.features.FeaturizerState;

/**
 * Everything a trainer has learned and counted, kept whole in Flink keyed state so that a restore
 * resumes exactly: parameters, featurizer statistics, the open mini-batch, the held-out validation
 * window, counters, lineage and the version counter. Public fields so Flink treats it as a POJO.
 */
public class TrainerState {
  /** The model this state trains: the pipeline's name, or its segment's or candidate's model. */
  public String model;

  /** What the model's manifests say of its segment; null without segments. */
  public String segmentFeature;

  public String segmentValue;
  public boolean otherSegment;

  /** The hyper-parameter candidate the model is; null without candidates. */
  public String candidate;

  /**
   * What the features section of the spec that made this state was (see {@link
   * ModelTrainer#resume}); null in states made before it was recorded.
   */
  public String featuresFingerprint;

  /**
   * The end of input was reached (the final watermark): a job drained to a savepoint and started
   * from it goes on from here, and its end-of-input timer must be set again.
   */
  public boolean endOfInputReached;

  /**
   * The version the parameters descend from: the last one published, or the version a warm start
   * began from; 0 before either.
   */
  public long version;

  /**
   * The newest version of this model in the store when this state was made (0: none). A new job
   * numbers its versions after it, so that it never takes the number of a version it did not make;
   * it is not their parent.
   */
  public long storedBefore;

  public long steps;
  public float[] params;

  /** Optimizer state: momentum or first moment, and second moment, as the optimizer needs. */
  public float[] moment1;

  public float[] moment2;

  /** The dropout generator's state, so a restore draws the same masks. */
  public long randomState;

  public double lastTrainingLoss;
  public FeaturizerState featurizer;

  /**
   * The open mini-batch: {@code batchRows} rows of input vectors, labels and weights. A regression
   * label is in its own units until the step scales the batch's labels.
   */
  public float[] batchX;

  public float[] batchY;
  public float[] batchWeight;
  public int batchRows;

  /**
   * Kafka timestamps of the open batch's rows, and the latest one trained since the last version.
   */
  public long[] batchIngest;

  public long lastIngestSinceVersion;

  /** Processing time at which the open batch closes when it is not full by then; 0 for none. */
  public long batchDeadline;

  /**
   * The held-out examples of the open validation windows, raw (each window's first ones, up to the
   * cap; prequential: each window's first events), and the window each counts in.
   */
  public double[] heldNumeric;

  public String[] heldCategorical;
  public float[] heldLabel;
  public long[] heldWindow;
  public int heldCount;

  /** Held-out events scored on arrival by the model of the moment (progressive validation). */
  public long heldOutTotal;

  public long heldOutCorrectTotal;
  public double heldOutLogLossTotal;
  public double heldOutSquaredErrorTotal;
  public double heldOutAbsoluteErrorTotal;
  public double heldOutLabelSum;
  public double heldOutLabelSquaredSum;
  public long trainedTotal;

  /**
   * The open validation windows, oldest first, by index (event time / window length); how many
   * held-out (prequential: scored) events each keeps for its validation, and how many training
   * events counted in each; the newest closed window. A window closes when an event more than the
   * allowed out-of-orderness past its end arrives, or when the watermark passes its end; events of
   * a closed window arrive late and count in the oldest open one.
   */
  public long[] openWindows = new long[0];

  public int[] openWindowKept = new int[0];
  public long[] openWindowTrained = new long[0];

  /** How many late events (their own window closed) counted in each open window. */
  public long[] openWindowLate = new long[0];

  public long closedWindow = Long.MIN_VALUE;

  /**
   * The distribution of the inputs over the last closed window's held-out events (one with at least
   * {@link dev.streamlearn.core.metrics.InputDrift#MIN_EVENTS}), which the next is compared with;
   * null before.
   */
  public dev.streamlearn.core.metrics.InputDrift.Profile inputProfile;

  /** Events that arrived after their own window had closed. */
  public long lateEvents;

  /** The latest event time seen. */
  public long latestEventTime = Long.MIN_VALUE;

  /**
   * Prequential windows: arrival predictions of candidate, champion and challenger, labels, and the
   * window each counts in.
   */
  public float[] arrivalCandidate;

  public float[] arrivalChampion;
  public float[] arrivalChallenger;
  public float[] arrivalLabel;
  public long[] arrivalWindow;
  public int arrivalCount;

  /**
   * Since-start held-out scores in bins (bounded-memory AUC) and confusion counts, indexed {@code
   * truth * classes + predicted}.
   */
  public long[] scoreHistogram;

  public long[] confusion;

  /** Control: best validation value so far, windows since it improved, learning-rate factors. */
  public double bestValue = Double.NaN;

  public int windowsWithoutImprovement;
  public double plateauScale = 1.0;
  public double boostScale = 1.0;
  public boolean stopped;
  public long optimizerSteps;

  /** The champion: the published version the gate compares against. */
  public float[] championParams;

  public long championVersion;

  /** A challenger trained beside the candidate after drift, until it wins or the next drift. */
  public boolean challengerActive;

  public float[] challengerParams;
  public float[] challengerMoment1;
  public float[] challengerMoment2;
  public long challengerSteps;

  public dev.streamlearn.core.drift.DriftState drift;

  /** Prequential with a label delay: examples scored on arrival, waiting for their label. */
  public double[] pendingNumeric = new double[0];

  public String[] pendingCategorical = new String[0];
  public double[] pendingLabel = new double[0];
  public float[] pendingWeight = new float[0];
  public long[] pendingTime = new long[0];
  public int[] pendingPartition = new int[0];
  public long[] pendingOffset = new long[0];
  public String[] pendingId = new String[0];

  /** When each waiting example reached Kafka: the training latency counts its wait too. */
  public long[] pendingIngest = new long[0];

  public int pendingHead;
  public int pendingSize;

  /**
   * Held-out (and prequential) events waiting to be scored, all by the same model: their input
   * vectors as made on arrival, labels, and the target's scaling then (regression). Scored together
   * before the model next changes.
   */
  public float[] unscoredX = new float[0];

  public double[] unscoredLabel = new double[0];
  public double[] unscoredTargetMean = new double[0];
  public double[] unscoredTargetDeviation = new double[0];
  public long[] unscoredWindow = new long[0];

  /** Prequential: whether the queued event is among its window's first, kept for validation. */
  public boolean[] unscoredKept = new boolean[0];

  public int unscoredCount;

  /** Since the last published version. */
  public long trainedSinceVersion;

  public long heldOutSinceVersion;

  /** Per partition, first and last offset trained on since the last version; -1 when none. */
  public long[] offsetFrom;

  public long[] offsetTo;
  public long eventTimeFrom = Long.MAX_VALUE;
  public long eventTimeTo = Long.MIN_VALUE;

  public TrainerState() {}
}
