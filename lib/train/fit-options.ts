/** The options of fit, and their checks: every bad option is an error before the first batch. */
import type { AutocastDType } from '../autocast.js';
import { Module } from '../nn/module.js';
import { Optimizer } from '../optim/optimizer.js';
import type { AnyOptimizer } from '../optim/schedulers.js';
import { checkAdversarial, type AdversarialTraining } from './adversarial.js';
import type { Loss } from './batches.js';
import type { Callback } from './callback.js';
import type { TrainingState } from './checkpoint.js';
import type { EpochPlan } from './epoch.js';
import { TrainingError } from './errors.js';
import type { Metric } from './metrics.js';
import { planLoss, type HeadLosses, type HeadMetrics, type LossWeights } from './multi-task.js';
import type { UncertaintyWeighting } from './uncertainty-weighting.js';
import type { ProgressMode } from './progress/index.js';
import type { ProgressStream } from './progress/lines.js';
import { checkSchedulerInterval, type Scheduler, type SchedulerInterval } from './scheduling.js';

/** Options of fit. */
export interface FitOptions {
  /**
   * The loss: a function (output, target) → scalar Tensor, or a loss Module. For a multi-task
   * model (forward returns an array or a record of tensors, and each batch's target has the
   * same form), one loss per head, as an array or a record keyed like the output; the
   * training loss is then Σ wᵢ·lossᵢ (see lossWeights) and each head's loss is recorded as
   * train_<head>_loss / val_<head>_loss (array heads are named head0, head1, …).
   */
  loss: Loss | HeadLosses;
  /** Any kiln optimizer over the model's parameters. */
  optimizer: AnyOptimizer;
  /**
   * [input, target] batches: a data.DataLoader, an array, or any iterable that can be iterated
   * once per epoch. fit is synchronous: it iterates with `for … of`, like PyTorch's loop.
   */
  trainLoader: Iterable<unknown>;
  /** Batches to validate on after each epoch (eval mode, no autograd). */
  valLoader?: Iterable<unknown>;
  /** The last epoch to run, counted from 1 (with resumeFrom, training continues up to it). */
  epochs: number;
  /**
   * Metrics by name, recorded as train_<name> and val_<name>. During training they run inside
   * the step's tidy() scope, so a metric that holds on to a tensor must keep() it. For a
   * multi-task model, per head (`{ classes: { accuracy } }`, or an array of records for array
   * heads), recorded as train_<head>_<name> and val_<head>_<name>.
   */
  metrics?: Readonly<Record<string, Metric>> | HeadMetrics;
  /**
   * Multi-task only: the heads' loss weights, fixed (an array, or a record keyed by head;
   * default 1 each) or learned by an UncertaintyWeighting (Kendall et al. 2018), whose
   * log-variances fit adds to the optimizer when they are not in it yet.
   */
  lossWeights?: LossWeights;
  /** A learning-rate scheduler of kiln.optim. */
  scheduler?: Scheduler;
  /** Step the scheduler after each 'epoch' (default) or each 'batch'. */
  schedulerInterval?: SchedulerInterval;
  /** The record key ReduceLROnPlateau is given. Default 'val_loss' with a valLoader, else 'train_loss'. */
  schedulerMonitor?: string;
  /** Clip the gradients' total L2 norm to this before each step. */
  clipGradNorm?: number;
  /**
   * Run each training step in autograd anomaly mode (autograd.detectAnomaly): the first op
   * whose forward or backward makes a NaN or ±Infinity throws, naming the op and where it was
   * called. Slow; for debugging: the checks read every value, so fitAsync then runs each step's
   * kernels on the JS thread. Default false.
   */
  detectAnomaly?: boolean;
  /** Called in order at each hook. */
  callbacks?: readonly Callback[];
  /** 'auto' (default): a bar on a terminal, plain lines otherwise; 'bar'; 'lines'; false: silent. */
  progress?: ProgressMode;
  /** Where progress goes. Default process.stdout. */
  progressStream?: ProgressStream;
  /** Continue a run: the state loadCheckpoint returns (epochs done and their history). */
  resumeFrom?: TrainingState;
  /** Adversarial training: attack each batch (e.g. with viz.pgd) and learn from the perturbed inputs. */
  adversarial?: AdversarialTraining;
  /**
   * 'bfloat16': each training step's forward and loss run under `autocast('bfloat16', …)`
   * (products in bfloat16 with FP32 accumulation), backward and the optimizer on the FP32
   * master weights, as PyTorch's CPU autocast recipe. Validation runs in FP32. Default: off.
   */
  autocast?: AutocastDType;
}

/** fit's options, checked, with defaults filled in. */
export interface FitPlan extends EpochPlan {
  epochs: number;
  /** Epochs already done (0 for a fresh run). */
  startEpoch: number;
  callbacks: readonly Callback[];
}

/** Throws a TrainingError naming the first bad option. */
function checkOptions(model: unknown, options: FitOptions): void {
  if (!(model instanceof Module)) throw new TrainingError(`fit: model must be an nn.Module, got ${typeof model}`);
  if (options === null || typeof options !== 'object') throw new TrainingError('fit: options are required: { loss, optimizer, trainLoader, epochs }');
  const { epochs, trainLoader, valLoader, optimizer, resumeFrom, clipGradNorm } = options;
  if (!(Number.isInteger(epochs) && epochs >= 1)) throw new TrainingError(`fit: epochs must be an integer ≥ 1, got ${String(epochs)}`);
  if (!isIterable(trainLoader)) throw new TrainingError(`fit: trainLoader must be a DataLoader or an iterable of [input, target] batches, got ${describe(trainLoader)}`);
  if (valLoader !== undefined && !isIterable(valLoader)) throw new TrainingError(`fit: valLoader must be a DataLoader or an iterable of [input, target] batches, got ${describe(valLoader)}`);
  if (!(optimizer instanceof Optimizer)) throw new TrainingError(`fit: optimizer must be a kiln optimizer (optim.SGD, optim.Adam, …), got ${describe(optimizer)}`);
  if (clipGradNorm !== undefined && !(clipGradNorm > 0)) throw new TrainingError(`fit: clipGradNorm must be > 0, got ${clipGradNorm}`);
  if (resumeFrom !== undefined) {
    const { epoch, history } = resumeFrom;
    if (!(Number.isInteger(epoch) && epoch >= 0)) throw new TrainingError(`fit: resumeFrom.epoch must be an integer ≥ 0, got ${String(epoch)}`);
    if (!Array.isArray(history) || history.length !== epoch) {
      throw new TrainingError(`fit: resumeFrom.history must hold one record per epoch done (${epoch}), got ${Array.isArray(history) ? history.length : describe(history)}`);
    }
  }
  checkAdversarial(options.adversarial);
  if (options.autocast !== undefined && options.autocast !== 'bfloat16') {
    throw new TrainingError(`fit: autocast must be 'bfloat16' (PyTorch 1.13's CPU autocast supports only bfloat16), got ${JSON.stringify(options.autocast)}`);
  }
}

const isIterable = (value: unknown): value is Iterable<unknown> =>
  value !== null && value !== undefined && typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';

const describe = (value: unknown): string => (value === null ? 'null' : value === undefined ? 'nothing' : (value.constructor?.name ?? typeof value));

/**
 * Puts the weighting's log-variances in the optimizer (a group of their own, no weight decay)
 * unless they are there already. A scheduler set up before that would not know the group.
 */
function optimizeWeighting(weighting: UncertaintyWeighting, optimizer: AnyOptimizer, scheduler: Scheduler | undefined): void {
  const missing = weighting.parameters().filter((p) => !optimizer.paramGroups.some((g) => g.params.includes(p)));
  if (missing.length === 0) return;
  if (scheduler !== undefined) {
    throw new TrainingError(
      `fit: the UncertaintyWeighting's log-variances (heads ${weighting.heads.join(', ')}) are not in the optimizer, and the scheduler was set up without them; ` +
        'add weighting.parameters() to the optimizer (or make the weighting a submodule of the model) before creating the scheduler',
    );
  }
  optimizer.addParamGroup({ params: missing, ...('weightDecay' in optimizer.defaults ? { weightDecay: 0 } : {}) } as Parameters<AnyOptimizer['addParamGroup']>[0]);
}

/** Checks fit's options and turns them into the plan the loop follows. */
export function planFit(model: Module, options: FitOptions): FitPlan {
  checkOptions(model, options);
  const losses = planLoss('fit', options);
  if (losses.multiTask && options.adversarial !== undefined) throw new TrainingError('fit: adversarial training supports single-head models only (loss is given per head)');
  if (losses.weighting !== undefined) optimizeWeighting(losses.weighting, options.optimizer, options.scheduler);
  const schedulerInterval = options.schedulerInterval ?? 'epoch';
  if (options.scheduler !== undefined) checkSchedulerInterval(options.scheduler, schedulerInterval);
  const scheduler = options.scheduler;
  return {
    step: {
      model,
      loss: losses.loss,
      optimizer: options.optimizer,
      metrics: losses.metrics,
      multiTask: losses.multiTask,
      weighting: losses.weighting,
      clipGradNorm: options.clipGradNorm,
      detectAnomaly: options.detectAnomaly ?? false,
      afterStep: scheduler !== undefined && schedulerInterval === 'batch' ? () => scheduler.step() : undefined,
      adversarial: options.adversarial,
      autocast: options.autocast,
    },
    trainLoader: options.trainLoader,
    valLoader: options.valLoader,
    scheduler,
    schedulerInterval,
    schedulerMonitor: options.schedulerMonitor ?? (options.valLoader === undefined ? 'train_loss' : 'val_loss'),
    epochs: options.epochs,
    startEpoch: options.resumeFrom?.epoch ?? 0,
    callbacks: options.callbacks ?? [],
  };
}
