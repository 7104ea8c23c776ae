/**
 * Evaluation: the mean loss and metrics of a model over a loader, in evaluation mode and
 * without autograd (Keras' evaluate, Lightning's validation loop).
 */
import { noGrad } from '../autograd/grad-mode.js';
import { tidy } from '../memory/tidy.js';
import type { Module } from '../nn/module.js';
import { batchSize, forwardLoss, unpackBatch } from './batches.js';
import { TrainingError } from './errors.js';
import { metricValues } from './metrics.js';
import { planLoss, type LossOptions, type LossPlan } from './multi-task.js';
import { drain, type Steps } from './steps.js';
import type { PassResult } from './train-epoch.js';
import { WeightedMeans } from './weighted-means.js';

/**
 * Options of evaluate: the loss and metrics as in fit (for a multi-task model, one loss per
 * head, metrics per head and lossWeights).
 */
export type EvaluateOptions = LossOptions;

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
 * stays in eval mode until the loop ends (or is stopped). Each batch also runs in a tidy()
 * scope, as training steps do: its activations go back to the storage pool for the next batch
 * instead of to the garbage collector (metrics must return numbers, or keep() what they hold
 * on to).
 */
export function evaluateSteps(model: Module, loader: Iterable<unknown>, options: EvaluateOptions): Steps<PassResult> {
  return evaluatePlanSteps(model, loader, planLoss('evaluate', options));
}

/** evaluateSteps with the loss and metrics already planned (fit's validation pass). */
export function* evaluatePlanSteps(model: Module, loader: Iterable<unknown>, plan: Omit<LossPlan, 'weighting'>): Steps<PassResult> {
  const { loss, metrics, multiTask } = plan;
  const wasTraining = model.training;
  const means = new WeightedMeans();
  const start = performance.now();
  model.eval();
  try {
    let batch = 0;
    for (const item of loader) {
      const where = `evaluate (batch ${++batch})`;
      tidy(() =>
        noGrad(() => {
          const [input, target] = unpackBatch(item, where, multiTask);
          const { output, loss: value } = forwardLoss(model, loss, [input, target], where, multiTask);
          means.add({ ...metricValues(metrics, output, target), loss: value.item() }, batchSize(target));
        }),
      );
      yield;
    }
  } finally {
    model.train(wasTraining);
  }
  if (means.samples === 0) throw new TrainingError('evaluate: the loader yielded no samples');
  return { loss: means.mean('loss'), metrics: means.means('loss'), samples: means.samples, seconds: (performance.now() - start) / 1000 };
}
