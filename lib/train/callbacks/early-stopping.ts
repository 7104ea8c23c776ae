/** EarlyStopping: stop training when a monitored value stops improving (Keras' EarlyStopping). */
import type { Tensor } from '../../tensor.js';
import type { Callback, TrainingContext } from '../callback.js';
import { TrainingError } from '../errors.js';
import type { EpochRecord } from '../history.js';
import { formatNumber } from '../progress/format.js';
import { Monitor, type MonitorMode } from './monitor.js';

/** Options of EarlyStopping (Keras' names and defaults). */
export interface EarlyStoppingOptions {
  /** The record key to watch. Default 'val_loss'. */
  monitor?: string;
  /** Default 'auto' (max for accuracy-like names, else min). */
  mode?: MonitorMode;
  /** Epochs without improvement before stopping. Default 0. */
  patience?: number;
  /** The least change that counts as an improvement. Default 0. */
  minDelta?: number;
  /** At the end of training, copy the best epoch's weights back into the model. Default false. */
  restoreBestWeights?: boolean;
}

/**
 * Stops training once `monitor` has not improved by more than minDelta for `patience`
 * epochs in a row; with restoreBestWeights, the model ends with the weights of its best epoch.
 * When resuming, the best value and the count of epochs without improvement are replayed
 * from the history (the best weights of an epoch before the resume are not in memory: then
 * the model keeps its last weights and a warning says so).
 *
 * Example:
 * ```ts
 * const stopper = new train.EarlyStopping({ monitor: 'val_loss', patience: 5, restoreBestWeights: true });
 * train.fit(model, { …, valLoader, callbacks: [stopper] });
 * stopper.stoppedEpoch; // the epoch it stopped at, or null
 * ```
 */
export class EarlyStopping implements Callback {
  readonly patience: number;
  readonly restoreBestWeights: boolean;
  /** The epoch training was stopped at, or null. */
  stoppedEpoch: number | null = null;
  /** The epoch whose weights were copied back into the model when training ended, or null. */
  restoredEpoch: number | null = null;
  private readonly monitor: Monitor;
  /** Epochs since the last improvement. */
  private wait = 0;
  private bestWeights: Record<string, Tensor> | null = null;

  constructor(options: EarlyStoppingOptions = {}) {
    this.patience = options.patience ?? 0;
    if (!(Number.isInteger(this.patience) && this.patience >= 0)) throw new TrainingError(`EarlyStopping: patience must be an integer ≥ 0, got ${this.patience}`);
    this.monitor = new Monitor('EarlyStopping', options.monitor ?? 'val_loss', options.mode ?? 'auto', options.minDelta ?? 0);
    this.restoreBestWeights = options.restoreBestWeights ?? false;
  }

  /** The best value seen and its epoch. */
  get best(): { value: number; epoch: number | null } {
    return { value: this.monitor.best, epoch: this.monitor.bestEpoch };
  }

  /** Resets, then replays the history of a resumed run. */
  onTrainBegin(context: TrainingContext): void {
    this.monitor.reset();
    this.wait = 0;
    this.stoppedEpoch = null;
    this.restoredEpoch = null;
    this.bestWeights = null;
    for (const record of context.history.records) this.wait = this.monitor.update(record) ? 0 : this.wait + 1;
  }

  /** Keeps the best value (and weights); asks to stop after `patience` epochs without improvement. */
  onEpochEnd(context: TrainingContext, record: EpochRecord): void {
    if (this.monitor.update(record)) {
      this.wait = 0;
      if (this.restoreBestWeights) this.bestWeights = snapshot(context.model.stateDict());
      return;
    }
    this.wait++;
    if (this.wait >= this.patience) {
      this.stoppedEpoch = record.epoch;
      const { key, best, bestEpoch, minDelta } = this.monitor;
      const by = minDelta > 0 ? ` by more than ${minDelta}` : '';
      context.requestStop(`EarlyStopping: ${key} did not improve${by} for ${this.wait} epoch(s) (best ${formatNumber(best)} at epoch ${bestEpoch})`);
    }
  }

  /** Copies the best epoch's weights back into the model (with restoreBestWeights). */
  onTrainEnd(context: TrainingContext): void {
    if (!this.restoreBestWeights || this.monitor.bestEpoch === null) return;
    if (this.bestWeights === null) {
      process.emitWarning(`EarlyStopping: the best epoch (${this.monitor.bestEpoch}) ran before this resumed run, so its weights are not in memory; the model keeps its last weights`);
      return;
    }
    context.model.loadStateDict(this.bestWeights);
    this.restoredEpoch = this.monitor.bestEpoch;
  }
}

/** A copy of a state dict (the module's own tensors keep changing). */
function snapshot(state: Record<string, Tensor>): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(state).map(([key, t]) => [key, t.clone()]));
}
