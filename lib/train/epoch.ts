/**
 * One epoch of fit: the training pass, the validation pass, the epoch's scheduler step, and
 * the epoch's record.
 */
import type { BatchEnd } from './callback.js';
import { evaluatePlanSteps } from './evaluate.js';
import type { EpochRecord } from './history.js';
import { stepSchedulerAfterEpoch, type Scheduler, type SchedulerInterval } from './scheduling.js';
import type { Steps } from './steps.js';
import { trainEpochSteps, type StepSetup } from './train-epoch.js';
import type { UncertaintyWeighting } from './uncertainty-weighting.js';
import { emptyStoragePool } from '../memory/storage-pool.js';

/** Everything an epoch needs besides its number. */
export interface EpochPlan {
  step: StepSetup;
  trainLoader: Iterable<unknown>;
  valLoader: Iterable<unknown> | undefined;
  scheduler: Scheduler | undefined;
  schedulerInterval: SchedulerInterval;
  /** The record key ReduceLROnPlateau is stepped with. */
  schedulerMonitor: string;
}

/** `{ accuracy: 0.9 }` → `{ train_accuracy: 0.9 }`. */
const prefixed = (prefix: string, values: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(values).map(([name, value]) => [`${prefix}${name}`, value]));

/** An UncertaintyWeighting's weights exp(−sᵢ) at the epoch's end, as `<head>_weight`. */
const learnedWeights = (weighting: UncertaintyWeighting | undefined): Record<string, number> =>
  weighting === undefined ? {} : Object.fromEntries(Object.entries(weighting.weights()).map(([head, w]) => [`${head}_weight`, w]));

/**
 * Trains one epoch, validates, steps an epoch scheduler, and returns the epoch's record;
 * yields after each training step and each validation batch (see steps.ts).
 */
export function* runEpochSteps(plan: EpochPlan, epoch: number, onBatchEnd: (info: BatchEnd) => void): Steps<EpochRecord> {
  const start = performance.now();
  const lr = plan.step.optimizer.paramGroups[0].lr;
  const trained = yield* trainEpochSteps(plan.trainLoader, plan.step, epoch, onBatchEnd);
  // The pool holds the last training step's arrays, which validation (other sizes: its own
  // batches, no gradients) does not reuse: handed to the garbage collector, they do not add
  // to its peak.
  if (plan.valLoader !== undefined) emptyStoragePool();
  const validated = plan.valLoader === undefined ? undefined : yield* evaluatePlanSteps(plan.step.model, plan.valLoader, plan.step);
  const record: EpochRecord = {
    epoch,
    train_loss: trained.loss,
    ...prefixed('train_', trained.metrics),
    ...(validated && { val_loss: validated.loss, ...prefixed('val_', validated.metrics) }),
    ...learnedWeights(plan.step.weighting),
    lr,
    seconds: (performance.now() - start) / 1000,
    samples_per_s: trained.samples / trained.seconds,
  };
  if (plan.scheduler !== undefined && plan.schedulerInterval === 'epoch') stepSchedulerAfterEpoch(plan.scheduler, record, plan.schedulerMonitor);
  return record;
}
