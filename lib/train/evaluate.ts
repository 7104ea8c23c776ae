/**
 * Evaluation: the mean loss and metrics of a model over a loader, in evaluation mode and
 * without autograd (Keras' evaluate, Lightning's validation loop).
 */
import { noGrad } from '../autograd/grad-mode.js';
import type { Module } from '../nn/module.js';
import { batchSize, forwardLoss, lossFunction, unpackBatch, type Loss } from './batches.js';
import { TrainingError } from './errors.js';
import { metricValues, type Metric } from './metrics.js';
import { drain, type Steps } from './steps.js';
import type { PassResult } from './train-epoch.js';
import { WeightedMeans } from './weighted-means.js';

/** Options of evaluate. */
export interface EvaluateOptions {
  /** The loss, as in fit. */
  loss: Loss;
  /** Metrics by name, as in fit. */
  metrics?: Readonly<Record<string, Metric>>;
}

/**
 * Runs the model over every batch of `loader` in eval mode (dropout off, BatchNorm on its
 * running statistics) under noGrad, and returns the mean loss and metrics per sample. The
 * model's training flag is restored afterwards.
 *
 * Example:
 * ```ts
 * const { loss, metrics } = train.evaluate(model, testLoader, { loss: F.crossEntropy, metrics: { accuracy: train.accuracy } });
 * ```
 */
export function evaluate(model: Module, loader: Iterable<unknown>, options: EvaluateOptions): PassResult {
  return drain(evaluateSteps(model, loader, options));
}

/**
 * evaluate as a generator that yields after each batch. Each batch runs under noGrad on its
 * own, so no-grad mode never leaks to code that runs while the loop is suspended; the model
 * stays in eval mode until the loop ends (or is stopped).
 */
export function* evaluateSteps(model: Module, loader: Iterable<unknown>, options: EvaluateOptions): Steps<PassResult> {
  const loss = lossFunction(options.loss);
  const metrics = options.metrics ?? {};
  const wasTraining = model.training;
  const means = new WeightedMeans();
  const start = performance.now();
  model.eval();
  try {
    let batch = 0;
    for (const item of loader) {
      const where = `evaluate (batch ${++batch})`;
      noGrad(() => {
        const [input, target] = unpackBatch(item, where);
        const { output, loss: value } = forwardLoss(model, loss, [input, target], where);
        means.add({ ...metricValues(metrics, output, target), loss: value.item() }, batchSize(target));
      });
      yield;
    }
  } finally {
    model.train(wasTraining);
  }
  if (means.samples === 0) throw new TrainingError('evaluate: the loader yielded no samples');
  return { loss: means.mean('loss'), metrics: means.means('loss'), samples: means.samples, seconds: (performance.now() - start) / 1000 };
}
