/**
 * One training pass over the loader: for each batch forward, loss, backward, optional
 * gradient clipping, optimizer step; the epoch's mean loss and metrics. A non-finite loss
 * stops training before it can reach the weights.
 */
import { clipGradNorm_ } from '../optim/clip.js';
import { detectAnomaly } from '../autograd/anomaly.js';
import { autocast, type AutocastDType } from '../autocast.js';
import { isFloat, type FloatArray } from '../dtype.js';
import { ResumableScope, tidy } from '../memory/tidy.js';
import { runAsync } from '../backend/queue.js';
import { formatShape } from '../shape.js';
import type { Module } from '../nn/module.js';
import type { AnyOptimizer } from '../optim/schedulers.js';
import type { Tensor } from '../tensor.js';
import { detachOutput, type BatchMetric, type ModelOutput } from './multi-task.js';
import { adversarialLoss, type AdversarialTraining } from './adversarial.js';
import { batchesPerEpoch, batchSize, forwardLoss, unpackBatch } from './batches.js';
import type { BatchEnd } from './callback.js';
import { TrainingError } from './errors.js';
import { metricValues } from './metrics.js';
import type { Steps } from './steps.js';
import type { StepPlacement } from './step-placement.js';
import type { UncertaintyWeighting } from './uncertainty-weighting.js';
import { WeightedMeans } from './weighted-means.js';

/** What a training step needs. */
export interface StepSetup {
  model: Module;
  /** The batch's scalar training loss (multi-task: the heads' weighted losses). */
  loss: (output: ModelOutput, target: ModelOutput) => Tensor;
  optimizer: AnyOptimizer;
  metrics: Readonly<Record<string, BatchMetric>>;
  /** The model returns several heads and each batch's target has one tensor per head. */
  multiTask: boolean;
  /** The learned loss weights of a multi-task model, recorded after each epoch. */
  weighting?: UncertaintyWeighting;
  /** Clip the gradients' total L2 norm to this before each step. */
  clipGradNorm?: number;
  /** Run the step's forward and backward in autograd anomaly mode. */
  detectAnomaly?: boolean;
  /** Runs after each optimizer step (a per-batch scheduler step). */
  afterStep?: () => void;
  /** Train on attacked batches (fit's adversarial option). */
  adversarial?: AdversarialTraining;
  /** Run each step's forward and loss under autocast with this dtype (fit's autocast option). */
  autocast?: AutocastDType;
  /**
   * fitAsync: decides for each step whether its kernels run off the JS thread with kiln.async
   * (the loop then yields promises) or inline. Absent: every step runs inline (fit).
   */
  placement?: StepPlacement;
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
    // A NaN or ±Infinity anywhere makes the sum non-finite: one vectorized pass (the native
    // sum) instead of a TypeScript loop over every element (~6 ms a step for ResNet-18's 11M).
    // Only a non-finite sum (or finite values whose sum overflows) is searched element by element.
    if (Number.isFinite(grad.sum().item())) continue;
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

/** A batch's forward pass: the model's output, the loss and the target. */
interface Forward {
  output: ModelOutput;
  loss: Tensor;
  target: ModelOutput;
}

function forwardPhase(setup: StepSetup, batch: unknown, where: string): Forward {
  const [input, target] = unpackBatch(batch, `fit (${where})`, setup.multiTask);
  const run = (): { output: ModelOutput; loss: Tensor } =>
    setup.adversarial === undefined
      ? forwardLoss(setup.model, setup.loss, [input, target], `fit (${where})`, setup.multiTask)
      : adversarialLoss(setup.model, setup.loss, setup.adversarial, [input, target], `fit (${where})`);
  const { output, loss } = setup.autocast === undefined ? run() : autocast(setup.autocast, run);
  return { output, loss, target };
}

/** The loss as a number; throws before anything reaches the weights when it is not finite. */
function checkedLoss(loss: Tensor, where: string): number {
  const value = loss.item();
  if (!Number.isFinite(value)) {
    throw new TrainingError(`fit: the training loss is ${value} at ${where}; stopped before updating the weights (try a lower learning rate, clipGradNorm, fit({ detectAnomaly: true }), or check the inputs for NaN)`);
  }
  return value;
}

function backwardPhase(setup: StepSetup, loss: Tensor): void {
  setup.optimizer.zeroGrad();
  loss.backward();
}

function checkGradientsPhase(setup: StepSetup, where: string): void {
  checkFiniteGradients(setup.model, where);
  if (setup.clipGradNorm !== undefined) clipGradNorm_(setup.model.parameters(), setup.clipGradNorm);
}

function updatePhase(setup: StepSetup): void {
  setup.optimizer.step();
  setup.afterStep?.();
}

/** What a step reports: the batch's loss, metric values and size. */
interface StepResult {
  loss: number;
  metrics: Record<string, number>;
  size: number;
}

const stepResult = (setup: StepSetup, f: Forward, loss: number): StepResult => ({
  loss,
  metrics: metricValues(setup.metrics, detachOutput(f.output), f.target),
  size: batchSize(f.target),
});

/** One optimizer step on one batch, on the JS thread. */
function trainStep(setup: StepSetup, batch: unknown, where: string): StepResult {
  const forwardBackward = (): [Forward, number] => {
    const f = forwardPhase(setup, batch, where);
    const loss = checkedLoss(f.loss, where);
    backwardPhase(setup, f.loss);
    return [f, loss];
  };
  const [f, loss] = setup.detectAnomaly === true ? detectAnomaly(forwardBackward) : forwardBackward();
  checkGradientsPhase(setup, where);
  updatePhase(setup);
  return stepResult(setup, f, loss);
}

/**
 * The same step with its kernels run off the JS thread in two kiln.async phases (yielded for
 * the driver to await): forward, loss and backward, then the update. The checks run between
 * them, on the JS thread, once their inputs have landed: a non-finite loss or gradient still
 * stops training before anything reaches the weights (the gradients of that batch are then
 * computed, unlike in trainStep, which checks the loss before backward). Each phase costs at
 * least one round trip to the thread pool (one more per TypeScript kernel deferred inside it),
 * so the step has as few phases as its checks allow. The step's arrays live in one tidy
 * scope, entered for each phase.
 */
function* trainStepAsync(setup: StepSetup, batch: unknown, where: string): Generator<Promise<void>, StepResult, void> {
  const scope = new ResumableScope();
  const phase = (fn: () => void): Promise<void> => runAsync(() => scope.run(fn));
  let f: Forward | undefined;
  yield phase(() => {
    f = forwardPhase(setup, batch, where);
    backwardPhase(setup, f.loss);
  });
  const forward = f as Forward;
  const loss = scope.run(() => checkedLoss(forward.loss, where));
  scope.run(() => checkGradientsPhase(setup, where));
  yield phase(() => updatePhase(setup));
  return scope.end(scope.run(() => stepResult(setup, forward, loss)));
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
    const stepStart = performance.now();
    // Anomaly checks and autocast's bfloat16 rounding read values on the JS thread: such steps run inline.
    const offThread = setup.placement?.offThread() === true && setup.detectAnomaly !== true && setup.autocast === undefined;
    const { loss, metrics, size } = offThread ? yield* trainStepAsync(setup, item, where) : tidy(() => trainStep(setup, item, where));
    setup.placement?.record(performance.now() - stepStart);
    means.add({ ...metrics, loss }, size);
    const seconds = (performance.now() - start) / 1000;
    onBatchEnd({ epoch, batch, batches, size, loss, runningLoss: means.mean('loss'), samples: means.samples, seconds });
    yield;
  }
  if (batch === 0) throw new TrainingError(`fit: trainLoader yielded no batches in epoch ${epoch}`);
  return { loss: means.mean('loss'), metrics: means.means('loss'), samples: means.samples, seconds: (performance.now() - start) / 1000 };
}
