/**
 * The batches fit consumes: [input, target] pairs from a DataLoader or any iterable, and the
 * model's forward pass and loss on one of them.
 */
import type { Module } from '../nn/module.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { TrainingError } from './errors.js';

/** One batch: the model's input (passed to forward as is) and the target the loss compares with. */
export type Batch = readonly [input: unknown, target: Tensor];

/** A loss: a function (output, target) → scalar Tensor (e.g. F.crossEntropy) or a loss Module (e.g. new nn.CrossEntropyLoss()). */
export type Loss = ((output: Tensor, target: Tensor) => Tensor) | Module;

/** Batches per pass over `loader` when it knows (an array, a DataLoader over a sized dataset), else undefined. */
export function batchesPerEpoch(loader: Iterable<unknown>): number | undefined {
  if (Array.isArray(loader)) return loader.length;
  try {
    const length = (loader as { length?: unknown }).length;
    return typeof length === 'number' ? length : undefined;
  } catch {
    return undefined; // a DataLoader over an IterableDataset of unknown length throws
  }
}

/** Checks that a batch is an [input, target] pair with a Tensor target; `where` names it in errors. */
export function unpackBatch(batch: unknown, where: string): Batch {
  if (!Array.isArray(batch) || batch.length !== 2) {
    const got = Array.isArray(batch) ? `an array of ${batch.length}` : batch instanceof Tensor ? `a Tensor of shape ${formatShape(batch.shape)}` : typeof batch;
    throw new TrainingError(`${where}: each batch must be an [input, target] pair, got ${got}`);
  }
  if (!(batch[1] instanceof Tensor)) throw new TrainingError(`${where}: the batch's target must be a Tensor, got ${typeof batch[1]}`);
  return batch as unknown as Batch;
}

/** Samples in a batch: the target's first dimension (1 for a scalar target). */
export function batchSize(target: Tensor): number {
  return target.ndim === 0 ? 1 : target.shape[0];
}

/** The loss as a function, whichever form it was given in. */
export function lossFunction(loss: Loss): (output: Tensor, target: Tensor) => Tensor {
  if (typeof loss === 'function') return loss;
  if (loss !== null && typeof loss === 'object' && typeof loss.forward === 'function') return (output, target) => loss.forward(output, target) as Tensor;
  throw new TrainingError(`fit: loss must be a function (output, target) => Tensor or a loss Module, got ${loss === null ? 'null' : typeof loss}`);
}

/** The model's output and the scalar loss on one batch; `where` names the batch in errors. */
export function forwardLoss(model: Module, loss: (output: Tensor, target: Tensor) => Tensor, batch: Batch, where: string): { output: Tensor; loss: Tensor } {
  const output = model.forward(batch[0]);
  if (!(output instanceof Tensor)) throw new TrainingError(`${where}: the model's forward must return a Tensor, got ${typeof output}`);
  const value = loss(output, batch[1]);
  if (!(value instanceof Tensor) || value.numel !== 1) {
    const got = value instanceof Tensor ? `a tensor of shape ${formatShape(value.shape)}` : typeof value;
    throw new TrainingError(`${where}: the loss must return a scalar Tensor (reduction 'mean' or 'sum'), got ${got}`);
  }
  return { output, loss: value };
}
