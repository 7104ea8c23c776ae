/**
 * One training pass over the loader: for each batch forward, loss, backward, optional
 * gradient clipping, optimizer step; the epoch's mean loss and metrics. A non-finite loss
 * stops training before it can reach the weights.
 */
import { clipGradNorm_ } from '../optim/clip.js';
import { detectAnomaly } from '../autograd/anomaly.js';
import { isFloat, type FloatArray } from '../dtype.js';
import { tidy } from '../memory/tidy.js';
import { formatShape } from '../shape.js';
import type { Module } from '../nn/module.js';
import type { AnyOptimizer } from '../optim/schedulers.js';
import type { Tensor } from '../tensor.js';
import { batchesPerEpoch, batchSize, forwardLoss, unpackBatch } from './batches.js';
import type { BatchEnd } from './callback.js';
import { TrainingError } from './errors.js';
import { metricValues, type Metric } from './metrics.js';
import type { Steps } from './steps.js';
import { WeightedMeans } from './weighted-means.js';

/** What a training step needs. */
export interface StepSetup {
  model: Module;
  loss: (output: Tensor, target: Tensor) => Tensor;
  optimizer: AnyOptimizer;
  metrics: Readonly<Record<string, Metric>>;
  /** Clip the gradients' total L2 norm to this before each step. */
  clipGradNorm?: number;
  /** Run the step's forward and backward in autograd anomaly mode. */
  detectAnomaly?: boolean;
  /** Runs after each optimizer step (a per-batch scheduler step). */
  afterStep?: () => void;
}

/** The means of a pass over a loader. */
export interface PassResult {
  /** Mean loss per sample. */
  loss: number;
  /** Each metric's mean per sample. */
  metrics: Record<string, number>;
  /** Samples seen. */
  samples: number;
  /** Wall-clock seconds of the pass. */
  seconds: number;
}

/** Where a batch sits, for messages: "epoch 3, batch 7 of 10". */
const batchName = (epoch: number, batch: number, batches: number | undefined): string =>
  `epoch ${epoch}, batch ${batch}${batches === undefined ? '' : ` of ${batches}`}`;

/**
 * Throws a TrainingError naming the first parameter whose gradient has a NaN or ±Infinity: a
 * finite loss can still give one (an op whose derivative blows up), and a step would write it
 * into the weights (clipping would spread it to every gradient).
 */
function checkFiniteGradients(model: Module, where: string): void {
  for (const [name, p] of model.namedParameters()) {
    const grad = p.grad;
    if (grad === null) continue;
    const data = (isFloat(grad.dtype) ? grad : grad.float()).contiguous().data as FloatArray;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        throw new TrainingError(
          `fit: the gradient of parameter '${name}' (shape ${formatShape(p.shape)}) has ${data[i]} at element ${i} at ${where}, ` +
            `although the loss is finite; stopped before updating the weights (try autograd anomaly checks, a lower learning rate, or check the model for ops whose gradient overflows)`,
        );
      }
    }
  }
}

/** The step's forward, loss and backward (gradients zeroed first); throws on a non-finite loss. */
function forwardBackward(setup: StepSetup, batch: unknown, where: string): { output: Tensor; target: Tensor; value: number } {
  const [input, target] = unpackBatch(batch, `fit (${where})`);
  const { output, loss } = forwardLoss(setup.model, setup.loss, [input, target], `fit (${where})`);
  const value = loss.item();
  if (!Number.isFinite(value)) {
    throw new TrainingError(`fit: the training loss is ${value} at ${where}; stopped before updating the weights (try a lower learning rate, clipGradNorm, fit({ detectAnomaly: true }), or check the inputs for NaN)`);
  }
  setup.optimizer.zeroGrad();
  loss.backward();
  return { output, target, value };
}

/** One optimizer step on one batch; returns the batch's loss, metric values and size. */
function trainStep(setup: StepSetup, batch: unknown, where: string): { loss: number; metrics: Record<string, number>; size: number } {
  const { output, target, value } = setup.detectAnomaly === true ? detectAnomaly(() => forwardBackward(setup, batch, where)) : forwardBackward(setup, batch, where);
  checkFiniteGradients(setup.model, where);
  if (setup.clipGradNorm !== undefined) clipGradNorm_(setup.model.parameters(), setup.clipGradNorm);
  setup.optimizer.step();
  setup.afterStep?.();
  return { loss: value, metrics: metricValues(setup.metrics, output.detach(), target), size: batchSize(target) };
}

/**
 * Trains `setup.model` (in training mode) on every batch of `loader` once, calling
 * onBatchEnd after each step, and yields after each step (see steps.ts). Each step runs in a
 * tidy() scope: its activations and intermediate gradients go back to the storage pool for
 * the next step (metrics must return numbers, or keep() what they hold on to).
 */
export function* trainEpochSteps(loader: Iterable<unknown>, setup: StepSetup, epoch: number, onBatchEnd: (info: BatchEnd) => void): Steps<PassResult> {
  setup.model.train();
  const batches = batchesPerEpoch(loader);
  const means = new WeightedMeans();
  const start = performance.now();
  let batch = 0;
  for (const item of loader) {
    batch++;
    const where = batchName(epoch, batch, batches);
    const { loss, metrics, size } = tidy(() => trainStep(setup, item, where));
    means.add({ ...metrics, loss }, size);
    const seconds = (performance.now() - start) / 1000;
    onBatchEnd({ epoch, batch, batches, size, loss, runningLoss: means.mean('loss'), samples: means.samples, seconds });
    yield;
  }
  if (batch === 0) throw new TrainingError(`fit: trainLoader yielded no batches in epoch ${epoch}`);
  return { loss: means.mean('loss'), metrics: means.means('loss'), samples: means.samples, seconds: (performance.now() - start) / 1000 };
}
