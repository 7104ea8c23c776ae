/**
 * Callbacks: objects whose hooks fit calls at the start and end of training, of each epoch
 * and after each batch (Keras' Callback, Lightning's Callback hooks). A callback may ask
 * training to stop after the current epoch with `context.requestStop(reason)`.
 */
import type { Module } from '../nn/module.js';
import type { AnyOptimizer } from '../optim/schedulers.js';
import type { EpochRecord, History } from './history.js';
import type { Scheduler } from './scheduling.js';

/** What onBatchEnd is told about the batch just trained on. */
export interface BatchEnd {
  /** The epoch, counted from 1. */
  epoch: number;
  /** The batch within the epoch, counted from 1. */
  batch: number;
  /** Batches per epoch, when the loader knows its length. */
  batches: number | undefined;
  /** Samples in this batch. */
  size: number;
  /** This batch's loss. */
  loss: number;
  /** The mean loss over the epoch's samples so far. */
  runningLoss: number;
  /** Samples trained on so far this epoch. */
  samples: number;
  /** Seconds since the epoch began. */
  seconds: number;
}

/**
 * What every hook receives: the objects being trained, the history so far, and the stop switch.
 *
 * Example: `{ onEpochEnd: (ctx: train.TrainingContext, record) => { if (record.train_loss < 0.01) ctx.requestStop('converged'); } }`.
 */
export class TrainingContext {
  private reason: string | null = null;

  constructor(
    readonly model: Module,
    readonly optimizer: AnyOptimizer,
    readonly scheduler: Scheduler | undefined,
    readonly history: History,
    /** The last epoch fit will run (counted from 1). */
    readonly epochs: number,
    /** Batches per training epoch, when the loader knows its length. */
    readonly batchesPerEpoch: number | undefined,
  ) {}

  /** Asks fit to stop after the current epoch; the first reason given is kept. */
  requestStop(reason: string): void {
    this.reason ??= reason;
  }

  /** True once a callback asked to stop. */
  get stopRequested(): boolean {
    return this.reason !== null;
  }

  /** Why a callback asked to stop, or null. */
  get stopReason(): string | null {
    return this.reason;
  }
}

/**
 * A training callback: implement any of the hooks. fit calls them in the order the
 * callbacks are listed; onEpochEnd runs after validation and the epoch's scheduler step, with
 * the epoch's record already in `context.history`.
 *
 * Example (stop once the training loss is low enough):
 * ```ts
 * const stopAtLoss: train.Callback = {
 *   onEpochEnd: (ctx, record) => { if (record.train_loss < 0.01) ctx.requestStop('train_loss < 0.01'); },
 * };
 * train.fit(model, { …, callbacks: [stopAtLoss] });
 * ```
 */
export interface Callback {
  /** Before the first epoch (of this call: a resumed run's history already holds the earlier epochs). */
  onTrainBegin?(context: TrainingContext): void;
  /** Before an epoch's first batch; `epoch` counts from 1. */
  onEpochBegin?(context: TrainingContext, epoch: number): void;
  /** After each optimizer step. */
  onBatchEnd?(context: TrainingContext, batch: BatchEnd): void;
  /** After validation and the scheduler step; `record` is already the history's last. */
  onEpochEnd?(context: TrainingContext, record: EpochRecord): void;
  /** After the last epoch, or the epoch a callback asked to stop at (not after an error). */
  onTrainEnd?(context: TrainingContext): void;
}
