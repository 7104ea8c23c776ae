/**
 * Learning-rate schedules inside fit: any scheduler of kiln.optim, stepped once per epoch
 * (after validation) or once per batch (after optimizer.step()); ReduceLROnPlateau is given
 * the monitored value of the epoch's record.
 */
import { ReduceLROnPlateau, type SchedulerState } from '../optim/schedulers.js';
import { TrainingError } from './errors.js';
import type { EpochRecord } from './history.js';

/**
 * What fit needs of a scheduler: any kiln.optim scheduler (StepLR, CosineAnnealingLR,
 * OneCycleLR, SequentialLR, ReduceLROnPlateau, …) or one of your own with the same methods.
 */
export interface Scheduler {
  /** Advances the schedule; ReduceLROnPlateau takes the monitored metric. */
  step(metric?: number): void;
  stateDict(): SchedulerState;
  loadStateDict(state: SchedulerState): void;
}

/** When the scheduler steps: after every epoch (default) or after every optimizer step. */
export type SchedulerInterval = 'epoch' | 'batch';

/** Throws unless the scheduler can step at `interval`. */
export function checkSchedulerInterval(scheduler: Scheduler, interval: SchedulerInterval): void {
  if (interval !== 'epoch' && interval !== 'batch') throw new TrainingError(`fit: schedulerInterval must be 'epoch' or 'batch', got '${String(interval)}'`);
  if (interval === 'batch' && scheduler instanceof ReduceLROnPlateau) {
    throw new TrainingError("fit: ReduceLROnPlateau steps on an epoch's metric; use schedulerInterval 'epoch'");
  }
}

/** Steps an epoch-interval scheduler at the end of an epoch (ReduceLROnPlateau with record[monitor]). */
export function stepSchedulerAfterEpoch(scheduler: Scheduler, record: EpochRecord, monitor: string): void {
  if (!(scheduler instanceof ReduceLROnPlateau)) {
    scheduler.step();
    return;
  }
  const value = record[monitor];
  if (value === undefined) {
    throw new TrainingError(`fit: ReduceLROnPlateau monitors '${monitor}', which is not in the epoch record (keys: ${Object.keys(record).join(', ')}); set schedulerMonitor`);
  }
  scheduler.step(value);
}
