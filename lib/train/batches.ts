/**
 * The batches fit consumes: [input, target] pairs from a DataLoader or any iterable, and the
 * model's forward pass and loss on one of them.
 */
import type { Module } from '../nn/module.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { TrainingError } from './errors.js';
import type { Heads, ModelOutput } from './multi-task.js';

/** One batch: the model's input (passed to forward as is) and the target the loss compares with (one tensor per head for a multi-task model). */
export type Batch = readonly [input: unknown, target: Tensor | Heads];

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

/**
 * Checks that a batch is an [input, target] pair with a Tensor target (multiTask: an array or
 * record of targets, checked head by head by the loss); `where` names it in errors.
 */
export function unpackBatch(batch: unknown, where: string, multiTask = false): Batch {
  if (!Array.isArray(batch) || batch.length !== 2) {
    const got = Array.isArray(batch) ? `an array of ${batch.length}` : batch instanceof Tensor ? `a Tensor of shape ${formatShape(batch.shape)}` : typeof batch;
    throw new TrainingError(`${where}: each batch must be an [input, target] pair, got ${got}`);
  }
  if (multiTask) {
    if (batch[1] === null || typeof batch[1] !== 'object' || batch[1] instanceof Tensor) {
      throw new TrainingError(`${where}: a multi-task batch's target must be an array or a record of tensors, one per head, got ${batch[1] instanceof Tensor ? 'one Tensor' : typeof batch[1]}`);
    }
  } else if (!(batch[1] instanceof Tensor)) throw new TrainingError(`${where}: the batch's target must be a Tensor, got ${typeof batch[1]}`);
  return batch as unknown as Batch;
}

/** Samples in a batch: the target's first dimension (1 for a scalar target; a multi-task target's first head). */
export function batchSize(target: Tensor | Heads): number {
  const first = target instanceof Tensor ? target : Object.values(target)[0];
  if (!(first instanceof Tensor)) throw new TrainingError('fit: a multi-task batch\'s target has no tensors');
  return first.ndim === 0 ? 1 : first.shape[0];
}

/** The loss as a function, whichever form it was given in. */
export function lossFunction(loss: Loss): (output: Tensor, target: Tensor) => Tensor {
  if (typeof loss === 'function') return loss;
  if (loss !== null && typeof loss === 'object' && typeof loss.forward === 'function') return (output, target) => loss.forward(output, target) as Tensor;
  throw new TrainingError(`fit: loss must be a function (output, target) => Tensor or a loss Module, got ${loss === null ? 'null' : typeof loss}`);
}

/**
 * The model's output and the scalar loss on one batch; `where` names the batch in errors. A
 * multi-task model's output (several heads) is checked head by head by the loss.
 */
export function forwardLoss(model: Module, loss: (output: ModelOutput, target: ModelOutput) => Tensor, batch: Batch, where: string, multiTask = false): { output: ModelOutput; loss: Tensor } {
  const output = model.forward(batch[0]) as ModelOutput;
  if (!multiTask && !(output instanceof Tensor)) throw new TrainingError(`${where}: the model's forward must return a Tensor, got ${typeof output}`);
  const value = loss(output, batch[1]);
  if (!(value instanceof Tensor) || value.numel !== 1) {
    const got = value instanceof Tensor ? `a tensor of shape ${formatShape(value.shape)}` : typeof value;
    throw new TrainingError(`${where}: the loss must return a scalar Tensor (reduction 'mean' or 'sum'), got ${got}`);
  }
  return { output, loss: value };
}
