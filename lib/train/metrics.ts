/**
 * Metrics: functions (output, target) → number computed on each batch's output and averaged
 * over the epoch's samples (weighted by batch size), like Keras' compile(metrics=…).
 */
import { noGrad } from '../autograd/grad-mode.js';
import { formatShape, sameShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { TrainingError } from './errors.js';

/**
 * A metric of one batch: the model's output and the batch's target in, a number out. It is
 * averaged over batches weighted by batch size, so it should be a per-sample mean (accuracy,
 * a mean error). It runs without autograd.
 */
export type Metric = (output: Tensor, target: Tensor) => number;

/** The class of each row of (N, C) scores, or the rows' argmax of one-hot targets. */
function classesOf(t: Tensor): ArrayLike<number> {
  return t.argmax(1).data as ArrayLike<number>;
}

/**
 * The fraction of samples whose highest score is the target class (Keras' accuracy /
 * sparse_categorical_accuracy; with one-hot targets, categorical_accuracy).
 *
 * Shape: output (N, C) scores, logits or probabilities; target (N) class indices or (N, C) one-hot.
 * Example: `train.fit(model, { …, metrics: { accuracy: train.accuracy } })`.
 */
export function accuracy(output: Tensor, target: Tensor): number {
  if (output.ndim !== 2) throw new TrainingError(`accuracy: output must be (N, C) scores, got shape ${formatShape(output.shape)}; for one score per sample use binaryAccuracy`);
  const n = output.shape[0];
  const oneHot = sameShape(target.shape, output.shape);
  if (!oneHot && !(target.ndim === 1 && target.shape[0] === n)) {
    throw new TrainingError(`accuracy: target must be (N) class indices or (N, C) one-hot for output ${formatShape(output.shape)}, got ${formatShape(target.shape)}`);
  }
  if (n === 0) return Number.NaN;
  const predicted = classesOf(output);
  const actual = oneHot ? classesOf(target) : (target.data as ArrayLike<number>);
  let correct = 0;
  for (let i = 0; i < n; i++) if (predicted[i] === Number(actual[i])) correct++;
  return correct / n;
}

/**
 * A metric: the fraction of samples whose score is on the target's side of `threshold`
 * (Keras' binary_accuracy). Use threshold 0 for logits, 0.5 (the default) for probabilities.
 *
 * Shape: output and target with the same number of elements, e.g. (N) or (N, 1); target 0 or 1.
 * Example: `metrics: { accuracy: train.binaryAccuracy({ threshold: 0 }) }`.
 */
export function binaryAccuracy(options: { threshold?: number } = {}): Metric {
  const threshold = options.threshold ?? 0.5;
  return (output, target) => {
    if (output.numel !== target.numel) {
      throw new TrainingError(`binaryAccuracy: output ${formatShape(output.shape)} and target ${formatShape(target.shape)} have different sizes`);
    }
    if (output.numel === 0) return Number.NaN;
    let correct = 0;
    for (let i = 0; i < output.numel; i++) if ((Number(output.data[i]) > threshold) === (Number(target.data[i]) > 0.5)) correct++;
    return correct / output.numel;
  };
}

/** Every metric's value on one batch, computed without autograd. */
export function metricValues(metrics: Readonly<Record<string, Metric>>, output: Tensor, target: Tensor): Record<string, number> {
  return noGrad(() => Object.fromEntries(Object.entries(metrics).map(([name, metric]) => [name, metric(output, target)])));
}
