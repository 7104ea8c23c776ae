/**
 * Metrics: functions (output, target) → number computed on each batch's output and averaged
 * over the epoch's samples (weighted by batch size), like Keras' compile(metrics=…).
 */
import { noGrad } from '../autograd/grad-mode.js';
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { TrainingError } from './errors.js';
import type { BatchMetric, ModelOutput } from './multi-task.js';

/**
 * A metric of one batch: the model's output and the batch's target in, a number out. It is
 * averaged over batches weighted by batch size, so it should be a per-sample mean (accuracy,
 * a mean error). It runs without autograd.
 */
export type Metric = (output: Tensor, target: Tensor) => number;

/**
 * The fraction of samples whose highest score is the target class: kiln.metrics' accuracy,
 * here for use as a fit metric.
 *
 * Shape: output (N, C) scores; target (N) class indices.
 * Example: `train.fit(model, { …, metrics: { accuracy: train.accuracy } })`.
 */
export { accuracy } from '../eval/metrics.js';

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

/** Every metric's value on one batch (one tensor, or one per head, each), computed without autograd. */
export function metricValues(metrics: Readonly<Record<string, BatchMetric>>, output: ModelOutput, target: ModelOutput): Record<string, number> {
  return noGrad(() => Object.fromEntries(Object.entries(metrics).map(([name, metric]) => [name, metric(output, target)])));
}
