package dev.streamlearn.core.model;

/** What the last layer's pre-activations become: probabilities or values. */
public enum Output {
  /** One unit, the probability of class 1. */
  SIGMOID,
  /** One unit per class, probabilities that sum to 1. */
  SOFTMAX,
  /** The values themselves (regression). */
  IDENTITY
}
